"""AnalysisRuns measured against a real Prometheus scraping an endpoint the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.analysis.e2e.conftest import Bed, Endpoint, result_of

from tidegate.testenv import prometheus


@pytest.fixture
def prom(tmp_path: Path, endpoint: Endpoint) -> Iterator[prometheus.Prometheus]:
    endpoint.gauge("demo_success_rate", 0.97)
    with prometheus.Prometheus.start(tmp_path, [endpoint.address], job="demo") as server:
        server.wait_for('demo_success_rate{job="demo"}')
        yield server


def metric(prom: prometheus.Prometheus, **fields: object) -> dict[str, object]:
    return {
        "name": "success-rate",
        "provider": {
            "prometheus": {"address": prom.url, "query": 'demo_success_rate{job="{{args.job}}"}'}
        },
        "successCondition": "result[0] >= 0.95",
        **fields,
    }


async def test_a_prometheus_metric_succeeds(bed: Bed, prom: prometheus.Prometheus) -> None:
    await bed.create(
        bed.run(
            "prom-ok",
            [metric(prom, interval="1s", count=2)],
            args=[{"name": "job", "value": "demo"}],
        )
    )
    run = await bed.finished("prom-ok")
    status = run["status"]
    assert status["phase"] == "Successful", status
    result = result_of(run, "success-rate")
    assert (result["phase"], result["count"], result["successful"]) == ("Successful", 2, 2)
    assert [m["value"] for m in result["measurements"]] == ["[0.97]", "[0.97]"]
    assert all(m["phase"] == "Successful" and m["finishedAt"] for m in result["measurements"])
    assert status["runSummary"] == {
        "count": 1,
        "successful": 1,
        "failed": 0,
        "inconclusive": 0,
        "error": 0,
    }
    assert status["startedAt"] <= status["completedAt"]


async def test_a_failing_condition_fails_the_run_after_the_failure_limit(
    bed: Bed, prom: prometheus.Prometheus, endpoint: Endpoint
) -> None:
    endpoint.gauge("demo_success_rate", 0.5)
    prom.wait_for('demo_success_rate{job="demo"} < 0.6')
    await bed.create(
        bed.run(
            "prom-bad",
            [metric(prom, interval="1s", count=10, failureLimit=2)],
            args=[{"name": "job", "value": "demo"}],
        )
    )
    run = await bed.finished("prom-bad")
    status = run["status"]
    assert status["phase"] == "Failed", status
    assert status["message"] == (
        'Metric "success-rate" assessed Failed due to failed (3) > failureLimit (2)'
    )
    result = result_of(run, "success-rate")
    assert (result["failed"], result["count"]) == (3, 3)
    assert [m["value"] for m in result["measurements"]] == ["[0.5]"] * 3


async def test_an_empty_query_result_is_an_error_measurement_not_a_pass(
    bed: Bed, prom: prometheus.Prometheus
) -> None:
    await bed.create(
        bed.run(
            "prom-empty",
            [metric(prom, consecutiveErrorLimit=0)],
            args=[{"name": "job", "value": "no-such-job"}],
        )
    )
    run = await bed.finished("prom-empty")
    assert run["status"]["phase"] == "Error"
    measurement = result_of(run, "success-rate")["measurements"][0]
    assert measurement["phase"] == "Error"
    assert measurement["value"] == "[]"
    assert "index" in measurement["message"]
