"""Deleting an Application: cascade to its resources when it carries the resources finalizer.

As Argo CD documents: with ``resources-finalizer.argocd.argoproj.io`` (foreground, or its
``/background`` variant) the app's resources are deleted first and the finalizer removed when
they are gone; without it only the Application goes. Resources annotated ``Delete=false`` are
kept (their tracking stays, as Argo CD does); ``Delete=confirm`` ones wait until the app carries
``argocd.argoproj.io/deletion-approved`` with a time at or after its deletion started.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.sync import options as sync_options
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


def _options(obj: Mapping[str, Any], app_options: sync_options.SyncOptions) -> Any:
    """The object's effective options: its annotation over the app's ``syncOptions``."""
    try:
        return app_options.overridden_by(resource_meta.resource_options(obj))
    except errors.TidegateError:
        return app_options


@dataclasses.dataclass(frozen=True)
class Outcome:
    remaining: int  # objects still present that will go (0: done)
    awaiting_confirmation: tuple[str, ...] = ()  # Delete=confirm objects waiting for approval


async def delete_resources(
    client: kube_client.KubeClient,
    live: list[dict[str, Any]],
    *,
    propagation: str,
    app_options: sync_options.SyncOptions | None = None,
    approved: bool = False,
) -> Outcome:
    """Delete the app's live resources, except ``Delete=false`` ones; ``Delete=confirm`` ones
    only once ``approved``."""
    app_options = app_options or sync_options.SyncOptions()
    remaining = 0
    waiting: list[str] = []
    for obj in live:
        opts = _options(obj, app_options)
        if opts.delete_disabled:
            continue
        remaining += 1
        key = ResourceKey.of(obj)
        if opts.delete_needs_confirmation and not approved:
            waiting.append(str(key))
            continue
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        try:
            await client.delete(key, propagation=propagation)  # type: ignore[arg-type]
        except errors.KubeError as exc:
            log.warning("cascade delete of %s failed: %s", key, exc)
    return Outcome(remaining, tuple(waiting))
