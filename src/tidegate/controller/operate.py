"""Run an Application's sync operation (the ``operation`` field) to its end and record it.

State lives in ``status.operationState`` (written after every step), so a controller killed in
the middle of a sync resumes it from the recorded results after a restart. The final write sets
the outcome, appends the history entry and clears ``operation`` in one merge patch, so a sync is
recorded in history exactly once whatever moment the controller dies at.

An operation sees the controller through :class:`OperationHost` only. :func:`run` goes through
its phases in order, each a function below: load (re-read the app), begin (resume or start the
recorded state), admit (destination, project, sync windows: *checks before anything is
rendered go here*), render (the targets at the operation's revision), permit (*checks of the
rendered objects before anything is applied*: the AppProject's per-object rules), plan (the
sync parameters), execute (the re-entrant sync step until done) and
:func:`~tidegate.controller.outcome.finish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from tidegate.controller import (
    appstate,
    appstatus,
    clusters,
    deletion,
    journal,
    jqdiff,
    opgate,
    opslots,
    outcome,
    runtime,
)
from tidegate.controller import compare as cmp
from tidegate.controller import settings as settings_mod
from tidegate.diff import ignore as diff_ignore
from tidegate.metrics import families as metric_families
from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model.enums import OperationPhase
from tidegate.model.keys import ResourceKey
from tidegate.sync import execute as sync_execute
from tidegate.sync import operation as sync_operation
from tidegate.sync import options as sync_options
from tidegate.sync import permits, prepare, windows
from tidegate.sync import projects as sync_projects
from tidegate.sync import tasks as sync_tasks

log = logging.getLogger("tidegate.controller")

WAIT_SLICE = 2.0
DOWN_CHECK_SECONDS = 1.0  # while its cluster is down: how often a waiting operation looks
T = TypeVar("T")


class OperationHost(Protocol):
    """What an operation needs from the controller."""

    @property
    def settings(self) -> settings_mod.Settings: ...
    @property
    def deps(self) -> cmp.CompareDeps: ...
    @property
    def installation_id(self) -> str: ...
    @property
    def system_ignore(self) -> Sequence[diff_ignore.IgnoreRule]: ...

    async def read_app(self, name: str) -> dict[str, Any] | None:
        """The app as the API server has it now; None when it is gone."""

    async def patch_app(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """A merge patch of the app; the stored copy follows the answer."""

    def destination(self, app: model_app.Application) -> tuple[clusters.Cluster | None, str]:
        """The app's cluster, or why it may not deploy there."""

    def project_windows(self, app: model_app.Application) -> list[windows.SyncWindow]: ...

    def project_rules(
        self, app: model_app.Application, cluster: clusters.Cluster
    ) -> sync_projects.Rules | None:
        """What limits the app's objects on ``cluster`` (its AppProject, the cluster Secret)."""

    async def runtime(self, cluster: clusters.Cluster) -> runtime.ClusterRuntime: ...

    @property
    def journal(self) -> journal.Journal:
        """Where the operation's events and audit entries go."""


class Stop(Exception):
    """A phase ended the operation: record this outcome and stop."""

    def __init__(self, phase: OperationPhase, message: str) -> None:
        super().__init__(message)
        self.phase = phase
        self.message = message


class ClusterDown(Exception):
    """The destination stopped answering during the operation: the operation gives its slot
    up and waits, recorded as still running, until the cluster answers (then it resumes from
    what was recorded, so no step is applied twice and no history entry is written twice)."""

    def __init__(self, rt: runtime.ClusterRuntime, message: str) -> None:
        super().__init__(message)
        self.rt = rt
        self.message = message


async def _on_cluster(run: _Run, work: Awaitable[T]) -> T:
    """``work`` against the destination, given up (:class:`ClusterDown`) as soon as the cluster
    is found not to answer (:meth:`ClusterRuntime.guarded`: a hung request is noticed within
    seconds instead of holding the slot for a whole request timeout per request)."""
    assert run.rt is not None
    try:
        return await run.rt.guarded(work)
    except errors.ClusterUnreachableError as exc:
        run.rt.mark_down(str(exc))
        raise ClusterDown(run.rt, str(exc)) from None


