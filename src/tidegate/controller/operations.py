"""Run an Application's sync operation (the ``operation`` field) and record its outcome.

State lives in ``status.operationState`` (written after every step), so a controller killed in
the middle of a sync resumes it from the recorded results after a restart. The final write sets
the outcome, appends the history entry and clears ``operation`` in one merge patch, so a sync is
recorded in history exactly once whatever moment the controller dies at.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tidegate.controller import appstatus, deletion, jqdiff
from tidegate.controller import compare as cmp
from tidegate.model import application as model_app
from tidegate.model import constants, errors
from tidegate.model.enums import OperationPhase
from tidegate.model.keys import ResourceKey
from tidegate.sync import execute as sync_execute
from tidegate.sync import operation as sync_operation
from tidegate.sync import options as sync_options
from tidegate.sync import permits, prepare, windows
from tidegate.sync import projects as sync_projects
from tidegate.sync import tasks as sync_tasks

if TYPE_CHECKING:
    from tidegate.controller.engine import Controller

log = logging.getLogger("tidegate.controller")

WAIT_SLICE = 2.0


def _sync_id(started_at: str) -> str:
    return "".join(ch for ch in started_at if ch.isdigit())[-10:] or "0"


def _history(
    raw: dict[str, Any],
    *,
    revision: str,
    source: dict[str, Any] | None,
    started_at: str,
    finished_at: str,
    initiated_by: dict[str, Any] | None,
    limit: int,
) -> list[dict[str, Any]]:
    history = list((raw.get("status") or {}).get("history") or [])
    next_id = max((int(h.get("id") or 0) for h in history), default=-1) + 1
    entry: dict[str, Any] = {
        "id": next_id,
        "revision": revision,
        "deployedAt": finished_at,
        "deployStartedAt": started_at,
    }
    if source is not None:
        entry["source"] = source
    if initiated_by:
        entry["initiatedBy"] = initiated_by
    history.append(entry)
    if limit >= 0:
        history = history[-max(limit, 1) :]
    return history


def _app_for_operation(app: model_app.Application) -> model_app.Application:
    """The app as the operation wants it: a rollback names the source to use."""
    op = app.operation
    if op is None or op.sync is None or op.sync.source is None:
        return app
    spec = app.spec.model_copy(update={"source": op.sync.source, "sources": None})
    return app.model_copy(update={"spec": spec})


async def _fresh(ctrl: Controller, name: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The app as the API server has it now (None when it is gone).

    Watch events can lag behind the controller's own writes: after an operation finished, an
    older event may put back a copy that still carries its ``operation``, and running that
    again started a second sync that was then "terminated". Argo CD reads the app from the API
    before it processes an operation for the same reason.
    """
    try:
        fresh = await ctrl.mgmt.get(ctrl._app_key(name))
    except errors.KubeNotFoundError:
        return None
    except errors.KubeError as exc:
        log.warning("app %s: could not re-read the app before its operation: %s", name, exc)
        return raw
    if name in ctrl.apps:
        ctrl.apps[name] = fresh
    return fresh


