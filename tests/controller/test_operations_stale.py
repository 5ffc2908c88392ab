"""Operations and stale copies of an Application.

Watch events lag behind the controller's own writes, so the stored copy of an app can still
carry an ``operation`` that already finished. ``operate.run`` re-reads the app from the API
first; ``outcome.finish`` never writes an ``operationState`` without its ``operation`` (an app
in that state no longer parses). Found by the fleet e2e tests (a finished sync was run again and
"terminated", leaving the app InvalidSpecError).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tidegate.controller import appstate, operate, outcome, settings
from tidegate.model import errors
from tidegate.model.enums import OperationPhase
from tidegate.testenv.wait import eventually

OPERATION = {"sync": {"revision": "a" * 40}, "initiatedBy": {"automated": True}}


def app(*, operation: dict[str, Any] | None, state: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": "argocd", "resourceVersion": "7"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "web"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
        },
    }
    if operation is not None:
        obj["operation"] = operation
    if state is not None:
        obj["status"] = {"operationState": state}
    return obj


class FakeJournal:
    """Records what the controller would tell (events, audit) about the operation."""

    def __init__(self) -> None:
        self.endings: list[tuple[dict[str, Any], bool, str]] = []

    async def started(self, app: dict[str, Any]) -> None:
        raise AssertionError("a finished or vanished operation must not start again")

    async def ended(self, app: dict[str, Any], operation: dict[str, Any], **outcome: Any) -> None:
        self.endings.append((operation, outcome["succeeded"], outcome["message"]))


class FakeHost:
    """The part of :class:`operate.OperationHost` that ``run`` (up to its early returns) and
    ``finish`` use."""

    def __init__(self, fresh: dict[str, Any] | None) -> None:
        self.fresh = fresh
        self.reads: list[str] = []
        self.settings = settings.Settings()
        self.patches: list[dict[str, Any]] = []
        self.journal = FakeJournal()

    async def read_app(self, name: str) -> dict[str, Any] | None:
        self.reads.append(name)
        return self.fresh

    async def patch_app(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.patches.append(patch)
        return {}


@pytest.mark.parametrize(
    ("fresh", "stored_after"),
    [
        (app(operation=None, state={"phase": "Succeeded", "operation": OPERATION}), "fresh"),
        (None, "stale"),  # deleted meanwhile: nothing to run
    ],
    ids=["operation already finished", "app gone"],
)
async def test_run_rereads_a_stale_app_and_does_nothing(
    fresh: dict[str, Any] | None, stored_after: str
) -> None:
    stale = app(operation=OPERATION, state={"phase": "Running", "operation": OPERATION})
    host = FakeHost(fresh)
    state = appstate.AppState("web", stale)
    await operate.run(cast(Any, host), state)
    assert host.reads == ["web"]
    assert host.patches == []  # no operation state written, no second sync started
    assert state.raw is (fresh if stored_after == "fresh" else stale)


async def test_load_trusts_the_answer_to_our_own_write_and_rereads_a_watched_copy() -> None:
    carrying = app(operation=OPERATION)
    fresh = app(operation=None, state={"phase": "Succeeded", "operation": OPERATION})
    host = FakeHost(fresh)
    state = appstate.AppState("web", app(operation=None))
    state.store(carrying, own_write=True)  # our automated sync's patch answered this
    assert await operate.load(cast(Any, host), state) is carrying
    assert host.reads == []
    echo = app(operation=OPERATION)  # the watch's echo of that write: the same version
    state.store(echo)
    assert await operate.load(cast(Any, host), state) is echo
    assert host.reads == []
    later = app(operation=OPERATION)
    later["metadata"]["resourceVersion"] = "8"
    state.store(later)  # a watch event since: it may lag behind the server, read again
    assert await operate.load(cast(Any, host), state) is None
    assert host.reads == ["web"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (app(operation=OPERATION), OPERATION),
        # The operation was removed (to stop it): the one recorded while running is kept.
        (app(operation=None, state={"phase": "Running", "operation": OPERATION}), OPERATION),
    ],
    ids=["operation present", "operation removed"],
)
async def test_finish_always_records_the_operation(
    raw: dict[str, Any], expected: dict[str, Any]
) -> None:
    host = FakeHost(raw)
    await outcome.finish(
        cast(Any, host),
        appstate.AppState("web", raw),
        raw,
        phase=OperationPhase.FAILED,
        message="operation terminated",
        started_at="2026-01-01T00:00:00Z",
        recorded=None,
    )
    [patch] = host.patches
    assert patch["operation"] is None
    assert patch["status"]["operationState"]["operation"] == expected
    assert patch["status"]["operationState"]["phase"] == "Failed"
    assert host.journal.endings == [(expected, False, "operation terminated")]


def _with_history(history: list[dict[str, Any]]) -> dict[str, Any]:
    raw = app(operation=OPERATION)
    raw["status"] = {"history": history}
    return raw


PREVIOUS = {
    "id": 0,
    "revision": "b" * 40,
    "deployStartedAt": "2026-01-01T00:00:00Z",
    "deployedAt": "2026-01-01T00:00:00Z",
}


async def _succeed(host: FakeHost, raw: dict[str, Any]) -> None:
    await outcome.finish(
        cast(Any, host),
        appstate.AppState("web", raw),
        raw,
        phase=OperationPhase.SUCCEEDED,
        message="successfully synced",
        started_at="2026-01-01T00:00:00Z",  # the same second as the previous sync
        recorded=None,
        revision="a" * 40,
        success_extra={},
    )


async def test_a_sync_started_in_the_same_second_as_the_last_one_is_recorded() -> None:
    """Timestamps have whole seconds: a rollback right after a sync shares its start second
    (found by the rollback e2e: the rollback was missing from history)."""
    raw = _with_history([PREVIOUS])
    host = FakeHost(raw)
    await _succeed(host, raw)
    [patch] = host.patches
    assert [h["revision"] for h in patch["status"]["history"]] == ["b" * 40, "a" * 40]
    assert [h["id"] for h in patch["status"]["history"]] == [0, 1]


class LostReplyHost(FakeHost):
    """The first patch lands but its reply is lost; the retry sees a conflict, as a patch on a
    stale resourceVersion does."""

    async def patch_app(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        self.patches.append(patch)
        if len(self.patches) == 1:
            assert self.fresh is not None
            self.fresh = {**self.fresh, "status": patch["status"]}
            raise errors.KubeConflictError("the object has been modified")
        return {}


async def test_a_retry_after_a_landed_write_does_not_record_the_sync_twice() -> None:
    raw = _with_history([PREVIOUS])
    host = LostReplyHost(raw)
    await _succeed(host, raw)
    first, second = host.patches
    assert second["status"]["history"] == first["status"]["history"]
    assert len(second["status"]["history"]) == 2


class NeverReachedRuntime:
    """A cluster the controller has not reached since it started: its discovery fails, so it
    is unreachable without ever having been marked down."""

    def __init__(self) -> None:
        self.cluster = SimpleNamespace(name="dev")
        self.closed = False
        self.down_error = ""
        self.reachable = False
        self.asked = 0

    def unreachable(self) -> bool:
        self.asked += 1
        return not self.reachable


async def test_an_operation_waits_for_a_cluster_never_reached_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It used to return at once (only a cluster marked down was waited for), so the operation
    tried again in a loop, logging and writing its message every second per app."""
    monkeypatch.setattr(operate, "DOWN_CHECK_SECONDS", 0.01)
    raw = app(operation=OPERATION, state={"phase": "Running", "operation": OPERATION})
    host = FakeHost(raw)
    state = appstate.AppState("web", raw)
    rt = NeverReachedRuntime()
    down = operate.ClusterDown(cast(Any, rt), "discover /api: connection refused")
    waiting = asyncio.create_task(
        operate.Operations._await_cluster(cast(Any, SimpleNamespace(_host=host)), state, down)
    )
    await eventually(lambda: rt.asked >= 5)  # it looks again and again, and goes on waiting
    assert not waiting.done()
    [patch] = host.patches
    assert "waiting for cluster dev to answer again" in str(patch)
    rt.reachable = True
    await asyncio.wait_for(waiting, 5)
    # Waiting again with the message already recorded writes nothing more.
    state.store({**raw, "status": {"operationState": patch["status"]["operationState"]}})
    await operate.Operations._await_cluster(cast(Any, SimpleNamespace(_host=host)), state, down)
    assert len(host.patches) == 1
