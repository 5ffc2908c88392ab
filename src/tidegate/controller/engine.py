"""The application controller: wiring only.

It watches Applications, AppProjects and the labelled Secrets of the control namespace on the
management cluster, keeps one live cache per destination cluster (:mod:`.runtime`), and hands
the work to the modules that do it:

- :mod:`.appstate`: one record per app, created on first sight, dropped whole on delete;
- :mod:`.scheduler`: the work queue, its triggers and processors, the jittered poll;
- :mod:`.refresh`: compare one app and write its status (:mod:`.status`), decide automated syncs;
- :mod:`.operate`: run an app's operation (one task per app), persisted in
  ``status.operationState`` so that a restarted controller resumes it;
- :mod:`.deletion`: cascade deletes behind the resources finalizer.

Those modules see the controller through small Protocols (``RefreshHost``, ``OperationHost``,
``DeletionHost``); the methods under "host" below are their whole interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Container, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from tidegate import kube, render, sources
from tidegate.controller import (
    appstate,
    appstatus,
    argocdcm,
    clusters,
    clusterstatus,
    deletion,
    journal,
    leases,
    looplag,
    metrics,
    observe,
    operate,
    opgate,
    orphans,
    projects,
    recall,
    refresh,
    runtime,
    scheduler,
    shards,
    signatures,
    status,
    systemconfig,
)
from tidegate.controller import compare as cmp
from tidegate.controller import settings as settings_mod
from tidegate.diff import ignore as diff_ignore
from tidegate.kube import config as kube_config
from tidegate.kube import events as kube_events
from tidegate.kube import pressure as kube_pressure
from tidegate.kube import watch as kube_watch
from tidegate.metrics import families as metric_families
from tidegate.model import application as model_app
from tidegate.model import constants, errors
from tidegate.model import project as model_project
from tidegate.model.keys import ResourceKey
from tidegate.sources import urls
from tidegate.sync import projects as sync_projects
from tidegate.sync import windows

log = logging.getLogger("tidegate.controller")

APP_KEY = ("argoproj.io", "Application")
PROJECT_KEY = ("argoproj.io", "AppProject")
SECRET_KEY = ("", "Secret")
CLUSTER_STATUS_INTERVAL = 10.0


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
        self.mgmt = kube.client_for(mgmt, bulk=True)
        cache_dir = self.settings.cache_dir or Path(platformdirs.user_cache_dir("tidegate"))
        self.repos = sources.RepoCache(
            cache_dir / "repos",
            max_age=self.settings.app_resync_seconds,
            limits=self.settings.git_limits,
        )
        # Events, sync counters and notifications follow every stored change (observe.py).
        self.events = kube_events.EventRecorder(
            self.mgmt, component="tidegate-application-controller"
        )
        self.observer = observe.AppObserver(control_namespace=self.namespace, recorder=self.events)
        self.states = appstate.AppStates(observer=self.observer)
        self.projects: dict[str, model_project.AppProject] = {}
        self.secrets: dict[str, dict[str, Any]] = {}
        self.registry = clusters.ClusterRegistry([], management=mgmt)
        # Settled from argocd-cm before the first refresh (:meth:`_use_installation_id`).
        self.installation_id = self.settings.installation_id
        # AppProject signatureKeys: GnuPG checks of every resolved revision (signatures.py).
        self.signatures = signatures.SignatureGate(
            mgmt=self.mgmt,
            namespace=self.namespace,
            verifier=sources.Verifier(self.repos, sources.Keyring(cache_dir / "gnupg")),
            project_of=lambda name: self.projects.get(name),
        )
        self.deps = cmp.CompareDeps(
            repos=self.repos,
            # rendered manifests survive a restart (render/persist.py): a cold start re-renders
            # only what changed while the controller was down
            render_cache=render.RenderCache(disk=render.RenderStore.at(cache_dir / "renders")),
            repo_secrets=self._repo_secrets,
            tracking=self.settings.tracking_method,
            installation_id=self.installation_id,
            control_namespace=self.namespace,
            source_repos=self._source_repos,
            verify_revisions=self.signatures.verify,
            # --- config management plugins and the render timeout (settings) ---
            plugins=render.PluginRegistry(self.settings.plugin_dir).current,
            render_limits=render.RenderLimits(timeout_seconds=self.settings.render_timeout_seconds),
            charts=sources.ChartCache(cache_dir / "charts"),  # Helm repository / OCI sources
        )
        self.scheduler = scheduler.Scheduler(
            names=self.states.names,
            resync_seconds=self.settings.app_resync_seconds,
            jitter=self.settings.resync_jitter,
        )
        self.runtimes = runtime.Runtimes(
            on_change=self._on_live_change,
            tracking_method=self.settings.tracking_method,
            installation_id=self.installation_id,
            on_recovered=self._request_cluster,  # a cluster answers again: recompute its apps
        )
        self.journal = journal.Journal(mgmt=self.mgmt, audit_url=self.settings.audit_db)
        self.operations = operate.Operations(
            self,
            workers=self.settings.operation_workers,
            per_cluster=self.settings.operation_workers_per_cluster,
            on_end=self.scheduler.request,
            # adaptive to the API servers' latency and 429s, user-requested syncs first
            gate=opgate.OperationGate(
                initial=self.settings.operation_workers,
                ceiling=opgate.CEILING_FACTOR * self.settings.operation_workers,
                sample=self._api_pressure,
            ),
        )
        # Sharding across replicas (shards.py): None when this process takes every cluster.
        self.shards = (
            shards.Shards(
                settings=self.settings.sharding,
                store=leases.KubeLeaseStore(mgmt, self.namespace),
                namespace=self.namespace,
                registry=lambda: self.registry,
                states=self.states,
                ensure_operation=self.operations.ensure,
                request_all=self.scheduler.request_all,
                keep_clusters=self._keep_clusters,
            )
            if self.settings.sharding is not None
            else None
        )
        self.status_writer = status.StatusWriter(
            patch=self._patch, resync_seconds=self.settings.app_resync_seconds
        )
        self.config = systemconfig.SystemConfig(
            mgmt=self.mgmt, namespace=self.namespace, on_change=self._apply_system
        )
        self._synced = {
            APP_KEY: asyncio.Event(),
            PROJECT_KEY: asyncio.Event(),
            SECRET_KEY: asyncio.Event(),
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._releases: set[asyncio.Task[None]] = set()  # runtimes of removed clusters closing
        self.ready = asyncio.Event()
        self.refresh_count = 0
        self.system_ignore: tuple[diff_ignore.IgnoreRule, ...] = ()
        self.metrics = metrics.StateCollector(
            self,
            app_labels=self.settings.metrics_app_labels,
            cluster_labels=self.settings.metrics_cluster_labels,
        )

    @property
    def webhook_secret(self) -> dict[str, Any] | None:
        """``argocd-secret`` as last read (the webhook endpoint's secrets)."""
        return self.config.webhook_secret

    @property
    def apps(self) -> dict[str, dict[str, Any]]:
        """Every app's stored copy, by instance name (a snapshot): ``<name>`` in the control
        namespace, ``<namespace>_<name>`` in the other application namespaces."""
        return self.states.raws()

    # -- inputs ------------------------------------------------------------------------------

    def _repo_secrets(self) -> list[dict[str, Any]]:
        return [
            s
            for s in self.secrets.values()
            if ((s.get("metadata") or {}).get("labels") or {}).get(constants.LABEL_SECRET_TYPE)
            in (constants.SECRET_TYPE_REPOSITORY, constants.SECRET_TYPE_REPO_CREDS)
        ]

    def _source_repos(self, project: str) -> tuple[str, ...]:
        found = self.projects.get(project)
        return tuple(found.spec.source_repos or []) if found is not None else ()

    def _on_live_change(self, server: str, apps: set[str], key: ResourceKey | None) -> None:
        for name in apps:
            state = self.states.get(name)
            if state is None:
                continue
            state.wake.set()
            if state.operating():
                continue  # the running sync reacts; the app is refreshed when it ends
            self.scheduler.request(name)
        if key is not None and not apps and key.namespace and orphans.monitoring(self.projects):
            # An untracked object appeared or went: apps watching orphans there (orphans.py).
            pairs = ((state.name, state.raw) for state in self.states)
            for name in orphans.watching(pairs, self.projects, key.namespace):
                self.scheduler.request(name)
        if key is None and not apps:  # a relist: anything on this cluster may have changed
            self._request_cluster(server)

    def _api_pressure(self) -> kube_pressure.Sample:
        """The management cluster's and the destinations' push-back (controller/opgate.py).
        A destination marked down is left out: its last answers (slow ones as it hung, or the
        backlog answered at once when it resumes) say nothing about the servers that work, and
        must not shrink the limit that other clusters' operations share (issue 9)."""
        answering = (rt.client for rt in self.runtimes.all() if not rt.down_error)
        clients = [self.mgmt, *answering]
        return kube_pressure.worst([c.pressure.sample() for c in clients])

    def _request_cluster(self, server: str) -> None:
        """Refresh every app whose destination is ``server`` (by URL or by cluster name)."""
        rt = self.runtimes.get(server)
        name = rt.cluster.name if rt is not None else None
        for state in self.states:
            destination = (state.raw.get("spec") or {}).get("destination") or {}
            if destination.get("server") == server or (
                name and not destination.get("server") and destination.get("name") == name
            ):
                self.scheduler.request(state.name)

    def app_namespace_watched(self, namespace: str) -> bool:
        """Whether Applications in ``namespace`` are this controller's: the control namespace
        and those matching ``--application-namespaces``."""
        return namespace == self.namespace or sync_projects.namespace_listed(
            self.settings.application_namespaces, namespace
        )

    def _app_instance(self, obj: Mapping[str, Any]) -> str | None:
        """The key of a watched Application (None: one of a namespace not watched)."""
        meta = obj.get("metadata") or {}
        namespace = str(meta.get("namespace") or self.namespace)
        if not self.app_namespace_watched(namespace):
            return None
        return model_app.instance_name(namespace, str(meta.get("name")), self.namespace)

    async def _watch(
        self, group_kind: tuple[str, str], *, label_selector: str | None = None
    ) -> None:
        res = await self._resource_with_retry(*group_kind)
        # Applications in any namespace: one cluster-wide watch, filtered (_app_instance), so
        # that namespaces created later are picked up.
        every_namespace = group_kind == APP_KEY and bool(self.settings.application_namespaces)
        async for event in kube_watch.reflect(
            self.mgmt,
            res,
            namespace=None if every_namespace else self.namespace,
            label_selector=label_selector,
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
                apps = {key: o for o in event.items if (key := self._app_instance(o)) is not None}
                for gone in set(self.states.names()) - set(apps):
                    self._app_deleted(gone)
                for key, obj in apps.items():
                    self._app_seen(key, obj)
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
            key = self._app_instance(obj)
            if key is None:
                return  # an Application of a namespace this controller does not watch
            if event.type == "DELETED":
                self._app_deleted(key)
            else:
                self._app_seen(key, obj)
        elif group_kind == PROJECT_KEY:
            if event.type == "DELETED":
                self.projects.pop(name, None)
            else:
                self._project_seen(name, obj)
            self.scheduler.request_all()
        else:
            if event.type == "DELETED":
                self.secrets.pop(name, None)
            else:
                self.secrets[name] = obj
            self._secrets_changed()

    def _app_seen(self, name: str, obj: dict[str, Any]) -> None:
        seen = self.states.seen(name, obj)
        if seen is None:
            return  # an older copy than the one stored
        state, changed = seen
        if changed:
            meta = obj.get("metadata") or {}
            if obj.get("operation") and not meta.get("deletionTimestamp") and self.ready.is_set():
                # Start a requested sync at once; it does not need a refresh first (operations
                # re-read the app before they act, so a stale event starts nothing), and the
                # app is refreshed when the sync ends. Before the controller is ready (argocd-cm
                # not read yet: tracking method, installation id, health customisations), it
                # starts once they are known (run()).
                self.start_operation(state)
            else:
                hard = (meta.get("annotations") or {}).get(constants.ANNOTATION_REFRESH)
                self.scheduler.request(name, hard=hard == "hard")
        state.wake.set()

    def _app_deleted(self, name: str) -> None:
        self.states.drop(name)
        self.scheduler.forget(name)

    def _project_seen(self, name: str, obj: dict[str, Any]) -> None:
        try:
            self.projects[name] = model_project.parse_project(obj)
        except errors.SpecError as exc:
            log.warning("%s", exc)
            self.projects.pop(name, None)

    def _secrets_changed(self) -> None:
        self.registry = clusters.ClusterRegistry(self.secrets.values(), management=self.mgmt_config)
        # A cluster gone from the registry releases its watches, connections and credentials.
        registered = {cluster.server for cluster in self.registry.clusters()}
        if any(rt.cluster.server not in registered for rt in self.runtimes.all()):
            self._keep_clusters(registered)
        if self.shards is not None:  # clusters may have moved to other shards
            self.shards.stop_unowned("clusters reassigned")
        self.scheduler.request_all()

    def _keep_clusters(self, servers: set[str] | Callable[[], set[str]]) -> None:
        """Close the runtimes of every cluster but ``servers`` (in the background)."""
        task = asyncio.create_task(self.runtimes.drop_missing(servers))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def refresh_all(self) -> None:
        """Refresh every app now; return once the queue has drained and no refresh runs.

        Needs the processors of :meth:`run`. Refreshes queued meanwhile (watch events) are
        waited for too; delayed ones and operations are not.
        """
        self.scheduler.request_all()
        await self.scheduler.drain()

    async def refresh(self, name: str, *, hard: bool = False) -> None:
        state = self.states.get(name)
        if state is None:
            return
        with self._shard_of(state) as mine:
            if not mine:
                return  # another replica's shard
            self.refresh_count += 1
            namespace, app_name, project, dest = metrics.app_identity(state.raw, self.namespace)
            with (
                metric_families.app_context(namespace, app_name, project),
                metric_families.APP_RECONCILE.labels(namespace, dest).time(),
            ):
                await refresh.refresh(self, state, hard=hard)

    def _shard_of(self, state: appstate.AppState) -> contextlib.AbstractContextManager[bool]:
        """Whether the app is this replica's; its work runs behind its shard's write fence."""
        if self.shards is None:
            return contextlib.nullcontext(True)
        return self.shards.fenced(state.raw)

    async def _refresh(self, name: str, hard: bool) -> None:
        await self.refresh(name, hard=hard)

    # -- host: what refresh, operate and deletion see of the controller ----------------------

    def destination(self, app: model_app.Application) -> tuple[clusters.Cluster | None, str]:
        dest = app.spec.destination
        try:
            cluster = self.registry.resolve(dest.server, dest.name)
            cluster.require_config()
        except errors.TidegateError as exc:
            return None, f"Application {app.namespace}/{app.name}: {exc}"
        project = self.projects.get(app.spec.project_name)
        problems = projects.violations(
            app, project, control_namespace=self.namespace, cluster=cluster
        )
        if problems:
            return None, "; ".join(problems)
        return cluster, ""

    def project_rules(
        self, app: model_app.Application, cluster: clusters.Cluster
    ) -> sync_projects.Rules | None:
        """What limits ``app``'s objects on ``cluster`` (its AppProject, the cluster Secret)."""
        return projects.rules_for(self.projects.get(app.spec.project_name), cluster)

    def project_of(self, app: model_app.Application) -> model_project.AppProject | None:
        return self.projects.get(app.spec.project_name)

    @property
    def known_apps(self) -> Container[str]:
        """The names of the apps that exist now."""
        return self.states

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

    async def runtime(self, cluster: clusters.Cluster) -> runtime.ClusterRuntime:
        return await self.runtimes.ensure(cluster)

    def _app_key(self, name: str) -> ResourceKey:
        namespace, app_name = model_app.split_instance_name(name, self.namespace)
        return ResourceKey("argoproj.io", "Application", namespace, app_name)

    async def read_app(self, name: str) -> dict[str, Any] | None:
        return await self.mgmt.get_or_none(self._app_key(name))

    async def _patch(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        return await self.mgmt.patch(self._app_key(name), patch)

    async def patch_app(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        updated = await self._patch(name, patch)
        state = self.states.get(name)
        if state is not None:
            state.store(updated, refingerprint=True, own_write=True)
        return updated

    async def write_status(self, state: appstate.AppState, patch: Mapping[str, Any]) -> None:
        await self.status_writer.write(state, patch)

    def request_after(self, name: str, delay: float) -> None:
        self.scheduler.request_after(name, delay)

    def start_operation(self, state: appstate.AppState) -> None:
        if self.shards is not None:  # only for an app of an owned shard, behind its fence
            self.shards.start_operation(state)
        else:
            self.operations.ensure(state)

    async def delete_app(self, app: model_app.Application, raw: Mapping[str, Any]) -> None:
        await deletion.delete_app(self, app, raw)

    # -- repositories, settings, cluster status ---------------------------------------------

    async def refresh_repo(self, repo_url: str) -> bool:
        """Fetch ``repo_url`` now (a webhook said it changed); False when the fetch failed."""
        try:  # a malformed repository Secret is a ConfigError, logged like a failed fetch
            creds = sources.credentials_for(repo_url, self._repo_secrets())
            await self.repos.refresh(repo_url, creds=creds)
        except errors.TidegateError as exc:
            log.warning("refresh of repository %s failed: %s", urls.display(repo_url), exc)
            return False
        return True

    def _apply_system(self, system: argocdcm.SystemSettings) -> None:
        """argocd-cm changed: global ignore rules, custom health checks, installation id."""
        self.system_ignore = system.ignore_rules
        self.deps.health_checks = system.health_checks
        self.deps.jq.timeout = system.jq_timeout  # bounded jq (argocd-cm)
        self._use_installation_id(system.installation_id)
        self.scheduler.request_all()

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
            apps=[state.raw for state in self.states],
            registry=self.registry,
            runtime_of=self.runtimes.get,
            now=appstatus.now(),
            installation_id=self.installation_id,
        )
        if self.shards is not None:  # each replica publishes the clusters of its shards
            cm, manager = self.shards.cluster_status(cm)
            await self.mgmt.apply(cm, force=True, field_manager=manager)
            return
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
        settings_seen = await self.config.initial()
        # cold start: the key of the records of no-op predictions kept in app statuses
        self.deps.ledger = await recall.load_key(self.mgmt, self.namespace)
        if self.installation_id:
            log.info("installation id %r", self.installation_id)
        if self.shards is not None:
            self._tasks.append(asyncio.create_task(self.shards.run(), name="shard-leases"))
        self._tasks += [
            asyncio.create_task(self.scheduler.process(self._refresh))
            for _ in range(self.settings.refresh_workers)
        ]
        self._tasks.append(asyncio.create_task(self.scheduler.poll()))
        self._tasks.append(looplag.start())  # a busy controller does not call clusters down
        self._tasks.append(asyncio.create_task(self._publish_cluster_status()))
        self._tasks.append(asyncio.create_task(self.config.poll(settings_seen)))
        self.ready.set()
        for state in self.states:  # operations seen before the settings were known
            meta = state.raw.get("metadata") or {}
            if state.raw.get("operation") and not meta.get("deletionTimestamp"):
                self.start_operation(state)
        log.info(
            "controller ready: %d apps, %d projects, %d clusters",
            len(self.states),
            len(self.projects),
            len(self.registry.clusters()),
        )
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        operations = [s.operation for s in self.states if s.operation is not None]
        tasks = [*self._tasks, *operations, *self._releases]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("stopping %s failed", task.get_name())
        self._tasks.clear()
        self.scheduler.close()
        await self.runtimes.aclose()
        await self.deps.jq.aclose()  # bounded jq: stop the worker processes
        await self.events.aclose(grace=journal.CLOSE_GRACE_SECONDS)
        await self.journal.aclose()
        await self.mgmt.aclose()

    # -- webhooks ------------------------------------------------------------------------------

    def apps_for_repo(self, repo_url: str) -> list[str]:
        wanted = urls.normalise(repo_url)
        out = []
        for state in self.states:
            name, spec = state.name, state.raw.get("spec") or {}
            srcs = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
            if any(urls.normalise(str(src.get("repoURL", ""))) == wanted for src in srcs):
                out.append(name)
        return out
