"""Refresh one app: source -> render -> compare -> health -> status, then automated sync.

:func:`evaluate` is the comparison of one :class:`~tidegate.controller.appstate.AppState`: pure
steps around the I/O calls (the destination's live cache, rendering and the dry-runs of
:func:`tidegate.controller.compare.compare`); it returns the status patch to write, what to
requeue, and the automated-sync decision. :func:`refresh` is the whole turn: parse the app,
hand a deleted one to :mod:`~tidegate.controller.deletion`, evaluate, write the status
(:mod:`~tidegate.controller.status`), start an automated sync or a requested operation.

Where checks go: a check of the app against its project or its source *before anything is
rendered* belongs in :func:`evaluate` after the destination is resolved (``_admit``); a check
of the rendered objects belongs right after ``cmp.compare`` returns (as the AppProject's
per-object check, ``permits.check_targets``, does). Either becomes a
condition through :func:`appstatus.error_status`, and a failed check never leads to a sync.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Container, Mapping, Sequence
from typing import Any, Protocol

from tidegate.controller import (
    appstate,
    appstatus,
    autosync,
    clusters,
    orphans,
    passmemo,
    projects,
    recall,
    runtime,
)
from tidegate.controller import compare as cmp
from tidegate.controller import settings as settings_mod
from tidegate.controller import status as status_mod
from tidegate.diff import ignore as diff_ignore
from tidegate.metrics import families as metric_families
from tidegate.model import application as model_app
from tidegate.model import constants, errors
from tidegate.model import project as model_project
from tidegate.model.enums import HealthStatusCode
from tidegate.sources import repohealth
from tidegate.sync import operation as sync_operation
from tidegate.sync import permits, windows
from tidegate.sync import projects as sync_projects

log = logging.getLogger("tidegate.controller")

UNREACHABLE_RETRY_SECONDS = 10.0
READY_WAIT_SECONDS = 10.0  # how long a refresh waits for its cluster's first listing
LOADING_GRACE_SECONDS = 120.0  # a cluster's first listing this long is reported, not awaited
LOADING_RETRY_SECONDS = 2.0
RETRY_DECISION_SECONDS = 1.0  # an automated sync not started (the app changed): decided again


class RefreshHost(Protocol):
    """What a refresh needs from the controller."""

    @property
    def settings(self) -> settings_mod.Settings: ...
    @property
    def deps(self) -> cmp.CompareDeps: ...
    @property
    def system_ignore(self) -> Sequence[diff_ignore.IgnoreRule]: ...

    def destination(self, app: model_app.Application) -> tuple[clusters.Cluster | None, str]: ...
    def project_windows(self, app: model_app.Application) -> list[windows.SyncWindow]: ...
    def project_of(self, app: model_app.Application) -> model_project.AppProject | None: ...
    def project_rules(
        self, app: model_app.Application, cluster: clusters.Cluster
    ) -> sync_projects.Rules | None: ...
    @property
    def known_apps(self) -> Container[str]: ...
    async def runtime(self, cluster: clusters.Cluster) -> runtime.ClusterRuntime: ...
    async def patch_app(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]: ...
    async def write_status(self, state: appstate.AppState, status: Mapping[str, Any]) -> None: ...
    def request_after(self, name: str, delay: float) -> None: ...
    def start_operation(self, state: appstate.AppState) -> None: ...
    async def delete_app(self, app: model_app.Application, raw: Mapping[str, Any]) -> None: ...


@dataclasses.dataclass
class Evaluation:
    """What one comparison of an app decided."""

    status: dict[str, Any]  # the status patch to write (None values delete)
    comparison: cmp.Comparison | None = None
    decision: autosync.Decision | None = None
    requeue_after: float | None = None

    def requeue(self, delay: float) -> None:
        self.requeue_after = delay if self.requeue_after is None else min(self.requeue_after, delay)


async def refresh(host: RefreshHost, state: appstate.AppState, *, hard: bool = False) -> None:
    """One refresh of ``state``'s app (see the module docstring)."""
    raw = state.raw
    at = appstatus.now()
    conditions = (raw.get("status") or {}).get("conditions")
    try:
        app = model_app.parse_application(raw)
    except errors.SpecError as exc:
        status = appstatus.error_status_raw(
            raw, kind=appstatus.INVALID_SPEC_ERROR, message=str(exc), conditions=conditions, at=at
        )
        await host.write_status(state, status)
        return
    meta = raw.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        await host.delete_app(app, raw)
        return
    asked = bool((meta.get("annotations") or {}).get(constants.ANNOTATION_REFRESH))
    if asked:
        # A refresh someone asked for always stamps reconciledAt, so they can see it ran.
        state.last_status_write = None
        await _clear_refresh_annotation(host, state.name)
    # Asked for, even a normal refresh compares with the branch's newest commit (as Argo CD's
    # does); only a hard one also drops the rendered manifests.
    evaluation = await evaluate(host, state, app, hard=hard, at=at, latest=asked)
    decision = evaluation.decision
    auto_sync = decision is not None and decision.sync and evaluation.comparison is not None
    if not auto_sync:
        await host.write_status(state, evaluation.status)
    if evaluation.requeue_after is not None:
        host.request_after(state.name, evaluation.requeue_after)
    if auto_sync:
        assert decision is not None and evaluation.comparison is not None
        # The status and the operation that starts the sync: one write (cold sync: issue 18).
        await _start_auto_sync(
            host, state, app, evaluation.comparison, decision, status=evaluation.status, basis=raw
        )
    elif app.operation is not None:
        host.start_operation(state)


