"""Reconcile one ApplicationSet against the management cluster (does I/O).

generate (pure, in a worker thread, git through the repository cache) -> leave out names another
set also generates -> ``plan_changes`` against the namespace's Applications -> create / replace
(with the live ``resourceVersion``; the Application CRD has no status subresource, so the live
``status`` and ``operation`` are carried over) / delete -> RollingSync (set ``operation`` on
the apps the plan releases) -> ``status`` through the ApplicationSet's status subresource.

A generator or template error changes no Application: the set gets ``ErrorOccurred=True``.
A failed write of one Application is data (an error condition), not an exception.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from tidegate.appset import applications, gitreader, policy, projects, rollout, status, triggers
from tidegate.kube import client as kube_client
from tidegate.kube import discovery
from tidegate.model import appset as appset_model
from tidegate.model import constants, errors
from tidegate.model.keys import ResourceKey
from tidegate.sandbox import jqpool
from tidegate.sources import RepoCache

App = dict[str, Any]
ROLLOUT_USER = "applicationset-controller"
CONFLICT_RETRY_SECONDS = 1.0
TEMPORARY_RETRY_SECONDS = 15.0


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class Deps:
    """What a reconcile needs; built by the controller for each pass."""

    kube: kube_client.KubeClient
    apps: discovery.APIResource
    sets: discovery.APIResource
    cache: RepoCache | None
    credentials: gitreader.CredentialsLookup
    generation: int
    policy: str | None = None
    pending_timeout: float = 300.0
    concurrency: int = 8
    now: Callable[[], datetime.datetime] = utc_now
    jq: jqpool.JqPool | None = None  # ignoreApplicationDifferences jq, bounded; None: in-process


@dataclasses.dataclass
class Result:
    desired: set[str] | None  # None: generation failed (nothing was changed)
    repos: set[str]
    status: dict[str, Any]
    requeue_after: float | None = None
    # What was written, in order: ("created" | "updated" | "Deleted", app name), the reasons
    # of Argo CD's ApplicationSet events.
    changes: list[tuple[str, str]] = dataclasses.field(default_factory=list)


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


async def _bounded(jobs: Iterable[Awaitable[None]], limit: int) -> None:
    gate = asyncio.Semaphore(max(1, limit))

    async def run(job: Awaitable[None]) -> None:
        async with gate:
            await job

    await asyncio.gather(*(run(j) for j in jobs))


class _Pass:
    """One reconcile of one set: its inputs, what it wrote, and what went wrong."""

    def __init__(self, appset: Mapping[str, Any], deps: Deps, apps: dict[str, App]) -> None:
        self.appset = appset
        self.deps = deps
        self.name = _name(appset)
        self.namespace = str((appset.get("metadata") or {}).get("namespace") or "")
        self.live = apps  # written through: the caller's store sees our writes at once
        self.apply_errors: list[str] = []
        self.changes: list[tuple[str, str]] = []
        self.requeue_after: float | None = None
        self.reader: gitreader.CacheGitReader | None = None
        if deps.cache is not None:
            self.reader = gitreader.CacheGitReader(
                loop=asyncio.get_running_loop(),
                cache=deps.cache,
                credentials=deps.credentials,
                generation=deps.generation,
            )

    def requeue(self, seconds: float) -> None:
        self.requeue_after = (
            seconds if self.requeue_after is None else min(self.requeue_after, seconds)
        )

    def key(self, app_name: str) -> ResourceKey:
        return ResourceKey(constants.GROUP, constants.KIND_APPLICATION, self.namespace, app_name)

    def owned(self) -> list[App]:
        return [a for a in self.live.values() if policy.controller_owner(a) == self.name]

    # -- writes ------------------------------------------------------------------------------

    async def create(self, app: App) -> None:
        try:
            self.live[_name(app)] = await self.deps.kube.create(app)
            self.changes.append(("created", _name(app)))
        except errors.KubeConflictError:
            self.requeue(CONFLICT_RETRY_SECONDS)  # created meanwhile: our view was behind
        except errors.KubeError as exc:
            self.apply_errors.append(str(exc))

    async def update(self, app: App) -> None:
        current = self.live.get(_name(app))
        if current is None:
            self.requeue(CONFLICT_RETRY_SECONDS)  # deleted meanwhile: plan again
            return
        meta = dict(app["metadata"])
        meta["resourceVersion"] = (current.get("metadata") or {}).get("resourceVersion")
        body = {**app, "metadata": meta}
        for field in ("operation", "status"):  # no status subresource: keep what others wrote
            if field in current:
                body[field] = current[field]
        try:
            self.live[_name(app)] = await self.deps.kube.replace(body)
            self.changes.append(("updated", _name(app)))
        except errors.KubeConflictError:
            self.requeue(CONFLICT_RETRY_SECONDS)  # changed meanwhile: plan again
        except errors.KubeError as exc:
            self.apply_errors.append(str(exc))

    async def delete(self, app_name: str) -> None:
        current = self.live.get(app_name) or {}
        spec = self.appset.get("spec") or {}
        preserve = bool((spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion"))
        finalizers = list((current.get("metadata") or {}).get("finalizers") or [])
        kept = [f for f in finalizers if not str(f).startswith(constants.FINALIZER_RESOURCES)]
        try:
            if preserve and kept != finalizers:
                # Keep the app's resources: drop the finalizer that would make them pruned.
                await self.deps.kube.patch(self.key(app_name), {"metadata": {"finalizers": kept}})
            await self.deps.kube.delete(self.key(app_name), propagation="Background")
            self.live.pop(app_name, None)
            self.changes.append(("Deleted", app_name))
        except errors.KubeError as exc:
            self.apply_errors.append(str(exc))

    async def write_status(self, new: dict[str, Any]) -> None:
        old = self.appset.get("status") or {}
        if new == old:
            return
        patch: dict[str, Any] = dict(new)
        for key in old:
            patch.setdefault(key, None)  # merge patch: absent keys must be removed explicitly
        path = self.deps.sets.path(self.namespace, self.name) + "/status"
        try:
            await self.deps.kube.request(
                "PATCH",
                path,
                what=f"update status of ApplicationSet {self.namespace}/{self.name}",
                params={"fieldManager": constants.FIELD_MANAGER},
                body=json.dumps({"status": patch}).encode(),
                content_type=kube_client.MERGE_CONTENT_TYPE,
            )
        except errors.KubeNotFoundError:
            return  # the set was deleted meanwhile
        except errors.KubeError:
            self.requeue(TEMPORARY_RETRY_SECONDS)

    # -- RollingSync ----------------------------------------------------------------------------

    async def target(self, app: Mapping[str, Any]) -> str | None:
        """The commit the app's single git source resolves to now, if we can tell."""
        source = (app.get("spec") or {}).get("source")
        if self.reader is None or not isinstance(source, Mapping) or source.get("chart"):
            return None
        repo = str(source.get("repoURL") or "")
        if not repo:
            return None
        try:
            return await self.reader.resolve(repo, str(source.get("targetRevision") or "HEAD"))
        except errors.TidegateError:
            return None

    def operation(self, app: Mapping[str, Any], target: str | None, step: int | None) -> App:
        sync_policy = (app.get("spec") or {}).get("syncPolicy") or {}
        sync: dict[str, Any] = {"prune": True}
        if target:
            sync["revision"] = target
        if sync_policy.get("syncOptions"):
            sync["syncOptions"] = list(sync_policy["syncOptions"])
        op: App = {
            "sync": sync,
            "initiatedBy": {"username": ROLLOUT_USER, "automated": True},
            "info": [
                {
                    "name": "Reason",
                    "value": f"RollingSync step {step} of ApplicationSet {self.name}",
                }
            ],
        }
        if sync_policy.get("retry"):
            op["retry"] = sync_policy["retry"]
        return op

    async def roll(self, desired: set[str]) -> tuple[rollout.RolloutPlan, dict[str, str | None]]:
        apps = [a for a in self.owned() if _name(a) in desired]
        found = await asyncio.gather(*(self.target(a) for a in apps))
        targets = {_name(a): t for a, t in zip(apps, found, strict=True)}
        previous = status.previous_statuses(self.appset)
        now = self.deps.now()
        states = []
        for app in apps:
            before = previous.get(_name(app))
            prior = before[0] if before else None
            stuck = before is not None and _age(before[1], now) > self.deps.pending_timeout
            if prior is rollout.StepStatus.PENDING and not app.get("operation") and stuck:
                prior = None  # released but never started: release it again
            states.append(status.app_state(app, target=targets[_name(app)], previous=prior))
        plan = rollout.plan_rollout(rollout.steps_of(self.appset), states)
        steps = {a.application: a.step for a in plan.apps}
        for app_name in plan.to_sync:
            current = self.live.get(app_name)
            if current is None:
                continue
            op = self.operation(current, targets[app_name], steps.get(app_name))
            try:
                self.live[app_name] = await self.deps.kube.patch(
                    self.key(app_name), {"operation": op}
                )
            except errors.KubeError as exc:
                self.apply_errors.append(str(exc))
        return plan, targets


