"""Fixtures for git source tests: real git servers (HTTP with basic auth, SSH; HTTPS with a CA)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.sources import RepoCache, RepoCredentials, gitcmd
from tidegate.testenv import gitserver


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    with gitserver.GitServer.start(tmp_path_factory.mktemp("src-git"), ssh=True) as server:
        yield server


@pytest.fixture(scope="session")
def tls_git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    directory = tmp_path_factory.mktemp("src-git-tls")
    with gitserver.GitServer.start(directory, tls=True, ssh=False) as server:
        yield server


@pytest.fixture
def http_creds(git_server: gitserver.GitServer) -> RepoCredentials:
    return RepoCredentials(username=git_server.info.username, password=git_server.info.password)


@pytest.fixture
def ssh_creds(git_server: gitserver.GitServer) -> RepoCredentials:
    info = git_server.info
    assert info.ssh_private_key_path and info.known_hosts_path
    return RepoCredentials(
        ssh_private_key=Path(info.ssh_private_key_path).read_text(),
        known_hosts=Path(info.known_hosts_path).read_text(),
    )


@pytest.fixture
def cache(tmp_path: Path) -> RepoCache:
    return RepoCache(tmp_path / "cache", timeout=60)


# Small timeouts for fault tests: a stalled HTTP transfer or an SSH handshake ends after a few
# seconds; two git processes at once, so a hung repository leaves one for all the others.
FAST_LIMITS = gitcmd.GitLimits(
    connect_timeout=2,
    low_speed_limit=1000,
    low_speed_time=3,
    server_alive_interval=1,
    server_alive_count_max=2,
    deadline=60,
    max_processes=2,
)


@pytest.fixture
def fast_cache(tmp_path: Path) -> RepoCache:
    return RepoCache(tmp_path / "fast-cache", limits=FAST_LIMITS)
