"""Table-driven tests of RollingSync planning (testdata/rollout.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.appset import rollout
from tidegate.model import errors

from . import support

CASES = support.cases("rollout.yaml")


def _state(row: list[Any], previous: dict[str, str]) -> rollout.AppState:
    name, env, sync, health, revision = row[:5]
    running = len(row) > 5 and row[5] == "running"
    extra = row[6] if len(row) > 6 else {}
    status = previous.get(name)
    return rollout.AppState(
        name=name,
        labels={"env": env, **extra},
        sync_status=sync,
        health=health,
        synced_revision=revision,
        target_revision="new",
        operation_running=running,
        previous_status=rollout.StepStatus(status) if status else None,
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_plan_rollout(case: dict[str, Any]) -> None:
    apps = [_state(row, case.get("previous") or {}) for row in case["apps"]]
    if "error" in case:
        with pytest.raises(errors.SpecError) as info:
            rollout.plan_rollout(case["steps"], apps)
        assert case["error"] in str(info.value)
        return
    plan = rollout.plan_rollout(case["steps"], apps)
    expect = case["expect"]
    assert plan.to_sync == expect["to_sync"]
    if "current_step" in expect:
        assert plan.current_step == expect["current_step"]
    assert plan.complete is expect.get("complete", False)
    assert list(plan.halted_by) == expect.get("halted_by", [])
    assert list(plan.unmatched) == expect.get("unmatched", [])
    by_name = {a.application: a for a in plan.apps}
    for name, (step, status, sync_now) in (expect.get("apps") or {}).items():
        got = by_name[name]
        assert (got.step, got.status.value, got.sync_now) == (step, status, sync_now), got
    if "summary" in expect:
        assert expect["summary"] in plan.summary


def test_maxupdate_values() -> None:
    assert rollout.max_update(None, 7, step=1) == 7
    assert rollout.max_update(3, 7, step=1) == 3
    assert rollout.max_update("50%", 7, step=1) == 3
    assert rollout.max_update("1%", 7, step=1) == 1
    assert rollout.max_update("0%", 7, step=1) == 0
    assert rollout.max_update("100%", 7, step=1) == 7
    with pytest.raises(errors.SpecError, match="must not be negative"):
        rollout.max_update(-1, 7, step=2)
