"""The pure parts of ``app create``'s source check (the check itself: tests/cli/test_app_cmd.py)."""

from __future__ import annotations

import pytest

from tidegate.cli import app_sources, appspec


@pytest.mark.parametrize(
    ("path", "tree_path"),
    [(".", ""), ("", ""), ("./", ""), ("app", "app"), ("./apps/web/", "apps/web"),
     ("/apps//web", "apps/web")],
)  # fmt: skip
def test_normalise_path(path: str, tree_path: str) -> None:
    assert app_sources.normalise_path(path) == tree_path


def test_parse_validate_takes_argocd_booleans() -> None:
    assert app_sources.parse_validate("true") is True
    assert app_sources.parse_validate("False") is False
    with pytest.raises(appspec.FlagError, match="--validate: expected true or false"):
        app_sources.parse_validate("maybe")
