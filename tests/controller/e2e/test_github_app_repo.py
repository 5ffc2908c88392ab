"""Repositories registered with a GitHub App, and with a clone depth, synced by the real controller.

GitHub App: a local HTTP server plays GitHub's installation-token endpoint only (GitHub is not
reachable from here; ``githubAppEnterpriseBaseUrl`` points at it); git is served by a real git
server (git http-backend) that admits nobody but user ``x-access-token`` with the token the
endpoint hands out, as github.com does. The bed's own git server admits its one user only, so
this module starts a second one beside it; the clusters and the controller are the bed's.

Depth: an app on a bed repository whose Secret says ``depth: 1`` syncs, picks up a later commit,
and the controller's cache holds a shallow repository.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs
import pytest

from tidegate.model import constants
from tidegate.sources import cache as cache_mod
from tidegate.sources import urls
from tidegate.testenv import githubapi, gitserver, scenario

APP_RESYNC = 3
APP_ID = "4242"
INSTALLATION = "77"

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {mode}
"""


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    """The GitHub App's private key (PEM) and its public key."""
    return githubapi.app_key_pair()


@pytest.fixture(scope="module")
def github_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[gitserver.GitServer]:
    directory = tmp_path_factory.mktemp("github-git")
    with gitserver.GitServer.start(directory, ssh=False, username="x-access-token") as server:
        yield server


@pytest.fixture(scope="module")
def endpoint(
    app_key: tuple[str, str], github_git: gitserver.GitServer
) -> Iterator[githubapi.TokenEndpoint]:
    """GitHub's token endpoint: installation 77 gets the git server's token, others a 404."""
    tokens = {INSTALLATION: github_git.info.password}
    server = githubapi.TokenEndpoint(app_key[1], app_id=APP_ID, tokens=tokens)
    try:
        yield server
    finally:
        server.close()


