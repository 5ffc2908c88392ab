"""ClusterRuntime.ready: waits for the live cache's first sync, but gives up at once when the
cluster is known to be unreachable (so a refresh never holds a worker for the whole wait)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from types import SimpleNamespace
from typing import Any, cast

import pytest

from tidegate.controller import appstate, refresh, runtime
from tidegate.model import application as model_app
from tidegate.model import errors
from tidegate.testenv.wait import eventually


@dataclasses.dataclass
class FakeState:
    synced: bool
    kinds: int
    error: str


class FakeCache:
    """The two things ``ready`` reads from a ClusterCache: ``state`` and ``wait_synced``."""

    def __init__(self, *, kinds: int = 0, error: str = "") -> None:
        self.kinds, self.error = kinds, error
        self._synced = asyncio.Event()

    @property
    def state(self) -> FakeState:
        return FakeState(self._synced.is_set(), self.kinds, self.error)

    async def wait_synced(self) -> None:
        await self._synced.wait()

    def sync(self) -> None:
        self._synced.set()


def runtime_with(cache: FakeCache) -> runtime.ClusterRuntime:
    return runtime.ClusterRuntime(
        cluster=cast(Any, None),
        config=cast(Any, None),
        client=cast(Any, None),
        cache=cast(Any, cache),
    )


async def later(delay: float, action: Any) -> None:
    await asyncio.sleep(delay)  # drives the fake's clock, not a test synchronisation
    action()


def set_error(cache: FakeCache) -> Any:
    return lambda: setattr(cache, "error", "discover /api: connection refused")


CASES = [
    # id, cache kinds, cache error at start, event after 0.1 s, wait, expected, max seconds
    ("synced already", 3, "", None, 10.0, True, 0.5),
    ("discovery failed: at once", 0, "discover /api: refused", None, 10.0, False, 0.5),
    ("syncs during the wait", 3, "", "sync", 10.0, True, 1.0),
    ("discovery fails during the wait", 0, "", "error", 10.0, False, 1.0),
    ("a kind's error is not enough", 3, "list pods: forbidden", "sync", 10.0, True, 1.0),
    ("nothing happens: the wait ends", 0, "", None, 0.3, False, 1.0),
]


@pytest.mark.parametrize(
    ("kinds", "error", "event", "wait", "expected", "within"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_ready(
    kinds: int, error: str, event: str | None, wait: float, expected: bool, within: float
) -> None:
    cache = FakeCache(kinds=kinds, error=error)
    if event is None and expected:
        cache.sync()
    rt = runtime_with(cache)
    helper = None
    if event == "sync":
        helper = asyncio.create_task(later(0.1, cache.sync))
    elif event == "error":
        helper = asyncio.create_task(later(0.1, set_error(cache)))
    started = time.monotonic()
    assert await rt.ready(wait) is expected
    assert time.monotonic() - started < within
    if helper is not None:
        await helper
    assert rt.unreachable() is (not cache.state.synced and kinds == 0 and bool(cache.error))


class FakeClient:
    """``GET /version`` answers, or fails as an unreachable cluster does."""

    def __init__(self) -> None:
        self.down = True
        self.asked = 0

    async def ping(self, *, within: float) -> None:
        self.asked += 1
        if self.down:
            raise errors.ClusterUnreachableError("get /version: cluster dev is unreachable")


def synced_runtime(
    cache: FakeCache, client: FakeClient, recovered: list[str]
) -> runtime.ClusterRuntime:
    cache.sync()
    return runtime.ClusterRuntime(
        cluster=cast(Any, SimpleNamespace(name="dev", server="https://dev")),
        config=cast(Any, None),
        client=cast(Any, client),
        cache=cast(Any, cache),
        on_recovered=recovered.append,
    )


async def test_a_synced_cluster_that_stops_answering_stays_down_until_a_probe_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "PROBE_SECONDS", 0.05)
    cache, client, recovered = FakeCache(kinds=3), FakeClient(), []
    rt = synced_runtime(cache, client, recovered)
    assert await rt.ready() is True  # no watch error: the server is not asked
    assert client.asked == 0
    set_error(cache)()  # a watch failed: the next refresh asks the server, which is down
    assert await rt.ready() is False
    assert rt.unreachable() and "unreachable" in rt.down_error
    cache.error = ""  # a watch reconnecting says nothing: still down until a probe answers
    assert await rt.ready() is False
    client.down = False
    await eventually(lambda: recovered)
    assert recovered == ["https://dev"]
    assert not rt.unreachable() and await rt.ready() is True


async def test_a_kind_error_on_a_cluster_that_answers_is_not_an_outage() -> None:
    cache, client, recovered = FakeCache(kinds=3, error="watch pods: forbidden"), FakeClient(), []
    client.down = False
    rt = synced_runtime(cache, client, recovered)
    assert await rt.ready() is True
    assert await rt.ready() is True
    assert client.asked == 1  # asked at most once per PROBE_SECONDS
    assert not rt.unreachable() and recovered == []


async def _result_after(seconds: float, cancelled: list[bool]) -> str:
    try:
        await asyncio.sleep(seconds)  # plays a request that takes this long
    except asyncio.CancelledError:
        cancelled.append(True)
        raise
    return "compared"


async def test_guarded_work_that_finishes_does_not_ask_the_server() -> None:
    client, cancelled = FakeClient(), []
    rt = synced_runtime(FakeCache(kinds=3), client, [])
    assert await rt.guarded(_result_after(0.01, cancelled)) == "compared"
    assert client.asked == 0 and not cancelled


async def test_guarded_work_on_a_hung_server_is_given_up_and_the_cluster_marked_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "HANG_CHECK_SECONDS", 0.05)
    monkeypatch.setattr(runtime, "PROBE_SECONDS", 0.05)
    client, cancelled, recovered = FakeClient(), [], []
    rt = synced_runtime(FakeCache(kinds=3), client, recovered)
    with pytest.raises(errors.ClusterUnreachableError, match="dev is unreachable"):
        await rt.guarded(_result_after(3600, cancelled))
    assert cancelled == [True]  # the hung request does not stay behind
    assert rt.unreachable() and await rt.ready() is False
    client.down = False
    await eventually(lambda: recovered)
    assert await rt.ready() is True


async def test_guarded_work_on_a_slow_server_that_answers_is_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runtime, "HANG_CHECK_SECONDS", 0.02)
    client, cancelled = FakeClient(), []
    client.down = False
    rt = synced_runtime(FakeCache(kinds=3), client, [])
    assert await rt.guarded(_result_after(0.2, cancelled)) == "compared"
    assert client.asked >= 1 and not cancelled and not rt.unreachable()


LOADING_CASES = [
    # id, cache kinds, cache error, synced, seconds since start, expected
    ("listing a cluster that answers", 3, "", False, 1.0, True),
    ("discovery not answered yet (hung?)", 0, "", False, 1.0, False),
    ("a kind's error while listing", 3, "list pods: forbidden", False, 1.0, True),
    ("discovery failed: unreachable", 0, "discover /api: refused", False, 1.0, False),
    ("synced: not loading", 3, "", True, 1.0, False),
    ("past the grace: reported", 3, "", False, 200.0, False),
]


@pytest.mark.parametrize(
    ("kinds", "error", "synced", "age", "expected"),
    [c[1:] for c in LOADING_CASES],
    ids=[c[0] for c in LOADING_CASES],
)
def test_loading(kinds: int, error: str, synced: bool, age: float, expected: bool) -> None:
    cache = FakeCache(kinds=kinds, error=error)
    if synced:
        cache.sync()
    rt = runtime_with(cache)
    rt.started_at = time.monotonic() - age
    assert rt.loading(120.0) is expected


class LoadingHost:
    """What ``refresh.evaluate`` reads before the comparison: the app's cluster and runtime."""

    def __init__(self, rt: runtime.ClusterRuntime) -> None:
        self.rt = rt

    def destination(self, app: Any) -> tuple[Any, str]:
        return SimpleNamespace(name="dev", server="https://dev"), ""

    async def runtime(self, cluster: Any) -> runtime.ClusterRuntime:
        return self.rt