def _sync_id(started_at: str) -> str:
    return "".join(ch for ch in started_at if ch.isdigit())[-10:] or "0"


def _app_for_operation(app: model_app.Application) -> model_app.Application:
    """The app as the operation wants it: a rollback names the source to use."""
    op = app.operation
    if op is None or op.sync is None or op.sync.source is None:
        return app
    spec = app.spec.model_copy(update={"source": op.sync.source, "sources": None})
    return app.model_copy(update={"spec": spec})


@dataclasses.dataclass
class _Run:
    """One operation in progress: what the phases hand to each other."""

    host: OperationHost
    state: appstate.AppState
    raw: dict[str, Any]
    app: model_app.Application
    raw_op: Any
    recorded: sync_operation.OperationState | None = None
    target_app: model_app.Application | None = None
    cluster: clusters.Cluster | None = None
    rt: runtime.ClusterRuntime | None = None
    rules: sync_projects.Rules | None = None  # the AppProject's and cluster Secret's limits
    manual: bool = True
    revisions: tuple[str, ...] | None = None  # rendered anew by a retry (retry.refresh)

    @property
    def name(self) -> str:
        return self.state.name


# -- phases ------------------------------------------------------------------------------------


async def load(host: OperationHost, state: appstate.AppState) -> dict[str, Any] | None:
    """The app as the API server has it now, when it still carries an operation.

    Watch events can lag behind the controller's own writes: after an operation finished, an
    older event may put back a copy that still carries its ``operation``, and running that
    again started a second sync that was then "terminated". Argo CD reads the app from the API
    before it processes an operation for the same reason.
    """
    if not state.raw.get("operation"):
        return None
    if state.own_write:  # the answer to our own write (the automated sync's): newest there is
        return state.raw
    try:
        fresh = await host.read_app(state.name)
    except errors.KubeError as exc:
        log.warning("app %s: could not re-read the app before its operation: %s", state.name, exc)
        fresh = state.raw
    if fresh is None:
        return None
    state.raw = fresh
    return fresh if fresh.get("operation") else None


async def begin(run: _Run) -> sync_operation.OperationState:
    """Resume the recorded operation state, or record a new one."""
    persisted = (run.raw.get("status") or {}).get("operationState") or {}
    if sync_operation.is_starting(persisted, run.raw_op):
        # Recorded with the operation itself (an automated sync) or by a start that went no
        # further: nothing of it ran, so it starts now, with no write.
        recorded = sync_operation.OperationState.from_status(persisted)
        await run.host.journal.started(run.raw)
        return recorded
    resuming = (
        persisted.get("phase") in ("Running", "Terminating")
        and persisted.get("operation") == run.raw_op
    )
    if resuming:
        recorded = sync_operation.OperationState.from_status(persisted)
        log.info("app %s: resuming the operation started at %s", run.name, recorded.started_at)
        return recorded
    recorded = sync_operation.OperationState(
        OperationPhase.RUNNING, message=sync_operation.STARTING, started_at=appstatus.now()
    )
    await _persist(run, recorded)
    await run.host.journal.started(run.raw)  # OperationStarted, once (not on a resume)
    return recorded


WINDOW_BLOCKED = "sync blocked by an active sync window"


def _windows_allow(run: _Run, cluster: clusters.Cluster, started_at: str) -> bool:
    """Whether the project's sync windows let this operation (started at ``started_at``) run
    now; a window with ``syncOverrun`` lets one that was already running go on."""
    app = run.app
    try:
        started = dt.datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        started = None  # no usable start: checked as a new sync
    if started is not None and started.tzinfo is None:
        started = started.replace(tzinfo=dt.UTC)
    return windows.evaluate(
        run.host.project_windows(app),
        windows.AppRef(
            app.name, app.spec.destination.namespace or "", cluster.server, cluster.name
        ),
        dt.datetime.now(dt.UTC),
        manual=run.manual,
        started=started,
    ).allowed


