"""The README's first command, end to end: `tidegate demo` on a test bed of its own.

It brings up mgmt, dev, staging and prod, the git server, Tidegate's API server and its
controllers, prints the server's URL and admin login first (the test logs in with them while
the demo runs), reaches Synced and Healthy for every demo app, then tears everything down (no
--keep), as on a user's machine after Ctrl-C. A test bed of its own keeps the demo's apps (fixed
names, as a user sees them) from meeting the other tests' apps on the shared clusters.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from tidegate.testenv import procs

LOGIN = re.compile(r"Tidegate API server\]?\s+(http://\S+)\s+login\s+user admin, password (\S+)")


def _processes_mentioning(marker: str) -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and int(p.name) != os.getpid() and procs.alive(int(p.name), marker)
    ]


def test_demo_reaches_synced_and_healthy_then_tears_down(tmp_path: Path) -> None:
    directory = tmp_path / "demo"
    proc = subprocess.Popen(
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
            "--server-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    seen_login = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if LOGIN.search("".join(lines[-4:])):
                seen_login.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen_login.wait(600), "".join(lines)[-4000:]
        found = LOGIN.search("".join(lines))
        assert found is not None
        url, password = found.group(1), found.group(2)
        with httpx.Client(base_url=url, timeout=30) as client:
            body = json.dumps({"username": "admin", "password": password})
            session = client.post(
                "/api/v1/session", content=body, headers={"Content-Type": "application/json"}
            )
            assert session.status_code == 200, session.text
            token = session.json()["token"]
            apps = client.get("/api/v1/applications", headers={"Authorization": f"Bearer {token}"})
            assert apps.status_code == 200, apps.text
        returncode = proc.wait(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    output = "".join(lines)
    assert returncode == 0, output[-4000:]
    assert "all demo apps are Synced and Healthy" in output
    # The login comes first: before the controllers' output and the tour.
    login_at = output.index("Tidegate API server")
    assert login_at < output.index("Tidegate demo is running")
    assert login_at < output.index("operation Succeeded")
    # The RollingSync of the guestbook went dev, then staging, then prod.
    # (A later sync of a stage, a self-heal under load, may follow: the first of each counts.)
    order = [line for line in output.splitlines() if "-guestbook: operation Succeeded" in line]
    firsts = list(dict.fromkeys(line.split("app ")[1].split("-")[0] for line in order))
    assert firsts[:3] == ["dev", "staging", "prod"], order
    assert "prod-myapp: operation Succeeded" in output
    assert "staging-myapp" not in output and "dev-myapp" not in output
    # Ctrl-C's teardown: nothing of the demo's test bed is left.
    assert _processes_mentioning(str(directory)) == []
    assert not directory.exists()
