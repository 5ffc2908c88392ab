"""Settle target objects before planning: namespaces by scope, and the app's tracking metadata.

Rendered objects may lack a namespace; whether they need one is only known from the cluster's
discovery (or, for a custom resource whose definition is part of the same sync, from that
CustomResourceDefinition's ``spec.scope``). Namespaced objects get the destination namespace,
cluster-scoped ones lose a stray namespace, so a target's :class:`ResourceKey` matches its live
object. Discovery is cached by the client: this costs no request per object.

:func:`with_tracking` stamps the tracking label/annotation just before an object is sent, only
where it is missing or names another object (a hook's ``generateName`` gets its final name from
planning, after rendering stamped it). With an installation id (argocd-cm ``installationID``) it
also stamps ``argocd.argoproj.io/installation-id``; without one it removes that annotation, so
what is sent is always tracked by :func:`is_tracked_by`, which requires the object's installation
id (absent = ``""``) to equal ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import constants, errors, keys
from tidegate.sync import resource_meta

Obj = Mapping[str, Any]
CRD_GROUP = "apiextensions.k8s.io"


def _crd_scopes(objs: Iterable[Obj]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for CustomResourceDefinitions among the targets."""
    out: dict[tuple[str, str], bool] = {}
    for obj in objs:
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        if spec.get("group") and kind:
            out[(str(spec["group"]), str(kind))] = spec.get("scope") != "Cluster"
    return out


async def _namespaced(
    client: kube_client.KubeClient, obj: Obj, crds: Mapping[tuple[str, str], bool]
) -> bool | None:
    """Whether ``obj``'s kind is namespaced; None when neither the cluster nor a target CRD
    knows the kind (the apply will then report the unknown kind)."""
    key = keys.ResourceKey.of(obj)
    if (key.group, key.kind) in crds:
        return crds[(key.group, key.kind)]
    try:
        return (await client.resource_for(obj)).namespaced
    except errors.UnknownKindError:
        return None


def target_key(obj: Obj) -> keys.ResourceKey:
    """The key of a target; a ``generateName`` object is keyed by its generateName, so two
    such hooks of one kind do not collide (planning gives them their final names)."""
    key = keys.ResourceKey.of(obj)
    if not key.name:
        generate = (obj.get("metadata") or {}).get("generateName")
        if generate:
            return key._replace(name=str(generate))
    return key


async def prepare_targets(
    objs: Iterable[Obj],
    *,
    client: kube_client.KubeClient,
    destination_namespace: str,
) -> dict[keys.ResourceKey, dict[str, Any]]:
    """Targets keyed by their final :class:`ResourceKey`, namespaces settled.

    Objects are copied only when their namespace changes. An empty ``destination_namespace``
    falls back to the client's default namespace (as ``kubectl`` does).
    """
    items = list(objs)
    crds = _crd_scopes(items)
    default_ns = destination_namespace or client.config.namespace or "default"
    out: dict[keys.ResourceKey, dict[str, Any]] = {}
    for obj in items:
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or "")
        namespaced = await _namespaced(client, obj, crds)
        wanted = namespace
        if namespaced is True and not namespace:
            wanted = default_ns
        elif namespaced is False and namespace:
            wanted = ""
        fixed = dict(obj)
        if wanted != namespace:
            new_meta = {k: v for k, v in meta.items() if k != "namespace"}
            if wanted:
                new_meta["namespace"] = wanted
            fixed["metadata"] = new_meta
        out[target_key(fixed)] = fixed
    return out


async def settle(
    objs: Iterable[Obj],
    *,
    client: kube_client.KubeClient,
    destination_namespace: str,
    app_name: str,
    method: str,
    installation_id: str = "",
) -> dict[keys.ResourceKey, dict[str, Any]]:
    """:func:`prepare_targets`, then each object's tracking metadata stamped again: rendering
    could not know the final namespace that the tracking id names. What ``app diff``,
    ``app manifests`` and the controller's comparison show is the object as it will be sent."""
    settled = await prepare_targets(
        objs, client=client, destination_namespace=destination_namespace
    )
    return {
        key: dict(
            with_tracking(obj, app_name=app_name, method=method, installation_id=installation_id)
        )
        for key, obj in settled.items()
    }


