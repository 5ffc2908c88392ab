"""The sync operation driver: plan a step, persist, execute, persist, wait, until done.

:func:`run_operation` loops over :func:`tidegate.sync.step.plan_step` and
:func:`tidegate.sync.execute.execute`. Its state is data (:class:`OperationState`), handed to
``persist`` before every action and after it (a wave of plain applies is recorded with the
next step that is not one: applying such a wave again changes nothing): the controller writes it to
``status.operationState``, so a controller killed mid-sync starts a new driver from the
persisted record and no completed hook or prune runs again. ``should_terminate`` (``terminate-op``)
is asked before each step. On ``Failed``/``Error`` the retry policy re-runs the whole operation
with a fresh record after the backoff delay, counting ``retryCount``.

:class:`ClusterLiveSource` reads the app's live objects straight from the cluster (one LIST per
kind and namespace, filtered by tracking); the controller passes its live cache's view instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from tidegate.health import registry as health_registry
from tidegate.kube import client as kube_client
from tidegate.model import constants, errors, keys
from tidegate.model.enums import OperationPhase
from tidegate.sync import execute, prepare, record, resource_meta, retry, step, tasks, validate

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
Live = Mapping[keys.ResourceKey, Obj]
LiveSource = Callable[[], Awaitable[Live]]
ObjectHealth = Callable[[Obj], str | None]
"""Health status of a live object (``Healthy``, ``Progressing``, ``Degraded``...), None when
its kind has no health check."""
WaitForChange = Callable[[float], Awaitable[None]]
ShouldTerminate = Callable[[], Awaitable[bool]]
PruneApproved = Callable[[], Awaitable[bool]]
MAX_TEMPORARY_FAILURES = 5


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass(frozen=True)
class OperationState:
    """What ``status.operationState`` holds for a sync: phase, message, results, retries."""

    phase: OperationPhase
    message: str = ""
    record: record.OperationRecord = dataclasses.field(default_factory=record.OperationRecord)
    retry_count: int = 0
    started_at: str = ""
    finished_at: str = ""

    def to_status(self) -> dict[str, Any]:
        """The wire form (without ``operation``, which the controller keeps as it was)."""
        out: dict[str, Any] = {
            "phase": self.phase.value,
            "message": self.message,
            "syncResult": {"resources": self.record.to_list()},
            "startedAt": self.started_at,
        }
        if self.retry_count:
            out["retryCount"] = self.retry_count
        if self.finished_at:
            out["finishedAt"] = self.finished_at
        return out

    @classmethod
    def from_status(cls, data: Mapping[str, Any]) -> OperationState:
        """Read a persisted state back, to resume."""
        return cls(
            phase=OperationPhase(data.get("phase") or OperationPhase.RUNNING),
            message=str(data.get("message") or ""),
            record=record.OperationRecord.from_list(
                (data.get("syncResult") or {}).get("resources") or []
            ),
            retry_count=int(data.get("retryCount") or 0),
            started_at=str(data.get("startedAt") or ""),
            finished_at=str(data.get("finishedAt") or ""),
        )


Persist = Callable[[OperationState], Awaitable[None]]
STARTING = "starting"  # the message of an operation recorded before its first step


def starting_status(operation: Mapping[str, Any], started_at: str) -> dict[str, Any]:
    """``status.operationState`` of ``operation`` before its first step: Running, no result.
    The automated sync writes it with the ``operation`` itself (one write, issue 18)."""
    out = OperationState(OperationPhase.RUNNING, message=STARTING, started_at=started_at)
    # A merge patch: what the previous operation left (its result, end, retries) is removed.
    wire = {**out.to_status(), "syncResult": None, "finishedAt": None, "retryCount": None}
    return {**wire, "operation": dict(operation)}


def is_starting(persisted: Mapping[str, Any], operation: Mapping[str, Any]) -> bool:
    """Whether ``persisted`` is ``operation``'s state before its first step (see
    :func:`starting_status`): nothing of it has run yet."""
    return (
        persisted.get("phase") == OperationPhase.RUNNING.value
        and persisted.get("message") == STARTING
        and persisted.get("operation") == operation
        and not (persisted.get("syncResult") or {}).get("resources")
        and not persisted.get("retryCount")
    )


def superseded(persisted: Mapping[str, Any], started_at: str) -> str:
    """Why the app's recorded operation state (``persisted``) is no longer that of the
    operation started at ``started_at``; "" while it is (or nothing is recorded).

    Another writer got there first: a controller replica that took the app's shard over after
    this one was paused resumed the operation and finished it, or started another. A write
    made from this one's stale view would undo theirs (an operation shown Running again, a
    second history entry), so it is not sent.
    """
    if not persisted or not started_at:
        return ""
    phase, at = persisted.get("phase"), persisted.get("startedAt")
    running = phase in (OperationPhase.RUNNING.value, OperationPhase.TERMINATING.value)
    if at == started_at:
        return "" if running else f"it has ended already ({phase})"
    if running:
        return f"another operation, started at {at}, runs"
    return ""  # an earlier operation's end: this one's state is not recorded yet


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """``retry.limit`` (0 = no retry, negative = unlimited) and its backoff."""

    limit: int = 0
    backoff: retry.Backoff = dataclasses.field(default_factory=retry.Backoff)
    refresh: bool = False  # ``retry.refresh``: each retry syncs the newest render, not the first

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> RetryPolicy:
        spec = spec or {}
        return cls(
            int(spec.get("limit") or 0),
            retry.Backoff.from_spec(spec.get("backoff")),
            bool(spec.get("refresh")),
        )


def default_health(obj: Obj) -> str | None:
    found = health_registry.assess(obj)
    return found.status.value if found is not None else None


async def _never() -> bool:
    return False


async def run_operation(
    *,
    client: kube_client.KubeClient,
    targets: Sequence[Obj],
    live_source: LiveSource,
    params: tasks.SyncParams,
    persist: Persist,
    wait_for_change: WaitForChange,
    health_of: ObjectHealth = default_health,
    recorded: OperationState | None = None,
    should_terminate: ShouldTerminate = _never,
    retry_policy: RetryPolicy = RetryPolicy(),
    options: execute.ExecuteOptions = execute.ExecuteOptions(),
    wait_timeout: float = 5.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    prune_approved: PruneApproved | None = None,
    refresh_targets: Callable[[], Awaitable[Sequence[Obj]]] | None = None,
) -> OperationState:
    """Run (or resume, from ``recorded``) one sync operation to its end; the final state.

    ``targets`` are the rendered objects; namespaced ones without a namespace get
    ``params.destination_namespace``. ``wait_for_change(timeout)`` returns when the live state
    may have changed (or after ``timeout`` seconds). With ``retry_policy.refresh``, each retry
    first takes the targets ``refresh_targets`` renders anew (the newest revision).
    """
    prepared = await prepare.prepare_targets(
        targets, client=client, destination_namespace=params.destination_namespace
    )
    state = recorded or OperationState(OperationPhase.RUNNING, started_at=_now())
    if state.phase.completed:
        return state
    driver = _Driver(client, prepared, live_source, params, persist, wait_for_change,
                     health_of, should_terminate, options, wait_timeout)  # fmt: skip
    driver.prune_approved = prune_approved
    while True:
        state = await driver.attempt(state)
        if state.phase is OperationPhase.SUCCEEDED or driver.terminated:
            return state
        if not retry.should_retry(state.retry_count, retry_policy.limit):
            return state
        delay = retry.next_retry_delay(state.retry_count, retry_policy.backoff)
        attempt = state.retry_count + 1
        state = dataclasses.replace(
            state,
            phase=OperationPhase.RUNNING,
            message=f"{state.message}. Retrying attempt #{attempt} in {delay:g}s",
            finished_at="",
        )
        await persist(state)
        await sleep(delay)
        if await should_terminate():
            return await driver.terminate(state)
        if retry_policy.refresh and refresh_targets is not None:
            driver.targets = await prepare.prepare_targets(
                await refresh_targets(), client=client,
                destination_namespace=params.destination_namespace,
            )  # fmt: skip
        state = OperationState(OperationPhase.RUNNING, retry_count=attempt,
                               started_at=state.started_at)  # fmt: skip


def _reapplicable(action: step.Action) -> bool:
    """Whether applying ``action`` a second time is harmless: a server-side apply of objects
    that are not hooks (a hook would run twice), not replaced or forced (deleted and made
    again), and not dry runs."""
    return (
        isinstance(action, step.Apply)
        and not action.dry_run
        and not any(
            t.is_hook
            or t.is_prune
            or t.sync_options.enabled("replace")
            or t.sync_options.enabled("force")
            for t in action.tasks
        )
    )


class _Driver:
    """One operation's loop; plain attributes instead of a long parameter list per call."""

    def __init__(
        self,
        client: kube_client.KubeClient,
        targets: Mapping[keys.ResourceKey, Obj],
        live_source: LiveSource,
        params: tasks.SyncParams,
        persist: Persist,
        wait_for_change: WaitForChange,
        health_of: ObjectHealth,
        should_terminate: ShouldTerminate,
        options: execute.ExecuteOptions,
        wait_timeout: float,
    ) -> None:
        self.client = client
        self.targets = targets
        self.live_source = live_source
        self.params = params
        self.persist = persist
        self.wait_for_change = wait_for_change
        self.health_of = health_of
        self.should_terminate = should_terminate
        self.options = options
        self.wait_timeout = wait_timeout
        self.terminated = False
        self._namespace: Obj | None = None
        # Prune=confirm: asked while pruning waits; the approval lasts for the operation.
        self.prune_approved: PruneApproved | None = None

    async def attempt(self, state: OperationState) -> OperationState:
        temporary_failures = 0
        # Before the first apply (nothing recorded yet), the whole operation is dry-run.
        validated = bool(state.record.results) or self.params.dry_run
        while True:
            if await self.should_terminate():
                return await self.terminate(state)
            try:
                live = await self._live()
                if not validated:
                    failures = await self._validate(live)
                    validated = True
                    if failures:
                        state = dataclasses.replace(state, record=state.record.merged(failures))
                        message = validate.failure_message([(r.key, r.message) for r in failures])
                        return await self._finish(state, OperationPhase.FAILED, message)
            except errors.TemporaryError as exc:
                temporary_failures += 1
                if temporary_failures > MAX_TEMPORARY_FAILURES:
                    return await self._finish(state, OperationPhase.ERROR, str(exc))
                state = dataclasses.replace(state, message=f"retrying: {exc}")
                await self.persist(state)
                await self.wait_for_change(self.wait_timeout)
                continue
            except errors.TidegateError as exc:
                return await self._finish(state, OperationPhase.ERROR, str(exc))
            temporary_failures = 0
            if (
                self.prune_approved is not None
                and not self.params.prune_confirmed
                and await self.prune_approved()
            ):
                self.params = dataclasses.replace(self.params, prune_confirmed=True)
            decision = step.plan_step(
                self.targets, live, state.record, health_of=self._health(live), params=self.params
            )
            action = decision.action
            state = dataclasses.replace(
                state, record=state.record.merged(decision.results), message=_describe(action)
            )
            reapplicable = _reapplicable(action)
            if isinstance(action, step.Apply | step.Prune | step.RunSyncFail) and not reapplicable:
                await self.persist(state)  # what is known before acting
            new_record = await execute.execute(
                decision, client=self.client, recorded=state.record, params=self.params,
                options=self.options,
            )  # fmt: skip
            state = dataclasses.replace(state, record=new_record)
            if isinstance(action, step.Done):
                return await self._finish(state, action.phase, action.message)
            if reapplicable:
                # Recorded with the next step that is not one (before it acts, waits or ends:
                # every path of the loop persists), two writes fewer per wave: a crash before
                # that applies these waves again, which changes nothing (cold sync: issue 18).
                continue
            await self.persist(state)
            if isinstance(action, step.Wait):
                await self.wait_for_change(self.wait_timeout)

    async def _validate(self, live: Live) -> list[record.ResourceResult]:
        """The failures of the validating dry run of every task (none: go ahead)."""
        all_tasks = tasks.build(self.targets, live, params=self.params)
        return await execute.validate_operation(
            all_tasks, client=self.client, params=self.params, options=self.options
        )

    async def terminate(self, state: OperationState) -> OperationState:
        """Stop: delete hooks still running, mark them failed, end the operation Failed."""
        self.terminated = True
        state = dataclasses.replace(state, phase=OperationPhase.TERMINATING,
                                    message="terminating")  # fmt: skip
        await self.persist(state)
        stopped = []
        for r in state.record.results:
            if r.running and r.hook_type is not None:
                try:
                    await self.client.delete(r.key, propagation="Background",
                                             version=r.version or None)  # fmt: skip
                except errors.KubeError as exc:
                    log.warning("cannot delete running hook %s on termination: %s", r.key, exc)
                stopped.append(dataclasses.replace(r, hook_phase=record.HookPhase.FAILED,
                                                   message="terminated"))  # fmt: skip
        state = dataclasses.replace(state, record=state.record.merged(stopped))
        return await self._finish(state, OperationPhase.FAILED, "operation terminated")

    async def _finish(
        self, state: OperationState, phase: OperationPhase, message: str
    ) -> OperationState:
        state = dataclasses.replace(state, phase=phase, message=message, finished_at=_now())
        await self.persist(state)
        return state

    async def _live(self) -> Live:
        """The app's live objects, plus the destination namespace made by CreateNamespace
        (untracked, so no live source lists it; planning needs to see it exist)."""
        live = await self.live_source()
        ns = self.params.destination_namespace
        if not ns or not self.params.app_options.enabled("create_namespace"):
            return live
        key = keys.ResourceKey("", "Namespace", "", ns)
        if key in live:
            return live
        if self._namespace is None:
            self._namespace = await self.client.get_or_none(key)
        return {**live, key: self._namespace} if self._namespace is not None else live

    def _health(self, live: Live) -> step.HealthOf:
        def health_of(key: keys.ResourceKey) -> str | None:
            obj = live.get(key)
            if obj is None:
                return None
            found = self.health_of(obj)
            if found is None and _is_hook(obj):
                return "Healthy"  # a hook of a kind without health completes when created
            return found

        return health_of


