"""Writes made from a view that another writer has overtaken are not sent, or fail.

A controller replica passes its write fence and is paused (SIGSTOP, a long GC, a VM freeze)
before its request leaves; meanwhile the app's shard moves to another replica, which resumes
or restarts the operation. When the first replica resumes, the request goes out. Found by
tests/controller/e2e/test_shard_replicas.py in CI: an automated sync's start, written late,
replaced the new owner's operation state (the operation it recorded never ended). Each write
of an operation is now bound to the resourceVersion it was checked against, and read again
on a conflict; what is no longer this operation's is left alone.

The host stands in for the API server's merge-patch semantics (resourceVersion as a
precondition, 409 when stale) only: the logic around it is what is tested here.
"""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from tidegate.controller import appstate, autosync, operate, outcome, refresh, settings, status
from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.model.enums import OperationPhase
from tidegate.sync import operation as sync_operation

OPERATION = {"sync": {"revision": "a" * 40}, "initiatedBy": {"automated": True}}
OURS = "2026-12-07T09:58:35Z"
THEIRS = "2026-12-07T09:58:44Z"


def running(started_at: str, **extra: Any) -> dict[str, Any]:
    return {"phase": "Running", "startedAt": started_at, "operation": OPERATION, **extra}


def app(rv: int, *, operation: bool = True, state: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": "argocd", "resourceVersion": str(rv)},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "web"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            "syncPolicy": {"automated": {}},
        },
    }
    if operation:
        obj["operation"] = OPERATION
    if state is not None:
        obj["status"] = {"operationState": state}
    return obj


class Journal:
    def __init__(self) -> None:
        self.endings: list[str] = []

    async def started(self, app: dict[str, Any]) -> None: ...

    async def ended(self, app: dict[str, Any], operation: dict[str, Any], **outcome: Any) -> None:
        self.endings.append(outcome["message"])