def _bounded_jq(pool: jqpool.JqPool, loop: asyncio.AbstractEventLoop) -> policy.JqPaths:
    """A :data:`policy.JqPaths` for a worker thread: each evaluation goes to ``pool`` on
    ``loop`` and the thread waits for the answer."""

    def find(doc: Mapping[str, Any], expression: str) -> list[list[str | int]]:
        name = str((doc.get("metadata") or {}).get("name") or "")
        future = asyncio.run_coroutine_threadsafe(pool.paths([doc], [(0, expression)]), loop)
        try:
            (found,) = future.result()
        except jqpool.JqLimitError as exc:
            raise errors.LimitExceededError(
                f"ignoreApplicationDifferences of Application {name!r}: {exc}"
            ) from None
        if isinstance(found, str):
            raise errors.SpecError(
                f"ignoreApplicationDifferences of Application {name!r}: jq expression"
                f" {expression!r}: {found}"
            )
        return found

    return find


def _age(stamp: str, now: datetime.datetime) -> float:
    try:
        then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return float("inf")
    return (now - then).total_seconds()


async def reconcile(
    appset: Mapping[str, Any],
    *,
    deps: Deps,
    clusters: list[Mapping[str, Any]],
    apps: dict[str, App],
    others: Mapping[str, set[str]],
    app_projects: Mapping[str, Mapping[str, Any]] | None = None,
) -> Result:
    """Reconcile ``appset`` given the namespace's ``apps`` (by name; our writes are stored into
    it as they happen) and the names the ``others`` sets of the namespace generate.

    ``app_projects`` (AppProjects by name; None: not checked): a generated app its project does
    not permit is left as it is (not created, updated or deleted) and reported."""
    run = _Pass(appset, deps, apps)
    repos = triggers.git_repos(appset)
    now = _stamp(deps.now())
    try:
        appset_model.parse_applicationset(appset)
        desired = await asyncio.to_thread(
            applications.generate_applications, appset, clusters=clusters, git=run.reader
        )
        names = {_name(a) for a in desired}
        crossed = policy.cross_set_conflicts({**others, run.name: names}).get(run.name, [])
        blocked = {c.application for c in crossed}
        refused = (
            projects.refused_applications(
                desired, projects=app_projects, clusters=clusters, control_namespace=run.namespace
            )
            if app_projects is not None
            else {}
        )
        blocked |= set(refused)
        wanted = [a for a in desired if _name(a) not in blocked]
        current = [a for n, a in run.live.items() if n not in blocked]
        if deps.jq is not None and policy.uses_jq(appset):
            # The plan runs in a thread that waits for each jq answer from the worker pool, so
            # an expression that never ends stalls neither the loop nor the other sets.
            jq = _bounded_jq(deps.jq, asyncio.get_running_loop())
            plan = await asyncio.to_thread(
                policy.plan_changes, appset, wanted, current, policy=deps.policy, jq=jq
            )
        else:
            plan = policy.plan_changes(appset, wanted, current, policy=deps.policy)
    except errors.TidegateError as exc:
        if run.reader is not None:
            repos |= run.reader.repos
        outcome = status.Outcome(generation_error=str(exc))
        new = status.build(
            outcome, old=appset.get("status") or {}, apps=run.owned(), targets={}, now=now
        )
        await run.write_status(new)
        if isinstance(exc, errors.TemporaryError):
            run.requeue(TEMPORARY_RETRY_SECONDS)
        return Result(None, repos, new, run.requeue_after)
    if run.reader is not None:
        repos |= run.reader.repos
    jobs: list[Awaitable[None]] = [run.create(a) for a in plan.create]
    jobs += [run.update(a) for a in plan.update]
    await _bounded(jobs, deps.concurrency)
    for app_name in plan.delete:  # in order (deletionOrder: Reverse)
        await run.delete(app_name)
    conflicts = [c.message for c in crossed] + [c.message for c in plan.conflicts]
    plan_rollout: rollout.RolloutPlan | None = None
    targets: dict[str, str | None] = {}
    if triggers.is_rolling_sync(appset):
        try:
            plan_rollout, targets = await run.roll(names - blocked)
        except errors.SpecError as exc:
            run.apply_errors.append(f"RollingSync: {exc}")
    outcome = status.Outcome(
        apply_errors=tuple(run.apply_errors),
        conflicts=tuple(conflicts),
        rollout=plan_rollout,
        refused=tuple(refused[n] for n in sorted(refused)),
    )
    new = status.build(
        outcome, old=appset.get("status") or {}, apps=run.owned(), targets=targets, now=now
    )
    await run.write_status(new)
    if run.apply_errors:
        run.requeue(TEMPORARY_RETRY_SECONDS)
    return Result(names, repos, new, run.requeue_after, run.changes)