async def admit(run: _Run, started_at: str) -> None:
    """The destination (cluster, project rules) and the sync windows allow this sync (one
    resumed after a restart is checked as the running sync it is)."""
    assert run.target_app is not None
    cluster, problem = run.host.destination(run.target_app)
    if problem or cluster is None:
        raise Stop(OperationPhase.ERROR, problem)
    if not _windows_allow(run, cluster, started_at):
        raise Stop(OperationPhase.FAILED, WINDOW_BLOCKED)
    run.cluster = cluster
    run.rules = run.host.project_rules(run.target_app, cluster)
    run.rt = await run.host.runtime(cluster)
    if not await run.rt.ready() and run.rt.unreachable():
        raise ClusterDown(run.rt, run.rt.down_error or run.rt.cache.state.error)


async def render(run: _Run) -> tuple[cmp.Rendered, sync_options.SyncOptions]:
    """The targets at the operation's revision, and the sync options. Nothing rendered: nothing
    is applied or pruned."""
    assert run.rt is not None and run.target_app is not None
    app, sync = run.app, run.app.operation.sync if run.app.operation else None
    revision = None
    if sync is not None:
        revision = sync.revision or next(iter(sync.revisions or []), None)
    try:
        if sync is not None and sync.manifests:  # argocd app sync --local: rendered by the CLI
            rendered = _local_manifests(run, sync.manifests, revision or "")
        else:
            # A sync without a pinned commit means "what the branch says now": fetch first.
            kube_version, api_versions = await run.rt.capabilities()
            rendered = await cmp.render_app(
                run.target_app,
                deps=run.host.deps,
                kube_version=kube_version,
                api_versions=api_versions,
                revision_override=revision,
                revisions_override=tuple((sync.revisions if sync else None) or ()),
                max_age=0.0 if not revision or len(revision) < 40 else None,
            )
        app_options = sync_options.parse(
            list((app.spec.sync_policy.sync_options if app.spec.sync_policy else None) or [])
            + list((sync.sync_options if sync else None) or []),
            source=f"Application {app.namespace}/{app.name} syncOptions",
        )
    except errors.TidegateError as exc:
        raise Stop(OperationPhase.ERROR, f"ComparisonError: {exc}") from None
    return rendered, app_options


def _local_manifests(run: _Run, manifests: Sequence[str], revision: str) -> cmp.Rendered:
    """``operation.sync.manifests`` (``app sync --local``) as the targets: parsed with the
    render's guarded YAML loader and stamped with this app's tracking, as a render would; the
    AppProject's checks (``permit``) apply to them as to any render."""
    from tidegate.render import manifests as render_manifests

    deps, app = run.host.deps, run.app
    limit = deps.render_limits.max_alias_expansion
    objects = []
    for index, text in enumerate(manifests):
        where = f"Application {app.namespace}/{app.name} operation.sync.manifests[{index}]"
        for obj in render_manifests.parse_yaml(text, where=where, max_alias_expansion=limit):
            objects.append(dict(prepare.with_tracking(
                obj, app_name=app.instance_name(deps.control_namespace), method=deps.tracking,
                installation_id=deps.installation_id,
            )))  # fmt: skip
    return cmp.Rendered((revision,), ("",), objects)


async def permit(run: _Run, rendered: cmp.Rendered, app_options: sync_options.SyncOptions) -> None:
    """AppProject and cluster registration: a refused object fails the whole operation before
    anything is applied (the message names every refused object and the rule)."""
    if run.rules is None:
        return
    assert run.rt is not None and run.target_app is not None
    app = run.app
    managed_ns = app.spec.sync_policy.managed_namespace_metadata if app.spec.sync_policy else None
    namespace = run.target_app.spec.destination.namespace or ""
    refused = await permits.target_refusals(
        rendered.objects
        + await permits.created_namespace(
            run.rt.client,
            namespace=namespace,
            create_namespace=bool(app_options.enabled("create_namespace")),
            managed_metadata=managed_ns is not None,
        ),
        client=run.rt.client,
        rules=run.rules,
        destination_namespace=namespace,
    )
    if refused:
        raise Stop(
            OperationPhase.FAILED,
            "nothing was applied: " + str(sync_projects.refused_error(refused)),
        )