async def run(ctrl: Controller, name: str) -> None:
    raw = ctrl.apps.get(name)
    if raw is None or not raw.get("operation"):
        return
    raw = await _fresh(ctrl, name, raw)
    if raw is None or not raw.get("operation"):
        return
    try:
        app = model_app.parse_application(raw)
    except errors.SpecError as exc:
        await _finish(
            ctrl,
            name,
            raw,
            phase=OperationPhase.ERROR,
            message=str(exc),
            started_at=appstatus.now(),
            state=None,
            revision="",
            success_extra=None,
        )
        return
    op = app.operation
    assert op is not None
    raw_op = raw["operation"]
    sync = op.sync
    persisted = (raw.get("status") or {}).get("operationState") or {}
    resuming = (
        persisted.get("phase") in ("Running", "Terminating")
        and persisted.get("operation") == raw_op
    )
    if resuming:
        state = sync_operation.OperationState.from_status(persisted)
        log.info("app %s: resuming the operation started at %s", name, state.started_at)
    else:
        state = sync_operation.OperationState(
            OperationPhase.RUNNING, message="starting", started_at=appstatus.now()
        )
        await _persist(ctrl, name, raw_op, state)
    target_app = _app_for_operation(app)

    cluster, problem = ctrl._destination(target_app)
    if problem or cluster is None:
        await _finish(
            ctrl,
            name,
            raw,
            phase=OperationPhase.ERROR,
            message=problem,
            started_at=state.started_at,
            state=state,
            revision="",
            success_extra=None,
        )
        return
    manual = not bool(op.initiated_by and op.initiated_by.automated)
    verdict = windows.evaluate(
        ctrl.project_windows(app),
        windows.AppRef(
            app.name, app.spec.destination.namespace or "", cluster.server, cluster.name
        ),
        dt.datetime.now(dt.UTC),
        manual=manual,
    )
    if not verdict.allowed:
        await _finish(
            ctrl,
            name,
            raw,
            phase=OperationPhase.FAILED,
            message="sync blocked by an active sync window",
            started_at=state.started_at,
            state=state,
            revision="",
            success_extra=None,
        )
        return
    rt = await ctrl.runtimes.ensure(cluster)
    await rt.ready()
    revision = None
    if sync is not None:
        revision = sync.revision or next(iter(sync.revisions or []), None)
    try:
        # A sync without a pinned commit means "what the branch says now": fetch first.
        kube_version, api_versions = await rt.capabilities()
        rendered = await cmp.render_app(
            target_app,
            deps=ctrl.deps,
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
        # Nothing rendered: nothing is applied or pruned.
        await _finish(
            ctrl,
            name,
            raw,
            phase=OperationPhase.ERROR,
            message=f"ComparisonError: {exc}",
            started_at=state.started_at,
            state=state,
            revision="",
            success_extra=None,
        )
        return
    # AppProject and cluster registration: a refused object fails the whole operation before
    # anything is applied; live objects they do not permit are never pruned.
    rules = ctrl.project_rules(target_app, cluster)
    managed_ns = app.spec.sync_policy.managed_namespace_metadata if app.spec.sync_policy else None
    refused = (
        await permits.target_refusals(
            rendered.objects
            + await permits.created_namespace(
                rt.client,
                namespace=target_app.spec.destination.namespace or "",
                create_namespace=bool(app_options.enabled("create_namespace")),
                managed_metadata=managed_ns is not None,
            ),
            client=rt.client,
            rules=rules,
            destination_namespace=target_app.spec.destination.namespace or "",
        )
        if rules is not None
        else []
    )
    if refused:
        await _finish(
            ctrl,
            name,
            raw,
            phase=OperationPhase.FAILED,
            message="nothing was applied: " + str(sync_projects.refused_error(refused)),
            started_at=state.started_at,
            state=state,
            revision="",
            success_extra=None,
        )
        return
    comparison = ctrl.comparisons.get(name)
    selected = None
    if sync is not None and sync.resources:
        selected = frozenset(
            ResourceKey(r.group or "", r.kind, r.namespace or "", r.name) for r in sync.resources
        )
    automated = app.spec.sync_policy.automated if app.spec.sync_policy else None
    params = sync_tasks.SyncParams(
        app_name=app.name,
        app_options=app_options,
        prune=bool(sync.prune) if sync else False,
        dry_run=bool(sync.dry_run) if sync else False,
        resources=selected,
        allow_empty=bool(automated.allow_empty) if (automated and not manual) else True,
        destination_namespace=app.spec.destination.namespace or "",
        out_of_sync=comparison.out_of_sync() if comparison is not None else None,
        sync_id=_sync_id(state.started_at),
        tracking_method=ctrl.settings.tracking_method,
        namespace_labels=tuple(sorted((managed_ns.labels or {}).items())) if managed_ns else (),
        namespace_annotations=(
            tuple(sorted((managed_ns.annotations or {}).items())) if managed_ns else ()
        ),
        installation_id=ctrl.installation_id,
    )
    event = ctrl.op_events.setdefault(name, asyncio.Event())

    shared_check = app_options.enabled("fail_on_shared_resource")
    target_keys: list[ResourceKey] = []
    if shared_check:
        settled = await prepare.prepare_targets(
            rendered.objects, client=rt.client, destination_namespace=params.destination_namespace
        )
        target_keys = list(settled)

    async def live_source() -> dict[ResourceKey, dict[str, Any]]:
        tracked = rt.cache.store.tracked(app.name)
        if rules is not None:
            tracked, _ = sync_projects.split_live(rules, tracked)
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
        return deletion_approved(ctrl.apps.get(name) or {}, since=state.started_at)

    async def wait_for_change(seconds: float) -> None:
        event.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(seconds, WAIT_SLICE)):
                await event.wait()

    async def should_terminate() -> bool:
        current = ctrl.apps.get(name) or {}
        phase = ((current.get("status") or {}).get("operationState") or {}).get("phase")
        return phase == "Terminating" or not current.get("operation")

    async def persist(current: sync_operation.OperationState) -> None:
        await _persist(ctrl, name, raw_op, current)

    targets: list[Mapping[str, Any]] = list(rendered.objects)
    if app_options.enabled("respect_ignore_differences"):
        try:
            targets = await _respect_ignore_differences(ctrl, app, targets, rt, params)
        except errors.TidegateError as exc:  # e.g. a jq expression past its bound: apply nothing
            await _finish(
                ctrl,
                name,
                ctrl.apps.get(name) or raw,
                phase=OperationPhase.ERROR,
                message=f"RespectIgnoreDifferences: {exc}",
                started_at=state.started_at,
                state=state,
                revision="",
                success_extra=None,
            )
            return

    retry = sync_operation.RetryPolicy.from_spec(raw_op.get("retry"))
    force = bool(
        sync and sync.sync_strategy and sync.sync_strategy.apply and sync.sync_strategy.apply.force
    )
    final = await sync_operation.run_operation(
        client=rt.client,
        targets=targets,
        live_source=live_source,
        params=params,
        persist=persist,
        wait_for_change=wait_for_change,
        health_of=lambda obj: _health(ctrl, obj),
        recorded=state,
        should_terminate=should_terminate,
        retry_policy=retry,
        options=sync_execute.ExecuteOptions(force=force),
        prune_approved=prune_approved,
    )
    source = None
    if target_app.spec.source is not None and not target_app.spec.has_multiple_sources:
        source = target_app.spec.source.model_dump(mode="json", by_alias=True, exclude_none=True)
    await _finish(
        ctrl,
        name,
        ctrl.apps.get(name) or raw,
        phase=final.phase,
        message=final.message,
        started_at=final.started_at,
        state=final,
        revision=rendered.revisions[0] if rendered.revisions else "",
        success_extra={
            "source": source,
            "initiatedBy": raw_op.get("initiatedBy"),
            "dryRun": bool(sync and sync.dry_run),
        },
    )


