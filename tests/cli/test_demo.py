"""The README's first command, end to end: `tidegate demo` on a test bed of its own.

It brings up mgmt, dev, staging and prod, the git server, Tidegate and its controllers, reaches
Synced and Healthy for every demo app, then tears everything down (no --keep), as on a user's
machine after Ctrl-C. A test bed of its own keeps the demo's apps (fixed names, as a user sees
them) from meeting the other tests' apps on the shared clusters.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tidegate.testenv import procs


def _processes_mentioning(marker: str) -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and int(p.name) != os.getpid() and procs.alive(int(p.name), marker)
    ]


def test_demo_reaches_synced_and_healthy_then_tears_down(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "demo",
            "--dir",
            str(directory),
            "--until-healthy",
            "--timeout",
            "240",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "all demo apps are Synced and Healthy" in output
    # The RollingSync of the guestbook went dev, then staging, then prod.
    order = [line for line in output.splitlines() if "-guestbook: operation Succeeded" in line]
    assert [line.split("app ")[1].split("-")[0] for line in order][:3] == ["dev", "staging", "prod"]
    assert "prod-myapp: operation Succeeded" in output
    assert "staging-myapp" not in output and "dev-myapp" not in output
    # Ctrl-C's teardown: nothing of the demo's test bed is left.
    assert _processes_mentioning(str(directory)) == []
    assert not directory.exists()
