"""The pure parts of the providers: Prometheus answers, JSON paths, the job's verdict."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tidegate.analysis.providers import job, jsonpath, prometheus


@pytest.mark.parametrize(
    ("data", "result", "value"),
    [
        (
            {"resultType": "vector", "result": [{"value": [1, "0.97"]}, {"value": [1, "1"]}]},
            [0.97, 1.0],
            "[0.97,1]",
        ),
        ({"resultType": "vector", "result": []}, [], "[]"),
        ({"resultType": "scalar", "result": [1, "42"]}, 42.0, "42"),
        ({"resultType": "scalar", "result": [1, "1e-07"]}, 1e-07, "0.0000001"),
    ],
)
def test_prometheus_results(data: dict[str, Any], result: Any, value: str) -> None:
    assert prometheus.interpret(data) == (result, value)


def test_prometheus_nan_and_a_matrix() -> None:
    got, text = prometheus.interpret({"resultType": "scalar", "result": [1, "NaN"]})
    assert math.isnan(got) and text == "NaN"
    with pytest.raises(ValueError, match="'matrix' result"):
        prometheus.interpret({"resultType": "matrix", "result": []})


DOC = {"data": {"ok": True, "items": [{"v": 1}, {"v": 2}], "a-b": {"c": "x"}}}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("{$.data.ok}", True),
        ("{.data.items[1].v}", 2),
        ("{$.data.items[-1].v}", 2),
        ("{$.data.items[*].v}", [1, 2]),
        ("{$.data['a-b'].c}", "x"),
        ("$.data.ok", True),
        ("{$}", DOC),
    ],
)
def test_json_paths(path: str, value: Any) -> None:
    assert jsonpath.select(DOC, path) == value


@pytest.mark.parametrize(
    ("path", "cause"),
    [
        ("{$.data.missing}", "missing is not found"),
        ("{$.data.items[5]}", "index 5"),
        ("{$.data..ok}", "cannot parse"),
    ],
)
def test_bad_json_paths(path: str, cause: str) -> None:
    with pytest.raises(jsonpath.JSONPathError, match=cause):
        jsonpath.select(DOC, path)


@pytest.mark.parametrize(
    ("conditions", "outcome"),
    [
        ([], ("Running", "")),
        ([{"type": "Complete", "status": "True"}], ("Successful", "")),
        (
            [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
            (
                "Failed",
                "job failed (BackoffLimitExceeded: Job has reached the specified backoff limit)",
            ),
        ),
        ([{"type": "Failed", "status": "False"}], ("Running", "")),
    ],
)
def test_job_outcome(conditions: list[dict[str, str]], outcome: tuple[str, str]) -> None:
    assert job.outcome({"status": {"conditions": conditions}}) == outcome


def test_the_job_is_owned_by_the_run_and_named_after_it() -> None:
    run = {
        "metadata": {"name": "r", "namespace": "ns", "uid": "u-1"},
        "status": {"metricResults": [{"name": "smoke", "count": 1, "error": 1}]},
    }
    metric = {
        "name": "smoke",
        "provider": {"job": {"metadata": {"labels": {"a": "b"}}, "spec": {"backoffLimit": 0}}},
    }
    name = job.job_name(run, "smoke")
    assert name == "u-1.smoke.3"
    built = job.build_job(run, metric, name)
    assert built["metadata"]["labels"] == {"a": "b", job.LABEL_RUN_UID: "u-1"}
    assert built["metadata"]["ownerReferences"][0]["kind"] == "AnalysisRun"
    assert built["spec"] == {"backoffLimit": 0}
    assert metric["provider"]["job"]["metadata"] == {"labels": {"a": "b"}}
