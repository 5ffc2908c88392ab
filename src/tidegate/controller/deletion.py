"""Deleting an Application: cascade to its resources when it carries the resources finalizer.

As Argo CD documents: with ``resources-finalizer.argocd.argoproj.io`` (foreground, or its
``/background`` variant) the app's resources are deleted first and the finalizer removed when
they are gone; without it only the Application goes. Resources annotated ``Delete=false`` are
kept (their tracking stays, as Argo CD does).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.sync import resource_meta

log = logging.getLogger("tidegate.controller")

FINALIZER = "resources-finalizer.argocd.argoproj.io"
FINALIZERS = {
    FINALIZER: "Foreground",
    f"{FINALIZER}/foreground": "Foreground",
    f"{FINALIZER}/background": "Background",
}


def cascade_finalizer(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    """(finalizer, propagation policy) when the app asks for a cascading delete."""
    for finalizer in meta.get("finalizers") or []:
        if finalizer in FINALIZERS:
            return str(finalizer), FINALIZERS[finalizer]
    return None


def _kept(obj: Mapping[str, Any]) -> bool:
    try:
        opts = resource_meta.resource_options(obj)
    except errors.TidegateError:
        return False
    return opts.delete_disabled


async def delete_resources(
    client: kube_client.KubeClient, live: list[dict[str, Any]], *, propagation: str
) -> int:
    """Delete the app's live resources; the number still present (0 when done)."""
    remaining = 0
    for obj in live:
        if _kept(obj):
            continue
        remaining += 1
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        try:
            await client.delete(ResourceKey.of(obj), propagation=propagation)  # type: ignore[arg-type]
        except errors.KubeError as exc:
            log.warning("cascade delete of %s failed: %s", ResourceKey.of(obj), exc)
    return remaining