def plan(
    run: _Run, app_options: sync_options.SyncOptions, started_at: str
) -> sync_tasks.SyncParams:
    """The parameters of the sync planner (pure)."""
    app = run.app
    sync = app.operation.sync if app.operation else None
    comparison = run.state.comparison
    selected = None
    if sync is not None and sync.resources:
        selected = frozenset(
            ResourceKey(r.group or "", r.kind, r.namespace or "", r.name) for r in sync.resources
        )
    automated = app.spec.sync_policy.automated if app.spec.sync_policy else None
    managed_ns = app.spec.sync_policy.managed_namespace_metadata if app.spec.sync_policy else None
    return sync_tasks.SyncParams(
        app_name=run.name,  # the instance name: tracking ids
        app_options=app_options,
        prune=bool(sync.prune) if sync else False,
        dry_run=bool(sync.dry_run) if sync else False,
        resources=selected,
        allow_empty=bool(automated.allow_empty) if (automated and not run.manual) else True,
        destination_namespace=app.spec.destination.namespace or "",
        out_of_sync=comparison.out_of_sync() if comparison is not None else None,
        sync_id=_sync_id(started_at),
        tracking_method=run.host.settings.tracking_method,
        namespace_labels=tuple(sorted((managed_ns.labels or {}).items())) if managed_ns else (),
        namespace_annotations=(
            tuple(sorted((managed_ns.annotations or {}).items())) if managed_ns else ()
        ),
        installation_id=run.host.installation_id,
    )


async def execute(
    run: _Run,
    rendered: cmp.Rendered,
    params: sync_tasks.SyncParams,
    recorded: sync_operation.OperationState,
) -> sync_operation.OperationState:
    """Drive the re-entrant sync step until the operation ends; returns its final state."""
    assert run.rt is not None
    rt, state, sync = run.rt, run.state, run.app.operation.sync if run.app.operation else None
    shared_check = params.app_options.enabled("fail_on_shared_resource")
    target_keys: list[ResourceKey] = []
    if shared_check:
        settled = await prepare.prepare_targets(
            rendered.objects, client=rt.client, destination_namespace=params.destination_namespace
        )
        target_keys = list(settled)

    async def live_source() -> dict[ResourceKey, dict[str, Any]]:
        tracked = rt.cache.store.tracked(run.name)
        if run.rules is not None:  # what the project does not permit is never pruned
            tracked, _ = sync_projects.split_live(run.rules, tracked)
        live = {ResourceKey.of(o): o for o in tracked}
        if shared_check:
            # FailOnSharedResource: the planner must see objects at our keys that another app
            # (or another installation) tracks; the cache only indexes ours.
            missing = [k for k in target_keys if k not in live]
            found = await asyncio.gather(
                *(rt.client.get_or_none(k) for k in missing), return_exceptions=True
            )
            for key, obj in zip(missing, found, strict=True):
                if isinstance(obj, dict):
                    live[key] = obj
        return live

    async def prune_approved() -> bool:
        return deletion.deletion_approved(state.raw, since=recorded.started_at)

    async def wait_for_change(seconds: float) -> None:
        state.wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(seconds, WAIT_SLICE)):
                await state.wake.wait()

    blocked: list[bool] = []

    async def should_terminate() -> bool:
        current = state.raw
        phase = ((current.get("status") or {}).get("operationState") or {}).get("phase")
        if phase == "Terminating" or not current.get("operation"):
            return True
        # a window that turned against the running sync stops it, unless it overruns
        if run.cluster is not None and not _windows_allow(run, run.cluster, recorded.started_at):
            blocked.append(True)
            return True
        return False

    async def persist(current: sync_operation.OperationState) -> None:
        if current.phase in _ENDED and current.finished_at:
            return  # outcome.finish writes this very state with the history, in one patch
        await _persist(run, _blocked_message(current) if blocked else current)

    targets: list[Mapping[str, Any]] = list(rendered.objects)
    if params.app_options.enabled("respect_ignore_differences"):
        try:
            targets = await _respect_ignore_differences(run, targets, params)
        except errors.TidegateError as exc:  # e.g. a jq expression past its bound: apply nothing
            raise Stop(OperationPhase.ERROR, f"RespectIgnoreDifferences: {exc}") from None
    force = bool(
        sync and sync.sync_strategy and sync.sync_strategy.apply and sync.sync_strategy.apply.force
    )
    health_checks = run.host.deps.health_checks

    async def refresh_targets() -> list[Mapping[str, Any]]:
        """retry.refresh: the targets at the newest revision (a failed render stops it)."""
        fresh, _ = await render(run)
        run.revisions = fresh.revisions
        objs: list[Mapping[str, Any]] = list(fresh.objects)
        if params.app_options.enabled("respect_ignore_differences"):
            objs = await _respect_ignore_differences(run, objs, params)
        return objs

    def health_of(obj: Mapping[str, Any]) -> str | None:
        found = health_checks.assess(obj)
        return found.status.value if found is not None else None

    final = await sync_operation.run_operation(
        client=rt.client,
        targets=targets,
        live_source=live_source,
        params=params,
        persist=persist,
        wait_for_change=wait_for_change,
        health_of=health_of,
        recorded=recorded,
        should_terminate=should_terminate,
        retry_policy=sync_operation.RetryPolicy.from_spec(run.raw_op.get("retry")),
        # cold sync: each apply's answer is the next comparison's prediction (no dry run)
        options=sync_execute.ExecuteOptions(force=force, on_applied=run.host.deps.seed_prediction),
        prune_approved=prune_approved,
        refresh_targets=refresh_targets,
    )
    return _blocked_message(final) if blocked else final


