"""Carry out one :class:`tidegate.sync.step.StepDecision` against a cluster.

Deletes the hooks the decision lists (background propagation, without waiting: the next step
sees them gone), then runs the action: ``Apply``/``RunSyncFail`` send every task of the wave
concurrently (bounded), Namespaces and CRDs first, then the rest once the CRDs are
Established; ``Prune`` deletes with each task's ``PrunePropagationPolicy`` (foreground by
default). Each task's outcome is recorded with :func:`tidegate.sync.record.executed`; a
failure is a ``SyncFailed`` result carrying the API server's message, never an exception.

How a task is sent:
- hooks to create: ``POST`` (their name is already stable, see ``tasks._named_hook``);
- ``Replace=true``: ``PUT`` an existing object, ``POST`` a missing one; with ``Force=true``
  the existing object is deleted and created again;
- otherwise server-side apply (field manager ``tidegate``, conflicts forced); with
  ``Force=true`` (option or operation) an apply rejected for an immutable field or a conflict
  deletes and recreates the object;
- ``Validate=false`` sends ``fieldValidation=Ignore`` instead of ``Strict``;
- dry run: the same requests with ``dryRun=All``. An object whose namespace or
  CustomResourceDefinition is created by this same (dry) sync cannot be validated by the
  server; it is recorded as skipped, as is a missing kind with ``SkipDryRunOnMissingResource``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from tidegate.kube import client as kube_client
from tidegate.kube import stages
from tidegate.model import errors, keys
from tidegate.sync import prepare, record, step, tasks, validate

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class ExecuteOptions:
    concurrency: int = 8
    force: bool = False  # the operation's force (``syncStrategy.apply.force``, ``--force``)
    establish_timeout: float = 60.0  # CRDs of a wave must be Established within this
    delete_timeout: float = 60.0  # Force: the old object must be gone within this
    # Told of each server-side apply that was sent (not dry): (object sent, the server's answer).
    # The controller keeps the answer as the prediction of the next comparison (no dry run).
    on_applied: Callable[[prepare.Obj, prepare.Obj], None] | None = None


async def execute(
    decision: step.StepDecision,
    *,
    client: kube_client.KubeClient,
    recorded: record.OperationRecord,
    params: tasks.SyncParams,
    options: ExecuteOptions = ExecuteOptions(),
) -> record.OperationRecord:
    """Perform ``decision``; the record with its results and those of the action merged."""
    current = recorded.merged(decision.results)
    current = current.merged(await _delete_hooks(decision.delete, client=client, known=current))
    action = decision.action
    results: list[record.ResourceResult] = []
    if isinstance(action, step.Apply | step.RunSyncFail):
        dry_run = isinstance(action, step.Apply) and action.dry_run
        results = await _apply_wave(
            action.tasks, client=client, known=current, params=params, options=options,
            dry_run=dry_run,
        )  # fmt: skip
    elif isinstance(action, step.Prune):
        results = await _bounded(
            action.tasks,
            lambda t: _prune(t, client=client, dry_run=action.dry_run),
            options.concurrency,
        )
    return current.merged(results)


async def _bounded(items: Iterable[T], fn: Callable[[T], Awaitable[R]], limit: int) -> list[R]:
    """``fn`` over ``items``, at most ``limit`` at a time; results in input order."""
    gate = asyncio.Semaphore(max(1, limit))

    async def run(item: T) -> R:
        async with gate:
            return await fn(item)

    return list(await asyncio.gather(*(run(i) for i in items)))


async def _delete_hooks(
    hooks: Sequence[tasks.SyncTask],
    *,
    client: kube_client.KubeClient,
    known: record.OperationRecord,
) -> list[record.ResourceResult]:
    """Delete finished or stale hook instances; a failure to delete a hook that has not run
    yet in this operation fails it (the wave would otherwise wait for ever)."""
    recorded = known.by_ident()

    async def delete(task: tasks.SyncTask) -> record.ResourceResult | None:
        try:
            await client.delete(task.key, propagation="Background", version=task.version or None)
        except errors.KubeError as exc:
            if record.ident_of(task) in recorded or isinstance(exc, errors.TemporaryError):
                log.warning("cannot delete hook %s: %s", task.key, exc)
                return None
            message = f"cannot delete the previous instance of hook {task.key}: {exc}"
            return record.executed(task, ok=False, message=message)
        return None

    found = await _bounded(hooks, delete, 8)
    return [r for r in found if r is not None]


async def _apply_wave(
    wave: Sequence[tasks.SyncTask],
    *,
    client: kube_client.KubeClient,
    known: record.OperationRecord,
    params: tasks.SyncParams,
    options: ExecuteOptions,
    dry_run: bool,
) -> list[record.ResourceResult]:
    """Definitions (Namespaces, CRDs) first, then the rest, each stage concurrently."""
    first = [t for t in wave if t.target is not None and stages.is_definition(t.target)]
    rest = [t for t in wave if t not in first]

    def send(
        stage_known: record.OperationRecord,
    ) -> Callable[[tasks.SyncTask], Awaitable[record.ResourceResult]]:
        return lambda t: _apply(
            t, client=client, known=stage_known, params=params, options=options, dry_run=dry_run
        )

    results = await _bounded(first, send(known), options.concurrency)
    crds = [
        t for t, r in zip(first, results, strict=True)
        if t.key.kind == "CustomResourceDefinition" and not r.failed
    ]  # fmt: skip
    if crds and not dry_run and rest:
        try:
            names = [t.key.name for t in crds]
            await stages.wait_established(client, names, wait_seconds=options.establish_timeout)
            await _wait_served(client, crds, within=options.establish_timeout)
        except errors.KubeError as exc:
            return results + [
                record.executed(t, ok=False, message=f"not applied: {exc}") for t in rest
            ]
    return results + await _bounded(rest, send(known.merged(results)), options.concurrency)


async def _wait_served(
    client: kube_client.KubeClient, crds: Sequence[tasks.SyncTask], *, within: float
) -> None:
    """Poll discovery until the kinds of freshly established CRDs are served: the API
    server's discovery document lags behind the Established condition."""
    wanted = set()
    for t in crds:
        spec = (t.target or {}).get("spec") or {}
        kind = (spec.get("names") or {}).get("kind")
        if spec.get("group") and kind:
            wanted.add((str(spec["group"]), str(kind)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        client.discovery.invalidate()
        index = await client.discovery.index()
        missing = sorted(f"{k}.{g}" for g, k in wanted if index.find(g, k) is None)
        if not missing:
            return
        if loop.time() >= deadline:
            raise errors.KubeError(
                f"cluster {client.name} does not serve {', '.join(missing)} {within:.0f}s "
                "after their CustomResourceDefinitions were established"
            )
        await asyncio.sleep(0.1)


async def _apply(
    task: tasks.SyncTask,
    *,
    client: kube_client.KubeClient,
    known: record.OperationRecord,
    params: tasks.SyncParams,
    options: ExecuteOptions,
    dry_run: bool,
) -> record.ResourceResult:
    try:
        message = await _send(task, client=client, params=params, options=options, dry_run=dry_run)
    except errors.KubeError as exc:
        excuse = (
            _excuse(task, exc, validate.Planned.of_results(known.results), force=options.force)
            if dry_run
            else ""
        )
        if excuse:
            return record.executed(task, ok=True, message=excuse, dry_run=True)
        return record.executed(task, ok=False, message=str(exc))
    if dry_run:
        message += " (dry run)"
    return record.executed(task, ok=True, message=message, dry_run=dry_run)


async def _send(
    task: tasks.SyncTask,
    *,
    client: kube_client.KubeClient,
    params: tasks.SyncParams,
    options: ExecuteOptions,
    dry_run: bool,
) -> str:
    """Send one task the way its options say; what happened ("created", ...) or KubeError."""
    assert task.target is not None, f"{task.key}: an apply task without a target"
    obj = task.target
    if not _created_namespace(task, params):
        obj = prepare.with_tracking(
            obj,
            app_name=params.app_name,
            method=params.tracking_method,
            installation_id=params.installation_id,
        )
    opts = task.sync_options
    validation: kube_client.FieldValidation = "Strict" if opts.enabled("validate") else "Ignore"
    force = (options.force or opts.enabled("force")) and not dry_run
    if task.is_hook and task.action is tasks.Action.CREATE:
        return await _create_hook(client, obj, validation=validation, dry_run=dry_run)
    if opts.enabled("replace"):
        if task.live is None:
            await client.create(obj, dry_run=dry_run, validation=validation)
            return "created"
        if force:
            await client.recreate(
                obj, validation=validation, delete_within=options.delete_timeout,
                server_side=False,
            )  # fmt: skip
            return "recreated"
        await client.replace(obj, dry_run=dry_run, validation=validation)
        return "replaced"
    return await _server_side_apply(
        client, task, obj, validation=validation, force=force, dry_run=dry_run,
        delete_timeout=options.delete_timeout, on_applied=options.on_applied,
    )  # fmt: skip


async def validate_operation(
    all_tasks: Sequence[tasks.SyncTask],
    *,
    client: kube_client.KubeClient,
    params: tasks.SyncParams,
    options: ExecuteOptions = ExecuteOptions(),
) -> list[record.ResourceResult]:
    """Dry-run every object the operation will create or apply, all at once (bounded), before
    anything is applied; the failed results (none: the operation may start).

    Tasks that failed their preparation are returned as failures too, so that every problem is
    reported in one go. An answer about the server rather than the object (unreachable,
    throttled, unavailable: see :func:`validate.is_verdict`) raises, as the operation cannot be
    checked now; any other answer is a result.
    """
    planned = validate.Planned.of_tasks(all_tasks, params)
    broken = [record.executed(t, ok=False, message=t.error) for t in all_tasks if t.error]

    async def check(task: tasks.SyncTask) -> record.ResourceResult | None:
        try:
            await _send(task, client=client, params=params, options=options, dry_run=True)
        except errors.KubeError as exc:
            if not validate.is_verdict(exc):
                raise
            if _excuse(task, exc, planned, force=options.force):
                return None
            return record.executed(task, ok=False, message=str(exc))
        return None

    found = await _bounded(validate.checked(all_tasks), check, options.concurrency)
    return broken + [r for r in found if r is not None]


def _excuse(
    task: tasks.SyncTask, exc: errors.KubeError, planned: validate.Planned, *, force: bool
) -> str:
    """Why a failed dry run of ``task`` does not count, or "" when it does."""
    opts = task.sync_options
    return validate.excuse(
        task.key,
        exc,
        planned,
        skip_missing_kind=opts.enabled("skip_dry_run_on_missing_resource"),
        hook=task.is_hook,
        recreated=(force or opts.enabled("force")) and task.live is not None,
    )


def _created_namespace(task: tasks.SyncTask, params: tasks.SyncParams) -> bool:
    """The destination namespace planned by ``CreateNamespace=true`` is not part of the app
    (as in Argo CD): it gets no tracking metadata, so it is never pruned. A Namespace from Git
    already carries tracking (rendering stamps it)."""
    return (
        task.key == keys.ResourceKey("", "Namespace", "", params.destination_namespace)
        and params.app_options.enabled("create_namespace")
        and task.target is not None
        and not prepare.has_tracking(task.target)
    )


async def _create_hook(
    client: kube_client.KubeClient,
    obj: prepare.Obj,
    *,
    validation: kube_client.FieldValidation,
    dry_run: bool,
) -> str:
    try:
        await client.create(obj, dry_run=dry_run, validation=validation)
    except errors.KubeError as exc:
        if not kube_client.already_exists(exc):
            raise
        return "already exists"  # created by an earlier attempt of this same step
    return "created"


async def _server_side_apply(
    client: kube_client.KubeClient,
    task: tasks.SyncTask,
    obj: prepare.Obj,
    *,
    validation: kube_client.FieldValidation,
    force: bool,
    dry_run: bool,
    delete_timeout: float,
    on_applied: Callable[[prepare.Obj, prepare.Obj], None] | None = None,
) -> str:
    try:
        response = await client.apply(obj, dry_run=dry_run, force=True, validation=validation)
    except errors.KubeError as exc:
        if not (force and task.live is not None and kube_client.is_recreatable(exc)):
            raise
        log.info("recreating %s (Force=true) after: %s", task.key, exc)
        await client.recreate(
            obj, validation=validation, delete_within=delete_timeout, server_side=True
        )
        return "recreated"
    if on_applied is not None and not dry_run:
        on_applied(obj, response.body)
    if response.code == 201:
        return "created"
    if dry_run:
        return "applied"
    before = ((task.live or {}).get("metadata") or {}).get("resourceVersion")
    after = (response.body.get("metadata") or {}).get("resourceVersion")
    return "unchanged" if before and before == after else "configured"


async def _prune(
    task: tasks.SyncTask, *, client: kube_client.KubeClient, dry_run: bool
) -> record.ResourceResult:
    policy = task.sync_options.propagation_policy
    propagation: kube_client.Propagation = (
        "Foreground" if policy == "foreground" else "Background" if policy == "background"
        else "Orphan"
    )  # fmt: skip
    try:
        existed = await client.delete(
            task.key, propagation=propagation, dry_run=dry_run, version=task.version or None
        )
    except errors.KubeError as exc:
        return record.executed(task, ok=False, message=str(exc))
    message = "pruned" if existed else "pruned (already gone)"
    if dry_run:
        message += " (dry run)"
    return record.executed(task, ok=True, message=message, dry_run=dry_run)
