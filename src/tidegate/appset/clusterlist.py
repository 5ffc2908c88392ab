"""Cluster generator inputs from Argo CD cluster Secrets (pure, no I/O).

A cluster Secret (label ``argocd.argoproj.io/secret-type: cluster``) carries ``name``, ``server``
and optionally ``project`` in its data; its labels and annotations are what cluster generators
select on and expose. Credentials (``config``) are never read here, so they cannot reach
generated Applications. The implicit in-cluster entry (no Secret) is added unless a Secret
already registers the in-cluster server, as Argo CD does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tidegate.model import constants
from tidegate.model import secrets as model_secrets


def is_cluster_secret(secret: Mapping[str, Any]) -> bool:
    labels = (secret.get("metadata") or {}).get("labels") or {}
    return labels.get(constants.LABEL_SECRET_TYPE) == constants.SECRET_TYPE_CLUSTER


def _field(secret: Mapping[str, Any], key: str) -> str:
    return model_secrets.value(secret, key, strict=False) or ""


def cluster_entry(secret: Mapping[str, Any]) -> dict[str, Any] | None:
    """The generator view of one cluster Secret; None when it names no server."""
    server = _field(secret, "server").strip()
    if not server:
        return None
    meta = secret.get("metadata") or {}
    annotations = {
        str(k): str(v)
        for k, v in (meta.get("annotations") or {}).items()
        if k != constants.ANNOTATION_LAST_APPLIED
    }
    return {
        "name": _field(secret, "name").strip() or server,
        "server": server,
        "project": _field(secret, "project").strip(),
        "labels": {str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        "annotations": annotations,
    }


def cluster_list(
    secrets: Iterable[Mapping[str, Any]], *, in_cluster_enabled: bool = True
) -> list[dict[str, Any]]:
    """Entries for every cluster Secret, sorted by name, plus the implicit in-cluster one."""
    entries = [e for e in (cluster_entry(s) for s in secrets if is_cluster_secret(s)) if e]
    entries.sort(key=lambda e: (e["name"], e["server"]))
    if in_cluster_enabled and not any(e["server"] == constants.IN_CLUSTER_SERVER for e in entries):
        entries.append(
            {
                "name": constants.IN_CLUSTER_NAME,
                "server": constants.IN_CLUSTER_SERVER,
                "project": "",
                "labels": {},
                "annotations": {},
                "local": True,
            }
        )
    return entries


def fingerprint(secret: Mapping[str, Any]) -> tuple[Any, ...]:
    """What generators can see of a cluster Secret: a change here means re-generate."""
    entry = cluster_entry(secret) if is_cluster_secret(secret) else None
    if entry is None:
        return ()
    return (
        entry["name"],
        entry["server"],
        entry["project"],
        tuple(sorted(entry["labels"].items())),
        tuple(sorted(entry["annotations"].items())),
    )
