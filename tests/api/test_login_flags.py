"""``tidegate login``'s TLS test (argocd's: a server without TLS or with a certificate that
does not verify asks whether to go on; ``--skip-test-tls`` skips the test) and ``--callback``'s
bad input, against real ``tidegate server`` processes (TLS with a self-signed certificate, and
plain HTTP)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tidegate.testenv import serverproc

pytestmark = pytest.mark.e2e


def _login(
    address: str, password: str, config: Path, *extra: str, answer: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", "login", address, "--username=admin",
         f"--password={password}", f"--config={config}", *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        input=answer if answer is not None else "",
    )  # fmt: skip


def test_self_signed_certificate_asks_before_going_insecure(
    server: serverproc.ServerProcess, tmp_path: Path
) -> None:
    address, password = server.url.removeprefix("https://"), server.admin_password()
    config = tmp_path / "config"
    declined = _login(address, password, config, answer="n\n")
    assert declined.returncode == 1
    assert "WARNING: server certificate had error:" in declined.stderr
    assert "Proceed insecurely (y/n)?" in declined.stderr
    assert "a self-signed certificate needs --insecure" in declined.stderr
    assert not config.exists()

    skipped = _login(address, password, config, "--skip-test-tls", answer="y\n")
    assert skipped.returncode == 1  # no test, no question: TLS verified, and refused
    assert "WARNING" not in skipped.stderr and "--insecure" in skipped.stderr
    assert not config.exists()

    accepted = _login(address, password, config, answer="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "'admin:login' logged in successfully" in accepted.stdout
    saved = yaml.safe_load(config.read_text())
    assert saved["servers"] == [{"server": address, "insecure": True, "plain-text": False}]
    assert password not in accepted.stdout + accepted.stderr


def test_plain_http_server_asks_before_going_plain(
    server: serverproc.ServerProcess, tmp_path: Path
) -> None:
    plain = serverproc.ServerProcess(
        server.bed, server.namespace, log=tmp_path / "plain.log", insecure=True
    ).start()
    try:
        address = plain.url.removeprefix("http://")
        config = tmp_path / "config"
        declined = _login(address, server.admin_password(), config)  # stdin closed: no
        assert declined.returncode == 1
        assert "WARNING: server is not configured with TLS. Proceed (y/n)?" in declined.stderr
        assert "log in with --plaintext" in declined.stderr
        accepted = _login(address, server.admin_password(), config, answer="yes\n")
        assert accepted.returncode == 0, accepted.stderr
        saved = yaml.safe_load(config.read_text())
        assert saved["servers"] == [{"server": address, "insecure": False, "plain-text": True}]
    finally:
        plain.stop()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--callback", "http://127.0.0.1:9"], "--callback is the SSO login's redirect"),
        (["--sso", "--callback", "ftp://host:1"], "is not http(s)://HOST[:PORT]"),
        (["--sso", "--callback", "http://host:1/path"], "has a path or query"),
    ],
)
def test_callback_bad_input_is_a_usage_error(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    done = _login("127.0.0.1:9", "x", tmp_path / "config", *extra)
    assert done.returncode == 2, done.stderr
    assert message in " ".join(done.stderr.split())
