"""A hung repository does not hold up the others (the test bed's real git server for the healthy
repositories, a loopback proxy in front of one of them to make it hang and recover).

Ordering, not wall-clock, is asserted: every healthy operation completes while the hung ones are
still in flight; only the hung operation's end is checked against a generous sanity bound.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials, repohealth
from tidegate.sources.cache import Resolution
from tidegate.testenv import handle
from tidegate.testenv.faultproxy import FaultProxy, Mode
from tidegate.testenv.wait import eventually


@pytest.fixture
def creds(git_remote: handle.GitRemote) -> RepoCredentials:
    return RepoCredentials(username=git_remote.username, password=git_remote.password)


@pytest.fixture
def proxy(git_remote: handle.GitRemote) -> Iterator[FaultProxy]:
    probe = git_remote.create_repo(prefix="probe")
    parts = urlsplit(probe.http_url)
    assert parts.hostname and parts.port
    with FaultProxy(Mode.FORWARD, upstream=(parts.hostname, parts.port)) as fault:
        yield fault


def _through(proxy: FaultProxy, url: str) -> str:
    return proxy.url(urlsplit(url).path)


async def test_a_hung_repository_does_not_hold_up_the_others(
    tmp_path: Path,
    fast_cache: RepoCache,
    git_remote: handle.GitRemote,
    creds: RepoCredentials,
    proxy: FaultProxy,
) -> None:
    # The hung operations must outlast the healthy work even on a loaded machine: 10 s each.
    limits = dataclasses.replace(fast_cache.limits, low_speed_time=10)
    assert limits.max_processes == 2  # one for the hung repository at most, one for the others
    cache = RepoCache(tmp_path / "cache", limits=limits)
    # The repository that will hang: fetched once while healthy, then its server stops answering
    # and a new commit lands that the cache cannot see.
    flaky = git_remote.create_repo(prefix="flaky")
    flaky_work = git_remote.working_copy(flaky, tmp_path / "flaky")
    first = flaky_work.commit({"app/cm.yaml": "kind: ConfigMap\n"}, "first")
    flaky_url = _through(proxy, flaky.http_url)
    assert await cache.resolve(flaky_url, "main", creds=creds) == first
    healthy = []
    for index in range(3):
        repo = git_remote.create_repo(prefix=f"healthy{index}")
        sha = git_remote.working_copy(repo, tmp_path / f"h{index}").commit(
            {"app/cm.yaml": f"n: {index}\n"}, "healthy"
        )
        healthy.append((repo.http_url, sha))

    proxy.mode = Mode.HANG
    second = flaky_work.commit({"app/cm.yaml": "kind: ConfigMap # 2\n"}, "second")
    started = time.monotonic()
    # Two operations on the hung repository: a ref fetch, and a blob fetch queued behind it.
    hung_refs = asyncio.create_task(cache.resolve(flaky_url, "main", creds=creds, max_age=0))
    hung_blobs = asyncio.create_task(cache.read_files(flaky_url, first, ["app/cm.yaml"]))
    await eventually(lambda: cache.health(flaky_url).operation == "git fetch")

    async def use(url: str, sha: str) -> None:
        assert await cache.resolve(url, "main", creds=creds, max_age=0) == sha
        assert await cache.list_files(url, sha, creds=creds) == ["app/cm.yaml"]
        assert list(await cache.read_files(url, sha, ["app/cm.yaml"], creds=creds)) == [
            "app/cm.yaml"
        ]
        assert (await cache.checkout(url, sha, creds=creds)).is_dir()

    await asyncio.gather(*(use(url, sha) for url, sha in healthy))
    assert not hung_refs.done() and not hung_blobs.done()  # healthy work finished first
    assert all(not cache.health(url).failing for url, _ in healthy)

    with pytest.raises(errors.RepoUnreachableError, match="timed out"):
        await hung_refs
    with pytest.raises(errors.RepoUnreachableError, match="timed out"):
        await hung_blobs
    assert (
        time.monotonic() - started < cache.limits.deadline
    )  # sanity: ended by the low-speed check
    health = cache.health(flaky_url)
    assert health.consecutive_failures == 2 and health.operation is None
    message = repohealth.condition_message(health, now=time.monotonic(), last_commit=first)
    assert message is not None
    assert message.startswith(f"repository {flaky_url} has not answered for ")
    assert message.endswith(
        f"; 2 attempts); showing the last rendered target of commit {first[:12]}"
    )

    # While it cannot be reached: the last known commit, flagged stale, without waiting on it.
    connections = proxy.connections
    found = await cache.resolve_or_last(flaky_url, "main", creds=creds, max_age=0)
    assert found.commit == first and found.stale
    assert isinstance(found.error, errors.RepoUnreachableError)
    assert proxy.connections == connections  # still backing off: the server was not asked
    # ...but a pinned commit already fetched is no less current, nor data within max_age.
    assert await cache.resolve_or_last(flaky_url, first, creds=creds, max_age=0) == (
        Resolution(first)
    )
    assert await cache.resolve_or_last(flaky_url, "main", creds=creds, max_age=3600) == (
        Resolution(first)
    )
    assert proxy.connections == connections
    assert (await cache.list_files(flaky_url, first, creds=creds)) == ["app/cm.yaml"]

    # A restarted process (a new cache on the same directory) falls back to what is on disk.
    restarted = RepoCache(cache.root, limits=cache.limits)
    found = await restarted.resolve_or_last(flaky_url, "main", creds=creds)
    assert found.commit == first and found.stale and restarted.health(flaky_url).failing

    # The server answers again: a background retry picks up the new commit.
    proxy.mode = Mode.FORWARD

    async def recovered() -> bool:
        found = await cache.resolve_or_last(flaky_url, "main", creds=creds, max_age=0)
        return found.commit == second and not found.stale

    await eventually(recovered, within=90, every=0.5)
    health = cache.health(flaky_url)
    assert not health.failing and health.last_success is not None and health.last_error is None
    assert repohealth.condition_message(health, now=time.monotonic()) is None


async def test_stale_fallback_needs_something_fetched(
    fast_cache: RepoCache, git_remote: handle.GitRemote, creds: RepoCredentials, proxy: FaultProxy
) -> None:
    repo = git_remote.create_repo(prefix="never-fetched")
    proxy.mode = Mode.HANG
    with pytest.raises(errors.RepoUnreachableError):
        await fast_cache.resolve_or_last(_through(proxy, repo.http_url), "main", creds=creds)


async def test_permanent_errors_are_not_hidden_by_the_fallback(
    tmp_path: Path, fast_cache: RepoCache, git_remote: handle.GitRemote, creds: RepoCredentials
) -> None:
    repo = git_remote.create_repo(prefix="perm")
    sha = git_remote.working_copy(repo, tmp_path / "w").commit({"a": "1"}, "one")
    assert (await fast_cache.resolve_or_last(repo.http_url, "main", creds=creds)).commit == sha
    wrong = RepoCredentials(username=creds.username, password="not-the-password")
    with pytest.raises(errors.AuthenticationError):
        await fast_cache.resolve_or_last(repo.http_url, "main", creds=wrong, max_age=0)
    with pytest.raises(errors.RevisionNotFoundError):
        await fast_cache.resolve_or_last(repo.http_url, "no-such-branch", creds=creds, max_age=0)
