"""Table-driven tests of path matching and name normalisation (testdata/paths.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.appset import paths
from tidegate.model import errors

from . import support

CASES = support.cases("paths.yaml")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_paths(case: dict[str, Any]) -> None:
    kind = case["kind"]
    if kind == "match":
        assert paths.path_match(case["pattern"], case["path"]) is case["expect"]
    elif kind == "glob":
        assert paths.glob_match(case["pattern"], case["path"]) is case["expect"]
    elif kind == "normalize":
        assert paths.normalize(case["input"]) == case["expect"]
    else:
        assert paths.hidden(case["input"]) is case["expect"]


def test_bad_pattern_is_a_generator_error() -> None:
    with pytest.raises(errors.GeneratorError, match="unclosed"):
        paths.path_match("apps/[abc", "apps/a")
