"""Hostile repositories and references: fsck on fetch, unsafe tree entry names refused before
anything is written, local transports refused, and the sourceRepos rule for remote references."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials, remote, trees, urls
from tidegate.testenv import gitserver

UNSAFE = [
    b"..",
    b".",
    b"",
    b"../../etc/x",
    b"a/b",
    b"a\\b",
    b"nul\0byte",
    b".git",
    b".GIT",
    b".Git",
    b".git.",
    b".git ",
    b".git. .",
    b"git~1",
    b"GIT~1",
    b".git::$INDEX_ALLOCATION",
    ".g\u200cit".encode(),
    "\ufeff.GIT".encode(),
]
SAFE = [b".gitignore", b".github", b".gitmodules", b"git", b"..a", b"a..", b"x.git", b"git~2"]


@pytest.mark.parametrize("name", UNSAFE, ids=[repr(n) for n in UNSAFE])
def test_unsafe_entry_names(name: bytes) -> None:
    assert trees.unsafe_name(name) is not None


@pytest.mark.parametrize("name", SAFE, ids=[repr(n) for n in SAFE])
def test_safe_entry_names(name: bytes) -> None:
    assert trees.unsafe_name(name) is None


def _crafted_repo(path: Path, name: bytes) -> str:
    """A bare repository whose only commit has a root tree entry called ``name``."""
    subprocess.run(["git", "init", "--quiet", "--bare", str(path)], check=True)

    def git(args: list[str], data: bytes) -> str:
        done = subprocess.run(["git", *args], cwd=path, input=data, capture_output=True, check=True)
        return done.stdout.decode().strip()

    blob = git(["hash-object", "-w", "--stdin"], b"owned\n")
    raw = b"100644 " + name + b"\0" + bytes.fromhex(blob)
    tree = git(["hash-object", "-w", "--literally", "-t", "tree", "--stdin"], raw)
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    return git([*env, "commit-tree", tree, "-m", "evil"], b"")


@pytest.mark.parametrize("name", [b"../../escaped", b".GIT", b"git~1"])
def test_materialise_refuses_unsafe_names_and_writes_nothing(tmp_path: Path, name: bytes) -> None:
    # The read-side guard, for objects that reached the store without fsck (an older cache).
    commit = _crafted_repo(tmp_path / "repo.git", name)
    destination = tmp_path / "out" / "tree"
    destination.parent.mkdir()
    with pytest.raises(errors.UnsafeRepositoryError, match=r"tree entry .* is refused"):
        trees.materialise(tmp_path / "repo.git", commit, destination)
    assert not (tmp_path / "escaped").exists()
    assert sorted(p.name for p in destination.rglob("*")) == []
    repo = pygit2.Repository(str(tmp_path / "repo.git"))
    with pytest.raises(errors.UnsafeRepositoryError):
        trees.list_paths(repo, commit, directories=False)


async def test_fetch_refuses_a_tree_entry_named_dotdot(
    git_server: gitserver.GitServer,
    cache: RepoCache,
    http_creds: RepoCredentials,
    tmp_path: Path,
) -> None:
    repo = git_server.create_repo("hostile/dotdot")
    work = git_server.working_copy("hostile/dotdot", tmp_path / "work")
    good = work.commit({"app/cm.yaml": "kind: ConfigMap\n"}, "good")
    assert await cache.resolve(repo.http_url, "main", creds=http_creds) == good
    evil = work.commit_crafted_tree({b"../../etc/x": b"owned\n"}, "evil")
    with pytest.raises(errors.UnsafeRepositoryError) as caught:
        await cache.refresh(repo.http_url, creds=http_creds)
    message = str(caught.value)
    assert repo.http_url in message and "fsck" in message
    assert "contains full pathnames" in message or "dotdot" in message.lower(), message
    assert http_creds.password not in message
    handle = pygit2.Repository(str(next((cache.root / "repos").iterdir()) / "git"))
    assert evil not in handle  # nothing of the bad pack was stored
    assert not list(cache.root.rglob("etc"))
    # the last good commit still resolves and checks out
    assert await cache.resolve(repo.http_url, good, creds=http_creds) == good


@pytest.mark.parametrize("kind", ["path", "file-url"])
async def test_local_repositories_are_refused(cache: RepoCache, tmp_path: Path, kind: str) -> None:
    _crafted_repo(tmp_path / "other.git", b"x")
    url = str(tmp_path / "other.git") if kind == "path" else f"file://{tmp_path}/other.git"
    with pytest.raises(errors.UnsafeRepositoryError, match="transport refused"):
        await cache.resolve(url, "HEAD")


PERMITTED = [
    (["*"], "https://h/org/app.git", True),
    ([], "https://h/org/app.git", False),
    (["https://h/org/*"], "https://H/org/app.git", True),
    (["https://h/org/*", "!https://h/org/secret*"], "https://h/org/secret-app", False),
    (["https://h/org/app"], "https://h/org/app.git/", True),
    (["https://h/org/app"], "https://h/org/app-two", False),
    (["git@h:org/*"], "ssh://git@h/org/app.git", True),
    (["!https://h/org/x", "*"], "https://h/org/x", False),
]


@pytest.mark.parametrize(("patterns", "url", "expected"), PERMITTED)
def test_permitted(patterns: list[str], url: str, expected: bool) -> None:
    assert urls.permitted(patterns, url) is expected


def test_remote_refusals(cache: RepoCache) -> None:
    repos = remote.RemoteRepos(cache, credentials=lambda _: None)
    assert repos.refusal("https://h/org/app.git", ("https://h/org/*",)) is None
    denied = repos.refusal("https://u:s3cret@h/other/app", ("https://h/org/*",))
    assert denied is not None and "not permitted by the project's sourceRepos" in denied
    assert "s3cret" not in denied
    inside = repos.refusal(f"ssh://git@localhost{cache.root}/repos/x/git", ("*",))
    assert inside == "the URL points into Tidegate's own directories"
    assert repos.refusal(f"file://{cache.root}/repos/x/git", ("*",)) is not None
    assert repos.refusal("ext::sh -c evil", ("*",)) is not None
