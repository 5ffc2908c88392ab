"""Bad input: a clear InvalidSpec condition, and the stable version untouched."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from tests.rollouts.sim import Cluster, rollout


def _invalid(c: Cluster) -> dict[str, Any]:
    return next(x for x in c.status["conditions"] if x["type"] == "InvalidSpec")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["spec"]["strategy"]["canary"]["steps"].append({"setWieght": 10}),
            "spec.strategy.canary.steps[1]: unknown step 'setWieght' "
            "(supported: setWeight, pause, setCanaryScale, analysis)",
        ),
        (
            lambda r: r["spec"]["strategy"]["canary"]["steps"].append({"setWeight": 150}),
            "spec.strategy.canary.steps[1].setWeight: 150 must be an integer between 0 and 100",
        ),
        (
            lambda r: r["spec"]["template"]["metadata"]["labels"].update(app="other"),
            "spec.selector: `selector` does not match template `labels`",
        ),
        (
            lambda r: r["spec"]["strategy"]["canary"].update(canaryService="nope"),
            "spec.strategy.canary: Service 'nope' not found",
        ),
        (
            lambda r: r["spec"]["strategy"]["canary"]["steps"].append(
                {"analysis": {"templates": [{"templateName": "success-rate"}]}}
            ),
            "AnalysisTemplate 'success-rate' not found",
        ),
    ],
)
def test_bad_spec_is_a_condition_and_changes_nothing(change: Any, message: str) -> None:
    c = Cluster(rollout({"canary": {"steps": [{"setWeight": 20}]}}))
    c.run_until_stable()
    sets = copy.deepcopy(c.sets)
    change(c.rollout)
    c.set_image("v2")
    c.step()
    assert c.sets == sets
    assert _invalid(c)["message"] == message
    assert c.status["message"] == f"InvalidSpec: {message}"
    if "not found" in message:  # it may come with the same sync: Progressing for a while
        assert c.status["phase"] == "Progressing"
        c.now += datetime.timedelta(seconds=21)
        c.step()
        assert c.sets == sets
    assert c.status["phase"] == "Degraded"
