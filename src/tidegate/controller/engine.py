"""The application controller: the only scheduler.

It watches Applications, AppProjects and the labelled Secrets of the control namespace on the
management cluster, keeps one live cache per destination cluster, and refreshes apps from a
deduplicating work queue: on a Git poll interval (with jitter), on a watch event of a resource
the app tracks, on the ``argocd.argoproj.io/refresh`` annotation, and on Git webhooks. Each
refresh compares, writes ``status``, and decides on automated syncs; operations (the
``operation`` field) run as one task per app at a time, their state persisted in
``status.operationState`` so that a restarted controller resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs

from tidegate import kube, render, sources
from tidegate.controller import (
    appstatus,
    argocdcm,
    autosync,
    clusters,
    clusterstatus,
    operations,
    projects,
    runtime,
    workqueue,
)
from tidegate.controller import compare as cmp
from tidegate.controller import settings as settings_mod
from tidegate.kube import config as kube_config
from tidegate.kube import watch as kube_watch
from tidegate.model import application as model_app
from tidegate.model import constants, errors
from tidegate.model import project as model_project
from tidegate.model.enums import HealthStatusCode
from tidegate.model.keys import ResourceKey
from tidegate.sources import urls
from tidegate.sync import windows

log = logging.getLogger("tidegate.controller")

APP_KEY = ("argoproj.io", "Application")
PROJECT_KEY = ("argoproj.io", "AppProject")
SECRET_KEY = ("", "Secret")
CLUSTER_STATUS_INTERVAL = 10.0


def _fingerprint(obj: Mapping[str, Any]) -> str:
    """What in an Application, when changed, needs a refresh (not our own status writes)."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    relevant = {
        "spec": obj.get("spec"),
        "operation": obj.get("operation"),
        "refresh": annotations.get(constants.ANNOTATION_REFRESH),
        "approved": annotations.get(constants.ANNOTATION_DELETION_APPROVED),
        "deleting": meta.get("deletionTimestamp"),
        "terminating": ((obj.get("status") or {}).get("operationState") or {}).get("phase")
        == "Terminating",
    }
    return json.dumps(relevant, sort_keys=True, default=str)


