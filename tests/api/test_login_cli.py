"""``tidegate login|context|logout`` against a real ``tidegate server``."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tidegate.testenv import serverproc

pytestmark = pytest.mark.e2e


def _cli(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args, f"--config={config}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_login_stores_a_context_and_logout_forgets_it(
    server: serverproc.ServerProcess, tmp_path: Path
) -> None:
    config = tmp_path / "tidegate" / "config"
    address = server.url.removeprefix("https://")
    password = server.admin_password()

    refused = _cli("login", address, "--username=admin", f"--password={password}", config=config)
    assert refused.returncode == 1 and "--insecure" in refused.stderr  # self-signed certificate
    wrong = _cli(
        "login", address, "--username=admin", "--password=nope", "--insecure", config=config
    )
    assert wrong.returncode == 1
    assert "Invalid username or password (HTTP 401)" in wrong.stderr
    assert not config.exists()

    done = _cli(
        "login", address, "--username=admin", f"--password={password}", "--insecure", config=config
    )
    assert done.returncode == 0, done.stderr
    assert "'admin:login' logged in successfully" in done.stdout
    assert password not in done.stdout + done.stderr
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    saved = yaml.safe_load(config.read_text())
    assert saved["current-context"] == address
    assert saved["servers"] == [{"server": address, "insecure": True, "plain-text": False}]
    token = saved["users"][0]["auth-token"]
    with server.client(token=token) as client:
        assert client.get("/api/v1/session/userinfo").json()["username"] == "admin"

    listed = _cli("context", config=config)
    assert listed.stdout.splitlines()[1].split() == ["*", address, address]
    assert _cli("context", "nope", config=config).returncode == 1
    out = _cli("logout", config=config)
    assert out.returncode == 0 and f"Logged out from '{address}'" in out.stdout
    assert "auth-token" not in yaml.safe_load(config.read_text())["users"][0]


def test_plaintext_login_to_an_insecure_server(
    server: serverproc.ServerProcess, tmp_path: Path
) -> None:
    plain = serverproc.ServerProcess(
        server.bed, server.namespace, log=tmp_path / "plain.log", insecure=True
    ).start()
    try:
        assert plain.url.startswith("http://")
        config = tmp_path / "config"
        address = plain.url.removeprefix("http://")
        done = _cli(
            "login",
            address,
            "--username=admin",
            f"--password={server.admin_password()}",
            "--plaintext",
            config=config,
        )
        assert done.returncode == 0, done.stderr
        with httpx.Client(base_url=plain.url) as client:
            resp = client.post(
                "/api/v1/session",
                content=b'{"username": "admin", "password": "x"}',
                headers={"Content-Type": "application/json"},
            )
            assert resp.status_code == 401
        token = yaml.safe_load(config.read_text())["users"][0]["auth-token"]
        with plain.client() as client:
            resp = client.post(
                "/api/v1/session",
                content=f'{{"username": "admin", "password": "{server.admin_password()}"}}',
                headers={"Content-Type": "application/json"},
            )
            assert "Secure" not in resp.headers["set-cookie"]  # plain HTTP: no Secure cookie
            info = client.get(
                "/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"}
            )
            assert info.status_code == 200
    finally:
        plain.stop()
