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


@pytest.mark.parametrize(
    ("pattern", "path", "deep", "match"),
    [
        ("apps/*", "apps/web", False, True),
        ("apps/*", "apps/web/x", False, False),  # '*' stops at the separator
        ("/apps/*", "apps/web", False, True),  # leading '/' ignored on both sides
        ("a?c", "a/c", False, False),
        ("d/[^f]", "d/e", False, True),  # Go path.Match negation
        ("d/[!f]", "d/f", False, False),
        ("a[^x]b", "a/b", False, False),  # a negated class never matches the separator
        ("a[/]b", "a/b", False, False),
        ("c/**/config.json", "c/a/b/config.json", False, False),  # path.Match: '**' is '*'
        ("c/**/config.json", "c/a/config.json", False, True),
        ("c/**/config.json", "c/a/b/config.json", True, True),  # zglob: whole segments
        ("c/**/config.json", "c/config.json", True, True),
        ("c/**", "c/a/b", True, True),
        ("c/x**", "c/x/y", True, False),  # '**' inside a segment is '*'
        ("{dev,prod}/*", "prod/web", False, True),
    ],
)
def test_path_globs(pattern: str, path: str, deep: bool, match: bool) -> None:
    match_fn = globs.glob_match if deep else globs.path_match
    assert match_fn(pattern, path) is match


def test_without_separator_star_crosses_slashes() -> None:
    assert globs.matches("apps/*", "apps/web/x")
    assert globs.matches("[^x]", "^")  # '^' is an ordinary character in the default dialect
