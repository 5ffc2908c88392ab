"""Mark rendered objects as belonging to an Application, as Argo CD's resource tracking does.

Pure. ``label``: the ``app.kubernetes.io/instance`` label carries the app name (which must then
fit a label value). ``annotation``: ``argocd.argoproj.io/tracking-id`` is
``<app>:<group>/<kind>:<namespace>/<name>`` (empty group for the core API). ``annotation+label``:
both, the label value cut to 63 characters (informational only). An installation id, when set,
goes to ``argocd.argoproj.io/installation-id``.

The namespace in the tracking id is the object's namespace as rendered: whether a resource is
namespaced is only known from the cluster's discovery, so objects are not given the destination
namespace here; the caller re-stamps with :func:`tracking_id` once namespaces are settled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.model import constants, errors
from tidegate.render import request


def tracking_id(app_name: str, obj: Mapping[str, Any], *, namespace: str | None = None) -> str:
    """The tracking-id annotation value for ``obj`` (``namespace`` overrides the object's)."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    ns = namespace if namespace is not None else (meta.get("namespace") or "")
    return f"{app_name}:{group}/{obj.get('kind', '')}:{ns}/{meta.get('name') or ''}"


def _label_value(app_name: str, *, truncate: bool) -> str:
    limit = constants.LABEL_VALUE_MAX_LENGTH
    if len(app_name) <= limit:
        return app_name
    if truncate:
        return app_name[:limit].rstrip("-_.")
    raise errors.SpecError(
        f"application {app_name!r}: name longer than {limit} characters cannot be used with "
        "label tracking; use annotation tracking"
    )


def _submap(meta: dict[str, Any], field: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    value = meta.get(field)
    if value is None:
        value = meta[field] = {}
    if not isinstance(value, dict):
        raise errors.ManifestError(f"{_describe(obj)}: metadata.{field} must be a mapping")
    return value


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('name') or '<unnamed>'}"


def apply_tracking(
    objects: Iterable[dict[str, Any]],
    *,
    app_name: str,
    method: request.TrackingMethod,
    installation_id: str = "",
) -> None:
    """Set tracking metadata in place on each object."""
    use_label = method in (
        request.TrackingMethod.LABEL,
        request.TrackingMethod.ANNOTATION_AND_LABEL,
    )
    use_annotation = method != request.TrackingMethod.LABEL
    label = _label_value(app_name, truncate=use_annotation) if use_label and app_name else ""
    annotate = use_annotation and bool(app_name)
    if not (label or annotate or installation_id):
        return
    for obj in objects:
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if label:
            _submap(meta, "labels", obj)[constants.LABEL_INSTANCE] = label
        if annotate or installation_id:
            annotations = _submap(meta, "annotations", obj)
            if annotate:
                annotations[constants.ANNOTATION_TRACKING_ID] = tracking_id(app_name, obj)
            if installation_id:
                annotations[constants.ANNOTATION_INSTALLATION_ID] = installation_id
