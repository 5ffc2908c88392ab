"""Table-driven tests of diff.compare over tests/diff/testdata/*.yaml."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from tidegate.diff import compare, ignore

TESTDATA = pathlib.Path(__file__).parent / "testdata"


def _cases(*files: str) -> list[Any]:
    out = []
    for name in files:
        for case in yaml.safe_load((TESTDATA / name).read_text()):
            out.append(pytest.param(case, id=f"{name.removesuffix('.yaml')}:{case['name']}"))
    return out


def _run(case: dict[str, Any]) -> compare.DiffResult:
    rules = ignore.rules_from_specs(case.get("rules") or [])
    return compare.compare(
        case["desired"],
        case["live"],
        case.get("predicted"),
        ignore_rules=rules,
        ignore_status=case.get("ignore_status", "all"),
        ignore_mutation_webhook=case.get("ignore_mutation_webhook", True),
    )


@pytest.mark.parametrize(
    "case",
    _cases("compare-fallback.yaml", "compare-server-side.yaml", "ignore.yaml", "secrets.yaml"),
)
def test_compare(case: dict[str, Any]) -> None:
    result = _run(case)
    expected = case["expected"]
    assert result.modified is expected["modified"], result.diff_text
    if not result.modified:
        assert result.diff_text == ""
        assert result.normalized_live == result.normalized_target
    for text in expected.get("diff_contains", []):
        assert text in result.diff_text, result.diff_text
    changed = [
        line
        for line in result.diff_text.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    for text in expected.get("diff_not_contains", []):
        assert not any(text in line for line in changed), result.diff_text
    if "target_is_none" in expected:
        assert (result.normalized_target is None) is expected["target_is_none"]
    if "live_is_none" in expected:
        assert (result.normalized_live is None) is expected["live_is_none"]
    # No secret byte in any output.
    rendered = result.diff_text + yaml.safe_dump([result.normalized_live, result.normalized_target])
    for secret in case.get("secrets", []):
        assert secret not in rendered


def test_inputs_are_not_modified() -> None:
    desired = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
               "stringData": {"k": "v"}}  # fmt: skip
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "uid": "u"},
            "data": {"k": "dg=="}}  # fmt: skip
    before = yaml.safe_dump([desired, live])
    compare.compare(desired, live)
    assert yaml.safe_dump([desired, live]) == before


def test_compare_needs_one_side() -> None:
    with pytest.raises(ValueError, match="desired or a live"):
        compare.compare(None, None)
