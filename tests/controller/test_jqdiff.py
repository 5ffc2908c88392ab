"""ignoreDifferences through the bounded jq pool agree with the in-process diff, and a jq
expression past its bound fails the comparison naming the expression and the resource."""

from __future__ import annotations

import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml

from tidegate.controller import argocdcm, jqdiff
from tidegate.diff import compare, ignore
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.sandbox import jqpool

TESTDATA = pathlib.Path(__file__).parents[1] / "diff" / "testdata"


def cases(name: str) -> list[Any]:
    table = yaml.safe_load((TESTDATA / name).read_text())
    return [pytest.param(case, id=case["name"]) for case in table]


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[jqpool.JqPool]:
    made = jqpool.JqPool(workers=1, timeout=1.0)
    yield made
    await made.aclose()


@pytest.mark.parametrize("case", cases("ignore.yaml") + cases("compare-fallback.yaml"))
async def test_compare_all_agrees_with_the_in_process_diff(
    case: dict[str, Any], pool: jqpool.JqPool
) -> None:
    rules = ignore.rules_from_specs(case.get("rules") or [])
    desired, live, predicted = case["desired"], case["live"], case.get("predicted")
    key = ResourceKey.of(desired if desired is not None else live)
    found = await jqdiff.compare_all([(key, desired, live, predicted)], rules, pool=pool)
    assert found == {key: compare.compare(desired, live, predicted, ignore_rules=rules)}


@pytest.mark.parametrize("case", cases("respect-ignore.yaml"))
async def test_respect_ignore_differences_agrees_with_the_in_process_version(
    case: dict[str, Any], pool: jqpool.JqPool
) -> None:
    rules = ignore.rules_from_specs(case["rules"])
    (found,) = await jqdiff.respect_ignore_differences(
        [(case["desired"], case.get("live"))], rules, pool=pool
    )
    assert found == case["expected"]


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_a_comparison_without_jq_rules_never_calls_the_pool(pool: jqpool.JqPool) -> None:
    calls = pool.calls
    rules = ignore.rules_from_specs([{"kind": "ConfigMap", "jsonPointers": ["/data/x"]}])
    key = ResourceKey("", "ConfigMap", "", "c")
    found = await jqdiff.compare_all(
        [(key, configmap("c", x="1"), configmap("c", x="2"), None)], rules, pool=pool
    )
    assert found[key].modified is False
    assert pool.calls == calls


async def test_every_expression_of_a_comparison_goes_in_one_call(pool: jqpool.JqPool) -> None:
    calls = pool.calls
    rules = ignore.rules_from_specs(
        [{"kind": "ConfigMap", "jqPathExpressions": [".data.x", ".data.y"]}]
    )
    items = [
        (ResourceKey("", "ConfigMap", "", f"c{i}"), configmap(f"c{i}", x="1", y="1", z="1"),
         configmap(f"c{i}", x="2", y="2", z="1"), None)
        for i in range(20)
    ]  # fmt: skip
    found = await jqdiff.compare_all(items, rules, pool=pool)
    assert not any(result.modified for result in found.values())
    assert pool.calls == calls + 1


async def test_a_never_ending_expression_fails_the_comparison_naming_it_and_the_resource(
    pool: jqpool.JqPool,
) -> None:
    rules = ignore.rules_from_specs(
        [{"kind": "ConfigMap", "name": "slow", "jqPathExpressions": ["def f: f; f"]}]
    )
    fast, slow = ResourceKey("", "ConfigMap", "", "fast"), ResourceKey("", "ConfigMap", "", "slow")
    with pytest.raises(errors.LimitExceededError) as caught:
        await jqdiff.compare_all(
            [
                (fast, configmap("fast"), configmap("fast"), None),
                (slow, configmap("slow"), configmap("slow"), None),
            ],
            rules,
            pool=pool,
        )
    assert str(caught.value) == (
        f"ignoreDifferences: jq expression 'def f: f; f' on {slow} (target) did not finish"
        " within the timeout of 1s (argocd-cm ignore.normalizer.jq.timeout); the comparison is"
        " incomplete, nothing is synced"
    )


async def test_a_runtime_error_that_is_not_a_path_names_the_resource(pool: jqpool.JqPool) -> None:
    rules = ignore.rules_from_specs([{"kind": "ConfigMap", "jqPathExpressions": [".data|length"]}])
    key = ResourceKey("", "ConfigMap", "", "c")
    with pytest.raises(errors.SpecError, match=r"ConfigMap.*c \(target\): jq expression"):
        await jqdiff.compare_all(
            [(key, configmap("c", x="1"), configmap("c", x="1"), None)], rules, pool=pool
        )


@pytest.mark.parametrize(
    ("value", "seconds", "problem"),
    [
        (None, 1.0, ""),
        ("250ms", 0.25, ""),
        ("3s", 3.0, ""),
        ("1m30s", 90.0, ""),
        ("soon", 1.0, "invalid duration 'soon'"),
        ("0s", 1.0, "'0s' is not a positive duration"),
    ],
)
def test_jq_timeout_from_argocd_cm(value: str | None, seconds: float, problem: str) -> None:
    data = {} if value is None else {argocdcm.JQ_TIMEOUT_KEY: value}
    settings = argocdcm.parse(data)
    assert settings.jq_timeout == seconds
    if problem:
        (reported,) = settings.problems
        assert reported.startswith("argocd-cm ignore.normalizer.jq.timeout: ")
        assert problem in reported and reported.endswith("using 1s")
    else:
        assert settings.problems == ()
