"""``tidegate repo get``, ``repo rm --project`` and argocd's other repository flags
(``--bearer-token``, ``--github-app-*``, ``--depth``) against the test bed's git server and
Secrets in a fresh control namespace on ``mgmt``; the bearer token is watched arriving at an
HTTPS endpoint of the test's own, since the test bed's git server speaks basic auth only; the
GitHub App's access test runs against a real HTTPS git server of the test's own admitting only
``x-access-token`` and ``testenv.githubapi`` playing GitHub's token endpoint."""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import re
import secrets
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.cli.test_repo_cmd import cli, control_ns, fields, repo, repo_secrets  # noqa: F401

from tidegate.testenv import githubapi, gitrepos, gitserver, handle

pytestmark = pytest.mark.e2e


def _unboxed(stderr: str) -> str:
    """A usage error's text without the frame Rich draws around it (and its line breaks)."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", stderr).split())


def test_get_and_rm_by_project(
    cli: Any,  # noqa: F811
    testbed_handle: handle.TestBed,
    control_ns: str,  # noqa: F811
    git_remote: handle.GitRemote,
    repo: gitrepos.RepoInfo,  # noqa: F811
) -> None:
    login = ("--username", git_remote.username, "--password", git_remote.password)
    assert cli("repo", "add", repo.http_url, *login, "--project", "team").returncode == 0
    table = cli("repo", "get", repo.http_url)
    assert table.returncode == 0, table.stderr
    assert [line.split() for line in table.stdout.splitlines()] == [
        ["REPO", "TYPE", "NAME", "PROJECT", "STATUS"],
        [repo.http_url, "git", "team", "Successful"],
    ]
    assert cli("repo", "get", repo.http_url, "-o", "url").stdout.strip() == repo.http_url
    info = json.loads(cli("repo", "get", repo.http_url, "-o", "json", "--refresh", "hard").stdout)
    assert (info["repo"], info["project"], info["credentials"]) == (
        repo.http_url, "team", ["password"]
    )  # fmt: skip
    assert info["connectionState"] == {"status": "Successful", "message": ""}
    assert git_remote.password not in json.dumps(info)
    for args, code, error in [
        (["repo", "get", repo.http_url + "-missing"], 1, "is not registered"),
        (["repo", "get", repo.http_url, "--project", "other"], 1, "in project 'other'"),
        (["repo", "get", repo.http_url, "--refresh", "soft"], 2, "'soft' is not 'hard'"),
        (["repo", "rm", repo.http_url, "--project", "other"], 1,
         "is not registered in project 'other' (it is registered for project 'team')"),
    ]:  # fmt: skip
        result = cli(*args)
        assert (result.returncode, result.stdout) == (code, ""), result.stderr
        assert error in result.stderr
    assert len(repo_secrets(testbed_handle, control_ns)) == 1
    assert cli("repo", "rm", repo.http_url, "--project", "team").returncode == 0
    assert repo_secrets(testbed_handle, control_ns) == []


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization") or "")
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp / "tls.crt", tmp / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@pytest.fixture
def https_recorder(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS endpoint that answers 401 and records the Authorization header git sends."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    _Recorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/team/app.git", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


def test_bearer_token_is_sent_and_stored_never_shown(
    cli: Any,  # noqa: F811
    testbed_handle: handle.TestBed,
    control_ns: str,  # noqa: F811
    https_recorder: tuple[str, list[str]],
) -> None:
    url, seen = https_recorder
    token = f"tok-{secrets.token_hex(12)}"
    refused = cli("repo", "add", url, "--bearer-token", token,
                  "--insecure-skip-server-verification")  # fmt: skip
    assert refused.returncode == 1
    assert f"Bearer {token}" in seen  # git presented the token
    assert token not in refused.stdout + refused.stderr
    assert repo_secrets(testbed_handle, control_ns) == []

    stored = cli("repo", "add", url, "--bearer-token", token, "--skip-test", "--depth", "5")
    assert stored.returncode == 0, stored.stderr
    assert "depth" not in stored.stderr  # used by fetches now: nothing to warn about
    [secret] = repo_secrets(testbed_handle, control_ns)
    assert fields(secret) == {"url": url, "type": "git", "bearerToken": token, "depth": "5"}
    listed = cli("repo", "list", "--no-refresh", "-o", "json")
    assert json.loads(listed.stdout)[0]["credentials"] == ["token"]
    assert token not in listed.stdout

    for args, error in [
        ([url, "--bearer-token", token, "--username", "u", "--password", "p"],
         "--bearer-token replaces --username/--password"),
        ([url.replace("https://", "http://"), "--bearer-token", token],
         "are for https:// URLs"),
        ([url, "--depth", "-1", "--upsert"], "--depth must be 0 (full) or more"),
    ]:  # fmt: skip
        result = cli("repo", "add", *args)
        assert result.returncode == 2, result.stderr
        assert error in _unboxed(result.stderr) and token not in result.stderr
    assert len(repo_secrets(testbed_handle, control_ns)) == 1


def test_github_app_access_test_exchanges_a_token_and_stores_argocds_fields(
    cli: Any,  # noqa: F811
    testbed_handle: handle.TestBed,
    control_ns: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    private, public = githubapi.app_key_pair()
    key = tmp_path / "app.pem"
    key.write_text(private)
    # A real HTTPS git server admitting only x-access-token (as github.com), and GitHub's
    # token endpoint handing installation 456 that server's token.
    with (
        gitserver.GitServer.start(tmp_path / "git", tls=True, ssh=False,
                                  username="x-access-token") as server,
        contextlib.closing(githubapi.TokenEndpoint(public, app_id="123",
                                                   tokens={"456": server.info.password})) as github,
    ):  # fmt: skip
        url = server.create_repo("org/app").http_url
        server.working_copy("org/app").commit({"a.yaml": "a: 1\n"}, "first")
        app = ["--github-app-id", "123", "--github-app-private-key-path", str(key),
               "--github-app-enterprise-base-url", github.url,
               "--insecure-skip-server-verification"]  # fmt: skip
        incomplete = cli("repo", "add", url, *app[:2])
        assert incomplete.returncode == 2
        assert "a GitHub App needs --github-app-id, --github-app-installation-id" in _unboxed(
            incomplete.stderr
        )
        refused = cli("repo", "add", url, *app, "--github-app-installation-id", "999")
        assert refused.returncode == 1, refused.stderr
        assert "/app/installations/999/access_tokens was refused: HTTP 404: Not Found" in (
            _unboxed(refused.stderr)
        )
        assert "PRIVATE KEY" not in refused.stdout + refused.stderr
        assert repo_secrets(testbed_handle, control_ns) == []

        added = cli("repo", "add", url, *app, "--github-app-installation-id", "456")
        assert added.returncode == 0, added.stderr
        assert added.stdout.strip() == f"repository {url} added"  # access tested
        assert "installation token" not in added.stderr and github.exchanges == ["456"]
        [secret] = repo_secrets(testbed_handle, control_ns)
        assert fields(secret) == {
            "url": url, "type": "git", "githubAppID": "123", "githubAppInstallationID": "456",
            "githubAppPrivateKey": key.read_text(), "githubAppEnterpriseBaseUrl": github.url,
            "insecure": "true",
        }  # fmt: skip
        listed = cli("repo", "list", "-o", "json")
        [row] = json.loads(listed.stdout)
        assert row["credentials"] == ["github-app"]
        assert row["connectionState"] == {"status": "Successful", "message": ""}
        assert "PRIVATE KEY" not in listed.stdout and server.info.password not in listed.stdout

    prefix = "https://github.example/org/"
    creds = cli("repocreds", "add", prefix, "--github-app-id", "123",
                "--github-app-installation-id", "456",
                "--github-app-private-key-path", str(key))  # fmt: skip
    assert creds.returncode == 0, creds.stderr
    assert creds.stderr == ""
    [template] = [s for s in repo_secrets(testbed_handle, control_ns)
                  if s["metadata"]["name"] != secret["metadata"]["name"]]  # fmt: skip
    assert {k: v for k, v in fields(template).items() if k.startswith("githubApp")} == {
        "githubAppID": "123", "githubAppInstallationID": "456",
        "githubAppPrivateKey": key.read_text(),
    }  # fmt: skip