async def _respect_ignore_differences(
    ctrl: Controller,
    app: model_app.Application,
    targets: list[Mapping[str, Any]],
    rt: Any,
    params: sync_tasks.SyncParams,
) -> list[Mapping[str, Any]]:
    """Sync option RespectIgnoreDifferences: ignored fields keep their live values."""
    rules = cmp.ignore_rules(app, ctrl.system_ignore)
    prepared = await prepare.prepare_targets(
        targets, client=rt.client, destination_namespace=params.destination_namespace
    )
    live = {ResourceKey.of(o): o for o in rt.cache.store.tracked(app.name)}
    # bounded jq: the rules' jq expressions run in the worker pool, one batch
    return await jqdiff.respect_ignore_differences(
        [(obj, live.get(key)) for key, obj in prepared.items()], rules, pool=ctrl.deps.jq
    )


def deletion_approved(raw: Mapping[str, Any], *, since: str) -> bool:
    """Prune=confirm: the app carries ``argocd.argoproj.io/deletion-approved: <ISO time>``
    set at or after the operation started (an older approval does not carry over)."""
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


def _health(ctrl: Controller, obj: Mapping[str, Any]) -> str | None:
    found = ctrl.deps.health_checks.assess(obj)
    return found.status.value if found is not None else None


async def _persist(
    ctrl: Controller, name: str, raw_op: Any, state: sync_operation.OperationState
) -> None:
    status = state.to_status()
    status["operation"] = raw_op
    current = ((ctrl.apps.get(name) or {}).get("status") or {}).get("operationState") or {}
    if current.get("phase") == "Terminating" and status["phase"] == "Running":
        status["phase"] = "Terminating"
    await ctrl.patch_app(name, {"status": {"operationState": status}})