async def evaluate(
    host: RefreshHost,
    state: appstate.AppState,
    app: model_app.Application,
    *,
    hard: bool,
    at: str,
    latest: bool = False,
) -> Evaluation:
    """Compare the app with its cluster; the status patch, requeue and auto-sync decision.
    ``latest``: resolve the revision at the server now, whatever the last fetch's age."""
    raw = state.raw  # the copy this pass is computed from (a watch event may replace it)
    conditions = (raw.get("status") or {}).get("conditions")
    cluster, problem = _admit(host, app)
    if problem or cluster is None:
        return Evaluation(
            appstatus.error_status(
                app,
                kind=appstatus.INVALID_SPEC_ERROR,
                message=problem,
                conditions=conditions,
                at=at,
            )
        )
    rt = await host.runtime(cluster)
    if not await rt.ready(READY_WAIT_SECONDS * (2 if hard else 1)):
        if rt.loading(LOADING_GRACE_SECONDS) and (state.raw.get("status") or {}).get("sync"):
            # A restarted controller still listing a cluster that answers: the stored status
            # stands until the app can be compared (Unknown now and Synced moments later is
            # the flapping a restart must not cause). A cluster that does not answer, or a
            # first sync longer than the grace, is reported below.
            return Evaluation({}, requeue_after=LOADING_RETRY_SECONDS)
        evaluation = Evaluation(unreachable_status(app, cluster, rt, conditions=conditions, at=at))
        evaluation.requeue(UNREACHABLE_RETRY_SECONDS)
        return evaluation
    # AppProject: objects the rules do not permit are neither compared nor pruned.
    rules = host.project_rules(app, cluster)
    live = rt.cache.store.tracked(state.name)  # the app's instance name
    left_alone: list[sync_projects.Refusal] = []
    if rules is not None:
        live, left_alone = sync_projects.split_live(rules, live)

    ledger = host.deps.ledger
    scope = recall.Ledger.scope(
        control_namespace=host.deps.control_namespace,
        installation_id=host.deps.installation_id,
        app=state.name,
    )

    # A no-op pass: the last pass's comparison and status, when nothing they depend on
    # changed (passmemo.py). A hard refresh, or one someone asked for, computes them again.
    reused: passmemo.Remembered | None = None
    inputs: passmemo.Inputs | None = None

    async def compared() -> cmp.Comparison:
        nonlocal reused, inputs
        kube_version, api_versions = await rt.capabilities()
        max_age = 0.0 if hard or latest else host.settings.app_resync_seconds
        if not (hard or latest):
            inputs = await passmemo.inputs(
                app,
                raw,
                deps=host.deps,
                live=live,
                destination=(cluster, rt),
                capabilities=(kube_version, api_versions),
                project=host.project_of(app),
                system_ignore=host.system_ignore,
                max_age=max_age,
            )
            reused = state.passes.get(inputs)
            if reused is not None:
                metric_families.APP_REFRESH_REUSED.labels(app.namespace).inc()
                return reused.comparison
        state.passes.forget()
        result = await cmp.compare(
            app,
            client=rt.client,
            live=live,
            deps=host.deps,
            max_age=max_age,
            extra_ignore=host.system_ignore,
            kube_version=kube_version,
            api_versions=api_versions,
            allow_stale=True,  # a repository that does not answer: its last fetched commit
            # cold start: no-op predictions recorded before a restart (controller/recall.py)
            recalled=ledger.recall(scope, state.raw.get("status")) if ledger else None,
            # cold sync: an automated sync validates missing objects itself, at once
            check_absent=not autosync.enabled(app),
            memo=state.memo,  # unchanged resources: last pass's diff and health (memo.py)
            fresh=hard,  # a hard refresh renders again (Argo CD: the manifest cache dropped)
        )
        if rules is not None:  # AppProject: refused objects are an error before any sync
            await permits.check_targets(
                result.targets,
                client=rt.client,
                rules=rules,
                destination_namespace=app.spec.destination.namespace or "",
            )
        return result

    try:
        # A server that hangs is given up on within seconds, not a request timeout: the
        # refresh processors this app holds are the ones other clusters' apps need.
        result = await rt.guarded(compared())
    except errors.ClusterUnreachableError as exc:
        # Down since the check above: Unknown like any refresh until it answers (no flapping).
        rt.mark_down(str(exc))
        evaluation = Evaluation(unreachable_status(app, cluster, rt, conditions=conditions, at=at))
        evaluation.requeue(UNREACHABLE_RETRY_SECONDS)
        return evaluation
    except errors.TidegateError as exc:
        kind = (
            appstatus.INVALID_SPEC_ERROR
            if isinstance(exc, errors.SpecError)
            else appstatus.COMPARISON_ERROR
        )
        log.info("app %s: %s: %s", app.name, kind, exc)
        conditions = appstatus.clear_conditions(conditions, [appstatus.REPO_UNREACHABLE_WARNING])
        evaluation = Evaluation(
            appstatus.error_status(app, kind=kind, message=str(exc), conditions=conditions, at=at)
        )
        if isinstance(exc, errors.TemporaryError):
            evaluation.requeue(max(exc.delay, 5.0))
        return evaluation
    state.comparison = result
    if reused is not None:
        status = reused.status_at(at)
    else:
        status = appstatus.comparison_status(app, result, conditions=conditions, at=at)
        if ledger is not None:
            status.update(recall.status_patch(ledger.seal(scope, result.facts)))
        state.passes.keep(inputs, result, status, deps=host.deps)
    status["conditions"] = orphans.update(  # AppProject orphanedResources
        status.get("conditions"),
        project=host.project_of(app),
        store=rt.cache.store,
        namespace=app.spec.destination.namespace or "",
        known_apps=host.known_apps,
        at=at,
    )
    status["conditions"] = projects.report_left_alone(status.get("conditions"), left_alone, at=at)
    status["conditions"] = _report_stale(host, result, status.get("conditions"), at=at)
    if result.stale:  # ask again soon: the background retry may have reached the server
        evaluation_requeue: float | None = UNREACHABLE_RETRY_SECONDS
    else:
        evaluation_requeue = None
    evaluation = Evaluation(status, comparison=result, requeue_after=evaluation_requeue)
    _decide_auto_sync(host, state, app, cluster, evaluation, at=at)
    return evaluation


