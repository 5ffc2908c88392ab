"""Rollout events from status changes, as Argo Rollouts words them."""

from __future__ import annotations

from tidegate.rollouts import events

SPEC = {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 40}]}}}


def test_steps_pauses_aborts_and_completion() -> None:
    moved = events.changes(
        {"currentStepIndex": 0, "phase": "Progressing"},
        {"currentStepIndex": 2, "phase": "Paused", "message": "CanaryPauseStep"},
        SPEC,
    )
    assert [(e.reason, e.message) for e in moved] == [
        ("RolloutStepCompleted", "Rollout step 1/3 completed (setWeight: 20)"),
        ("RolloutStepCompleted", "Rollout step 2/3 completed (pause: {})"),
        ("RolloutPaused", "CanaryPauseStep"),
    ]
    aborted = events.changes(
        {"phase": "Paused", "abort": True},
        {"phase": "Degraded", "abort": True, "message": "RolloutAborted: analysis failed"},
        SPEC,
    )
    assert [(e.reason, e.type) for e in aborted] == [("RolloutAborted", "Warning")]
    done = events.changes(
        {"phase": "Progressing"}, {"phase": "Healthy", "currentPodHash": "abc"}, SPEC
    )
    assert [(e.reason, e.message) for e in done] == [
        ("RolloutCompleted", "Rollout completed update to abc")
    ]
    assert events.changes({"phase": "Healthy"}, {"phase": "Healthy"}, SPEC) == []
