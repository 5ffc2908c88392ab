"""Conditions: Argo Rollouts' verdict table, its functions, and refusal of bad syntax on load."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from tidegate import expr
from tidegate.analysis import conditions, names, runs, validate


@pytest.mark.parametrize(
    ("success", "failure", "result", "phase"),
    [
        ("", "", 1, names.SUCCESSFUL),
        ("result[0] >= 0.95", "", [0.97], names.SUCCESSFUL),
        ("result[0] >= 0.95", "", [0.5], names.FAILED),
        ("", "result > 10", 11, names.FAILED),
        ("", "result > 10", 3, names.SUCCESSFUL),
        ("result > 5", "result < 2", 7, names.SUCCESSFUL),
        ("result > 5", "result < 2", 1, names.FAILED),
        ("result > 5", "result < 2", 3, names.INCONCLUSIVE),
        ("result > 0", "result > 0", 3, names.FAILED),  # failure wins
        ("len(result) > 0", "", [], names.FAILED),
        ("isNaN(result)", "", math.nan, names.SUCCESSFUL),
        ("isInf(result)", "", math.inf, names.SUCCESSFUL),
        ("asInt(result) == 3", "", "3", names.SUCCESSFUL),
        ("asFloat(result) > 0.5", "", "0.75", names.SUCCESSFUL),
        ("default(result, 0) == 0", "", None, names.SUCCESSFUL),
        ("result.ok == true && result.count >= 2", "", {"ok": True, "count": 2}, names.SUCCESSFUL),
        ("all(result, {# < 1})", "", [0.1, 0.2], names.SUCCESSFUL),
    ],
)
def test_verdict(success: str, failure: str, result: Any, phase: str) -> None:
    metric = {"name": "m", "successCondition": success, "failureCondition": failure}
    assert conditions.verdict(metric, result) == phase


@pytest.mark.parametrize(
    ("condition", "result", "cause"),
    [
        ("result[0] > 1", [], "index"),
        ("result + 1", 1, "expected bool"),
        ("isNaN(result)", "x", "isNaN: expected a number"),
        ("asInt(result) > 0", "abc", "asInt: cannot convert 'abc'"),
    ],
)
def test_a_condition_that_cannot_be_evaluated_is_an_error_not_false(
    condition: str, result: Any, cause: str
) -> None:
    with pytest.raises(expr.ExprError, match=cause):
        conditions.verdict({"name": "m", "successCondition": condition}, result)


def metric(**fields: Any) -> dict[str, Any]:
    return {"name": "m", "provider": {"prometheus": {"query": "up"}}, **fields}


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"successCondition": "result[0] >= 0.95 |> x"}, "metrics[0] (m): successCondition: "),
        ({"failureCondition": "now() > 1"}, "failureCondition: unknown function 'now'"),
        ({"successCondition": "value > 1"}, "successCondition: "),
        ({"count": 3}, "metrics[0] (m): interval must be specified when count > 1"),
        ({"count": 2, "interval": "1s", "failureLimit": 3}, "count must be >= failureLimit"),
        ({"consecutiveErrorLimit": -1}, "consecutiveErrorLimit must be >= 0"),
        ({"interval": "often"}, "metrics[0] (m): interval: invalid duration 'often'"),
        ({"provider": {}}, "one of the providers must be specified"),
        ({"provider": {"datadog": {"query": "x"}}}, "provider 'datadog' is not supported"),
        ({"provider": {"web": {}, "job": {}}}, "multiple providers specified (job, web)"),
        (
            {"provider": {"prometheus": {"query": "up", "rangeQuery": {"step": "1m"}}}},
            "metrics[0] (m): prometheus.rangeQuery is not supported",
        ),
        (
            {"consecutiveSuccessLimit": 3},
            "metrics[0] (m): consecutiveSuccessLimit is not supported",
        ),
    ],
)
def test_a_bad_metric_is_refused_on_load(fields: dict[str, Any], problem: str) -> None:
    template = {
        "kind": "AnalysisTemplate",
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {"metrics": [metric(**fields)]},
    }
    with pytest.raises(names.AnalysisSpecError) as info:
        validate.check_template(template)
    assert str(info.value).startswith("AnalysisTemplate ns/t: ")
    assert problem in str(info.value)
    # the Rollout controller gets the same refusal when it builds a run from the template
    with pytest.raises(names.AnalysisSpecError, match="AnalysisTemplate ns/t: "):
        runs.new_run(name="r", namespace="ns", templates=[template])


def test_a_run_is_checked_with_its_args_filled_in() -> None:
    run = {
        "spec": {
            "args": [{"name": "limit", "value": "0.9"}, {"name": "n", "value": "4"}],
            "metrics": [
                metric(
                    successCondition="result >= {{args.limit}}", count="{{args.n}}", interval="1s"
                ),
            ],
        }
    }
    validate.check_run(run)
    run["spec"]["args"][0]["value"] = "0.9 ||| 1"
    with pytest.raises(names.AnalysisSpecError, match=r"^analysis spec invalid: metrics"):
        validate.check_run(run)


def test_duplicate_names_and_no_metrics() -> None:
    assert validate.problems([]) == ["no metrics specified"]
    assert "two metrics have the same name 'm'" in validate.problems([metric(), metric()])


def test_composed_templates_are_refused_not_ignored() -> None:
    template = {
        "kind": "AnalysisTemplate",
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {"metrics": [metric()], "templates": [{"templateName": "other"}]},
    }
    message = re.escape("spec.templates (templates composed of templates) is not supported")
    with pytest.raises(names.AnalysisSpecError, match=message):
        validate.check_template(template)
    with pytest.raises(names.AnalysisSpecError, match=message):
        runs.new_run(name="r", namespace="ns", templates=[template])
