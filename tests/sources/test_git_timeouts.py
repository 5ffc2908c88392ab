"""Real git against servers that misbehave on loopback: one that accepts and never answers, one
that answers HTTP headers then trickles; over HTTP and SSH. Each ends with a clear temporary
error naming the repository, within its configured timeout, and the health record says so."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials, gitcmd
from tidegate.testenv.faultproxy import FaultProxy, Mode

SECRET = "s3cret-pw-xyz"
CREDS = RepoCredentials(username="bot", password=SECRET)


@pytest.fixture
def hung() -> Iterator[FaultProxy]:
    with FaultProxy(Mode.HANG) as proxy:
        yield proxy


def _processes_under(root: Path) -> list[int]:
    """Live processes whose working directory lies under ``root`` (git and its helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd.startswith(str(root)):
                found.append(int(entry.name))
    return found


async def _fails(cache: RepoCache, url: str, creds: RepoCredentials) -> errors.SourceError:
    started = time.monotonic()
    with pytest.raises(errors.RepoUnreachableError) as caught:
        await cache.resolve(url, "main", creds=creds)
    # Generous sanity bound: it ended by its own timeout, long before the overall deadline.
    assert time.monotonic() - started < cache.limits.deadline
    assert isinstance(caught.value, errors.TemporaryError)
    return caught.value


async def test_http_server_that_never_answers(fast_cache: RepoCache, hung: FaultProxy) -> None:
    url = hung.url("org/never.git")
    error = await _fails(fast_cache, url, CREDS)

    shown = f"http://127.0.0.1:{hung.port}/org/never.git"
    assert str(error).startswith(f"repository {shown}: timed out: the server stopped sending")
    health = fast_cache.health(url)
    assert health.repo == shown and health.failing and health.consecutive_failures == 1
    assert health.last_error == str(error) and health.last_success is None
    assert health.operation is None and health.failing_since is not None
    assert SECRET not in repr(health) and SECRET not in str(error)
    assert _processes_under(fast_cache.root) == []


async def test_http_server_that_trickles_below_the_low_speed_limit(fast_cache: RepoCache) -> None:
    with FaultProxy(Mode.TRICKLE, trickle_every=0.5) as trickle:
        error = await _fails(fast_cache, trickle.url("org/slow.git"), CREDS)
    assert "timed out: the server stopped sending (below the low-speed limit)" in str(error)
    assert "Less than 1000 bytes/sec" in str(error)


async def test_ssh_server_that_never_answers(fast_cache: RepoCache, hung: FaultProxy) -> None:
    url = f"ssh://git@127.0.0.1:{hung.port}/org/never.git"
    error = await _fails(fast_cache, url, RepoCredentials(ssh_private_key="unused", insecure=True))
    assert str(error).startswith(
        f"repository ssh://git@127.0.0.1:{hung.port}/org/never.git: "
        "timed out: the server accepted the connection but never answered"
    )
    assert fast_cache.health(url).consecutive_failures == 1


async def test_the_deadline_kills_the_whole_process_group(tmp_path: Path, hung: FaultProxy) -> None:
    # curl's low-speed check effectively off: only the overall deadline can end it.
    limits = gitcmd.GitLimits(low_speed_limit=0, low_speed_time=600, deadline=2)
    cache = RepoCache(tmp_path / "cache", limits=limits)
    url = hung.url("org/never.git")
    with pytest.raises(errors.RepoUnreachableError) as caught:
        await cache.resolve(url, "main", creds=CREDS)
    assert str(caught.value) == (
        f"repository http://127.0.0.1:{hung.port}/org/never.git: git fetch timed out after 2s "
        "(the server did not finish answering)"
    )
    assert _processes_under(cache.root) == []  # git and git-remote-http are gone
    assert cache.health(url).last_error == str(caught.value)


async def test_callers_of_a_hung_repository_share_one_attempt(
    fast_cache: RepoCache, hung: FaultProxy
) -> None:
    url = hung.url("org/never.git")
    outcomes = await asyncio.gather(
        *(fast_cache.resolve(url, rev, creds=CREDS) for rev in ("main", "HEAD", "v1") * 4),
        return_exceptions=True,
    )
    assert {type(o) for o in outcomes} == {errors.RepoUnreachableError}
    assert len({str(o) for o in outcomes}) == 1
    assert hung.connections == 1 and fast_cache.health(url).consecutive_failures == 1