def _older(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether ``candidate`` is an older version of the app than ``current``.

    The stored copy is fed by the watch and by the responses to our own writes, which arrive in
    no fixed order: a late watch event or a late response must not put back an older copy (one
    still carrying a finished ``operation``, or not yet carrying a new one, which then waited
    for the next poll). resourceVersions are etcd revisions; when they are not integers, the
    candidate is taken as newer (the previous behaviour).
    """
    if current is None:
        return False
    try:
        new = int((candidate.get("metadata") or {}).get("resourceVersion") or "")
        old = int((current.get("metadata") or {}).get("resourceVersion") or "")
    except ValueError:
        return False
    return new < old


def _status_sans_times(status: Mapping[str, Any] | None) -> dict[str, Any]:
    """``status`` for comparison: no timestamps, and a None inside a field (a merge patch
    deletion) compares as an absent key."""
    out: dict[str, Any] = {}
    for key, value in (status or {}).items():
        if key in ("reconciledAt", "observedAt"):
            continue
        if isinstance(value, Mapping):
            value = {k: v for k, v in value.items() if v is not None}
        out[key] = value
    return out


class Controller:
    def __init__(
        self,
        *,
        mgmt: kube_config.ClusterConfig,
        settings: settings_mod.Settings | None = None,
    ) -> None:
        self.settings = settings or settings_mod.Settings()
        self.namespace = self.settings.namespace
        self.mgmt_config = mgmt
        self.mgmt = kube.client_for(mgmt)
        cache_dir = self.settings.cache_dir or Path(platformdirs.user_cache_dir("tidegate"))
        self.repos = sources.RepoCache(
            cache_dir / "repos", max_age=self.settings.app_resync_seconds
        )
        self.apps: dict[str, dict[str, Any]] = {}
        self.projects: dict[str, model_project.AppProject] = {}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.registry = clusters.ClusterRegistry([], management=mgmt)
        # Settled from argocd-cm before the first refresh (:meth:`_use_installation_id`).
        self.installation_id = self.settings.installation_id
        self.deps = cmp.CompareDeps(
            repos=self.repos,
            render_cache=render.RenderCache(),
            repo_secrets=self._repo_secrets,
            tracking=self.settings.tracking_method,
            installation_id=self.installation_id,
        )
        self.queue = workqueue.WorkQueue()
        self.runtimes = runtime.Runtimes(
            on_change=self._on_live_change,
            tracking_method=self.settings.tracking_method,
            installation_id=self.installation_id,
        )
        self.comparisons: dict[str, cmp.Comparison] = {}
        self.fingerprints: dict[str, str] = {}
        self.last_status_write: dict[str, float] = {}
        self.op_tasks: dict[str, asyncio.Task[None]] = {}
        self.op_events: dict[str, asyncio.Event] = {}
        self.self_heal_attempts: dict[str, tuple[int, float]] = {}
        self._op_slots = asyncio.Semaphore(self.settings.operation_workers)
        self._synced = {
            APP_KEY: asyncio.Event(),
            PROJECT_KEY: asyncio.Event(),
            SECRET_KEY: asyncio.Event(),
        }
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()
        self.refresh_count = 0
        self.webhook_secret: dict[str, Any] | None = None
        self.system_ignore: tuple[Any, ...] = ()

    # -- inputs ------------------------------------------------------------------------------

    def _repo_secrets(self) -> list[dict[str, Any]]:
        return [
            s
            for s in self.secrets.values()
            if ((s.get("metadata") or {}).get("labels") or {}).get(constants.LABEL_SECRET_TYPE)
            in (constants.SECRET_TYPE_REPOSITORY, constants.SECRET_TYPE_REPO_CREDS)
        ]

    def _on_live_change(self, server: str, apps: set[str], key: ResourceKey | None) -> None:
        for name in apps:
            event = self.op_events.get(name)
            if event is not None:
                event.set()
            task = self.op_tasks.get(name)
            if task is not None and not task.done():
                continue  # the running sync reacts; the app is refreshed when it ends
            if name in self.apps:
                self.queue.add(name)
        if key is None and not apps:  # a relist: anything on this cluster may have changed
            for name, raw in self.apps.items():
                if ((raw.get("spec") or {}).get("destination") or {}).get("server") == server:
                    self.queue.add(name)

    async def _watch(
        self, group_kind: tuple[str, str], *, label_selector: str | None = None
    ) -> None:
        res = await self._resource_with_retry(*group_kind)
        async for event in kube_watch.reflect(
            self.mgmt, res, namespace=self.namespace, label_selector=label_selector
        ):
            try:
                self._handle(group_kind, event)
            except Exception:  # one bad object never stops the watch
                log.exception("handling %s event failed", group_kind[1])

    async def _resource_with_retry(self, group: str, kind: str) -> Any:
        backoff = kube_watch.Backoff()
        while True:
            try:
                return await self.mgmt.resource(group, kind)
            except errors.KubeError as exc:
                log.warning("management cluster: %s (%s); retrying", exc, kind)
                await asyncio.sleep(backoff.next())

    def _handle(self, group_kind: tuple[str, str], event: kube_watch.WatchEvent) -> None:
        if event.type == "RELISTED":
            items = {str(o["metadata"]["name"]): o for o in event.items}
            if group_kind == APP_KEY:
                for gone in set(self.apps) - set(items):
                    self._app_deleted(gone)
                for name, obj in items.items():
                    self._app_seen(name, obj)
            elif group_kind == PROJECT_KEY:
                self.projects = {}
                for name, obj in items.items():
                    self._project_seen(name, obj)
            else:
                self.secrets = items
                self._secrets_changed()
            self._synced[group_kind].set()
            return
        if event.type not in ("ADDED", "MODIFIED", "DELETED") or event.object is None:
            if event.type == "ERROR":
                log.warning("watch %s: %s", group_kind[1], event.reason)
            return
        obj = event.object
        name = str(obj["metadata"]["name"])
        if group_kind == APP_KEY:
            if event.type == "DELETED":
                self._app_deleted(name)
            else:
                self._app_seen(name, obj)
        elif group_kind == PROJECT_KEY:
            if event.type == "DELETED":
                self.projects.pop(name, None)
            else:
                self._project_seen(name, obj)
            self._requeue_all()
        else:
            if event.type == "DELETED":
                self.secrets.pop(name, None)
            else:
                self.secrets[name] = obj
            self._secrets_changed()

    def _app_seen(self, name: str, obj: dict[str, Any]) -> None:
        if _older(obj, self.apps.get(name)):
            return
        self.apps[name] = obj
        fingerprint = _fingerprint(obj)
        if self.fingerprints.get(name) != fingerprint:
            self.fingerprints[name] = fingerprint
            refresh = ((obj.get("metadata") or {}).get("annotations") or {}).get(
                constants.ANNOTATION_REFRESH
            )
            if obj.get("operation") and not (obj.get("metadata") or {}).get("deletionTimestamp"):
                # Start a requested sync at once; it does not need a refresh first (operations
                # re-read the app before they act, so a stale event starts nothing), and the
                # app is refreshed when the sync ends.
                self._ensure_operation(name)
            else:
                self.queue.add(name, hard=refresh == "hard")
        event = self.op_events.get(name)
        if event is not None:
            event.set()

    def _app_deleted(self, name: str) -> None:
        self.apps.pop(name, None)
        self.fingerprints.pop(name, None)
        self.comparisons.pop(name, None)
        self.queue.forget(name)
        task = self.op_tasks.pop(name, None)
        if task is not None:
            task.cancel()

    def _project_seen(self, name: str, obj: dict[str, Any]) -> None:
        try:
            self.projects[name] = model_project.parse_project(obj)
        except errors.SpecError as exc:
            log.warning("%s", exc)
            self.projects.pop(name, None)

    def _secrets_changed(self) -> None:
        self.registry = clusters.ClusterRegistry(self.secrets.values(), management=self.mgmt_config)
        self._requeue_all()

    def _requeue_all(self) -> None:
        for name in self.apps:
            self.queue.add(name)

    async def refresh_all(self) -> None:
        """Refresh every app now; return once the queue has drained and no refresh runs.

        Needs the workers of :meth:`run`. Refreshes queued meanwhile (watch events) are waited
        for too; delayed ones (``add_after``) and operations are not.
        """
        self._requeue_all()
        await self.queue.wait_idle()

    # -- refresh ------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            name, hard = await self.queue.get()
            try:
                await self.refresh(name, hard=hard)
            except asyncio.CancelledError:
                raise
            except Exception:  # an app's failure never stalls the others
                log.exception("refresh of app %s failed", name)
            finally:
                self.queue.done(name)

    async def _poller(self) -> None:
        interval = self.settings.app_resync_seconds
        while True:
            await asyncio.sleep(interval * (1 + self.settings.resync_jitter * random.random()))
            self._requeue_all()

    async def refresh(self, name: str, *, hard: bool = False) -> None:
        raw = self.apps.get(name)
        if raw is None:
            return
        self.refresh_count += 1
        at = appstatus.now()
        conditions = (raw.get("status") or {}).get("conditions")
        try:
            app = model_app.parse_application(raw)
        except errors.SpecError as exc:
            await self._write_status(
                name,
                raw,
                appstatus.error_status_raw(
                    raw,
                    kind=appstatus.INVALID_SPEC_ERROR,
                    message=str(exc),
                    conditions=conditions,
                    at=at,
                ),
            )
            return
        meta = raw.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            await operations.delete_app(self, app)
            return
        requested = bool((meta.get("annotations") or {}).get(constants.ANNOTATION_REFRESH))
        if requested:
            # A refresh someone asked for always stamps reconciledAt, so they can see it ran.
            self.last_status_write.pop(name, None)
            await self._clear_refresh_annotation(name)
        cluster, problem = self._destination(app)
        if problem:
            await self._write_status(
                name,
                raw,
                appstatus.error_status(
                    app,
                    kind=appstatus.INVALID_SPEC_ERROR,
                    message=problem,
                    conditions=conditions,
                    at=at,
                ),
            )
            return
        assert cluster is not None
        rt = await self.runtimes.ensure(cluster)
        if not await rt.ready(10.0 if not hard else 20.0):
            state = rt.cache.state
            # The cache's error already says the URL, why, and that it is unreachable.
            message = f"cluster '{cluster.name}': " + (
                state.error or f"({cluster.server}) its live state is not loaded yet"
            )
            status = appstatus.error_status(
                app, kind=appstatus.COMPARISON_ERROR, message=message, conditions=conditions, at=at
            )
            status["health"] = {"status": HealthStatusCode.UNKNOWN.value, "message": message}
            await self._write_status(name, raw, status)
            self.queue.add_after(name, 10.0)
            return
        live = rt.cache.store.tracked(app.name)
        kube_version, api_versions = await rt.capabilities()
        max_age = 0.0 if hard else self.settings.app_resync_seconds
        try:
            result = await cmp.compare(
                app,
                client=rt.client,
                live=live,
                deps=self.deps,
                max_age=max_age,
                extra_ignore=self.system_ignore,
                kube_version=kube_version,
                api_versions=api_versions,
            )
        except errors.TidegateError as exc:
            kind = (
                appstatus.INVALID_SPEC_ERROR
                if isinstance(exc, errors.SpecError)
                else appstatus.COMPARISON_ERROR
            )
            log.info("app %s: %s: %s", name, kind, exc)
            await self._write_status(
                name,
                raw,
                appstatus.error_status(
                    app, kind=kind, message=str(exc), conditions=conditions, at=at
                ),
            )
            if isinstance(exc, errors.TemporaryError):
                self.queue.add_after(name, max(exc.delay, 5.0))
            return
        self.comparisons[name] = result
        status = appstatus.comparison_status(app, result, conditions=conditions, at=at)
        decision = await self._auto_sync(app, result, cluster)
        if decision is not None and decision.report:
            status["conditions"] = appstatus.set_condition(
                status.get("conditions"), appstatus.SYNC_ERROR, decision.reason, at=at
            )
        else:
            status["conditions"] = (
                appstatus.clear_conditions(status.get("conditions"), [appstatus.SYNC_ERROR]) or None
            )
        await self._write_status(name, raw, status)
        if decision is not None and decision.sync:
            await self._start_auto_sync(name, app, result, decision)
        elif app.operation is not None:
            self._ensure_operation(name)

    def _destination(self, app: model_app.Application) -> tuple[clusters.Cluster | None, str]:
        dest = app.spec.destination
        try:
            cluster = self.registry.resolve(dest.server, dest.name)
            cluster.require_config()
        except errors.TidegateError as exc:
            return None, f"Application {app.namespace}/{app.name}: {exc}"
        project = self.projects.get(app.spec.project_name)
        problems = projects.violations(
            app, project, cluster_server=cluster.server, cluster_name=cluster.name
        )
        if problems:
            return None, "; ".join(problems)
        return cluster, ""

    def project_windows(self, app: model_app.Application) -> list[windows.SyncWindow]:
        project = self.projects.get(app.spec.project_name)
        if project is None:
            return []
        return [
            windows.SyncWindow.from_spec(
                w.model_dump(mode="json", by_alias=True, exclude_none=True)
            )
            for w in project.spec.sync_windows or []
        ]

    async def _auto_sync(
        self, app: model_app.Application, result: cmp.Comparison, cluster: clusters.Cluster
    ) -> autosync.Decision | None:
        policy = app.spec.sync_policy
        if policy is None or policy.automated is None:
            return None
        _, next_at = self.self_heal_attempts.get(app.name, (0, 0.0))
        now = dt.datetime.now(dt.UTC)
        decision = autosync.decide(
            app,
            result,
            sync_windows=self.project_windows(app),
            window_app=windows.AppRef(
                app.name, app.spec.destination.namespace or "", cluster.server, cluster.name
            ),
            now=now,
            self_heal_due=time.monotonic() >= next_at,
        )
        if decision.blocked_by_window and decision.retry_at is not None:
            delay = (decision.retry_at - now).total_seconds() + 0.5
            self.queue.add_after(app.name, max(delay, 0.5))
        if not decision.sync and decision.reason == "self-heal backing off":
            self.queue.add_after(app.name, max(0.1, next_at - time.monotonic()))
        return decision

    async def _start_auto_sync(
        self,
        name: str,
        app: model_app.Application,
        result: cmp.Comparison,
        decision: autosync.Decision,
    ) -> None:
        phase_revision = autosync._last_operation(app)
        if phase_revision[1] == result.revision and phase_revision[0] == "Succeeded":
            attempts, _ = self.self_heal_attempts.get(name, (0, 0.0))
            delay = min(
                self.settings.self_heal_timeout_seconds * (2**attempts),
                self.settings.self_heal_backoff_max_seconds,
            )
            self.self_heal_attempts[name] = (attempts + 1, time.monotonic() + delay)
        else:
            self.self_heal_attempts.pop(name, None)
        sync_options = list(app.spec.sync_policy.sync_options or []) if app.spec.sync_policy else []
        operation: dict[str, Any] = {
            "sync": {
                "revision": result.revision,
                "prune": decision.prune,
                **({"syncOptions": sync_options} if sync_options else {}),
            },
            "initiatedBy": {"username": "tidegate-controller", "automated": True},
        }
        if app.spec.has_multiple_sources:
            operation["sync"].pop("revision")
            operation["sync"]["revisions"] = list(result.revisions)
        if app.spec.sync_policy and app.spec.sync_policy.retry is not None:
            operation["retry"] = app.spec.sync_policy.retry.model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
        log.info("app %s: automated sync to %s (%s)", name, result.revision[:12], decision.reason)
        try:
            updated = await self.mgmt.patch(self._app_key(name), {"operation": operation})
        except errors.KubeError as exc:
            log.warning("app %s: could not start automated sync: %s", name, exc)
            return
        if not _older(updated, self.apps.get(name)):
            self.apps[name] = updated
            self.fingerprints[name] = _fingerprint(updated)
        self._ensure_operation(name)

    def _ensure_operation(self, name: str) -> None:
        task = self.op_tasks.get(name)
        if task is not None and not task.done():
            return
        self.op_events.setdefault(name, asyncio.Event())
        self.op_tasks[name] = asyncio.create_task(self._operate(name), name=f"operation-{name}")

    async def _operate(self, name: str) -> None:
        try:
            async with self._op_slots:
                await operations.run(self, name)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("operation of app %s failed", name)
        finally:
            self.op_tasks.pop(name, None)
            self.queue.add(name)

    # -- writes --------------------------------------------------------------------------------

    def _app_key(self, name: str) -> ResourceKey:
        return ResourceKey("argoproj.io", "Application", self.namespace, name)

    async def _write_status(
        self, name: str, raw: Mapping[str, Any], status: dict[str, Any]
    ) -> None:
        """Merge ``status`` into the app, skipping writes that would change only timestamps."""
        current = dict(raw.get("status") or {})
        merged = {**current, **{k: v for k, v in status.items()}}
        merged = {k: v for k, v in merged.items() if v is not None}
        last = self.last_status_write.get(name, 0.0)
        fresh = name in self.last_status_write and (
            time.monotonic() - last < self.settings.app_resync_seconds
        )
        if _status_sans_times(merged) == _status_sans_times(current) and fresh:
            return
        try:
            updated = await self.mgmt.patch(self._app_key(name), {"status": status})
        except errors.KubeNotFoundError:
            return
        except errors.KubeError as exc:
            log.warning("app %s: status write failed: %s", name, exc)
            return
        self.last_status_write[name] = time.monotonic()
        if name in self.apps and not _older(updated, self.apps[name]):
            self.apps[name] = updated

    async def patch_app(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        updated = await self.mgmt.patch(self._app_key(name), patch)
        if name in self.apps and not _older(updated, self.apps[name]):
            self.apps[name] = updated
            self.fingerprints[name] = _fingerprint(updated)
        return updated

    async def _clear_refresh_annotation(self, name: str) -> None:
        with contextlib.suppress(errors.KubeError):
            await self.patch_app(
                name, {"metadata": {"annotations": {constants.ANNOTATION_REFRESH: None}}}
            )

    async def refresh_repo(self, repo_url: str) -> None:
        """Fetch ``repo_url`` now (a webhook said it changed)."""
        creds = sources.credentials_for(repo_url, self._repo_secrets())
        try:
            await self.repos.refresh(repo_url, creds=creds)
        except errors.TidegateError as exc:
            log.warning("refresh of repository %s failed: %s", urls.display(repo_url), exc)

    async def _read_settings(self, seen: Any) -> Any:
        """Read ``argocd-secret`` (webhook secrets) and ``argocd-cm`` (global ignoreDifferences,
        custom health checks, installationID); apply the ConfigMap when its data is not
        ``seen``. Returns the data read (KubeError when the cluster cannot be asked)."""
        secret_key = ResourceKey("", "Secret", self.namespace, constants.ARGOCD_SECRET_NAME)
        cm_key = ResourceKey("", "ConfigMap", self.namespace, argocdcm.CONFIGMAP_NAME)
        self.webhook_secret = await self.mgmt.get_or_none(secret_key)
        cm = await self.mgmt.get_or_none(cm_key)
        data = (cm or {}).get("data") or {}
        if data != seen:
            system = argocdcm.parse(data)
            for problem in system.problems:
                log.warning("%s", problem)
            self.system_ignore = system.ignore_rules
            self.deps.health_checks = system.health_checks
            self._use_installation_id(system.installation_id)
            self._requeue_all()
        return data

    def _use_installation_id(self, from_configmap: str) -> None:
        """argocd-cm ``installationID`` wins over ``Settings.installation_id``. It is settled
        before the first refresh; a later change needs a restart: the live caches decided what
        is tracked with the old id, and switching under a running sync could make it claim or
        drop objects halfway."""
        wanted = from_configmap or self.settings.installation_id
        if wanted == self.installation_id:
            return
        if self.ready.is_set():
            log.warning(
                "%s installationID is now %r but this controller runs with %r: restart it to "
                "apply the change",
                argocdcm.CONFIGMAP_NAME,
                wanted,
                self.installation_id,
            )
            return
        self.installation_id = wanted
        self.deps.installation_id = wanted
        self.runtimes.installation_id = wanted

    async def _initial_settings(self) -> Any:
        """The settings read once before any refresh (retried while the cluster cannot be
        asked: running with the wrong installation id would claim another installation's
        objects)."""
        backoff = kube_watch.Backoff()
        while True:
            try:
                return await self._read_settings(None)
            except errors.KubeError as exc:
                log.warning(
                    "management cluster: reading %s: %s; retrying", argocdcm.CONFIGMAP_NAME, exc
                )
                await asyncio.sleep(backoff.next())

    async def _load_settings(self, seen: Any) -> None:
        """Re-read the settings every 10 s."""
        while True:
            await asyncio.sleep(10.0)
            with contextlib.suppress(errors.KubeError):
                seen = await self._read_settings(seen)

    # -- cluster status ------------------------------------------------------------------------

    async def _publish_cluster_status(self) -> None:
        while True:
            try:
                await self.publish_cluster_status()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next round tries again
                log.exception(
                    "publishing cluster status (ConfigMap %s/%s) failed",
                    self.namespace,
                    constants.CLUSTER_STATUS_CONFIGMAP,
                )
            await asyncio.sleep(CLUSTER_STATUS_INTERVAL)

    async def publish_cluster_status(self) -> None:
        cm = clusterstatus.configmap(
            namespace=self.namespace,
            apps=list(self.apps.values()),
            registry=self.registry,
            runtime_of=self.runtimes.get,
            now=appstatus.now(),
            installation_id=self.installation_id,
        )
        await self.mgmt.apply(cm, force=True)

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled."""
        selector = constants.LABEL_SECRET_TYPE
        self._tasks = [
            asyncio.create_task(self._watch(SECRET_KEY, label_selector=selector)),
            asyncio.create_task(self._watch(PROJECT_KEY)),
        ]
        await self._synced[SECRET_KEY].wait()
        await self._synced[PROJECT_KEY].wait()
        self._tasks.append(asyncio.create_task(self._watch(APP_KEY)))
        await self._synced[APP_KEY].wait()
        settings_seen = await self._initial_settings()
        if self.installation_id:
            log.info("installation id %r", self.installation_id)
        self._tasks += [
            asyncio.create_task(self._worker()) for _ in range(self.settings.refresh_workers)
        ]
        self._tasks.append(asyncio.create_task(self._poller()))
        self._tasks.append(asyncio.create_task(self._publish_cluster_status()))
        self._tasks.append(asyncio.create_task(self._load_settings(settings_seen)))
        self.ready.set()
        log.info(
            "controller ready: %d apps, %d projects, %d clusters",
            len(self.apps),
            len(self.projects),
            len(self.registry.clusters()),
        )
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        for task in [*self._tasks, *self.op_tasks.values()]:
            task.cancel()
        for task in [*self._tasks, *self.op_tasks.values()]:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("stopping %s failed", task.get_name())
        self._tasks.clear()
        self.queue.cancel_timers()
        await self.runtimes.aclose()
        await self.mgmt.aclose()

    # -- webhooks ------------------------------------------------------------------------------

    def apps_for_repo(self, repo_url: str) -> list[str]:
        wanted = urls.normalise(repo_url)
        out = []
        for name, raw in self.apps.items():
            spec = raw.get("spec") or {}
            srcs = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
            if any(urls.normalise(str(src.get("repoURL", ""))) == wanted for src in srcs):
                out.append(name)
        return out
