from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from tidegate.diff import ignore, jqpaths
from tidegate.model import errors, keys

TESTDATA = pathlib.Path(__file__).parent / "testdata"
CASES = yaml.safe_load((TESTDATA / "respect-ignore.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_respect_ignore_differences(case: dict[str, Any]) -> None:
    rules = ignore.rules_from_specs(case["rules"])
    out = ignore.respect_ignore_differences(case["desired"], case["live"], rules)
    assert out == case["expected"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "Deployment", "jqPathExpressions": [".spec | select("]}, "invalid jq path"),
        ({"kind": "Deployment", "jsonPointers": ["spec/replicas"]}, "must start with '/'"),
        ({"jsonPointers": ["/spec"]}, "needs a kind"),
        ({"kind": "X", "jsonPointer": ["/spec"]}, "unknown fields ['jsonPointer']"),
    ],
)
def test_invalid_rules_name_the_cause(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.SpecError) as info:
        ignore.IgnoreRule.from_spec(spec)
    assert message in str(info.value)


def test_invalid_jq_names_the_expression() -> None:
    with pytest.raises(errors.SpecError, match=r"\.a\[\[ "):
        jqpaths.validate(".a[[ ")


def test_matching_by_group_kind_name_namespace() -> None:
    rule = ignore.IgnoreRule(group="apps", kind="Deploy*", namespace="shop")
    assert rule.matches(keys.ResourceKey("apps", "Deployment", "shop", "x"))
    assert not rule.matches(keys.ResourceKey("apps", "Deployment", "other", "x"))
    assert not rule.matches(keys.ResourceKey("", "Deployment", "shop", "x"))
    core = ignore.IgnoreRule(kind="ConfigMap")
    assert core.matches(keys.ResourceKey("", "ConfigMap", "a", "b"))
    assert not core.matches(keys.ResourceKey("example.com", "ConfigMap", "a", "b"))
