"""Deleting an Application: cascade to its resources when it carries the resources finalizer.

As Argo CD documents: with ``resources-finalizer.argocd.argoproj.io`` (foreground, or its
``/background`` variant) the app's resources are deleted first and the finalizer removed when
they are gone; without it only the Application goes. Resources annotated ``Delete=false`` are
kept (their tracking stays, as Argo CD does); ``Delete=confirm`` ones wait until the app carries
``argocd.argoproj.io/deletion-approved`` with a time at or after its deletion started.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from tidegate.controller import appstatus, clusters, runtime
from tidegate.kube import client as kube_client
from tidegate.model import application as model_app
from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey
from tidegate.sync import options as sync_options
from tidegate.sync import projects as sync_projects
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


def deletion_approved(raw: Mapping[str, Any], *, since: str) -> bool:
    """Prune=confirm / Delete=confirm: the app carries
    ``argocd.argoproj.io/deletion-approved: <ISO time>`` set at or after ``since`` (when the
    operation or the deletion started; an older approval does not carry over)."""
    value = ((raw.get("metadata") or {}).get("annotations") or {}).get(
        constants.ANNOTATION_DELETION_APPROVED
    )
    if not value:
        return False
    try:
        approved = dt.datetime.fromisoformat(str(value))
        started = dt.datetime.fromisoformat(since) if since else None
    except ValueError:
        log.warning(
            "ignoring %s=%r: not an ISO timestamp", constants.ANNOTATION_DELETION_APPROVED, value
        )
        return False
    if approved.tzinfo is None:
        approved = approved.replace(tzinfo=dt.UTC)
    return started is None or approved >= started.replace(microsecond=0)


class DeletionHost(Protocol):
    """What deleting an app needs from the controller."""

    @property
    def namespace(self) -> str:
        """The control namespace (apps elsewhere are keyed ``<namespace>_<name>``)."""

    async def patch_app(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]: ...
    def destination(self, app: model_app.Application) -> tuple[clusters.Cluster | None, str]: ...
    async def runtime(self, cluster: clusters.Cluster) -> runtime.ClusterRuntime: ...
    def project_rules(
        self, app: model_app.Application, cluster: clusters.Cluster
    ) -> sync_projects.Rules | None: ...
    def request_after(self, name: str, delay: float) -> None: ...


async def delete_app(
    host: DeletionHost, app: model_app.Application, raw: Mapping[str, Any]
) -> None:
    """Cascade-delete an app's resources, then drop its finalizer (``raw``: the app as stored)."""
    key = app.instance_name(host.namespace)  # the controller's name for it, its tracking id
    meta = raw.get("metadata") or {}
    found = cascade_finalizer(meta)
    if found is None:
        return
    finalizer, propagation = found
    remaining = 0
    cluster, problem = host.destination(app)
    if cluster is not None and not problem:
        rt = await host.runtime(cluster)
        if not await rt.ready():
            log.warning("app %s: cluster unreachable, its resources are not deleted yet", app.name)
            host.request_after(key, 10.0)
            return
        try:
            app_options = sync_options.parse(
                list((app.spec.sync_policy.sync_options if app.spec.sync_policy else None) or []),
                source=f"Application {app.namespace}/{app.name} syncOptions",
            )
        except errors.SpecError:
            app_options = sync_options.SyncOptions()
        tracked = rt.cache.store.tracked(key)
        rules = host.project_rules(app, cluster)
        if rules is not None:  # what the project does not permit is never deleted
            tracked, _ = sync_projects.split_live(rules, tracked)
        outcome = await delete_resources(
            rt.client,
            tracked,
            propagation=propagation,
            app_options=app_options,
            approved=deletion_approved(raw, since=str(meta.get("deletionTimestamp") or "")),
        )
        remaining = outcome.remaining
        if outcome.awaiting_confirmation:
            message = (
                "deletion waits for confirmation (Delete=confirm) of "
                + ", ".join(outcome.awaiting_confirmation)
                + ": run `tidegate app confirm-deletion`"
            )
            conditions = appstatus.set_condition(
                (raw.get("status") or {}).get("conditions"),
                "DeletionError",
                message,
                at=appstatus.now(),
            )
            with contextlib.suppress(errors.KubeError):
                await host.patch_app(key, {"status": {"conditions": conditions}})
            return  # the approval (an app event) wakes this up again
    if remaining:
        host.request_after(key, 1.0)
        return
    finalizers = [f for f in meta.get("finalizers") or [] if f != finalizer]
    with contextlib.suppress(errors.KubeNotFoundError):
        await host.patch_app(key, {"metadata": {"finalizers": finalizers or None}})
