"""Repository registrations: pure tables over testdata/repos_secrets.yaml, and ``check_access``
against the test bed's real git server (HTTP basic auth and SSH)."""

from __future__ import annotations

import dataclasses
import json
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.controller import repos
from tidegate.model import constants, errors
from tidegate.model import secrets as model_secrets
from tidegate.sources import credentials as creds_mod
from tidegate.testenv import handle

DATA = yaml.safe_load((Path(__file__).parent / "testdata" / "repos_secrets.yaml").read_text())


def _view(repo: repos.Repository) -> dict[str, Any]:
    return {
        "secret_name": repo.secret_name,
        "url": repo.url,
        "type": repo.type,
        "name": repo.name,
        "project": repo.project,
        "username": repo.username,
        "credentials": list(repo.credentials),
        "insecure": repo.insecure,
        "enable_lfs": repo.enable_lfs,
        "force_basic_auth": repo.force_basic_auth,
        "error": repo.error,
    }


@pytest.mark.parametrize(
    ("secret_type", "expected"),
    [
        (constants.SECRET_TYPE_REPOSITORY, DATA["repositories"]),
        (constants.SECRET_TYPE_REPO_CREDS, DATA["templates"]),
    ],
    ids=["repositories", "templates"],
)
def test_repositories(secret_type: str, expected: list[dict[str, Any]]) -> None:
    found = repos.repositories(DATA["secrets"], secret_type=secret_type)
    assert [r.secret_name for r in found] == [e["secret_name"] for e in expected]
    for repo, want in zip(found, expected, strict=True):
        view = _view(repo)
        assert {k: view[k] for k in want} == want
        assert "SECRET" not in repr(repo)
        assert "SECRET" not in json.dumps(view)


@pytest.mark.parametrize(
    ("url", "secret_name"),
    [
        ("https://git.example/org/app.git", "r-https"),
        ("HTTPS://git.example/org/app/", "r-https"),  # compared as Argo CD normalises URLs
        ("ssh://git@git.example/org/infra", "r-ssh"),
        ("https://git.example/org/nothing.git", None),
        ("https://git.example/org/", None),  # a template is not a repository
    ],
)
def test_find(url: str, secret_name: str | None) -> None:
    found = repos.find(DATA["secrets"], url)
    assert (found["metadata"]["name"] if found else None) == secret_name


def test_spec_moves_userinfo_into_fields_and_hides_it() -> None:
    spec = repos.RepoSpec.parse("https://me:pw-SECRET@git.example/r.git", project="p")
    assert (spec.url, spec.username, spec.password) == (
        "https://git.example/r.git",
        "me",
        "pw-SECRET",
    )
    assert "SECRET" not in repr(spec) and "SECRET" not in str(spec)
    secret = repos.repository_secret(spec, namespace="argocd")
    assert secret["metadata"]["labels"] == {constants.LABEL_SECRET_TYPE: "repository"}
    assert secret["metadata"]["name"] == repos.secret_name_for("https://git.example/r")
    assert model_secrets.fields(secret, strict=False) == {
        "url": "https://git.example/r.git",
        "type": "git",
        "project": "p",
        "username": "me",
        "password": "pw-SECRET",
    }
    # What sources reads back is what was given.
    creds = creds_mod.credentials_for("https://git.example/r.git", [secret], project="p")
    assert creds is not None and (creds.username, creds.password) == ("me", "pw-SECRET")


def test_spec_flags() -> None:
    spec = repos.RepoSpec.parse(
        "git@host:org/r.git",
        ssh_private_key="KEY",
        insecure_ignore_host_key=True,
        enable_lfs=True,
        force_basic_auth=True,
    )
    assert spec.fields() == {
        "url": "git@host:org/r.git",
        "type": "git",
        "sshPrivateKey": "KEY",
        "insecure": "true",
        "insecureIgnoreHostKey": "true",
        "enableLfs": "true",
        "forceHttpBasicAuth": "true",
    }
    creds = spec.credentials(known_hosts="host ssh-ed25519 AAAA")
    assert creds.insecure and creds.known_hosts == "host ssh-ed25519 AAAA"
    assert spec.credentials(ca_data="PEM").ca_data == "PEM"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "svn"}, "unknown type 'svn'"),
        ({"tls_client_cert": "C"}, "needs its key"),
        ({"tls_client_key": "K"}, "needs its key"),
        ({"password": "p"}, "a password needs a username"),
    ],
)
def test_spec_rejects(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.ConfigError, match=message):
        repos.RepoSpec.parse("https://git.example/r.git", **kwargs)


def test_same_registration() -> None:
    one = repos.repository_secret(
        repos.RepoSpec.parse("https://g/r", username="u", password="a"), namespace="argocd"
    )
    other = repos.repository_secret(
        repos.RepoSpec.parse("https://g/r", username="u", password="b"), namespace="argocd"
    )
    assert repos.same_registration(one, json.loads(json.dumps(one)))
    assert not repos.same_registration(one, other)


# -- against the real git server -----------------------------------------------------------


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(prefix="reg").http_url


async def test_check_access_with_credentials(
    git_remote: handle.GitRemote, repo_url: str, tmp_path: Path
) -> None:
    spec = repos.RepoSpec.parse(
        repo_url, username=git_remote.username, password=git_remote.password
    )
    await repos.check_access(repo_url, spec.credentials(), state_dir=tmp_path)


async def test_check_access_wrong_password(
    git_remote: handle.GitRemote, repo_url: str, tmp_path: Path
) -> None:
    wrong = "wrong-" + git_remote.password[::-1]
    creds = creds_mod.RepoCredentials(username=git_remote.username, password=wrong)
    with pytest.raises(errors.AuthenticationError) as raised:
        await repos.check_access(repo_url, creds, state_dir=tmp_path)
    assert "authentication failed" in str(raised.value)
    assert wrong not in str(raised.value)


async def test_check_access_without_credentials(repo_url: str, tmp_path: Path) -> None:
    with pytest.raises(errors.AuthenticationError, match=r"credentials required|authentication"):
        await repos.check_access(repo_url, None, state_dir=tmp_path)


async def test_check_access_unreachable(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(errors.RepoUnreachableError, match=f"repository http://127.0.0.1:{port}"):
        await repos.check_access(f"http://127.0.0.1:{port}/r.git", None, state_dir=tmp_path)


@pytest.fixture
def ssh_files(git_remote: handle.GitRemote) -> tuple[str, str]:
    """The client's private key and the server's known_hosts line."""
    info = git_remote.info
    assert info.ssh_private_key_path and info.known_hosts_path
    return Path(info.ssh_private_key_path).read_text(), Path(info.known_hosts_path).read_text()


async def test_check_access_ssh_host_key(
    git_remote: handle.GitRemote, repo_url: str, ssh_files: tuple[str, str], tmp_path: Path
) -> None:
    ssh_url = f"{git_remote.info.ssh_base}/{repo_url.rsplit('/', 1)[1]}"
    key, known = ssh_files
    spec = repos.RepoSpec.parse(ssh_url, ssh_private_key=key)
    with pytest.raises(errors.AuthenticationError, match="host key"):
        await repos.check_access(ssh_url, spec.credentials(), state_dir=tmp_path)
    await repos.check_access(ssh_url, spec.credentials(known_hosts=known), state_dir=tmp_path)
    ignoring = dataclasses.replace(spec, insecure_ignore_host_key=True)
    await repos.check_access(ssh_url, ignoring.credentials(), state_dir=tmp_path)