def _blocked_message(state: sync_operation.OperationState) -> sync_operation.OperationState:
    """A sync a window stopped says so (the sync engine says only "operation terminated")."""
    if state.phase is OperationPhase.FAILED:
        return dataclasses.replace(state, message=f"operation terminated: {WINDOW_BLOCKED}")
    return state


async def _respect_ignore_differences(
    run: _Run, targets: list[Mapping[str, Any]], params: sync_tasks.SyncParams
) -> list[Mapping[str, Any]]:
    """Sync option RespectIgnoreDifferences: ignored fields keep their live values."""
    assert run.rt is not None
    rules = cmp.ignore_rules(run.app, run.host.system_ignore)
    prepared = await prepare.prepare_targets(
        targets, client=run.rt.client, destination_namespace=params.destination_namespace
    )
    live = {ResourceKey.of(o): o for o in run.rt.cache.store.tracked(run.name)}
    # bounded jq: the rules' jq expressions run in the worker pool, one batch
    return await jqdiff.respect_ignore_differences(
        [(obj, live.get(key)) for key, obj in prepared.items()], rules, pool=run.host.deps.jq
    )


async def run(host: OperationHost, state: appstate.AppState) -> None:
    """Run the operation the app carries (if it still does) to its end."""
    raw = await load(host, state)
    if raw is None:
        return
    try:
        app = model_app.parse_application(raw)
    except errors.SpecError as exc:
        await outcome.finish(host, state, raw, phase=OperationPhase.ERROR, message=str(exc),
                     started_at=appstatus.now(), recorded=None)  # fmt: skip
        return
    assert app.operation is not None
    current = _Run(host, state, raw, app, raw["operation"])
    current.manual = not bool(app.operation.initiated_by and app.operation.initiated_by.automated)
    current.target_app = _app_for_operation(app)
    recorded = await begin(current)
    try:
        with _phase("admit"):
            await admit(current, recorded.started_at)
        with _phase("render"):
            rendered, app_options = await render(current)
        with _phase("permit"):
            await _on_cluster(current, permit(current, rendered, app_options))
    except Stop as stop:
        await outcome.finish(host, state, raw, phase=stop.phase, message=stop.message,
                     started_at=recorded.started_at, recorded=recorded)  # fmt: skip
        return
    params = plan(current, app_options, recorded.started_at)
    try:
        with _phase("execute"):
            final = await _on_cluster(current, execute(current, rendered, params, recorded))
    except Stop as stop:
        await outcome.finish(host, state, state.raw or raw, phase=stop.phase, message=stop.message,
                             started_at=recorded.started_at, recorded=recorded)  # fmt: skip
        return
    sync = app.operation.sync
    source = None
    target = current.target_app
    if target.spec.source is not None and not target.spec.has_multiple_sources:
        source = target.spec.source.model_dump(mode="json", by_alias=True, exclude_none=True)
    await outcome.finish(
        host,
        state,
        state.raw or raw,
        phase=final.phase,
        message=final.message,
        started_at=final.started_at,
        recorded=final,
        revision=next(iter(current.revisions or rendered.revisions), ""),
        success_extra={
            "source": source,
            "initiatedBy": current.raw_op.get("initiatedBy"),
            "dryRun": bool(sync and sync.dry_run),
        },
    )


