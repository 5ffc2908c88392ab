"""GitHub App credentials through the repository cache against a real git server that admits
only ``x-access-token`` (as github.com): the exchanged token fetches, and a token the server
refuses is forgotten so that the next fetch exchanges a new one. ``testenv.githubapi`` plays
GitHub's token endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials
from tidegate.testenv import githubapi, gitserver


@pytest.fixture(scope="module")
def github_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    directory = tmp_path_factory.mktemp("github-git")
    with gitserver.GitServer.start(directory, ssh=False, username="x-access-token") as server:
        yield server


async def test_a_refused_token_is_exchanged_again(
    github_git: gitserver.GitServer, tmp_path: Path
) -> None:
    private, public = githubapi.app_key_pair()
    tokens = {"7": "ghs_revoked_token_value"}  # the endpoint reads it live
    with contextlib.closing(githubapi.TokenEndpoint(public, app_id="1", tokens=tokens)) as github:
        repo = github_git.create_repo("org/refused")
        work = github_git.working_copy("org/refused")
        head = work.commit({"a.yaml": "a: 1\n"}, "first")
        creds = RepoCredentials(
            github_app_id="1",
            github_app_installation_id="7",
            github_app_private_key=private,
            github_app_enterprise_base_url=github.url,
        )
        cache = RepoCache(tmp_path / "cache", timeout=60)

        with pytest.raises(errors.AuthenticationError) as refused:
            await cache.resolve(repo.http_url, "main", creds=creds)
        assert "ghs_revoked_token_value" not in str(refused.value)
        assert github.exchanges == ["7"]

        tokens["7"] = github_git.info.password  # GitHub now hands out a token git accepts
        assert await cache.resolve(repo.http_url, "main", creds=creds, max_age=0) == head
        assert github.exchanges == ["7", "7"]  # the refused one was not reused
        await cache.refresh(repo.http_url, creds=creds)
        assert github.exchanges == ["7", "7"]  # the good one is
