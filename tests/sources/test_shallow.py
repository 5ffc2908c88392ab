"""A repository with ``depth``: the cache fetches shallowly against the real git server, still
serves every revision asked for (old commits by id, deepening nothing else), and turns complete
again when the depth is removed."""

from __future__ import annotations

import dataclasses

import pygit2
import pytest

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials
from tidegate.sources import cache as cache_mod
from tidegate.testenv import gitserver


def _commits(cache: RepoCache, url: str) -> int:
    """Commits the cached repository holds."""
    handle = pygit2.Repository(str(cache.git_dir(url)))
    return sum(1 for obj in handle.odb if handle[obj].type == pygit2.enums.ObjectType.COMMIT)


async def test_depth_fetches_shallow_and_still_serves_old_commits(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials
) -> None:
    repo = git_server.create_repo("shallow/depth-one")
    work = git_server.working_copy("shallow/depth-one")
    old = [work.commit({"a.yaml": f"a: {n}\n"}, f"commit {n}") for n in range(5)]
    shallow = dataclasses.replace(http_creds, depth=1)

    assert await cache.resolve(repo.http_url, "main", creds=shallow) == old[-1]
    assert cache_mod.is_shallow(cache.git_dir(repo.http_url))
    assert _commits(cache, repo.http_url) == 1  # the tip only, not five
    assert await cache.read_file(repo.http_url, old[-1], "a.yaml", creds=shallow) == b"a: 4\n"

    # A later commit is picked up by the next fetch, still shallow.
    newer = work.commit({"a.yaml": "a: 5\n"}, "commit 5")
    await cache.refresh(repo.http_url, creds=shallow)
    assert await cache.resolve(repo.http_url, "main", creds=shallow) == newer
    assert cache_mod.is_shallow(cache.git_dir(repo.http_url))

    # A commit older than the depth is fetched by its id; an abbreviated one cannot be.
    assert await cache.resolve(repo.http_url, old[1], creds=shallow) == old[1]
    tree = await cache.checkout(repo.http_url, old[1], creds=shallow)
    assert (tree / "a.yaml").read_text() == "a: 1\n"
    with pytest.raises(errors.RevisionNotFoundError, match="fetched with depth 1"):
        await cache.resolve(repo.http_url, old[2][:10], creds=shallow)

    # Without a depth the next fetch completes the history.
    await cache.refresh(repo.http_url, creds=http_creds)
    assert not cache_mod.is_shallow(cache.git_dir(repo.http_url))
    assert await cache.resolve(repo.http_url, old[2][:10], creds=http_creds) == old[2]


async def test_full_history_is_the_default(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials
) -> None:
    repo = git_server.create_repo("shallow/full")
    work = git_server.working_copy("shallow/full")
    for n in range(3):
        work.commit({"a.yaml": f"a: {n}\n"}, f"commit {n}")
    await cache.resolve(repo.http_url, "main", creds=http_creds)
    assert not cache_mod.is_shallow(cache.git_dir(repo.http_url))
    assert _commits(cache, repo.http_url) == 3
