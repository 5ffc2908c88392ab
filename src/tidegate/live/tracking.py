"""Which Application an object belongs to, by Argo CD's tracking methods, and slimming (no I/O).

Tracking id annotation: ``<app>:<group>/<Kind>:<namespace>/<name>``. It counts only when it
names the object it sits on (a copied manifest keeps a stale id: that copy is not tracked).

Installation id (argocd-cm ``installationID``): an object is tracked only when its
``argocd.argoproj.io/installation-id`` annotation equals this installation's id, absent counting
as ``""``. So an installation with an id ignores objects without one or with another id, and
one without an id ignores objects carrying any id (they belong to another installation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.model import constants
from tidegate.model.keys import ResourceKey


def parse_tracking_id(value: str) -> tuple[str, ResourceKey] | None:
    """``(app, key)`` of a tracking id, or None when it is malformed."""
    parts = value.split(":")
    if len(parts) != 3 or not parts[0]:
        return None
    app, group_kind, ns_name = parts
    group, slash, kind = group_kind.partition("/")
    namespace, slash2, name = ns_name.partition("/")
    if not slash or not slash2 or not kind or not name:
        return None
    return app, ResourceKey(group, kind, namespace, name)


def installation_of(obj: Mapping[str, Any]) -> str:
    """The installation id ``obj`` carries (``""`` when none)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(constants.ANNOTATION_INSTALLATION_ID) or "")


def tracked_app(
    obj: Mapping[str, Any],
    *,
    method: str = constants.TRACKING_ANNOTATION,
    installation_id: str = "",
) -> str | None:
    """The Application (``[<namespace>_]<name>``) tracking ``obj``, or None (also when ``obj``
    belongs to another installation)."""
    if installation_of(obj) != installation_id:
        return None
    meta = obj.get("metadata") or {}
    if method in (constants.TRACKING_ANNOTATION, constants.TRACKING_ANNOTATION_AND_LABEL):
        value = (meta.get("annotations") or {}).get(constants.ANNOTATION_TRACKING_ID)
        if not value:
            return None
        parsed = parse_tracking_id(str(value))
        if parsed is None:
            return None
        app, key = parsed
        own = ResourceKey.of(obj)
        # Cluster-scoped objects carry an empty namespace; namespaced ones must match.
        if (key.group, key.kind, key.name) != (own.group, own.kind, own.name):
            return None
        if key.namespace and key.namespace != own.namespace:
            return None
        return app
    value = (meta.get("labels") or {}).get(constants.LABEL_INSTANCE)
    return str(value) if value else None


def owner_uids(obj: Mapping[str, Any]) -> tuple[str, ...]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return tuple(str(ref["uid"]) for ref in refs if isinstance(ref, Mapping) and ref.get("uid"))


def uid_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def slim(obj: dict[str, Any], *, keep_managed_fields: bool) -> dict[str, Any]:
    """Drop what the cache never needs, in place: the last-applied annotation, and
    ``managedFields`` unless asked (diff's managedFieldsManagers needs them on tracked objects).
    """
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        if not keep_managed_fields:
            meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if annotations and constants.ANNOTATION_LAST_APPLIED in annotations:
            annotations.pop(constants.ANNOTATION_LAST_APPLIED)
            if not annotations:
                meta.pop("annotations")
    return obj
