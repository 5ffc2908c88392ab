"""The ApplicationSet controller loop (does I/O): watches, a work queue, periodic requeue.

:class:`AppSetController` watches, in the control namespace of the management cluster,
ApplicationSets, Applications, AppProjects and the labelled Secrets (clusters, repositories,
repository credential templates) with ``kube.reflect`` (list + watch, bookmarks, relist on 410).
Any change that can alter what a set generates re-reconciles the affected sets at once:

- a set whose ``metadata.generation`` (spec) changed, or that appeared;
- an Application owned by a set changed or vanished (drift is repaired; RollingSync reads the
  apps' sync and health);
- a cluster Secret's name, server, project, labels or annotations changed (sets with cluster
  generators), a repository Secret changed (sets with git generators);
- an AppProject's spec changed (every set: an app its project refused may now be permitted,
  ``appset/projects.py``);
- every ``requeue_seconds`` (git generators: a new refresh generation lets the repository cache
  fetch once), and :meth:`AppSetController.refresh_repo` for webhooks.

One set is reconciled by one worker at a time; a change arriving meanwhile reruns it after.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from tidegate.appset import clusterlist, policy, reconcile, triggers
from tidegate.kube import client as kube_client
from tidegate.kube import discovery, watch
from tidegate.kube import events as kube_events
from tidegate.metrics import families as metric_families
from tidegate.metrics import text as metric_text
from tidegate.model import constants
from tidegate.sandbox import jqpool
from tidegate.sources import RepoCache, RepoCredentials, credentials_for, urls

log = logging.getLogger(__name__)
Obj = dict[str, Any]
SECRET_SELECTOR = (
    f"{constants.LABEL_SECRET_TYPE} in ({constants.SECRET_TYPE_CLUSTER},"
    f"{constants.SECRET_TYPE_REPOSITORY},{constants.SECRET_TYPE_REPO_CREDS})"
)


@dataclasses.dataclass(frozen=True)
class Settings:
    requeue_seconds: float = 180.0  # Argo CD's ApplicationSet requeue interval
    workers: int = 2
    policy: str | None = None  # controller-wide applicationsSync policy (wins over the sets')
    in_cluster_enabled: bool = True
    pending_timeout_seconds: float = 300.0  # a RollingSync Pending that never started
    concurrency: int = 8  # Application writes in flight per reconcile
    metrics_labels: tuple[str, ...] = ()  # exposed as argocd_appset_labels


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _app_view(app: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a set reacts to in one of its Applications (not resourceVersion, managedFields)."""
    meta = app.get("metadata") or {}
    return (
        meta.get("labels"),
        meta.get("annotations"),
        meta.get("finalizers"),
        meta.get("ownerReferences"),
        meta.get("deletionTimestamp"),
        app.get("spec"),
        app.get("operation"),
        app.get("status"),
    )