def _phase(name: str) -> Any:
    """Time an operation phase (tidegate_sync_phase_duration_seconds)."""
    return metric_families.SYNC_PHASE_DURATION.labels(name).time()


PERSIST_ATTEMPTS = 5


async def _persist(run: _Run, recorded: sync_operation.OperationState) -> None:
    """Record the operation's state, on the resourceVersion it was checked against.

    The write fence stops a replica that lost the app's shard from sending; a write that had
    passed it just before the replica was paused still goes out when it resumes, seconds
    later. Bound to the resourceVersion of the copy that still showed this operation running,
    such a write fails (409) once the shard's new owner has written; read again, it is then
    not ours any more (:func:`~tidegate.sync.operation.superseded`) and the operation stops
    here. A conflict with any other writer (a status write, the user) is retried.
    """
    for attempt in range(PERSIST_ATTEMPTS):
        raw = run.state.raw
        status = recorded.to_status()
        status["operation"] = run.raw_op
        current = (raw.get("status") or {}).get("operationState") or {}
        if current.get("phase") == "Terminating" and status["phase"] == "Running":
            status["phase"] = "Terminating"
        if status == current:
            return  # already stored as it is: a write would change nothing
        gone = sync_operation.superseded(current, recorded.started_at)
        if gone:
            raise errors.FenceError(
                f"app {run.name}: the operation started at {recorded.started_at} was taken "
                f"over: {gone}; its state is not written from here"
            )
        patch = {
            "metadata": appstate.precondition(raw),
            "status": {"operationState": status},
        }
        try:
            await run.host.patch_app(run.name, patch)
            return
        except errors.KubeConflictError:
            if attempt == PERSIST_ATTEMPTS - 1:
                raise
        fresh = await run.host.read_app(run.name)
        if fresh is None:
            raise errors.KubeNotFoundError(f"Application {run.name} is gone")
        run.state.store(fresh)


def _terminating(raw: Mapping[str, Any]) -> bool:
    phase = ((raw.get("status") or {}).get("operationState") or {}).get("phase")
    return phase == "Terminating" or not raw.get("operation")


def destination_server(host: OperationHost, raw: Mapping[str, Any]) -> str:
    """The server URL of the app's destination cluster ("" when it cannot be resolved)."""
    try:
        cluster, _ = host.destination(model_app.parse_application(dict(raw)))
    except errors.TidegateError:
        return ""
    return cluster.server if cluster is not None else ""


# The end of an operation (the driver's last persist): written by outcome.finish instead.
_ENDED = frozenset({OperationPhase.SUCCEEDED, OperationPhase.FAILED, OperationPhase.ERROR})


def _requested_by_user(raw: Mapping[str, Any]) -> bool:
    """Whether the app's operation was asked for by someone (not automated sync/self-heal)."""
    initiated = (raw.get("operation") or {}).get("initiatedBy") or {}
    return not initiated.get("automated")