def _app(status: dict[str, Any] | None) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "web", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "web"},
            "destination": {"server": "https://dev", "namespace": "web"},
        },
    }
    if status is not None:
        raw["status"] = status
    return raw


@pytest.mark.parametrize(
    ("stored", "error", "held"),
    [
        ({"sync": {"status": "Synced", "revision": "a" * 40}}, "", True),
        (None, "", False),  # a new app: nothing to keep, it says why it waits
        ({"sync": {"status": "Synced"}}, "discover /api: refused", False),  # unreachable
    ],
    ids=["restart: the stored status stands", "new app: reported", "unreachable: reported"],
)
async def test_a_cache_still_loading_keeps_the_stored_status(
    stored: dict[str, Any] | None, error: str, held: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(refresh, "READY_WAIT_SECONDS", 0.05)
    raw = _app(stored)
    rt = runtime_with(FakeCache(kinds=3 if not error else 0, error=error))
    evaluation = await refresh.evaluate(
        cast(Any, LoadingHost(rt)),
        appstate.AppState("web", raw),
        model_app.parse_application(raw),
        hard=False,
        at="2026-01-01T00:00:00Z",
    )
    if held:
        assert evaluation.status == {}
        assert evaluation.requeue_after == refresh.LOADING_RETRY_SECONDS
    else:
        assert evaluation.status["sync"]["status"] == "Unknown"