async def scoped_keys(
    objs: Iterable[Obj],
    *,
    client: kube_client.KubeClient,
    destination_namespace: str,
) -> list[tuple[keys.ResourceKey, bool]]:
    """Each object's key (namespace settled as :func:`prepare_targets` settles it) and whether
    its kind is namespaced. A kind neither the cluster nor a target CRD knows counts as
    namespaced, in the object's namespace or the destination's (Argo CD's "namespaced or
    unknown"): project rules are then checked against the namespace it would land in."""
    items = list(objs)
    crds = _crd_scopes(items)
    default_ns = destination_namespace or client.config.namespace or "default"
    out: list[tuple[keys.ResourceKey, bool]] = []
    for obj in items:
        key = target_key(obj)
        namespaced = await _namespaced(client, obj, crds)
        if namespaced is False:
            out.append((key._replace(namespace=""), False))
        else:
            out.append((key._replace(namespace=key.namespace or default_ns), True))
    return out


def tracking_id(app_name: str, obj: Obj) -> str:
    """Argo CD's tracking id: ``<app>:<group>/<kind>:<namespace>/<name>``."""
    key = keys.ResourceKey.of(obj)
    return f"{app_name}:{key.group}/{key.kind}:{key.namespace}/{key.name}"


def is_tracked_by(obj: Obj, *, app_name: str, method: str, installation_id: str = "") -> bool:
    """Whether ``obj`` carries ``app_name``'s tracking metadata for ``method`` (annotation: the
    id must name the object itself, so a copied manifest is not tracked) and belongs to our
    installation (its installation id equals ``installation_id``)."""
    if resource_meta.installation_of(obj) != installation_id:
        return False
    meta = obj.get("metadata") or {}
    if method == constants.TRACKING_LABEL:
        return (meta.get("labels") or {}).get(constants.LABEL_INSTANCE) == _label(app_name)
    value = (meta.get("annotations") or {}).get(constants.ANNOTATION_TRACKING_ID)
    if value == tracking_id(app_name, obj):
        return True
    # Cluster-scoped objects may carry an id with an empty namespace.
    return bool(value) and value == tracking_id(
        app_name, {**obj, "metadata": {**meta, "namespace": ""}}
    )


def has_tracking(obj: Obj) -> bool:
    """Whether ``obj`` carries any tracking label or annotation."""
    meta = obj.get("metadata") or {}
    return constants.LABEL_INSTANCE in (meta.get("labels") or {}) or (
        constants.ANNOTATION_TRACKING_ID in (meta.get("annotations") or {})
    )


def _label(app_name: str) -> str:
    return app_name[: constants.LABEL_VALUE_MAX_LENGTH].rstrip("-_.")


def with_tracking(obj: Obj, *, app_name: str, method: str, installation_id: str = "") -> Obj:
    """``obj`` with the app's tracking label/annotation and our installation id (none: no
    installation-id annotation); the same object when already so."""
    if not app_name:
        return obj
    meta = obj.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    changed = False
    use_label = method in (constants.TRACKING_LABEL, constants.TRACKING_ANNOTATION_AND_LABEL)
    if use_label and labels.get(constants.LABEL_INSTANCE) != _label(app_name):
        labels[constants.LABEL_INSTANCE] = _label(app_name)
        changed = True
    if method != constants.TRACKING_LABEL:
        wanted = tracking_id(app_name, obj)
        if annotations.get(constants.ANNOTATION_TRACKING_ID) != wanted:
            annotations[constants.ANNOTATION_TRACKING_ID] = wanted
            changed = True
    if installation_id and annotations.get(constants.ANNOTATION_INSTALLATION_ID) != installation_id:
        annotations[constants.ANNOTATION_INSTALLATION_ID] = installation_id
        changed = True
    elif not installation_id and constants.ANNOTATION_INSTALLATION_ID in annotations:
        del annotations[constants.ANNOTATION_INSTALLATION_ID]
        changed = True
    if not changed:
        return obj
    new_meta = dict(meta)
    if labels:
        new_meta["labels"] = labels
    if annotations:
        new_meta["annotations"] = annotations
    else:
        new_meta.pop("annotations", None)
    return {**obj, "metadata": new_meta}
