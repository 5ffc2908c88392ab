"""Test helpers: an in-memory GitReader, fixture loading and subset matching."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import yaml

from tidegate.appset import paths

TESTDATA = pathlib.Path(__file__).parent / "testdata"


class MemoryGit:
    """A GitReader over ``{path: content}``; the same tree for every repo and revision."""

    def __init__(self, files: Mapping[str, str], dirs: list[str] | None = None) -> None:
        self.files = {p.strip("/"): c for p, c in files.items()}
        found = set(dirs or [])
        for path in self.files:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                found.add("/".join(parts[:i]))
        self.dirs = sorted(found)
        self.calls: list[tuple[str, str, str]] = []

    def list_dirs(self, repo: str, revision: str) -> list[str]:
        self.calls.append(("list_dirs", repo, revision))
        return list(self.dirs)

    def read_files(self, repo: str, revision: str, glob: str) -> dict[str, bytes]:
        self.calls.append(("read_files", repo, revision))
        return {p: c.encode() for p, c in self.files.items() if paths.glob_match(glob, p)}


def cases(name: str) -> list[Any]:
    """The cases of one fixture file (a YAML list of mappings with a ``name``)."""
    loaded = yaml.safe_load((TESTDATA / name).read_text())
    assert isinstance(loaded, list)
    return loaded


def case_files(directory: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, case) for every case of every file in a testdata directory."""
    out: list[tuple[str, dict[str, Any]]] = []
    for file in sorted((TESTDATA / directory).glob("*.yaml")):
        for case in yaml.safe_load(file.read_text()):
            out.append((f"{file.stem}: {case['name']}", case))
    return out


def assert_subset(expected: Any, actual: Any, where: str = "") -> None:
    """Every key of ``expected`` is in ``actual`` with a matching value (lists compare whole)."""
    if isinstance(expected, Mapping):
        assert isinstance(actual, Mapping), f"{where}: expected a map, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key}: missing in {actual!r}"
            assert_subset(value, actual[key], f"{where}.{key}")
    else:
        assert expected == actual, f"{where}: expected {expected!r}, got {actual!r}"
