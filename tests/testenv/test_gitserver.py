"""The test bed's git server, exercised with the real git client over HTTP, HTTPS and SSH."""

from __future__ import annotations

import base64
import gzip
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.testenv import gitrepos, gitserver


def _git(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def _git_fails(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["git", *args],
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0, f"git {' '.join(args)} unexpectedly succeeded"
    return result.stderr


def _ssh_env(info: gitserver.GitServerInfo) -> dict[str, str]:
    command = (
        f"ssh -F /dev/null -i {info.ssh_private_key_path} -o IdentitiesOnly=yes -o BatchMode=yes"
        f" -o UserKnownHostsFile={info.known_hosts_path} -o StrictHostKeyChecking=yes"
    )
    return {"GIT_SSH_COMMAND": command}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    with gitserver.GitServer.start(tmp_path_factory.mktemp("gitserver"), ssh=True) as running:
        yield running


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    directory = tmp_path_factory.mktemp("gitserver-tls")
    with gitserver.GitServer.start(directory, tls=True, ssh=False) as running:
        yield running


def test_clone_and_push_over_http_with_basic_auth(
    server: gitserver.GitServer, tmp_path: Path
) -> None:
    seed = tmp_path / "seed"
    (seed / "app").mkdir(parents=True)
    (seed / "app" / "cm.yaml").write_text("kind: ConfigMap\n")
    repo = server.create_repo("team/http-app", from_dir=seed)
    assert repo.http_url == f"{server.info.http_base}/team/http-app.git"

    work = server.working_copy("team/http-app")
    assert (work.path / "app" / "cm.yaml").read_text() == "kind: ConfigMap\n"
    sha = work.commit(
        {"app/big.bin": os.urandom(3 * 1024 * 1024), "app/link": gitrepos.Symlink("cm.yaml")},
        "add a big file (chunked upload) and a symlink",
        delete=["app/cm.yaml"],
    )

    fresh = tmp_path / "fresh"
    _git("clone", "--quiet", repo.http_url, str(fresh), env=server.client_env())
    assert _git("rev-parse", "HEAD", cwd=fresh).strip() == sha
    assert not (fresh / "app" / "cm.yaml").exists()
    assert os.readlink(fresh / "app" / "link") == "cm.yaml"
    assert (fresh / "app" / "big.bin").stat().st_size == 3 * 1024 * 1024


def test_branches_and_tags_are_pushed(server: gitserver.GitServer) -> None:
    repo = server.create_repo("refs-app")
    work = server.working_copy("refs-app")
    first = work.commit({"a.txt": "1"}, "first")
    work.tag("v1.0.0")
    annotated = work.tag("v1.0.1", message="release 1.0.1")
    work.branch("feature")
    second = work.commit({"a.txt": "2"}, "second")

    listing = _git("ls-remote", repo.http_url, env=server.client_env())
    refs = {ref: sha for sha, ref in (line.split("\t") for line in listing.splitlines())}
    assert refs["refs/heads/main"] == first
    assert refs["refs/heads/feature"] == second
    assert refs["refs/tags/v1.0.0"] == first
    assert refs["refs/tags/v1.0.1"] == annotated != first
    assert refs["refs/tags/v1.0.1^{}"] == first


def test_wrong_password_gets_401_with_basic_challenge(server: gitserver.GitServer) -> None:
    repo = server.create_repo("guarded")
    url = f"{repo.http_url}/info/refs?service=git-upload-pack"
    for header in (None, "Basic " + base64.b64encode(b"tidegate:wrong").decode(), "Bearer x"):
        request = urllib.request.Request(url)
        if header:
            request.add_header("Authorization", header)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        assert caught.value.code == 401
        assert caught.value.headers["WWW-Authenticate"].startswith("Basic ")

    wrong = gitrepos.client_env(server.info.username, "not-the-password", None)
    stderr = _git_fails("ls-remote", repo.http_url, env=wrong)
    # git was refused and, having no askpass, could not ask for other credentials
    assert "Authentication failed" in stderr or "could not read Username" in stderr


def test_clone_and_push_over_ssh_with_key(server: gitserver.GitServer, tmp_path: Path) -> None:
    repo = server.create_repo("team/ssh-app")
    assert repo.ssh_url is not None
    sha = server.working_copy("team/ssh-app").commit({"x.yaml": "x: 1\n"}, "over http")

    clone = tmp_path / "clone"
    _git("clone", "--quiet", repo.ssh_url, str(clone), env=_ssh_env(server.info))
    assert _git("rev-parse", "HEAD", cwd=clone).strip() == sha
    (clone / "y.yaml").write_text("y: 2\n")
    _git("add", "y.yaml", cwd=clone)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "over ssh", cwd=clone)
    _git("push", "--quiet", "origin", "HEAD:main", cwd=clone, env=_ssh_env(server.info))
    pushed = _git("rev-parse", "HEAD", cwd=clone).strip()
    assert _git("ls-remote", repo.http_url, "refs/heads/main", env=server.client_env()).startswith(
        pushed
    )


def test_ssh_key_may_only_run_git_on_the_repo_root(server: gitserver.GitServer) -> None:
    info = server.info
    assert info.ssh_base is not None
    port = info.ssh_base.rsplit(":", 1)[1]
    base = [
        "ssh", "-F", "/dev/null", "-i", str(info.ssh_private_key_path), "-p", port,
        "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={info.known_hosts_path}",
        f"{info.ssh_base.split('//')[1].split(':')[0]}",
    ]  # fmt: skip
    for command in ("id", "git-upload-pack '/../../etc'", "git-upload-pack '/missing.git'"):
        result = subprocess.run(
            [*base, command], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode != 0, command
        assert "uid=" not in result.stdout


def test_ssh_unknown_host_is_rejected(server: gitserver.GitServer, tmp_path: Path) -> None:
    repo = server.create_repo("strict-host")
    assert repo.ssh_url is not None
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    command = (
        f"ssh -F /dev/null -i {server.info.ssh_private_key_path} -o BatchMode=yes"
        f" -o UserKnownHostsFile={empty} -o StrictHostKeyChecking=yes"
    )
    stderr = _git_fails("ls-remote", repo.ssh_url, env={"GIT_SSH_COMMAND": command})
    assert "Host key verification failed" in stderr


def test_partial_clone_omits_blobs(server: gitserver.GitServer, tmp_path: Path) -> None:
    repo = server.create_repo("partial")
    server.working_copy("partial").commit({f"f{i}.txt": f"{i}\n" for i in range(20)}, "twenty")
    bare = tmp_path / "partial.git"
    _git("clone", "--quiet", "--bare", "--filter=blob:none", repo.http_url, str(bare),
         env=server.client_env())  # fmt: skip
    listed = _git("rev-list", "--objects", "--all", "--missing=print", cwd=bare)
    missing = [line for line in listed.splitlines() if line.startswith("?")]
    assert len(missing) == 20


def test_tls_clone_needs_the_ca(tls_server: gitserver.GitServer, tmp_path: Path) -> None:
    assert tls_server.info.http_base.startswith("https://127.0.0.1:")
    assert tls_server.info.ca_path is not None and tls_server.info.ssh_base is None
    repo = tls_server.create_repo("tls-app")
    sha = tls_server.working_copy("tls-app").commit({"a": "b"}, "over https")
    _git("clone", "--quiet", repo.http_url, str(tmp_path / "c"), env=tls_server.client_env())
    assert _git("rev-parse", "HEAD", cwd=tmp_path / "c").strip() == sha

    no_ca = gitrepos.client_env(tls_server.info.username, tls_server.info.password, None)
    stderr = _git_fails("ls-remote", repo.http_url, env=no_ca)
    assert "certificate" in stderr.lower()


def test_daemon_serves_until_stopped(tmp_path: Path) -> None:
    directory = tmp_path / "daemon"
    info = gitserver.start_daemon(directory, tls=False, ssh=True)
    try:
        written = json.loads((directory / "git.json").read_text())
        assert written["password"] == info.password and written["sshd_pid"] == info.sshd_pid
        assert (directory / "git.json").stat().st_mode & 0o077 == 0
        gitrepos.create_bare(directory / "repos" / "d.git")
        env = gitrepos.client_env(info.username, info.password, None)
        assert _git("ls-remote", f"{info.http_base}/d.git", env=env) == ""
        assert info.ssh_base is not None and info.sshd_pid is not None
        assert _git("ls-remote", f"{info.ssh_base}/d.git", env=_ssh_env(info)) == ""
    finally:
        assert gitserver.stop_daemon(directory)
    assert not (directory / "git.json").exists()
    assert not gitserver._alive(info.sshd_pid)
    assert not gitserver.stop_daemon(directory)


def test_gzip_encoded_request_body(server: gitserver.GitServer) -> None:
    repo = server.create_repo("gzip")
    head = server.working_copy("gzip").commit({"f": "1"}, "one")
    # A protocol v2 ls-refs request, gzip-compressed as git does for request bodies over 1 KiB.
    body = gzip.compress(b"0014command=ls-refs\n" + b"0001" + b"0000")
    token = base64.b64encode(f"{server.info.username}:{server.info.password}".encode()).decode()
    request = urllib.request.Request(
        f"{repo.http_url}/git-upload-pack",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Basic {token}",
            "Content-Type": "application/x-git-upload-pack-request",
            "Content-Encoding": "gzip",
            "Git-Protocol": "version=2",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"] == "application/x-git-upload-pack-result"
        advertised = response.read().decode()
    assert f"{head} refs/heads/main" in advertised
