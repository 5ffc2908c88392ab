"""``tidegate version``: the client alone, and the server's version through the current login
context (a real ``tidegate server``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import tidegate
from tidegate.testenv import serverproc

pytestmark = pytest.mark.e2e
WANT = f"v{tidegate.__version__}+tidegate"


def _cli(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args, f"--config={config}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_version_client_and_server(server: serverproc.ServerProcess, tmp_path: Path) -> None:
    config = tmp_path / "config"
    alone = _cli("version", config=config)  # no login context: the client only
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.splitlines()[0] == f"tidegate: {WANT}"
    assert "tidegate-server" not in alone.stdout

    address = server.url.removeprefix("https://")
    password = server.admin_password()
    login = ["login", address, "--username=admin", f"--password={password}", "--insecure"]
    assert _cli(*login, config=config).returncode == 0

    short = _cli("version", "-o", "short", config=config)
    assert short.returncode == 0, short.stderr
    assert short.stdout.splitlines() == [f"tidegate: {WANT}", f"tidegate-server: {WANT}"]
    as_json = json.loads(_cli("version", "-o", "json", config=config).stdout)
    assert as_json["client"]["Version"] == as_json["server"]["Version"] == WANT
    as_yaml = yaml.safe_load(_cli("version", "-o", "yaml", "--client", config=config).stdout)
    assert set(as_yaml) == {"client"}
    text = _cli("version", config=config).stdout
    assert f"tidegate-server: {WANT}" in text and "  Compiler: cpython" in text

    server.stop()  # a current context whose server is gone: client printed, error, exit 1
    gone = _cli("version", config=config)
    assert gone.returncode == 1
    assert gone.stdout.splitlines()[0] == f"tidegate: {WANT}"
    assert address in gone.stderr
