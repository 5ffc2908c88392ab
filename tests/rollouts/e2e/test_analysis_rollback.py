"""A canary whose Prometheus analysis fails rolls back with nobody at the keyboard: the step's
AnalysisRun (built from the AnalysisTemplate, measured by the cluster's analysis controller
against a real Prometheus scraping an endpoint the test controls) ends Failed, the Rollout
aborts, the 5 stable pods come back and the Rollout is Degraded with the run's verdict."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.analysis.e2e.conftest import Endpoint, endpoint  # noqa: F401 - the fixture
from tests.rollouts.e2e.conftest import Standalone, rollout_manifest, standalone  # noqa: F401

from tidegate.testenv import prometheus, wait

pytestmark = pytest.mark.e2e


@pytest.fixture
def prom(tmp_path: Path, endpoint: Endpoint) -> Iterator[prometheus.Prometheus]:  # noqa: F811
    endpoint.gauge("demo_success_rate", 0.97)
    with prometheus.Prometheus.start(tmp_path, [endpoint.address], job="demo") as server:
        server.wait_for('demo_success_rate{job="demo"}')
        yield server


async def test_failed_prometheus_analysis_aborts_to_stable(
    standalone: Standalone,  # noqa: F811
    prom: prometheus.Prometheus,
    endpoint: Endpoint,  # noqa: F811
) -> None:
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "success-rate"},
        "spec": {
            "args": [{"name": "job"}],
            "metrics": [{
                "name": "success-rate",
                "interval": "1s",
                "count": 3,
                "successCondition": "result[0] >= 0.95",
                "provider": {"prometheus": {
                    "address": prom.url, "query": 'demo_success_rate{job="{{args.job}}"}'}},
            }],
        },
    }  # fmt: skip
    steps = [
        {"setWeight": 20},
        {"analysis": {"templates": [{"templateName": "success-rate"}],
                      "args": [{"name": "job", "value": "demo"}]}},
        {"setWeight": 100},
    ]  # fmt: skip
    ro = rollout_manifest("checked", "registry.invalid/app:v1", standalone.instance,
                          {"canary": {"steps": steps}})  # fmt: skip
    standalone.apply(template, ro)
    await wait.eventually(lambda: standalone.status("checked").get("phase") == "Healthy", within=60)
    await wait.eventually(lambda: standalone.images() == {"registry.invalid/app:v1": 5}, within=60)

    endpoint.gauge("demo_success_rate", 0.5)  # the new version is bad
    prom.wait_for('demo_success_rate{job="demo"} < 0.6')
    ro["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.invalid/app:v2"
    standalone.apply(ro)

    def aborted() -> dict[str, object] | None:
        status = standalone.status("checked")
        return status if status.get("abort") and status.get("phase") == "Degraded" else None

    status = await wait.eventually(aborted, within=90)
    assert status["message"].startswith("RolloutAborted: Rollout aborted update to revision 2: ")
    assert "success-rate" in str(status["message"])
    run = status["canary"]["currentStepAnalysisRunStatus"]
    assert run["status"] == "Failed"
    await wait.eventually(lambda: standalone.images() == {"registry.invalid/app:v1": 5}, within=60)
