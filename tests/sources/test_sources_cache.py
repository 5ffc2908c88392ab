"""RepoCache against the real test git server: resolution, checkouts, reads, freshness."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pygit2
import pytest

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials
from tidegate.testenv import gitrepos, gitserver


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    name: str = request.node.name
    return "cache/" + name.replace("[", "-").replace("]", "").replace("/", "-")


async def test_resolves_every_revision_form(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    work = git_server.working_copy(repo_name)
    first = work.commit({"a.yaml": "a: 1\n"}, "first")
    work.tag("v1.0.0")
    work.tag("v1.1.0", message="annotated release")
    work.branch("release-1")
    second = work.commit({"a.yaml": "a: 2\n"}, "second on release-1")
    work.switch("main")
    third = work.commit({"a.yaml": "a: 3\n"}, "third on main")

    expected = {
        "main": third,
        "HEAD": third,
        "": third,
        "refs/heads/main": third,
        "release-1": second,
        "v1.0.0": first,
        "v1.1.0": first,  # annotated: peeled to the commit
        "refs/tags/v1.1.0": first,
        first: first,
        first.upper(): first,
        second[:7]: second,
        third[:12]: third,
    }
    for revision, sha in expected.items():
        assert await cache.resolve(repo.http_url, revision, creds=http_creds) == sha, revision
    assert cache.fetch_count(repo.http_url) == 1


async def test_checkout_is_read_only_keeps_symlinks_and_is_reused(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    work = git_server.working_copy(repo_name)
    work.commit(
        {
            "app/deploy.yaml": "kind: Deployment\n",
            "app/link.yaml": gitrepos.Symlink("deploy.yaml"),
            "app/escape.yaml": gitrepos.Symlink("../../../etc/passwd"),
            "bin/run.sh": "#!/bin/sh\necho hi\n",
            "empty.txt": "",
        },
        "tree",
    )
    work.git("update-index", "--chmod=+x", "bin/run.sh")
    work.git("commit", "--quiet", "-m", "executable")
    work.push()
    sha = await cache.resolve(repo.http_url, "main", creds=http_creds)

    tree = await cache.checkout(repo.http_url, sha)
    assert tree.name == sha
    assert (tree / "app" / "deploy.yaml").read_text() == "kind: Deployment\n"
    assert os.readlink(tree / "app" / "link.yaml") == "deploy.yaml"
    assert os.readlink(tree / "app" / "escape.yaml") == "../../../etc/passwd"  # kept, not followed
    assert (tree / "empty.txt").read_bytes() == b""
    assert stat.S_IMODE((tree / "bin" / "run.sh").stat().st_mode) == 0o555
    assert stat.S_IMODE((tree / "app" / "deploy.yaml").stat().st_mode) == 0o444
    assert stat.S_IMODE((tree / "app").stat().st_mode) == 0o555
    assert not any(p.name.startswith(".tmp-") for p in tree.parent.iterdir())

    uploads = git_server.fetches(repo_name)
    again = await asyncio.gather(*(cache.checkout(repo.http_url, sha) for _ in range(10)))
    assert set(again) == {tree}
    assert git_server.fetches(repo_name) == uploads  # no network for a cached tree

    fresh = RepoCache(cache.root, timeout=60)  # a restarted process reuses the checkout
    assert await fresh.checkout(repo.http_url, sha, creds=http_creds) == tree


async def test_fetch_is_partial_and_reads_fetch_only_needed_blobs(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    files = {f"apps/app-{i}/config.json": f'{{"name": "app-{i}"}}\n' for i in range(30)}
    sha = git_server.working_copy(repo_name).commit({**files, "README": "hello\n"}, "apps")
    await cache.resolve(repo.http_url, "main", creds=http_creds)
    local = pygit2.Repository(str(next((cache.root / "repos").glob("*")) / "git"))
    blob = local.get(sha).tree["README"].id  # type: ignore[union-attr]
    assert blob not in local  # blob:none: contents are not fetched with the refs

    directories = await cache.list_directories(repo.http_url, sha)
    assert directories[:2] == ["apps", "apps/app-0"] and len(directories) == 31
    assert len(await cache.list_files(repo.http_url, sha)) == 31
    before = git_server.fetches(repo_name)
    contents = await cache.read_files(
        repo.http_url, sha, ["apps/app-3/config.json", "apps/app-7/config.json", "missing"]
    )
    assert contents == {
        "apps/app-3/config.json": b'{"name": "app-3"}\n',
        "apps/app-7/config.json": b'{"name": "app-7"}\n',
    }
    assert git_server.fetches(repo_name) == before + 1  # both blobs in one round trip
    assert await cache.read_file(repo.http_url, sha, "README") == b"hello\n"
    with pytest.raises(errors.PathNotFoundError, match=r"no file 'apps/nope\.json'"):
        await cache.read_file(repo.http_url, sha, "apps/nope.json")


async def test_new_commit_seen_after_refresh(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    work = git_server.working_copy(repo_name)
    first = work.commit({"v": "1"}, "first")
    assert await cache.resolve(repo.http_url, "main", creds=http_creds, generation=1) == first
    second = work.commit({"v": "2"}, "second")

    # Same generation: served from the cache, no fetch.
    assert await cache.resolve(repo.http_url, "main", creds=http_creds, generation=1) == first
    assert await cache.resolve(repo.http_url, "main", creds=http_creds, generation=0) == first
    assert cache.fetch_count(repo.http_url) == 1
    # Next generation: fetched again.
    assert await cache.resolve(repo.http_url, "main", creds=http_creds, generation=2) == second
    assert cache.fetch_count(repo.http_url) == 2

    third = work.commit({"v": "3"}, "third")
    assert await cache.resolve(repo.http_url, "main", creds=http_creds) == second  # within max_age
    assert await cache.resolve(repo.http_url, "main", creds=http_creds, max_age=0) == third
    fourth = work.commit({"v": "4"}, "fourth")
    await cache.refresh(repo.http_url, creds=http_creds)
    assert await cache.resolve(repo.http_url, "main", creds=http_creds) == fourth
    assert cache.fetch_count(repo.http_url) == 4


async def test_hundred_concurrent_resolves_cause_one_fetch(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    sha = git_server.working_copy(repo_name).commit({"a": "1"}, "one")
    before = git_server.fetches(repo_name)

    results = await asyncio.gather(
        *(
            cache.resolve(repo.http_url, rev, creds=http_creds, generation=7)
            for rev in ["main", "HEAD", sha[:8], sha] * 25
        )
    )
    assert set(results) == {sha}
    assert cache.fetch_count(repo.http_url) == 1
    assert git_server.fetches(repo_name) == before + 1  # counted by the server too


async def test_deleted_branch_is_pruned_and_unreferenced_commit_fetched_by_id(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    work = git_server.working_copy(repo_name)
    work.commit({"a": "1"}, "base")
    work.branch("topic")
    orphan = work.commit({"a": "2"}, "only on topic")
    assert await cache.resolve(repo.http_url, "topic", creds=http_creds, generation=1) == orphan
    work.push(":refs/heads/topic")

    with pytest.raises(errors.RevisionNotFoundError, match="'topic'"):
        await cache.resolve(repo.http_url, "topic", creds=http_creds, generation=2)
    other = RepoCache(cache.root.parent / "other-cache", timeout=60)
    assert await other.resolve(repo.http_url, orphan, creds=http_creds) == orphan


async def test_empty_repository_has_no_revisions(
    git_server: gitserver.GitServer, cache: RepoCache, http_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    for revision in ("HEAD", "main"):
        with pytest.raises(errors.RevisionNotFoundError):
            await cache.resolve(repo.http_url, revision, creds=http_creds, max_age=0)


async def test_ssh_with_key_and_known_hosts(
    git_server: gitserver.GitServer, cache: RepoCache, ssh_creds: RepoCredentials, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    sha = git_server.working_copy(repo_name).commit({"ssh.yaml": "via: ssh\n"}, "ssh")
    assert repo.ssh_url is not None
    assert await cache.resolve(repo.ssh_url, "main", creds=ssh_creds) == sha
    tree = await cache.checkout(repo.ssh_url, sha, creds=ssh_creds)
    assert (tree / "ssh.yaml").read_text() == "via: ssh\n"


@pytest.fixture
def ca_pem(tls_git_server: gitserver.GitServer) -> str:
    assert tls_git_server.info.ca_path is not None
    return Path(tls_git_server.info.ca_path).read_text()


async def test_https_with_custom_ca(
    tls_git_server: gitserver.GitServer, cache: RepoCache, repo_name: str, ca_pem: str
) -> None:
    server = tls_git_server
    repo = server.create_repo(repo_name)
    sha = server.working_copy(repo_name).commit({"tls": "yes"}, "tls")
    base = RepoCredentials(username=server.info.username, password=server.info.password)
    with_ca = RepoCredentials(username=base.username, password=base.password, ca_data=ca_pem)
    insecure = RepoCredentials(username=base.username, password=base.password, insecure=True)

    with pytest.raises(errors.AuthenticationError, match="TLS certificate not trusted"):
        await cache.resolve(repo.http_url, "main", creds=base)
    assert await cache.resolve(repo.http_url, "main", creds=with_ca, max_age=0) == sha
    other = RepoCache(cache.root.parent / "insecure-cache", timeout=60)
    assert await other.resolve(repo.http_url, "main", creds=insecure) == sha
    assert (await other.read_file(repo.http_url, sha, "tls")) == b"yes"


async def test_force_basic_auth_and_credentials_in_url(
    git_server: gitserver.GitServer, cache: RepoCache, repo_name: str
) -> None:
    repo = git_server.create_repo(repo_name)
    sha = git_server.working_copy(repo_name).commit({"x": "y"}, "x")
    info = git_server.info
    forced = RepoCredentials(username=info.username, password=info.password, force_basic_auth=True)
    assert await cache.resolve(repo.http_url, "main", creds=forced) == sha
    embedded = repo.http_url.replace("://", f"://{info.username}:{info.password}@")
    other = RepoCache(cache.root.parent / "embedded-cache", timeout=60)
    assert await other.resolve(embedded, "main") == sha
    config = (next((other.root / "repos").glob("*")) / "git" / "config").read_text()
    assert info.password not in config  # userinfo is taken out of the stored remote URL
