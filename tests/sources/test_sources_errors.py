"""Failures against real servers: each error has the right type, names the repo and revision,
and never contains a credential."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials
from tidegate.testenv import gitserver


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_server(cache: RepoCache) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/team/app.git"
    with pytest.raises(errors.RepoUnreachableError) as caught:
        await cache.resolve(url, "main")
    assert url in str(caught.value)
    assert isinstance(caught.value, errors.TemporaryError)


async def test_unreachable_ssh_server(cache: RepoCache) -> None:
    url = f"ssh://git@127.0.0.1:{_closed_port()}/app.git"
    with pytest.raises(errors.RepoUnreachableError, match="connection refused"):
        await cache.resolve(url, "main", creds=RepoCredentials(insecure=True))


async def test_concurrent_callers_share_one_failure(cache: RepoCache) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/shared.git"
    outcomes = await asyncio.gather(
        *(cache.resolve(url, "main") for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(o, errors.RepoUnreachableError) for o in outcomes)


async def test_wrong_password_is_an_authentication_error_without_the_password(
    git_server: gitserver.GitServer, cache: RepoCache
) -> None:
    repo = git_server.create_repo("errors/wrong-password")
    secret = "Wr0ng-Passw0rd-Value"
    creds = RepoCredentials(username=git_server.info.username, password=secret)
    with pytest.raises(errors.AuthenticationError) as caught:
        await cache.resolve(repo.http_url, "main", creds=creds)
    assert repo.http_url in str(caught.value)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert isinstance(caught.value, errors.PermanentError)

    in_url = repo.http_url.replace("://", f"://{git_server.info.username}:{secret}@")
    other = RepoCache(cache.root.parent / "url-creds", timeout=60)
    with pytest.raises(errors.AuthenticationError) as caught:
        await other.resolve(in_url, "main")
    assert secret not in str(caught.value) and repo.http_url in str(caught.value)


async def test_missing_repository(git_server: gitserver.GitServer, cache: RepoCache) -> None:
    info = git_server.info
    creds = RepoCredentials(username=info.username, password=info.password)
    with pytest.raises(errors.RepoNotFoundError, match="repository not found"):
        await cache.resolve(f"{info.http_base}/no/such/repo.git", "main", creds=creds)


async def test_missing_branch_names_repo_and_revision(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials
) -> None:
    repo = git_server.create_repo("errors/missing-branch")
    git_server.working_copy("errors/missing-branch").commit({"a": "b"}, "a")
    for revision in ("no-such-branch", "v9.9.9", "0" * 40, "abcdef1"):
        with pytest.raises(errors.RevisionNotFoundError) as caught:
            await cache.resolve(repo.http_url, revision, creds=http_creds)
        assert repo.http_url in str(caught.value) and repr(revision) in str(caught.value)


async def test_ssh_unknown_host_rejected_unless_insecure(
    git_server: gitserver.GitServer, cache: RepoCache, ssh_creds: RepoCredentials, tmp_path: Path
) -> None:
    repo = git_server.create_repo("errors/ssh-host")
    sha = git_server.working_copy("errors/ssh-host").commit({"a": "b"}, "a")
    assert repo.ssh_url is not None
    unknown = RepoCredentials(ssh_private_key=ssh_creds.ssh_private_key, known_hosts="")
    with pytest.raises(errors.AuthenticationError, match="SSH host key not trusted") as caught:
        await cache.resolve(repo.ssh_url, "main", creds=unknown)
    assert "PRIVATE KEY" not in str(caught.value)

    wrong_host = RepoCredentials(
        ssh_private_key=ssh_creds.ssh_private_key,
        known_hosts=ssh_creds.known_hosts.replace("AAAA", "AAAB", 1),
    )
    with pytest.raises(errors.AuthenticationError):
        await cache.resolve(repo.ssh_url, "main", creds=wrong_host, max_age=0)

    insecure = RepoCredentials(ssh_private_key=ssh_creds.ssh_private_key, insecure=True)
    assert await cache.resolve(repo.ssh_url, "main", creds=insecure, max_age=0) == sha


async def test_ssh_wrong_key_rejected(
    git_server: gitserver.GitServer, cache: RepoCache, ssh_creds: RepoCredentials, tmp_path: Path
) -> None:
    repo = git_server.create_repo("errors/ssh-key")
    assert repo.ssh_url is not None
    other_key = tmp_path / "other"
    process = await asyncio.create_subprocess_exec(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)
    )
    assert await process.wait() == 0
    key_text = other_key.read_text()
    creds = RepoCredentials(ssh_private_key=key_text, known_hosts=ssh_creds.known_hosts)
    with pytest.raises(errors.AuthenticationError, match="SSH key rejected") as caught:
        await cache.resolve(repo.ssh_url, "main", creds=creds)
    body = key_text.splitlines()[1]
    assert body not in str(caught.value)
    assert not list((cache.root / ".state").glob("cmd-*"))  # key files removed after the command
