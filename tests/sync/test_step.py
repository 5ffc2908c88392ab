from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from tidegate.model import enums
from tidegate.sync import record, step

from . import helpers

CASES = yaml.safe_load((pathlib.Path(__file__).parent / "testdata/steps.yaml").read_text())


def _decide(case: dict[str, Any]) -> step.StepDecision:
    health = {helpers.key_of(k): v for k, v in (case.get("health") or {}).items()}
    return step.plan_step(
        helpers.objects(case["targets"]),
        helpers.objects(case["live"]),
        record.OperationRecord.from_list(case.get("recorded") or []),
        health_of=health.get,
        params=helpers.params(case["params"]),
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_plan_step(case: dict[str, Any]) -> None:
    decision = _decide(case)
    expected = case["expected"]
    action = decision.action
    assert type(action).__name__ == expected["action"], action
    if "tasks" in expected:
        assert isinstance(action, step.Apply | step.Prune | step.RunSyncFail)
        assert [helpers.label(t) for t in action.tasks] == expected["tasks"]
    if "phase" in expected:
        assert isinstance(action, step.Apply | step.Prune)
        assert (action.phase.value, action.wave) == (expected["phase"], expected["wave"])
    if "dry_run" in expected:
        assert isinstance(action, step.Apply | step.Prune)
        assert action.dry_run is expected["dry_run"]
    if "reason_contains" in expected:
        assert isinstance(action, step.Wait)
        assert expected["reason_contains"] in action.reason
    if "done_phase" in expected:
        assert isinstance(action, step.Done)
        assert action.phase.value == expected["done_phase"]
    if "message_contains" in expected:
        assert isinstance(action, step.Done)
        assert expected["message_contains"] in action.message
    if "results" in expected:
        got = [r.to_dict() for r in decision.results]
        assert len(got) == len(expected["results"]), got
        for want, have in zip(expected["results"], got, strict=True):
            assert {k: have.get(k) for k in want} == want
    assert [helpers.label(t) for t in decision.delete] == expected.get("delete", [])


def _execute(decision: step.StepDecision, rec: record.OperationRecord) -> record.OperationRecord:
    """What an executor does with a decision: record results, then what it applied."""
    rec = rec.merged(decision.results)
    action = decision.action
    if isinstance(action, step.Apply | step.Prune | step.RunSyncFail):
        rec = rec.merged(record.executed(t, ok=True, message="ok") for t in action.tasks)
    return rec


def test_full_operation_never_repeats_a_wave() -> None:
    """Drive a whole sync through plan_step, restarting (fresh call) at every step."""
    case = CASES[0]
    targets = helpers.objects(case["targets"])
    params = helpers.params(case["params"])
    live: dict[Any, Any] = {}
    rec = record.OperationRecord()
    applied: list[tuple[str, int]] = []
    for _ in range(20):
        decision = step.plan_step(targets, live, rec, health_of=lambda k: "Healthy",
                                  params=params)  # fmt: skip
        action = decision.action
        for t in decision.delete:
            live.pop(t.key, None)
        if isinstance(action, step.Done):
            rec = rec.merged(decision.results)
            break
        if isinstance(action, step.Apply):
            stage = (action.phase.value, action.wave)
            assert stage not in applied, f"{stage} planned twice"
            applied.append(stage)
            for t in action.tasks:
                live[t.key] = t.target
        rec = _execute(decision, rec)
        # Round-trip through the wire format, as a restarted controller would read it back.
        rec = record.OperationRecord.from_list(rec.to_list())
    assert isinstance(action, step.Done)
    assert action.phase is enums.OperationPhase.SUCCEEDED
    assert applied == [("PreSync", 0), ("Sync", 0), ("Sync", 1)]
    assert {r.hook_phase for r in rec.results} == {record.HookPhase.SUCCEEDED}
    # The HookSucceeded hook was deleted once it completed.
    assert all(k.kind != "Job" for k in live)
