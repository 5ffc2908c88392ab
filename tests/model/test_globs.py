"""Glob matching for directory include/exclude: table over testdata/glob_cases.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from tests.render.conftest import load_table

from tidegate.model import errors, globs

CASES = load_table("glob_cases.yaml")


@pytest.mark.parametrize("case", CASES, ids=[f"{c['pattern']}~{c['path']}" for c in CASES])
def test_matches(case: dict[str, Any]) -> None:
    assert globs.matches(case["pattern"], case["path"]) is case["match"]


@pytest.mark.parametrize("pattern", ["{a,b", "[abc", "x\\", "[]"])
def test_invalid_patterns(pattern: str) -> None:
    with pytest.raises(errors.SpecError, match="glob"):
        globs.compile_glob(pattern)


@pytest.mark.parametrize(
    ("pattern", "value", "match"),
    [
        ("https://h/org/*", "https://h/org/repo", True),
        ("https://h/org/*", "https://h/org/sub/repo", False),
        ("https://h/org/**", "https://h/org/sub/repo", True),
        ("https://h/org/re?o", "https://h/org/repo", True),
        ("https://h/org?repo", "https://h/org/repo", False),
        ("https://h/{org,team}/*", "https://h/team/x", True),
    ],
)
def test_separator_stops_star_and_question_mark(pattern: str, value: str, match: bool) -> None:
    """sourceRepos are matched with ``/`` as separator, as Argo CD's gobwas globs do."""
    assert globs.matches(pattern, value, separator="/") is match