def _report_stale(
    host: RefreshHost, result: cmp.Comparison, conditions: Any, *, at: str
) -> list[dict[str, Any]] | None:
    """The RepoUnreachableWarning condition: which repository has not answered for how long,
    and the commit whose target the app is compared with meanwhile; cleared once it answers."""
    if not result.stale:
        return appstatus.clear_conditions(conditions, [appstatus.REPO_UNREACHABLE_WARNING]) or None
    now = time.monotonic()
    lines = []
    for url, commit in result.stale:
        health = host.deps.repos.health(url)
        lines.append(
            repohealth.condition_message(health, now=now, last_commit=commit)
            or f"repository {health.repo} did not answer; showing the last rendered target of "
            f"commit {commit[:12]}"
        )
    return appstatus.set_condition(
        conditions, appstatus.REPO_UNREACHABLE_WARNING, "\n".join(lines), at=at
    )


def _admit(host: RefreshHost, app: model_app.Application) -> tuple[clusters.Cluster | None, str]:
    """The app's cluster, or why it may not be compared (destination, project rules)."""
    return host.destination(app)


def unreachable_status(
    app: model_app.Application,
    cluster: clusters.Cluster,
    rt: runtime.ClusterRuntime,
    *,
    conditions: Any,
    at: str,
) -> dict[str, Any]:
    """The status of an app whose cluster's live state is not loaded (pure)."""
    cache_state = rt.cache.state
    # The cache's error already says the URL, why, and that it is unreachable.
    message = f"cluster '{cluster.name}': " + (
        rt.down_error or cache_state.error or f"({cluster.server}) its live state is not loaded yet"
    )
    status = appstatus.error_status(
        app, kind=appstatus.COMPARISON_ERROR, message=message, conditions=conditions, at=at
    )
    status["health"] = {"status": HealthStatusCode.UNKNOWN.value, "message": message}
    return status


