"""``tidegate repocreds add|list|rm`` against the test bed's git server: a template's
credentials let ``repo add`` reach a repository under its prefix; without it, access fails."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.cli.test_repo_cmd import cli, control_ns, fields, repo, repo_secrets  # noqa: F401

from tidegate.model import constants
from tidegate.testenv import gitrepos, handle

pytestmark = pytest.mark.e2e


def test_repocreds_add_list_rm(
    cli: Any,  # noqa: F811
    testbed_handle: handle.TestBed,
    control_ns: str,  # noqa: F811
    git_remote: handle.GitRemote,
    repo: gitrepos.RepoInfo,  # noqa: F811
) -> None:
    prefix = repo.http_url.rsplit("/", 1)[0] + "/"
    denied = cli("repo", "add", repo.http_url)
    assert denied.returncode != 0  # the git server wants credentials

    creds = ["--username", git_remote.username, "--password", git_remote.password]
    added = cli("repocreds", "add", prefix, *creds)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"repository credentials for {prefix} added"
    assert git_remote.password not in added.stdout + added.stderr
    [secret] = repo_secrets(testbed_handle, control_ns)
    labels = secret["metadata"]["labels"]
    assert labels[constants.LABEL_SECRET_TYPE] == constants.SECRET_TYPE_REPO_CREDS
    assert fields(secret) == {"url": prefix, "type": "git", "username": git_remote.username,
                              "password": git_remote.password}  # fmt: skip
    assert cli("repocreds", "add", prefix, *creds).stdout.strip().endswith("unchanged")
    other = cli("repocreds", "add", prefix, "--username", "someone", "--password", "x")
    assert other.returncode == 1 and "--upsert" in other.stderr

    listed = cli("repocreds", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    [info] = json.loads(listed.stdout)
    assert (info["url"], info["username"], info["credentials"]) == (
        prefix, git_remote.username, ["password"]
    )  # fmt: skip
    assert git_remote.password not in listed.stdout

    reached = cli("repo", "add", repo.http_url)  # through the template
    assert reached.returncode == 0, reached.stderr

    azure = cli("repocreds", "add", prefix, *creds, "--use-azure-workload-identity", "--upsert")
    assert azure.returncode == 0, azure.stderr
    assert "--use-azure-workload-identity (argocd repocreds add) is not supported" in azure.stderr

    removed = cli("repocreds", "rm", prefix)
    assert removed.returncode == 0, removed.stderr
    assert cli("repocreds", "list", "-o", "json").stdout.strip() == "[]"
    again = cli("repocreds", "rm", prefix)
    assert again.returncode == 1 and "no repository credentials" in again.stderr
