"""Bad input on a running Rollout: an unknown step, a weight above 100, a selector that does
not match the template, a missing Service, a missing AnalysisTemplate. Each is an InvalidSpec
condition naming the cause, the Rollout is Degraded, and the stable version keeps its 3 pods
(no new ReplicaSet is even created)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from tests.rollouts.e2e.conftest import Standalone, rollout_manifest

from tidegate.testenv import wait

pytestmark = pytest.mark.e2e

Change = Callable[[dict[str, Any]], None]


def _steps(r: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = r["spec"]["strategy"]["canary"]["steps"]
    return steps


CASES: list[tuple[str, Change, str]] = [
    ("unknown-step", lambda r: _steps(r).insert(0, {"setWieght": 10}), "unknown step 'setWieght'"),
    ("weight", lambda r: _steps(r).insert(0, {"setWeight": 150}),
     "setWeight: 150 must be an integer between 0 and 100"),
    ("selector", lambda r: r["spec"]["template"]["metadata"]["labels"].update(app="other"),
     "`selector` does not match template `labels`"),
    ("service", lambda r: r["spec"]["strategy"]["canary"].update(stableService="missing-svc",
                                                                  canaryService="missing-canary"),
     "Service 'missing-canary' not found"),
    ("template", lambda r: _steps(r).append(
        {"analysis": {"templates": [{"templateName": "no-such-template"}]}}),
     "AnalysisTemplate 'no-such-template' not found"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "change", "cause"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_a_condition_and_the_stable_version_stays(
    standalone: Standalone, name: str, change: Change, cause: str
) -> None:
    good = rollout_manifest(
        name, "registry.invalid/app:v1", standalone.instance,
        {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}, replicas=3,
    )  # fmt: skip
    good["spec"]["selector"]["matchLabels"]["app"] = name
    good["spec"]["template"]["metadata"]["labels"]["app"] = name
    standalone.apply(good)
    await wait.eventually(lambda: standalone.status(name).get("phase") == "Healthy", within=60)
    stable = standalone.status(name)["stableRS"]

    bad = copy.deepcopy(good)
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.invalid/app:v2"
    change(bad)
    standalone.apply(bad)

    def invalid() -> dict[str, Any] | None:
        status = standalone.status(name)
        for cond in status.get("conditions") or ():
            if cond["type"] == "InvalidSpec" and cause in cond["message"]:
                return status
        return None

    await wait.eventually(invalid, within=60)
    # (a missing object may arrive with the same sync: Degraded once that has lasted 20 s)
    status = await wait.eventually(
        lambda: (s := invalid()) is not None and s.get("phase") == "Degraded" and s, within=60
    )
    assert status["message"].startswith("InvalidSpec: ")
    assert status["stableRS"] == stable
    sets = [rs for rs in standalone.replica_sets() if rs["metadata"]["name"].startswith(name)]
    assert [(rs["metadata"]["labels"]["rollouts-pod-template-hash"], rs["spec"]["replicas"])
            for rs in sets] == [(stable, 3)]  # fmt: skip
