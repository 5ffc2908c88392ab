"""Fixtures for the render tests: a private copy of the fixture repository, the real renderer
binaries, and helpers to build bad inputs."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate import render

TESTDATA = Path(__file__).parent / "testdata"


def load_table(name: str) -> list[dict[str, Any]]:
    with (TESTDATA / name).open(encoding="utf-8") as handle:
        cases: list[dict[str, Any]] = yaml.safe_load(handle)
    return cases


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A writable copy of testdata/repo (tests add bad files and symlinks to it)."""
    target = tmp_path / "repo"
    shutil.copytree(TESTDATA / "repo", target)
    return target


@pytest.fixture(scope="session")
def tools() -> render.Tools:
    """The real helm and kustomize/kubectl binaries; the render tests need both."""
    found = render.discover()
    assert found.helm is not None, "helm not found: build it with the test bed (see docs/render.md)"
    assert found.kustomize_build is not None, "neither kustomize nor kubectl found"
    return found


def write_script(path: Path, body: str) -> Path:
    """An executable shell script standing in for a renderer binary."""
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def request(root: Path, path: str, **kwargs: Any) -> render.RenderRequest:
    defaults: dict[str, Any] = {"commit": "", "app_name": "demo", "namespace": "ns1"}
    return render.RenderRequest(root=root, path=path, **(defaults | kwargs))


def names(result: render.RenderResult) -> list[str]:
    return [f"{o['kind']}/{o['metadata'].get('name')}" for o in result.objects]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def real(path: Path) -> Path:
    """``path`` with symlinks resolved (the form renderers use in their messages)."""
    return path.resolve()