class Operations:
    """One operation task per app at a time; as many running at once as ``gate`` admits
    (adaptive to the API servers, user-requested first: opgate.py; without a gate, ``workers``),
    and at most ``per_cluster`` on one destination cluster (0: all of the gate's limit but one;
    opslots.py). An operation whose cluster stops answering gives its slots up and waits for
    the cluster, holding nothing."""

    def __init__(
        self,
        host: OperationHost,
        *,
        workers: int,
        per_cluster: int = 0,
        on_end: Callable[[str], None],
        gate: opgate.OperationGate | None = None,
    ) -> None:
        self._host = host
        self.slots = opslots.OperationSlots(workers=workers, per_cluster=per_cluster, gate=gate)
        self._on_end = on_end  # the app is refreshed when its operation ends

    def ensure(self, state: appstate.AppState) -> None:
        """Start the app's operation unless one runs already."""
        if state.operating():
            return
        state.operation = asyncio.create_task(self._run(state), name=f"operation-{state.name}")

    async def _run(self, state: appstate.AppState) -> None:
        try:
            meta, spec = state.raw.get("metadata") or {}, state.raw.get("spec") or {}
            with metric_families.app_context(
                str(meta.get("namespace") or ""),
                str(meta.get("name") or ""),
                str(spec.get("project") or "default"),
            ):
                while True:
                    server = destination_server(self._host, state.raw)
                    manual = _requested_by_user(state.raw)
                    async with self.slots.hold(server, manual=manual):
                        try:
                            await run(self._host, state)
                            return
                        except ClusterDown as down:
                            gave_up = down
                    await self._await_cluster(state, gave_up)
        except asyncio.CancelledError:
            raise
        except errors.FenceError as exc:  # its shard moved to another replica, which resumes it
            log.info("operation of app %s stopped: %s", state.name, exc)
        except Exception:
            log.exception("operation of app %s failed", state.name)
        finally:
            if state.operation is asyncio.current_task():
                state.operation = None
            self._on_end(state.name)

    async def _await_cluster(self, state: appstate.AppState, down: ClusterDown) -> None:
        """Without any slot, wait until the cluster answers again (or the operation is to be
        terminated); the app's operationState says what the operation waits for."""
        name = down.rt.cluster.name
        log.warning(
            "app %s: cluster %s does not answer: the operation waits for it (%s)",
            state.name,
            name,
            down.message,
        )
        message = f"waiting for cluster {name} to answer again: {down.message}"
        recorded = ((state.raw.get("status") or {}).get("operationState") or {}).get("message")
        if recorded != message:
            try:
                await self._host.patch_app(state.name, {"status": {"operationState": {
                    "message": message}}})  # fmt: skip
            except errors.KubeError as exc:
                log.warning("app %s: could not record that its operation waits: %s",
                            state.name, exc)  # fmt: skip
        # Down after its cache synced (marked down), or never reached since the controller
        # started (its discovery fails): either way, wait here, holding no slot, rather than
        # try again at once. A replaced runtime's probe stops: the next attempt binds to the
        # new one.
        while down.rt.unreachable() and not down.rt.closed and not _terminating(state.raw):
            state.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DOWN_CHECK_SECONDS):
                    await state.wake.wait()
        if _terminating(state.raw) and down.rt.unreachable() and not down.rt.closed:
            await _terminate_offline(self._host, state, name)


async def _terminate_offline(host: OperationHost, state: appstate.AppState, cluster: str) -> None:
    """Terminate an operation whose cluster does not answer: end it Failed, as a terminated
    operation ends, without touching the cluster (its running hooks are left where they are)."""
    raw = state.raw
    persisted = (raw.get("status") or {}).get("operationState") or {}
    recorded = sync_operation.OperationState.from_status(persisted) if persisted else None
    await outcome.finish(
        host,
        state,
        raw,
        phase=OperationPhase.FAILED,
        message=f"operation terminated (cluster {cluster} did not answer: nothing was deleted)",
        started_at=str(persisted.get("startedAt") or appstatus.now()),
        recorded=recorded,
    )