class AppSetController:
    """Keeps every ApplicationSet of ``namespace`` and its Applications in step; see above."""

    def __init__(
        self,
        *,
        kube: kube_client.KubeClient,
        namespace: str = constants.DEFAULT_CONTROL_NAMESPACE,
        repo_cache: RepoCache | None = None,
        clusters: Callable[[], Sequence[Mapping[str, Any]]] | None = None,
        git_generation: Callable[[], int] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.repo_cache = repo_cache
        self.settings = settings or Settings()
        self._clusters = clusters
        self._own_generation = 0
        self._git_generation = git_generation or (lambda: self._own_generation)
        self._sets: dict[str, Obj] = {}
        self._apps: dict[str, Obj] = {}
        self._secrets: dict[str, Obj] = {}
        self._projects: dict[str, Obj] = {}
        self._desired: dict[str, set[str]] = {}  # last generated names per set
        self._repos: dict[str, set[str]] = {}  # repositories each set read
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._dirty: set[str] = set()
        self._active: set[str] = set()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._listed: set[str] = set()
        self._ready = asyncio.Event()
        self.reconciles = 0
        self.last_duration: dict[str, float] = {}
        self.jq = jqpool.JqPool()  # ignoreApplicationDifferences jq, bounded (started on use)
        self.events = kube_events.EventRecorder(
            kube, component="tidegate-applicationset-controller"
        )

    # -- public ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Watch and reconcile until cancelled."""
        sets = await self.kube.resource(constants.GROUP, constants.KIND_APPLICATION_SET)
        apps = await self.kube.resource(constants.GROUP, constants.KIND_APPLICATION)
        secrets = await self.kube.resource("", "Secret", "v1")
        app_projects = await self.kube.resource(constants.GROUP, "AppProject")
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._watch("sets", sets, self._on_set))
                group.create_task(self._watch("apps", apps, self._on_app))
                group.create_task(
                    self._watch("secrets", secrets, self._on_secret, selector=SECRET_SELECTOR)
                )
                group.create_task(self._watch("projects", app_projects, self._on_project))
                for _ in range(max(1, self.settings.workers)):
                    group.create_task(self._worker(sets, apps))
                group.create_task(self._periodic())
        finally:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            await self.jq.aclose()
            await self.events.aclose()

    async def wait_ready(self) -> None:
        """Until the first list of every watched resource arrived (tests, start-up probes)."""
        await self._ready.wait()

    def enqueue(self, name: str, *, after: float = 0.0) -> None:
        """Reconcile set ``name`` now, or in ``after`` seconds (the earliest request wins)."""
        if after > 0:
            loop = asyncio.get_running_loop()
            due = loop.time() + after
            timer = self._timers.get(name)
            if timer is not None and timer.when() <= due:
                return
            if timer is not None:
                timer.cancel()
            self._timers[name] = loop.call_at(due, self._fire, name)
            return
        if name in self._dirty:
            return
        self._dirty.add(name)
        if name not in self._active:
            self._queue.put_nowait(name)

    def generated(self, name: str) -> frozenset[str]:
        """The Applications the set ``name`` generated at its last reconcile (empty before)."""
        return frozenset(self._desired.get(name, ()))

    def sets_reading(self, repo_url: str) -> list[str]:
        """The sets whose generators or templates read ``repo_url`` (sorted names)."""
        wanted = urls.normalise(repo_url)
        return sorted(
            n
            for n, s in self._sets.items()
            if wanted in self._repos.get(n, set()) or wanted in triggers.git_repos(s)
        )

    async def refresh_repo(self, repo_url: str) -> list[str]:
        """A push to ``repo_url``: fetch it, re-reconcile the sets that read it."""
        names = self.sets_reading(repo_url)
        if names and self.repo_cache is not None:
            await self.repo_cache.refresh(repo_url, creds=await self._credentials(repo_url))
        for name in names:
            self.enqueue(name)
        return names

    def clusters(self) -> list[Mapping[str, Any]]:
        if self._clusters is not None:
            return list(self._clusters())
        return list(
            clusterlist.cluster_list(
                self._secrets.values(), in_cluster_enabled=self.settings.in_cluster_enabled
            )
        )

    # -- watches --------------------------------------------------------------------------------

    async def _watch(
        self,
        what: str,
        res: discovery.APIResource,
        handle: Callable[[str, Obj | None, Obj | None], None],
        *,
        selector: str | None = None,
    ) -> None:
        store = {
            "sets": self._sets,
            "apps": self._apps,
            "secrets": self._secrets,
            "projects": self._projects,
        }[what]
        async for event in watch.reflect(
            self.kube, res, namespace=self.namespace, label_selector=selector
        ):
            if event.type == "RELISTED":
                old = dict(store)
                store.clear()
                store.update({_name(o): o for o in event.items})
                for name in set(old) | set(store):
                    if old.get(name) is not store.get(name):
                        handle(name, old.get(name), store.get(name))
                self._listed.add(what)
                if len(self._listed) == 4 and not self._ready.is_set():
                    self._ready.set()
                    for name in self._sets:
                        self.enqueue(name)
            elif event.type in ("ADDED", "MODIFIED") and event.object is not None:
                name = _name(event.object)
                before = store.get(name)
                store[name] = event.object
                handle(name, before, event.object)
            elif event.type == "DELETED" and event.object is not None:
                name = _name(event.object)
                before = store.pop(name, None)
                handle(name, before, None)
            elif event.type == "ERROR":
                log.warning("ApplicationSet controller: watch %s: %s", what, event.reason)

    def _on_set(self, name: str, before: Obj | None, after: Obj | None) -> None:
        if after is None:
            gone = self._desired.pop(name, set())
            self._repos.pop(name, None)
            for other, names in self._desired.items():  # conflicts with it may be resolved
                if names & gone:
                    self.enqueue(other)
            return
        old, new = (before or {}).get("metadata") or {}, after.get("metadata") or {}
        watched = ("generation", "deletionTimestamp", "labels", "annotations")
        if before is None or any(old.get(k) != new.get(k) for k in watched):
            self.enqueue(name)  # status writes (ours) change none of these

    def _on_app(self, name: str, before: Obj | None, after: Obj | None) -> None:
        if before is not None and after is not None and _app_view(before) == _app_view(after):
            return
        owners = {policy.controller_owner(o) for o in (before, after) if o is not None}
        for owner in owners:
            if owner is not None and owner in self._sets:
                self.enqueue(owner)
        if after is None:  # a conflicting set may now create it
            for other, names in self._desired.items():
                if name in names:
                    self.enqueue(other)

    def _on_project(self, name: str, before: Obj | None, after: Obj | None) -> None:
        if (before or {}).get("spec") != (after or {}).get("spec"):
            for set_name in self._sets:  # an app refused by the project may now be permitted
                self.enqueue(set_name)

    def _on_secret(self, name: str, before: Obj | None, after: Obj | None) -> None:
        cluster_changed = clusterlist.fingerprint(before or {}) != clusterlist.fingerprint(
            after or {}
        )
        repo_changed = any(
            o is not None and not clusterlist.is_cluster_secret(o) for o in (before, after)
        ) and (before or {}).get("data") != (after or {}).get("data")
        for set_name, appset in self._sets.items():
            if (cluster_changed and triggers.uses_clusters(appset)) or (
                repo_changed and triggers.uses_git(appset)
            ):
                self.enqueue(set_name)

    # -- work -----------------------------------------------------------------------------------

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.enqueue(name)

    async def _periodic(self) -> None:
        for generation in itertools.count(1):
            await asyncio.sleep(self.settings.requeue_seconds)
            self._own_generation = generation
            for name in list(self._sets):
                self.enqueue(name)

    async def _credentials(self, repo_url: str) -> RepoCredentials | None:
        repo_secrets = [s for s in self._secrets.values() if not clusterlist.is_cluster_secret(s)]
        return credentials_for(repo_url, repo_secrets)

    def metrics(self) -> Iterable[str]:
        """``argocd_appset_info`` and ``argocd_appset_owned_applications``, read at scrape
        time."""
        info, owned = [], []
        labelled: list[tuple[tuple[str, ...], float]] = []
        keys = self.settings.metrics_labels
        for name, appset in list(self._sets.items()):
            if keys:
                meta_labels = (appset.get("metadata") or {}).get("labels") or {}
                values = (self.namespace, name, *(str(meta_labels.get(k, "")) for k in keys))
                labelled.append((values, 1.0))
            conditions = (appset.get("status") or {}).get("conditions") or []
            up_to_date = next((c for c in conditions if c.get("type") == "ResourcesUpToDate"), None)
            status = str((up_to_date or {}).get("status") or "Unknown")
            info.append(((self.namespace, name, status), 1.0))
            owned.append(((self.namespace, name), float(len(self._desired.get(name, ())))))
        yield metric_text.gauge_lines(
            "argocd_appset_info",
            "Information about applicationset",
            ("namespace", "name", "resource_update_status"),
            info,
        )
        if keys:
            yield metric_text.gauge_lines(
                "argocd_appset_labels",
                "Applicationset labels translated to Prometheus labels",
                ("namespace", "name", *map(metric_text.label_name, keys)),
                labelled,
            )
        yield metric_text.gauge_lines(
            "argocd_appset_owned_applications",
            "Number of applications owned by the applicationset",
            ("namespace", "name"),
            owned,
        )

    async def _worker(self, sets: discovery.APIResource, apps: discovery.APIResource) -> None:
        await self._ready.wait()
        while True:
            name = await self._queue.get()
            self._dirty.discard(name)
            self._active.add(name)
            try:
                await self._reconcile(name, sets, apps)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("ApplicationSet %s/%s: reconcile failed", self.namespace, name)
                self.enqueue(name, after=reconcile.TEMPORARY_RETRY_SECONDS)
            finally:
                self._active.discard(name)
                if name in self._dirty:
                    self._queue.put_nowait(name)

    async def _reconcile(
        self, name: str, sets: discovery.APIResource, apps: discovery.APIResource
    ) -> None:
        appset = self._sets.get(name)
        if appset is None or (appset.get("metadata") or {}).get("deletionTimestamp"):
            return  # deleted: garbage collection removes its Applications (ownerReferences)
        started = time.monotonic()
        deps = reconcile.Deps(
            kube=self.kube,
            apps=apps,
            sets=sets,
            cache=self.repo_cache,
            credentials=self._credentials,
            generation=self._git_generation(),
            policy=self.settings.policy,
            pending_timeout=self.settings.pending_timeout_seconds,
            concurrency=self.settings.concurrency,
            jq=self.jq,
        )
        others = {n: names for n, names in self._desired.items() if n != name}
        result = await reconcile.reconcile(
            appset,
            deps=deps,
            clusters=self.clusters(),
            apps=self._apps,
            others=others,
            app_projects=self._projects,
        )
        self.reconciles += 1
        for action, app_name in result.changes:  # Argo CD's: created Application "x"
            self.events.record(
                appset, kube_events.EventSpec(action, f'{action} Application "{app_name}"')
            )
        self.last_duration[name] = time.monotonic() - started
        metric_families.APPSET_RECONCILE.labels(self.namespace, name).observe(
            self.last_duration[name]
        )
        self._repos[name] = result.repos
        current = self._sets.get(name)
        if current is not None:
            self._sets[name] = {**current, "status": result.status}
        if result.desired is not None:
            before = self._desired.get(name, set())
            self._desired[name] = result.desired
            changed = before ^ result.desired
            now = {n: names for n, names in self._desired.items() if n != name}
            for other, names in now.items():
                if names & changed:
                    self.enqueue(other)  # their conflicts with this set changed
            if now != others:
                # Another set's names changed while this one reconciled (sets reconcile
                # concurrently): its cross-set conflicts were judged on a stale view. Each of
                # two sets generating one name could otherwise miss the other for good.
                self.enqueue(name)
        if result.requeue_after is not None:
            self.enqueue(name, after=result.requeue_after)


class _ApplicationController(Protocol):
    """What :func:`from_application_controller` reads from ``tidegate.controller``'s engine."""

    mgmt: kube_client.KubeClient
    namespace: str
    repos: RepoCache


def from_application_controller(
    ctrl: _ApplicationController, *, settings: Settings | None = None
) -> AppSetController:
    """An ApplicationSet controller sharing the Application controller's management client and
    repository cache (one fetch per repository serves both).

    The cluster list comes from this controller's own watch on cluster Secrets rather than the
    engine's registry: the event that triggers a reconcile and the cluster list it reads are
    then the same, so a label change can never be read before the registry has seen it.
    """
    return AppSetController(
        kube=ctrl.mgmt, namespace=ctrl.namespace, repo_cache=ctrl.repos, settings=settings
    )