def _is_hook(obj: Obj) -> bool:
    try:
        return resource_meta.is_hook(obj)
    except errors.SpecError:
        return False


def _describe(action: step.Action) -> str:
    if isinstance(action, step.Apply):
        dry = " (dry run)" if action.dry_run else ""
        where = f"{action.phase.value} wave {action.wave}"
        return f"applying {len(action.tasks)} resources of {where}{dry}"
    if isinstance(action, step.Prune):
        return f"pruning {len(action.tasks)} resources of {action.phase.value} wave {action.wave}"
    if isinstance(action, step.RunSyncFail):
        return f"running {len(action.tasks)} SyncFail hooks"
    if isinstance(action, step.Wait):
        return action.reason
    return action.message


class ClusterLiveSource:
    """The app's live objects read from the cluster: one LIST per kind (per namespace for
    namespaced kinds), kept when the app tracks them.

    Kinds are those of ``targets`` plus ``kinds``; namespaces those of the targets plus
    ``namespaces``. Pass the kinds the app had before (``status.resources``) so objects
    removed from Git are found and pruned. ``wait_for_change`` polls every ``poll_interval``.
    """

    def __init__(
        self,
        *,
        client: kube_client.KubeClient,
        app_name: str,
        tracking_method: str = constants.TRACKING_ANNOTATION,
        installation_id: str = "",
        targets: Iterable[Obj] = (),
        kinds: Iterable[tuple[str, str]] = (),
        namespaces: Iterable[str] = (),
        poll_interval: float = 0.25,
    ) -> None:
        self.client = client
        self.app_name = app_name
        self.tracking_method = tracking_method
        self.installation_id = installation_id
        self.poll_interval = poll_interval
        self.kinds = set(kinds)
        self.namespaces = {n for n in namespaces if n}
        for obj in targets:
            key = keys.ResourceKey.of(obj)
            self.kinds.add((key.group, key.kind))
            if key.namespace:
                self.namespaces.add(key.namespace)

    async def __call__(self) -> dict[keys.ResourceKey, Obj]:
        lists: list[Awaitable[kube_client.ListResult]] = []
        for group, kind in sorted(self.kinds):
            try:
                res = await self.client.resource(group, kind)
            except errors.UnknownKindError:
                continue  # not served (yet): nothing of that kind can be live
            if res.namespaced:
                lists.extend(self.client.list(res, namespace=ns) for ns in sorted(self.namespaces))
            else:
                lists.append(self.client.list(res))
        out: dict[keys.ResourceKey, Obj] = {}
        for listed in await asyncio.gather(*lists):
            for obj in listed.items:
                if prepare.is_tracked_by(
                    obj,
                    app_name=self.app_name,
                    method=self.tracking_method,
                    installation_id=self.installation_id,
                ):
                    out[keys.ResourceKey.of(obj)] = obj
        return out

    async def wait_for_change(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, self.poll_interval))
