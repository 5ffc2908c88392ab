"""When the Rollouts controller looks at a Rollout again: right after a pass that wrote its
status (the store holds what was written, so its watch event brings no pass: a promoted
canary's old version would wait for an unrelated event), never more than a few seconds apart
while it progresses (the progress deadline's wake-up, minutes away, must not replace that), and
not forever when every pass writes.

The API server here is a small in-memory stand-in for the logic around the I/O; the e2e
canary test (tests/rollouts/e2e/test_canary_app.py) drives the real one."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, cast

from tests.rollouts import sim

from tidegate.appset.patch import merge_patch
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import controller, names, podhash

KEY = ("ns", "web")


class ApiServer:
    """Keeps what the controller writes; every ReplicaSet's pods are available at once."""

    name = "dev"

    def __init__(self, rollout: dict[str, Any]) -> None:
        self.rollout = rollout
        self.sets: dict[str, dict[str, Any]] = {}
        self.version = 10
        self.status_patches = 0

    def _bump(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        return copy.deepcopy(obj)

    def _settle(self, rs: dict[str, Any]) -> None:
        n = podhash.spec_replicas(rs)
        rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n}

    async def request(self, *args: Any, **kwargs: Any) -> Any:  # Events: not kept
        return {}

    async def get_or_none(self, key: ResourceKey) -> dict[str, Any] | None:
        if key.kind == "ReplicaSet" and key.name in self.sets:
            return copy.deepcopy(self.sets[key.name])
        return None

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        rs = copy.deepcopy(obj)
        rs["metadata"].setdefault("ownerReferences", [])
        self._settle(rs)
        self.sets[rs["metadata"]["name"]] = rs
        return self._bump(rs)

    async def patch(self, key: ResourceKey, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if key.kind == names.KIND:
            assert kwargs.get("subresource") == "status"
            self.status_patches += 1
            self.rollout["status"] = merge_patch(self.rollout.get("status") or {}, body["status"])
            return self._bump(self.rollout)
        rs = self.sets[key.name]
        rs.update(merge_patch(rs, body))
        self._settle(rs)
        return self._bump(rs)


def _controller(api: ApiServer) -> controller.Controller:
    ctl = controller.Controller(cast(Any, api))
    ctl.store.put_rollout(copy.deepcopy(api.rollout))
    return ctl


async def _pass(ctl: controller.Controller, api: ApiServer) -> bool:
    """One worker pass on KEY as the worker runs it; True when another was asked for."""
    ctl._again.discard(KEY)
    await ctl.reconcile(KEY)
    for rs in api.sets.values():  # what the ReplicaSet watch would report
        ctl.store.put_owned("ReplicaSet", copy.deepcopy(rs))
    return KEY in ctl._again


async def test_a_pass_that_wrote_the_status_is_followed_by_another_until_nothing_changes() -> None:
    steps = [{"setWeight": 50}, {"setWeight": 100}]
    api = ApiServer(sim.rollout({"canary": {"steps": steps}}))
    api.rollout["metadata"]["resourceVersion"] = "10"
    ctl = _controller(api)
    # v1 comes up: each pass that writes asks for the next, the last one writes nothing.
    passes = 0
    while await _pass(ctl, api):
        passes += 1
        assert passes < controller.STATUS_PASSES
    assert api.rollout["status"]["phase"] == "Healthy"

    # v2: every step is walked and the old version scaled down with no event from outside,
    # ending Healthy on v2 (the canary e2e stalled at "old replicas are pending termination").
    api.rollout["spec"]["template"]["spec"]["containers"][0]["image"] = "v2"
    api.rollout["metadata"]["generation"] = 2
    ctl.store.put_rollout(api._bump(api.rollout))
    passes = 0
    while await _pass(ctl, api):
        passes += 1
        assert passes < controller.STATUS_PASSES
    status = api.rollout["status"]
    assert status["phase"] == "Healthy", status.get("message")
    assert status["stableRS"] == status["currentPodHash"]
    assert sorted(podhash.spec_replicas(rs) for rs in api.sets.values()) == [0, 5]


async def test_a_progressing_rollout_is_looked_at_within_seconds_despite_its_deadline() -> None:
    # Its pods never become available: it stays Progressing, with the progress deadline
    # (600 s by default) as the plan's own wake-up.
    api = ApiServer(sim.rollout({"canary": {"steps": [{"setWeight": 50}]}}))
    api._settle = lambda rs: rs.update(status={"replicas": podhash.spec_replicas(rs)})  # type: ignore[method-assign]
    ctl = _controller(api)
    while await _pass(ctl, api):
        pass
    assert api.rollout["status"]["phase"] == names.PHASE_PROGRESSING
    for timer in ctl._timers.values():  # what the first passes asked for: look at the last
        timer.cancel()
    ctl._timers.clear()
    assert not await _pass(ctl, api)
    left = ctl._timers[KEY].when() - asyncio.get_running_loop().time()
    assert 0 < left <= controller.PROGRESSING_RESYNC_SECONDS


async def test_a_status_that_changes_on_every_pass_is_not_looked_at_again_forever() -> None:
    api = ApiServer(sim.rollout({"canary": {"steps": [{"setWeight": 50}]}}))
    ctl = _controller(api)
    asked = []
    for _ in range(controller.STATUS_PASSES + 3):
        ctl.store.rollouts[KEY]["status"] = {"message": "changed behind its back"}
        asked.append(await _pass(ctl, api))
    assert asked == [True] * controller.STATUS_PASSES + [False] * 3
