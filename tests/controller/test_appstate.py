"""One record per app: created on first sight, dropped whole on delete, nothing left behind.

The controller used to keep about twenty dicts keyed by app name, kept in step by hand, and a
deleted app left entries in several of them. Every per-app fact now lives in one
:class:`~tidegate.controller.appstate.AppState`; these tests drive the engine's watch handling
and its live-change callback (no API server is contacted: the management client is never used).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import weakref
from typing import Any

from tidegate.controller import appstate, engine, settings
from tidegate.kube import config as kube_config
from tidegate.kube import watch as kube_watch


def app(name: str, rv: str, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "argocd", "resourceVersion": rv}, **extra}


def event(kind: str, obj: dict[str, Any]) -> kube_watch.WatchEvent:
    return kube_watch.WatchEvent(type=kind, object=obj)


async def test_a_deleted_app_leaves_nothing_behind() -> None:
    ctrl = engine.Controller(
        mgmt=kube_config.ClusterConfig(server="https://127.0.0.1:9"),
        settings=settings.Settings(),
    )
    try:
        ctrl._handle(engine.APP_KEY, event("ADDED", app("web", "1")))
        state = ctrl.states.get("web")
        assert state is not None
        # Everything the controller remembers about an app, set as a busy app would have it.
        blocker = asyncio.Event()
        state.operation = asyncio.create_task(blocker.wait())
        state.self_heal_attempts, state.self_heal_next_at = 3, 1e12
        state.last_status_write = 1.0
        ctrl.scheduler.request_after("web", 60)
        ctrl._on_live_change("https://kubernetes.default.svc", {"web"}, None)
        record = weakref.ref(state)
        operation = state.operation
        del state

        ctrl._handle(engine.APP_KEY, event("DELETED", app("web", "2")))

        assert "web" not in ctrl.states and len(ctrl.states) == 0
        assert "web" not in ctrl.apps
        await asyncio.sleep(0)
        assert operation.cancelled() or operation.done()
        del operation
        gc.collect()
        assert record() is None  # no other reference to the record survives
        await asyncio.wait_for(ctrl.scheduler.drain(), 1)  # nothing queued for it
        # Seen again, the app starts from a fresh record.
        ctrl._handle(engine.APP_KEY, event("ADDED", app("web", "3")))
        again = ctrl.states.get("web")
        assert again is not None and again.self_heal_attempts == 0
        assert again.last_status_write is None and again.operation is None
    finally:
        ctrl.scheduler.close()
        await ctrl.mgmt.aclose()


async def test_a_relist_drops_the_apps_it_no_longer_lists() -> None:
    ctrl = engine.Controller(mgmt=kube_config.ClusterConfig(server="https://127.0.0.1:9"))
    try:
        for name in ("a", "b"):
            ctrl._handle(engine.APP_KEY, event("ADDED", app(name, "1")))
        ctrl._handle(engine.APP_KEY, kube_watch.WatchEvent(type="RELISTED", items=[app("b", "2")]))
        assert ctrl.states.names() == ["b"]
    finally:
        ctrl.scheduler.close()
        await ctrl.mgmt.aclose()


def test_an_older_copy_is_not_stored() -> None:
    states = appstate.AppStates()
    assert states.seen("web", app("web", "5")) is not None
    assert states.seen("web", app("web", "4")) is None
    state = states.get("web")
    assert state is not None and state.raw["metadata"]["resourceVersion"] == "5"


def test_only_relevant_changes_need_a_refresh() -> None:
    states = appstate.AppStates()
    _, changed = states.seen("web", app("web", "1", spec={"a": 1})) or (None, None)
    assert changed is True
    _, changed = states.seen("web", app("web", "2", spec={"a": 1}, status={"x": 1})) or (None, None)
    assert changed is False  # our own status write
    _, changed = states.seen("web", app("web", "3", spec={"a": 2})) or (None, None)
    assert changed is True


def test_a_restarted_controller_knows_when_each_status_was_stamped() -> None:
    stamped = {"status": {"reconciledAt": "2026-12-06T18:00:00Z"}}
    wall = dt.datetime(2026, 12, 6, 18, 0, 30, tzinfo=dt.UTC).timestamp()
    assert appstate.stamped_at(stamped, wall=lambda: wall, monotonic=lambda: 1000.0) == 970.0
    # A stamp from the future (another replica's clock) counts as now; none or garbage: None.
    early = wall - 60
    assert appstate.stamped_at(stamped, wall=lambda: early, monotonic=lambda: 5.0) == 5.0
    assert appstate.stamped_at({"status": {"reconciledAt": "yesterday"}}) is None
    assert appstate.stamped_at({}) is None