def _decide_auto_sync(
    host: RefreshHost,
    state: appstate.AppState,
    app: model_app.Application,
    cluster: clusters.Cluster,
    evaluation: Evaluation,
    *,
    at: str,
) -> None:
    """Decide on an automated sync; a reportable refusal becomes a SyncError condition."""
    assert evaluation.comparison is not None
    status = evaluation.status
    policy = app.spec.sync_policy
    decision = None
    if policy is not None and policy.automated is not None:
        now = dt.datetime.now(dt.UTC)
        decision = autosync.decide(
            app,
            evaluation.comparison,
            sync_windows=host.project_windows(app),
            window_app=windows.AppRef(
                app.name, app.spec.destination.namespace or "", cluster.server, cluster.name
            ),
            now=now,
            self_heal_due=time.monotonic() >= state.self_heal_next_at,
        )
        if decision.blocked_by_window and decision.retry_at is not None:
            evaluation.requeue(max((decision.retry_at - now).total_seconds() + 0.5, 0.5))
        if not decision.sync and decision.retry_later:
            evaluation.requeue(max(0.1, state.self_heal_next_at - time.monotonic()))
    evaluation.decision = decision
    if decision is not None and decision.report:
        status["conditions"] = appstatus.set_condition(
            status.get("conditions"),
            appstatus.SYNC_ERROR,
            decision.reason,
            at=status["reconciledAt"],
        )
    else:
        status["conditions"] = (
            appstatus.clear_conditions(status.get("conditions"), [appstatus.SYNC_ERROR]) or None
        )


def _operation_mark(obj: Mapping[str, Any]) -> tuple[object, object]:
    """Which operation an app's copy last recorded, and how far it got."""
    recorded = (obj.get("status") or {}).get("operationState") or {}
    return recorded.get("startedAt"), recorded.get("phase")


async def _start_auto_sync(
    host: RefreshHost,
    state: appstate.AppState,
    app: model_app.Application,
    result: cmp.Comparison,
    decision: autosync.Decision,
    *,
    status: Mapping[str, Any],
    basis: Mapping[str, Any],
) -> None:
    """Start the automated sync decided on ``basis`` (the app as the refresh read it), in one
    write bound to the resourceVersion of the newest copy: an operation someone else started
    meanwhile (the user, or a replica that held the app's shard before and was paused with
    this write under way) is never replaced, and one that started and ended since ``basis``
    (it may have synced this very revision) makes the decision again. Not started, the app is
    refreshed again."""
    current = state.raw
    if (
        current.get("operation")
        or current.get("spec") != basis.get("spec")
        or _operation_mark(current) != _operation_mark(basis)
    ):
        log.info("app %s: changed while its automated sync was decided: deciding again", state.name)
        host.request_after(state.name, RETRY_DECISION_SECONDS)
        return
    settings = host.settings
    if autosync.attempted_at(app, result.revision):  # self-heal or retry: back off exponentially
        delay = min(
            settings.self_heal_timeout_seconds * (2**state.self_heal_attempts),
            settings.self_heal_backoff_max_seconds,
        )
        state.self_heal_attempts += 1
        state.self_heal_next_at = time.monotonic() + delay
    else:
        state.self_heal_attempts, state.self_heal_next_at = 0, 0.0
    log.info("app %s: automated sync to %s (%s)", state.name, result.revision[:12], decision.reason)
    operation = autosync.operation(app, result, decision)
    patch: dict[str, Any] = {
        "metadata": appstate.precondition(current),
        "operation": operation,
    }
    changed = status_mod.changes(current.get("status") or {}, status)
    # The operation's Running state in the same write: the operation then starts without
    # one of its own (cold sync: issue 18).
    patch["status"] = {
        **changed,
        "operationState": sync_operation.starting_status(operation, appstatus.now()),
    }
    try:
        await host.patch_app(state.name, patch)
    except errors.KubeConflictError:
        log.info("app %s: written meanwhile: its automated sync is decided again", state.name)
        host.request_after(state.name, RETRY_DECISION_SECONDS)
        return
    except errors.KubeError as exc:
        log.warning("app %s: could not start automated sync: %s", state.name, exc)
        return
    if changed:
        state.last_status_write = time.monotonic()
    host.start_operation(state)


async def _clear_refresh_annotation(host: RefreshHost, name: str) -> None:
    try:
        await host.patch_app(
            name, {"metadata": {"annotations": {constants.ANNOTATION_REFRESH: None}}}
        )
    except errors.KubeError as exc:
        log.warning("app %s: could not clear the refresh annotation: %s", name, exc)