async def _finish(
    ctrl: Controller,
    name: str,
    raw: dict[str, Any],
    *,
    phase: OperationPhase,
    message: str,
    started_at: str,
    state: sync_operation.OperationState | None,
    revision: str,
    success_extra: dict[str, Any] | None,
) -> None:
    """Record the outcome, the history entry (on success) and clear ``operation`` at once."""
    finished_at = appstatus.now()
    op_state: dict[str, Any] = state.to_status() if state is not None else {"startedAt": started_at}
    # The operation may be gone from ``raw`` (removed to stop it): keep the one the state was
    # recorded for, since an operationState without ``operation`` makes the app unreadable.
    persisted = (raw.get("status") or {}).get("operationState") or {}
    op_state |= {
        "phase": phase.value,
        "message": message,
        "finishedAt": finished_at,
        "operation": raw.get("operation") or persisted.get("operation"),
    }
    op_state.setdefault("syncResult", {})
    op_state["syncResult"]["revision"] = revision
    status: dict[str, Any] = {"operationState": op_state}
    if success_extra is not None and success_extra.get("source") is not None:
        op_state["syncResult"]["source"] = success_extra["source"]
    if (
        phase is OperationPhase.SUCCEEDED
        and success_extra is not None
        and not success_extra.get("dryRun")
        and revision
    ):
        app_limit = (raw.get("spec") or {}).get("revisionHistoryLimit")
        limit = (
            int(app_limit)
            if app_limit is not None
            else ctrl.settings.default_revision_history_limit
        )
        status["history"] = _history(
            raw,
            revision=revision,
            source=success_extra.get("source"),
            started_at=started_at,
            finished_at=finished_at,
            initiated_by=success_extra.get("initiatedBy"),
            limit=limit,
        )
    log.info("app %s: operation %s: %s", name, phase.value, message)
    try:
        await ctrl.patch_app(name, {"operation": None, "status": status})
    except errors.KubeNotFoundError:
        return


async def delete_app(ctrl: Controller, app: model_app.Application) -> None:
    """Cascade-delete an app's resources, then drop its finalizer."""
    raw = ctrl.apps.get(app.name) or {}
    meta = raw.get("metadata") or {}
    found = deletion.cascade_finalizer(meta)
    if found is None:
        return
    finalizer, propagation = found
    remaining = 0
    cluster, problem = ctrl._destination(app)
    if cluster is not None and not problem:
        rt = await ctrl.runtimes.ensure(cluster)
        if await rt.ready():
            try:
                app_options = sync_options.parse(
                    list(
                        (app.spec.sync_policy.sync_options if app.spec.sync_policy else None) or []
                    ),
                    source=f"Application {app.namespace}/{app.name} syncOptions",
                )
            except errors.SpecError:
                app_options = sync_options.SyncOptions()
            tracked = rt.cache.store.tracked(app.name)
            rules = ctrl.project_rules(app, cluster)
            if rules is not None:  # what the project does not permit is never deleted
                tracked, _ = sync_projects.split_live(rules, tracked)
            outcome = await deletion.delete_resources(
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
                    await ctrl.patch_app(app.name, {"status": {"conditions": conditions}})
                return  # the approval (an app event) wakes this up again
        else:
            log.warning("app %s: cluster unreachable, its resources are not deleted yet", app.name)
            ctrl.queue.add_after(app.name, 10.0)
            return
    if remaining:
        ctrl.queue.add_after(app.name, 1.0)
        return
    finalizers = [f for f in meta.get("finalizers") or [] if f != finalizer]
    with contextlib.suppress(errors.KubeNotFoundError):
        await ctrl.patch_app(app.name, {"metadata": {"finalizers": finalizers or None}})
