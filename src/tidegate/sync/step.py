"""The re-entrant sync step: given what is recorded so far, decide the next action.

Each call rebuilds the tasks from targets and live objects, reads the recorded results, turns
finished work into result updates (a resource that became healthy, a hook that completed, a
pruned object that is gone) and returns one action. The executor persists ``results``, carries
out ``delete`` (finished hooks, stale hook instances) and the action, records what it did with
:func:`tidegate.sync.record.executed`, and calls :func:`plan_step` again. A completed wave is
never planned twice, so a controller restarted mid-sync continues where the record says.

Order of business in one step:
1. tasks whose preparation failed (bad annotation, shared resource) fail the operation;
2. running tasks are checked (health, hook completion, deletion of pruned objects); resources
   of the last wave are not waited for (health only gates what comes after it);
3. any failure -> run SyncFail hooks once, then ``Done(Failed)``;
4. anything still running -> ``Wait``;
5. the next phase+wave with unrecorded tasks: skipped prunes are recorded at once, a pending
   ``Prune=confirm`` waits for confirmation, stale hooks (BeforeHookCreation) are deleted first,
   then ``Prune`` for the wave's prunes, then ``Apply`` for its creates and applies;
6. nothing left -> ``Done(Succeeded)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from tidegate.model import enums, keys
from tidegate.sync import record, resource_meta, tasks

HealthOf = Callable[[keys.ResourceKey], str | None]
"""Health status of a live object (``Healthy``, ``Progressing``, ``Degraded``, ...), None when
its kind has no health check."""


@dataclasses.dataclass(frozen=True)
class Apply:
    tasks: tuple[tasks.SyncTask, ...]
    phase: enums.SyncPhase
    wave: int
    dry_run: bool = False


@dataclasses.dataclass(frozen=True)
class Prune:
    tasks: tuple[tasks.SyncTask, ...]
    phase: enums.SyncPhase
    wave: int
    dry_run: bool = False


@dataclasses.dataclass(frozen=True)
class Wait:
    reason: str


@dataclasses.dataclass(frozen=True)
class RunSyncFail:
    tasks: tuple[tasks.SyncTask, ...]


@dataclasses.dataclass(frozen=True)
class Done:
    phase: enums.OperationPhase
    message: str


Action = Apply | Prune | Wait | RunSyncFail | Done


@dataclasses.dataclass(frozen=True)
class StepDecision:
    action: Action
    results: tuple[record.ResourceResult, ...] = ()  # persist these before acting
    delete: tuple[tasks.SyncTask, ...] = ()  # hook objects to delete (idempotent)


def plan_step(
    targets: Mapping[keys.ResourceKey, Mapping[str, Any]],
    live: Mapping[keys.ResourceKey, Mapping[str, Any]],
    recorded: record.OperationRecord,
    *,
    health_of: HealthOf,
    params: tasks.SyncParams,
) -> StepDecision:
    """The next action of the sync operation described by ``params``."""
    all_tasks = tasks.build(targets, live, params=params)
    results = recorded.by_ident()
    updates: list[record.ResourceResult] = []

    def note(result: record.ResourceResult) -> None:
        results[result.ident] = result
        updates.append(result)

    broken = [t for t in all_tasks if t.error and record.ident_of(t) not in results]
    if broken:
        for t in broken:
            note(record.result_for(t, record.ResultCode.SYNC_FAILED, t.error,
                                   phase=record.HookPhase.FAILED))  # fmt: skip
        return StepDecision(
            Done(enums.OperationPhase.FAILED, _failure_message(results)), tuple(updates)
        )

    for t in all_tasks:
        previous = results.get(record.ident_of(t))
        if previous is not None and previous.running:
            progressed = _progress(t, previous, live, health_of)
            if progressed is not None:
                note(progressed)

    current = {record.ident_of(t) for t in all_tasks}
    for ident, previous in list(results.items()):
        # A pruned object that is gone has no task any more, nor has the namespace made by
        # CreateNamespace once it exists: finish their results here.
        gone = previous.status is record.ResultCode.PRUNED and previous.key not in live
        made = previous.status is record.ResultCode.SYNCED and previous.key in live
        if ident not in current and previous.running and (gone or made):
            note(dataclasses.replace(previous, hook_phase=record.HookPhase.SUCCEEDED))

    delete = tuple(_finished_hooks_to_delete(all_tasks, results, live))
    fail_tasks = [t for t in all_tasks if t.phase is enums.SyncPhase.SYNC_FAIL]
    main_tasks = [t for t in all_tasks if t.phase is not enums.SyncPhase.SYNC_FAIL]
    done = [results[record.ident_of(t)] for t in all_tasks if record.ident_of(t) in results]

    if any(r.failed for r in done):
        return _on_failure(fail_tasks, results, live, updates, delete)
    # Health gates what comes next; nothing comes after the last wave, so its resources are
    # done once applied (Argo CD: a sync does not wait for the health of its last wave).
    last = (main_tasks[-1].phase, main_tasks[-1].wave) if main_tasks else None
    for t in main_tasks:
        previous = results.get(record.ident_of(t))
        if (
            previous is not None
            and previous.running
            and not t.is_hook
            and not t.is_prune
            and (t.phase, t.wave) == last
        ):
            note(dataclasses.replace(previous, hook_phase=record.HookPhase.SUCCEEDED))
    done = [results[record.ident_of(t)] for t in all_tasks if record.ident_of(t) in results]
    running = [r for r in done if r.running]
    if running:
        return StepDecision(Wait(_waiting_message(running)), tuple(updates), delete)

    while True:
        remaining = [t for t in main_tasks if record.ident_of(t) not in results]
        if not remaining:
            return StepDecision(
                Done(enums.OperationPhase.SUCCEEDED, "successfully synced (all tasks run)"),
                tuple(updates),
                delete,
            )
        first = remaining[0]
        wave_tasks = [t for t in remaining if (t.phase, t.wave) == (first.phase, first.wave)]
        skipped = [t for t in wave_tasks if t.is_prune and t.skip_reason]
        for t in skipped:
            note(record.result_for(t, record.ResultCode.PRUNE_SKIPPED, t.skip_reason))
        wave_tasks = [t for t in wave_tasks if t not in skipped]
        if wave_tasks:
            break

    action = _wave_action(wave_tasks, live, params)
    if isinstance(action, tuple):  # stale hooks to delete before the wave can run
        return StepDecision(Wait(action[0]), tuple(updates), delete + action[1])
    return StepDecision(action, tuple(updates), delete)


def _wave_action(
    wave_tasks: list[tasks.SyncTask],
    live: Mapping[keys.ResourceKey, Mapping[str, Any]],
    params: tasks.SyncParams,
) -> Action | tuple[str, tuple[tasks.SyncTask, ...]]:
    first = wave_tasks[0]
    prunes = tuple(t for t in wave_tasks if t.is_prune)
    if prunes:
        unconfirmed = [t for t in prunes if t.sync_options.prune_needs_confirmation]
        if unconfirmed and not params.prune_confirmed:
            return Wait(f"waiting for pruning confirmation of {_names(unconfirmed)}")
        return Prune(prunes, first.phase, first.wave, params.dry_run)
    stale = tuple(
        t
        for t in wave_tasks
        if t.is_hook
        and t.key in live
        and resource_meta.DeletePolicy.BEFORE_HOOK_CREATION in t.delete_policies
    )
    if stale:
        return (f"deleting previous instances of hooks {_names(list(stale))}", stale)
    return Apply(tuple(wave_tasks), first.phase, first.wave, params.dry_run)


def _progress(
    task: tasks.SyncTask,
    previous: record.ResourceResult,
    live: Mapping[keys.ResourceKey, Mapping[str, Any]],
    health_of: HealthOf,
) -> record.ResourceResult | None:
    """The updated result of a running task, or None while it is still running."""
    if task.is_prune:
        if task.key in live:
            return None
        return dataclasses.replace(previous, hook_phase=record.HookPhase.SUCCEEDED)
    if task.key not in live:
        return None  # just created; the live cache has not seen it yet
    health = health_of(task.key)
    if health == "Degraded":
        message = f"{task.key} is Degraded" if not task.is_hook else f"hook {task.key} failed"
        return dataclasses.replace(previous, hook_phase=record.HookPhase.FAILED, message=message)
    if health == "Healthy" or (health is None and not task.is_hook):
        return dataclasses.replace(previous, hook_phase=record.HookPhase.SUCCEEDED)
    return None


def _finished_hooks_to_delete(
    all_tasks: list[tasks.SyncTask],
    results: Mapping[record.Ident, record.ResourceResult],
    live: Mapping[keys.ResourceKey, Mapping[str, Any]],
) -> list[tasks.SyncTask]:
    out = []
    for t in all_tasks:
        result = results.get(record.ident_of(t))
        if not t.is_hook or result is None or t.key not in live:
            continue
        ok = result.hook_phase in record.FINISHED_OK
        bad = result.hook_phase in record.FINISHED_BAD
        if (ok and resource_meta.DeletePolicy.HOOK_SUCCEEDED in t.delete_policies) or (
            bad and resource_meta.DeletePolicy.HOOK_FAILED in t.delete_policies
        ):
            out.append(t)
    return out


def _on_failure(
    fail_tasks: list[tasks.SyncTask],
    results: Mapping[record.Ident, record.ResourceResult],
    live: Mapping[keys.ResourceKey, Mapping[str, Any]],
    updates: list[record.ResourceResult],
    delete: tuple[tasks.SyncTask, ...],
) -> StepDecision:
    message = _failure_message(results)
    pending = tuple(t for t in fail_tasks if record.ident_of(t) not in results)
    if pending:
        stale = tuple(
            t
            for t in pending
            if t.key in live
            and resource_meta.DeletePolicy.BEFORE_HOOK_CREATION in t.delete_policies
        )
        if stale:
            reason = f"deleting previous instances of SyncFail hooks {_names(list(stale))}"
            return StepDecision(Wait(reason), tuple(updates), delete + stale)
        return StepDecision(RunSyncFail(pending), tuple(updates), delete)
    running = [
        results[record.ident_of(t)] for t in fail_tasks if results[record.ident_of(t)].running
    ]
    if running:
        return StepDecision(Wait(_waiting_message(running)), tuple(updates), delete)
    return StepDecision(Done(enums.OperationPhase.FAILED, message), tuple(updates), delete)


def _failure_message(results: Mapping[record.Ident, record.ResourceResult]) -> str:
    failed = [r for r in results.values() if r.failed]
    detail = "; ".join(r.message or f"{r.key} failed" for r in failed[:3])
    more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
    return f"one or more synchronization tasks failed: {detail}{more}"


def _names(items: list[tasks.SyncTask]) -> str:
    names = ", ".join(str(t.key) for t in items[:3])
    return names + (f" (and {len(items) - 3} more)" if len(items) > 3 else "")


def _waiting_message(running: list[record.ResourceResult]) -> str:
    parts = []
    for r in running[:3]:
        if r.status is record.ResultCode.PRUNED:
            parts.append(f"deletion of {r.key}")
        elif r.hook_type is not None:
            parts.append(f"completion of hook {r.key}")
        else:
            parts.append(f"healthy state of {r.key}")
    more = f" (and {len(running) - 3} more)" if len(running) > 3 else ""
    return "waiting for " + ", ".join(parts) + more