class ApiServer:
    """One Application on an API server: merge patches, resourceVersion preconditions."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self.sent: list[dict[str, Any]] = []  # every patch that reached it
        self.written: list[dict[str, Any]] = []  # the ones it applied
        self.settings = settings.Settings()
        self.journal = Journal()
        self.requested: list[str] = []
        self.started: list[str] = []

    def version(self) -> str:
        return str(self.obj["metadata"]["resourceVersion"])

    def user_writes(self, patch: dict[str, Any]) -> None:
        """Someone else (the user, another replica) writes the app."""
        merged = status.merged(self.obj, patch)
        merged["metadata"]["resourceVersion"] = str(int(self.version()) + 1)
        self.obj = merged

    async def read_app(self, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.obj)

    async def patch_app(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.sent.append(patch)
        wanted = (patch.get("metadata") or {}).get("resourceVersion")
        if wanted is not None and wanted != self.version():
            raise errors.KubeConflictError("the object has been modified")
        body = copy.deepcopy(patch)
        body.get("metadata", {}).pop("resourceVersion", None)
        self.user_writes(body)
        self.written.append(patch)
        return copy.deepcopy(self.obj)

    def request_after(self, name: str, delay: float) -> None:
        self.requested.append(name)

    def start_operation(self, state: appstate.AppState) -> None:
        self.started.append(state.name)


@pytest.mark.parametrize(
    ("persisted", "why"),
    [
        ({}, ""),
        (running(OURS), ""),
        (running(OURS, phase="Terminating"), ""),  # the user asked to stop it: still ours
        ({"phase": "Succeeded", "startedAt": "2026-12-07T09:00:00Z"}, ""),  # an earlier one
        ({"phase": "Succeeded", "startedAt": OURS}, "it has ended already (Succeeded)"),
        (running(THEIRS), f"another operation, started at {THEIRS}, runs"),
    ],
)
def test_superseded_says_when_the_recorded_operation_is_no_longer_this_one(
    persisted: dict[str, Any], why: str
) -> None:
    assert sync_operation.superseded(persisted, OURS) == why
    assert sync_operation.superseded(persisted, "") == ""  # nothing recorded: nothing to check


def _run(server: ApiServer, state: appstate.AppState) -> Any:
    raw = state.raw
    return operate._Run(
        cast(Any, server), state, raw, model_app.parse_application(raw), raw["operation"]
    )


def _recorded(**extra: Any) -> sync_operation.OperationState:
    return sync_operation.OperationState.from_status(running(OURS, message="wave 1", **extra))


async def test_a_late_progress_write_does_not_overwrite_the_new_owner() -> None:
    seen = app(7, state=running(OURS, message="starting"))
    server = ApiServer(copy.deepcopy(seen))
    # the shard's new owner resumed the operation and restarted it meanwhile
    server.user_writes({"status": {"operationState": running(THEIRS)}})
    state = appstate.AppState("web", seen)
    with pytest.raises(
        errors.FenceError, match=f"taken over: another operation, started at {THEIRS}"
    ):
        await operate._persist(_run(server, state), _recorded())
    assert len(server.sent) == 1 and server.written == []  # refused (409), not sent again
    assert server.obj["status"]["operationState"]["startedAt"] == THEIRS


async def test_a_progress_write_after_a_users_write_is_written_again_on_the_new_version() -> None:
    seen = app(7, state=running(OURS, message="starting"))
    server = ApiServer(copy.deepcopy(seen))
    server.user_writes({"metadata": {"annotations": {"team": "web"}}})  # not the operation
    server.user_writes({"status": {"operationState": {"phase": "Terminating"}}})  # stop it
    state = appstate.AppState("web", seen)
    await operate._persist(_run(server, state), _recorded())
    assert len(server.sent) == 2 and len(server.written) == 1
    recorded = server.obj["status"]["operationState"]
    assert (recorded["message"], recorded["phase"]) == ("wave 1", "Terminating")


async def _finish(server: ApiServer, state: appstate.AppState, *, succeeded: bool) -> None:
    await outcome.finish(
        cast(Any, server),
        state,
        state.raw,
        phase=OperationPhase.SUCCEEDED if succeeded else OperationPhase.FAILED,
        message="done" if succeeded else "one object failed",
        started_at=OURS,
        recorded=_recorded(),
        revision="a" * 40,
        success_extra={} if succeeded else None,
    )


@pytest.mark.parametrize("succeeded", [True, False], ids=["with history", "without"])
async def test_a_late_end_leaves_the_new_owners_end_alone(succeeded: bool) -> None:
    seen = app(7, state=running(OURS))
    server = ApiServer(copy.deepcopy(seen))
    theirs = {"id": 0, "revision": "a" * 40, "deployStartedAt": OURS, "deployedAt": THEIRS}
    server.user_writes(
        {
            "operation": None,
            "status": {
                "operationState": {"phase": "Succeeded", "startedAt": OURS},
                "history": [theirs],
            },
        }
    )
    state = appstate.AppState("web", seen)
    await _finish(server, state, succeeded=succeeded)
    assert server.written == []
    assert server.obj["status"]["history"] == [theirs]  # not recorded twice
    assert server.obj["status"]["operationState"]["phase"] == "Succeeded"
    assert server.journal.endings == []


@pytest.mark.parametrize("succeeded", [True, False], ids=["with history", "without"])
async def test_an_end_after_a_users_write_is_written_on_the_new_version(succeeded: bool) -> None:
    seen = app(7, state=running(OURS))
    server = ApiServer(copy.deepcopy(seen))
    server.user_writes({"metadata": {"annotations": {"team": "web"}}})
    state = appstate.AppState("web", seen)
    await _finish(server, state, succeeded=succeeded)
    assert len(server.written) == 1
    ended = server.obj["status"]["operationState"]
    assert (ended["startedAt"], ended["phase"]) == (OURS, "Succeeded" if succeeded else "Failed")
    assert "operation" not in server.obj
    assert len(server.obj["status"].get("history") or []) == (1 if succeeded else 0)
    assert len(server.journal.endings) == 1


def _decide(raw: dict[str, Any]) -> tuple[model_app.Application, Any, autosync.Decision]:
    comparison = cast(Any, type("C", (), {"revision": "a" * 40, "revisions": ("a" * 40,)}))
    return model_app.parse_application(raw), comparison, autosync.Decision(True, "out of sync")


async def test_an_automated_sync_decided_before_an_operation_appeared_is_not_started() -> None:
    basis = app(7, operation=False)
    server = ApiServer(copy.deepcopy(basis))
    state = appstate.AppState("web", basis)
    state.store(app(8, state=running(THEIRS)))  # the watch brought another's operation
    parsed, comparison, decision = _decide(basis)
    await refresh._start_auto_sync(
        cast(Any, server), state, parsed, comparison, decision, status={}, basis=basis
    )
    assert server.sent == [] and server.started == []
    assert server.requested == ["web"]  # decided again


async def test_an_automated_sync_decided_before_an_operation_ended_is_not_started() -> None:
    """A refresh that read the app before an operation started decided while that operation
    ran; when it ended (our end write is the newest copy), the decision is stale: that
    operation may have synced the very revision (a CI failure: the same revision twice)."""
    basis = app(7, operation=False, state={**running(OURS), "phase": "Succeeded"})
    server = ApiServer(copy.deepcopy(basis))
    state = appstate.AppState("web", basis)
    ended = app(9, operation=False, state={**running(THEIRS), "phase": "Succeeded"})
    state.store(ended)
    parsed, comparison, decision = _decide(basis)
    await refresh._start_auto_sync(
        cast(Any, server), state, parsed, comparison, decision, status={}, basis=basis
    )
    assert server.sent == [] and server.started == []
    assert server.requested == ["web"]  # decided again, on the newest copy


async def test_an_automated_sync_on_a_stale_copy_fails_and_is_decided_again() -> None:
    basis = app(7, operation=False)
    server = ApiServer(copy.deepcopy(basis))
    server.user_writes({"operation": OPERATION, "status": {"operationState": running(THEIRS)}})
    state = appstate.AppState("web", basis)  # the write above has not reached us yet
    parsed, comparison, decision = _decide(basis)
    await refresh._start_auto_sync(
        cast(Any, server), state, parsed, comparison, decision, status={}, basis=basis
    )
    assert len(server.sent) == 1 and server.written == []
    assert server.obj["status"]["operationState"]["startedAt"] == THEIRS
    assert server.started == [] and server.requested == ["web"]


async def test_an_automated_sync_on_the_newest_copy_starts() -> None:
    basis = app(7, operation=False)
    server = ApiServer(copy.deepcopy(basis))
    state = appstate.AppState("web", basis)
    parsed, comparison, decision = _decide(basis)
    await refresh._start_auto_sync(
        cast(Any, server), state, parsed, comparison, decision, status={}, basis=basis
    )
    assert len(server.written) == 1 and server.started == ["web"]
    assert server.obj["operation"]["initiatedBy"]["automated"] is True
    assert server.obj["status"]["operationState"]["message"] == sync_operation.STARTING
