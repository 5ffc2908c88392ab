"""`./dev` on a machine that lacks a declared system tool: it asks apt-get for the package
before anything else runs, and names what is missing when that fails. Run on a copy of the
script with its own package list and a recording stand-in for apt-get (and sudo)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _machine(tmp_path: Path, apt_exit: int) -> tuple[Path, Path, dict[str, str]]:
    checkout = tmp_path / "checkout"
    (checkout / "src/tidegate/testenv").mkdir(parents=True)
    shutil.copy(REPO / "dev", checkout / "dev")
    (checkout / "src/tidegate/testenv/system-packages.yaml").write_text(
        "# test list\nsh: dash\nno-such-tool-xyz: no-such-package\n"
    )
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    calls = tmp_path / "apt-calls"
    (fake / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexit {apt_exit}\n')
    (fake / "sudo").write_text('#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n')
    for tool in ("apt-get", "sudo"):
        (fake / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    return checkout, calls, env


def _dev(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(checkout / "dev"), "test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("apt_exit", [0, 100])
def test_a_missing_tool_is_installed_first_or_named(tmp_path: Path, apt_exit: int) -> None:
    checkout, calls, env = _machine(tmp_path, apt_exit)
    result = _dev(checkout, env)
    assert result.returncode == 1
    assert "installing system packages for no-such-tool-xyz: no-such-package" in result.stdout
    recorded = calls.read_text().splitlines()
    assert recorded[0] == "update -qq"
    if apt_exit == 0:
        assert recorded[1].startswith("install ") and recorded[1].endswith(" no-such-package")
        assert "no-such-tool-xyz is still missing" in result.stderr
    else:
        assert "missing no-such-tool-xyz; install the packages no-such-package" in result.stderr
    # Nothing after the check ran: no virtual environment was made.
    assert not (checkout / ".venv").exists()
