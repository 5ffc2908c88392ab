"""Normalisation before comparison: strip what the server sets, apply per-kind fixes.

Decisions (after Argo CD's documented behaviour):

- Server-set metadata is dropped: ``uid``, ``resourceVersion``, ``generation``,
  ``creationTimestamp``, ``managedFields``, ``selfLink``, ``deletionTimestamp``,
  ``deletionGracePeriodSeconds``. ``ownerReferences`` and ``finalizers`` are kept: they can be
  part of what Git declares, and fields Git does not declare never count anyway.
- The ``kubectl.kubernetes.io/last-applied-configuration`` annotation is dropped (it is a copy of
  an older desired state, and may contain Secret data).
- ``status`` is ignored for every kind by default (``ignore_status="all"``); ``"crd"`` ignores it
  only for CustomResourceDefinitions and ``"none"`` compares it (argocd-cm
  ``resource.compareoptions.ignoreResourceStatusField``).
- A Secret's ``stringData`` is folded into ``data`` (base64), as the API server does.
- ``null`` values and empty ``labels``/``annotations`` maps are dropped: the server drops them.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import Any, Literal

from tidegate.model import constants

StatusMode = Literal["all", "crd", "none"]

SERVER_SET_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def is_secret(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def is_crd(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "CustomResourceDefinition" and str(
        obj.get("apiVersion", "")
    ).startswith("apiextensions.k8s.io/")


def normalize(obj: Mapping[str, Any], *, ignore_status: StatusMode = "all") -> dict[str, Any]:
    """A normalised deep copy of ``obj`` (the input is not changed)."""
    out: dict[str, Any] = _drop_nulls(copy.deepcopy(dict(obj)))
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for field in SERVER_SET_METADATA:
            meta.pop(field, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(constants.ANNOTATION_LAST_APPLIED, None)
        for field in ("annotations", "labels"):
            if field in meta and not meta[field]:
                del meta[field]
    if ignore_status == "all" or (ignore_status == "crd" and is_crd(out)):
        out.pop("status", None)
    if is_secret(out):
        fold_string_data(out)
    return out


def fold_string_data(secret: dict[str, Any]) -> None:
    """Move a Secret's ``stringData`` into ``data`` (base64), in place; stringData wins."""
    string_data = secret.pop("stringData", None)
    if not isinstance(string_data, Mapping) or not string_data:
        return
    data = secret.get("data")
    if not isinstance(data, dict):
        data = {}
        secret["data"] = data
    for key, value in string_data.items():
        data[str(key)] = base64.b64encode(str(value).encode()).decode()


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value
