"""Analysis steps in canary planning: a run is created per step; Successful advances, Failed
aborts back to the stable version, a template that cannot build a run is an InvalidSpec."""

from __future__ import annotations

from typing import Any

from tests.rollouts.sim import Cluster, rollout

TEMPLATE = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "AnalysisTemplate",
    "metadata": {"name": "success-rate", "namespace": "ns"},
    "spec": {
        "metrics": [
            {
                "name": "ok",
                "successCondition": "result == true",
                "provider": {"web": {"url": "http://metrics.invalid/ok", "jsonPath": "{$.ok}"}},
            }
        ]
    },
}


def _cluster(template: dict[str, Any] = TEMPLATE) -> Cluster:
    steps = [
        {"setWeight": 20},
        {"analysis": {"templates": [{"templateName": "success-rate"}]}},
        {"setWeight": 60},
        {"pause": {}},
    ]
    c = Cluster(rollout({"canary": {"steps": steps}}))
    c.templates[("success-rate", False)] = template
    c.run_until_stable()
    c.set_image("v2")
    c.run_until_stable()
    return c


def _set_phase(c: Cluster, phase: str) -> None:
    c.runs[-1]["status"] = {"phase": phase, "message": f"metric ok assessed {phase}"}


def test_step_analysis_creates_one_run_and_a_success_advances() -> None:
    c = _cluster()
    assert [r["metadata"]["name"] for r in c.runs] == [f"web-{c.status['currentPodHash']}-2-1"]
    labels = c.runs[0]["metadata"]["labels"]
    assert (labels["rollout-type"], labels["step-index"]) == ("Step", "1")
    assert c.status["currentStepIndex"] == 1
    assert c.status["canary"]["currentStepAnalysisRunStatus"]["status"] == "Pending"
    _set_phase(c, "Successful")
    c.run_until_stable()
    assert c.status["currentStepIndex"] == 3
    assert c.counts() == {"v1": 2, "v2": 3}
    assert len(c.runs) == 1


def test_failed_analysis_aborts_to_the_stable_version() -> None:
    c = _cluster()
    _set_phase(c, "Failed")
    c.run_until_stable()
    assert c.counts() == {"v1": 5}
    assert c.status["phase"] == "Degraded"
    assert c.status["abort"] is True
    assert c.status["message"].endswith("metric ok assessed Failed")


def test_a_template_that_cannot_run_is_invalid_spec_and_nothing_moves() -> None:
    bad = {**TEMPLATE, "spec": {"metrics": [{"name": "x", "successCondition": "result ==="}]}}
    c = _cluster(bad)
    assert c.runs == []
    assert c.status["phase"] == "Degraded"
    assert c.status["message"].startswith("InvalidSpec: ")


def test_background_analysis_runs_during_the_update_and_is_terminated_after() -> None:
    from tidegate.rollouts import analysis as ro_analysis

    steps = [{"setWeight": 20}, {"pause": {}}]
    background = {"templates": [{"templateName": "success-rate"}], "startingStep": 1}
    c = Cluster(rollout({"canary": {"steps": steps, "analysis": background}}))
    c.templates[("success-rate", False)] = TEMPLATE
    c.run_until_stable()
    assert c.runs == []  # nothing to analyse without an update
    c.set_image("v2")
    c.run_until_stable()
    [run] = c.runs
    assert run["metadata"]["labels"]["rollout-type"] == "Background"
    _set_phase(c, "Running")
    c.step()
    assert c.last is not None and c.last.context is not None
    assert ro_analysis.stale_runs(c.last.context) == []
    c.rollout["status"]["pauseConditions"] = None
    c.run_until_stable()
    assert c.status["phase"] == "Healthy"
    assert c.last is not None and c.last.context is not None
    assert ro_analysis.stale_runs(c.last.context) == [run["metadata"]["name"]]
