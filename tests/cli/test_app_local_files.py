"""``--local-include``: which files of --local are rendered (pure selection)."""

from __future__ import annotations

import pytest

from tidegate.cli import app_local_files


@pytest.mark.parametrize(
    ("globs", "want"),
    [
        (app_local_files.DEFAULT_INCLUDE, ["app/a.yaml", "app/b.yml", "c.json"]),
        (["*.yaml"], ["app/a.yaml"]),
        (["b.*"], ["app/b.yml"]),  # the file name is matched, not the path
        (["app/*"], []),
        (["*"], ["app/a.yaml", "app/b.yml", "c.json", "notes.txt", "app/_helpers.tpl"]),
    ],
)
def test_selected_by_file_name(globs: list[str], want: list[str]) -> None:
    names = ["app/a.yaml", "app/b.yml", "c.json", "notes.txt", "app/_helpers.tpl"]
    assert app_local_files.selected(names, globs) == want