def _register_and_create(
    gitops: scenario.GitOps, url: str, name: str, *, key: str, base: str, installation: str
) -> None:
    """A repository Secret with the GitHub App for ``url``, then an app ``name`` on it."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": f"gh-{secrets.token_hex(3)}",
            "namespace": gitops.namespace,
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPOSITORY},
        },
        "stringData": {
            "type": "git",
            "url": url,
            "githubAppID": APP_ID,
            "githubAppInstallationID": installation,
            "githubAppPrivateKey": key,
            "githubAppEnterpriseBaseUrl": base,
        },
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [secret])
    server = gitops.bed.clusters["dev"].server
    gitops.create_app(
        scenario.application(name, repo_url=url, path="app", server=server, namespace=name)
    )


def _comparison_error(app: dict[str, Any]) -> str:
    return " | ".join(
        str(c.get("message"))
        for c in (app.get("status") or {}).get("conditions") or []
        if c.get("type") == "ComparisonError"
    )


def _mode(gitops: scenario.GitOps, namespace: str) -> str:
    return scenario.kubectl(
        gitops.bed, "dev", "-n", namespace, "get", "configmap", "settings",
        "-o", "jsonpath={.data.mode}", check=False,
    )  # fmt: skip


def _github_repo(server: gitserver.GitServer, tmp: Path, mode: str) -> tuple[str, str, Any]:
    """A repository on the GitHub-like git server: its name, URL and a working copy."""
    name = f"org/app-{secrets.token_hex(3)}"
    src = tmp / name
    (src / "app").mkdir(parents=True)
    (src / "app" / "cm.yaml").write_text(CM.format(mode=mode))
    repo = server.create_repo(name, from_dir=src)
    return name, repo.http_url, server.working_copy(name)


def test_github_app_repository_syncs_with_the_exchanged_token(
    gitops: scenario.GitOps,
    github_git: gitserver.GitServer,
    endpoint: githubapi.TokenEndpoint,
    app_key: tuple[str, str],
    tmp_path: Path,
) -> None:
    repo_name, url, work = _github_repo(github_git, tmp_path, "one")
    name = f"ghapp-{secrets.token_hex(3)}"
    _register_and_create(gitops, url, name, key=app_key[0], base=endpoint.url,
                         installation=INSTALLATION)  # fmt: skip
    first = work.head()
    gitops.wait_app(
        name, lambda a: scenario.synced_healthy(a, first), timeout=90, what="first sync"
    )
    assert _mode(gitops, name) == "one"
    assert endpoint.exchanges == [INSTALLATION]
    assert github_git.fetches(repo_name) >= 1  # the git server admitted x-access-token

    # A later commit is fetched with the cached token: no second exchange within its life.
    second = work.commit({"app/cm.yaml": CM.format(mode="two")}, "second")
    gitops.wait_app(
        name, lambda a: scenario.synced_healthy(a, second), timeout=90, what="second commit"
    )
    assert _mode(gitops, name) == "two"
    assert endpoint.exchanges == [INSTALLATION]
    log = gitops.controller.log.read_text(errors="replace")
    assert github_git.info.password not in log and "PRIVATE KEY" not in log


def test_a_refused_exchange_is_a_condition_naming_repo_and_status(
    gitops: scenario.GitOps,
    github_git: gitserver.GitServer,
    endpoint: githubapi.TokenEndpoint,
    app_key: tuple[str, str],
    tmp_path: Path,
) -> None:
    _, url, _ = _github_repo(github_git, tmp_path, "never")
    name = f"ghapp-refused-{secrets.token_hex(3)}"
    # Not an installation of this app: GitHub answers 404.
    _register_and_create(gitops, url, name, key=app_key[0], base=endpoint.url, installation="999")
    app = gitops.wait_app(
        name,
        lambda a: "GitHub App token exchange" in _comparison_error(a),
        timeout=90,
        what="ComparisonError about the token exchange",
    )
    message = _comparison_error(app)
    assert f"repository {url}" in message, message
    assert "/app/installations/999/access_tokens was refused: HTTP 404: Not Found" in message
    assert app_key[0].splitlines()[1] not in message
    assert github_git.info.password not in message
    assert (404, "/app/installations/999/access_tokens") in endpoint.refusals
    assert "NotFound" in _mode(gitops, name)  # nothing applied, not even the namespace


def test_a_depth_one_repository_syncs_and_stays_shallow(gitops: scenario.GitOps) -> None:
    repo, work = gitops.repo({"app/cm.yaml": CM.format(mode="one")})
    for n in range(3):
        work.commit({"app/notes.txt": f"{n}\n"}, f"history {n}")
    name = f"shallow-{secrets.token_hex(3)}"
    # No credentials of its own: borrowed from the bed's repo-creds template, depth kept.
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": gitops.namespace,
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPOSITORY},
        },
        "stringData": {"type": "git", "url": repo.http_url, "depth": "1"},
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [secret])
    server = gitops.bed.clusters["dev"].server
    gitops.create_app(
        scenario.application(name, repo_url=repo.http_url, path="app", server=server,
                             namespace=name)
    )  # fmt: skip
    first = work.head()
    gitops.wait_app(
        name, lambda a: scenario.synced_healthy(a, first), timeout=90, what="first sync"
    )
    git_dir = (
        Path(platformdirs.user_cache_dir("tidegate"))
        / "repos" / "repos" / urls.cache_dir_name(repo.http_url) / "git"
    )  # fmt: skip
    assert cache_mod.is_shallow(git_dir), git_dir

    second = work.commit({"app/cm.yaml": CM.format(mode="two")}, "second")
    gitops.wait_app(
        name, lambda a: scenario.synced_healthy(a, second), timeout=90, what="later commit"
    )
    assert _mode(gitops, name) == "two"
    assert cache_mod.is_shallow(git_dir)
    assert second in (git_dir / "shallow").read_text().split()  # the tip is the boundary
