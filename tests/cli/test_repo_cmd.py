"""``tidegate repo ...`` end to end: the console script, the test bed's git server (HTTP with
basic auth, SSH with a key) and Secrets in a fresh control namespace on ``mgmt``."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tidegate.model import constants
from tidegate.testenv import gitrepos, handle

pytestmark = pytest.mark.e2e
TIDEGATE = Path(sys.executable).parent / "tidegate"


@pytest.fixture
def control_ns(testbed_handle: handle.TestBed) -> Iterator[str]:
    name = f"argocd-{secrets.token_hex(4)}"
    with testbed_handle.admin_client("mgmt") as client:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        client.post("/api/v1/namespaces", json=body).raise_for_status()
        yield name
        client.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def cli(testbed_handle: handle.TestBed, control_ns: str) -> Any:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(testbed_handle.kubeconfig)}
        return subprocess.run(
            [str(TIDEGATE), *args, "--namespace", control_ns],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def repo(git_remote: handle.GitRemote) -> gitrepos.RepoInfo:
    return git_remote.create_repo(prefix="cli")


def repo_secrets(testbed: handle.TestBed, namespace: str) -> list[dict[str, Any]]:
    with testbed.admin_client("mgmt") as client:
        resp = client.get(f"/api/v1/namespaces/{namespace}/secrets")
        resp.raise_for_status()
        items = resp.json()["items"]
    return [
        s
        for s in items
        if (s["metadata"].get("labels") or {}).get(constants.LABEL_SECRET_TYPE)
        in (constants.SECRET_TYPE_REPOSITORY, constants.SECRET_TYPE_REPO_CREDS)
    ]


def fields(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def create_secret(testbed: handle.TestBed, namespace: str, secret: dict[str, Any]) -> None:
    with testbed.admin_client("mgmt") as client:
        client.post(f"/api/v1/namespaces/{namespace}/secrets", json=secret).raise_for_status()


def test_add_list_rm_with_basic_auth(
    cli: Any,
    testbed_handle: handle.TestBed,
    control_ns: str,
    git_remote: handle.GitRemote,
    repo: gitrepos.RepoInfo,
) -> None:
    password = git_remote.password
    login = ("--username", git_remote.username, "--password", password)
    added = cli("repo", "add", repo.http_url, *login, "--name", "app", "--project", "team")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == f"repository {repo.http_url} added"
    [secret] = repo_secrets(testbed_handle, control_ns)
    assert secret["metadata"]["labels"] == {constants.LABEL_SECRET_TYPE: "repository"}
    assert fields(secret) == {
        "url": repo.http_url,
        "type": "git",
        "name": "app",
        "project": "team",
        "username": git_remote.username,
        "password": password,
    }
    again = cli("repo", "add", repo.http_url, *login, "--name", "app", "--project", "team")
    assert (again.returncode, again.stdout.strip()) == (0, f"repository {repo.http_url} unchanged")
    other = cli("repo", "add", repo.http_url, *login)
    assert other.returncode == 1
    assert "use --upsert to overwrite" in other.stderr

    for fmt in ("table", "wide", "json", "yaml"):
        listed = cli("repo", "list", "-o", fmt)
        assert listed.returncode == 0, listed.stderr
        assert password not in listed.stdout + listed.stderr
    infos = json.loads(cli("repo", "list", "-o", "json").stdout)
    assert [(i["repo"], i["name"], i["project"]) for i in infos] == [(repo.http_url, "app", "team")]
    assert infos[0]["connectionState"] == {"status": "Successful", "message": ""}
    assert infos[0]["credentials"] == ["password"]
    table = cli("repo", "list").stdout.splitlines()
    assert table[0].split() == ["REPO", "TYPE", "NAME", "PROJECT", "STATUS"]
    assert table[1].split() == [repo.http_url, "git", "app", "team", "Successful"]
    quick = json.loads(cli("repo", "list", "--no-refresh", "-o", "json").stdout)
    assert quick[0]["connectionState"]["status"] == "Unknown"

    removed = cli("repo", "rm", repo.http_url)
    assert (removed.returncode, removed.stdout.strip()) == (
        0,
        f"repository {repo.http_url} removed",
    )
    assert repo_secrets(testbed_handle, control_ns) == []
    assert cli("repo", "rm", repo.http_url).returncode == 1


def test_wrong_password_stores_nothing(
    cli: Any,
    testbed_handle: handle.TestBed,
    control_ns: str,
    git_remote: handle.GitRemote,
    repo: gitrepos.RepoInfo,
) -> None:
    wrong = f"not-{secrets.token_hex(8)}"
    result = cli(
        "repo", "add", repo.http_url, "--username", git_remote.username, "--password", wrong
    )
    assert result.returncode == 1
    assert f"repository {repo.http_url}: authentication failed" in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert repo_secrets(testbed_handle, control_ns) == []
    # Credentials inside the URL are treated the same way, and never echoed.
    in_url = repo.http_url.replace("http://", f"http://{git_remote.username}:{wrong}@")
    result = cli("repo", "add", in_url)
    assert result.returncode == 1
    assert wrong not in result.stdout + result.stderr
    assert repo_secrets(testbed_handle, control_ns) == []


def test_unreachable_and_skip_test(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/gone.git"
    result = cli("repo", "add", url)
    assert result.returncode == 1
    assert f"repository {url}: connection failed" in result.stderr
    assert repo_secrets(testbed_handle, control_ns) == []
    skipped = cli("repo", "add", url, "--skip-test")
    assert skipped.returncode == 0, skipped.stderr
    assert "access not tested" in skipped.stdout
    infos = json.loads(cli("repo", "list", "-o", "json").stdout)
    assert infos[0]["connectionState"]["status"] == "Failed"
    assert "connection failed" in infos[0]["connectionState"]["message"]
    # Usage errors exit 2.
    assert cli("repo", "add", url, "--password", "p").returncode == 2
    assert cli("repo", "add", url, "--type", "svn").returncode == 2
    assert cli("repo", "add", url, "--ssh-private-key-path", "/nonexistent").returncode == 2


def test_ssh_key_with_known_hosts(
    cli: Any,
    testbed_handle: handle.TestBed,
    control_ns: str,
    git_remote: handle.GitRemote,
    repo: gitrepos.RepoInfo,
) -> None:
    info = git_remote.info
    assert info.ssh_base and info.ssh_private_key_path and info.known_hosts_path
    key_path = info.ssh_private_key_path
    untrusted = cli("repo", "add", repo.ssh_url, "--ssh-private-key-path", key_path)
    assert untrusted.returncode == 1
    assert "SSH host key not trusted" in untrusted.stderr
    known_hosts = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": constants.CONFIGMAP_SSH_KNOWN_HOSTS},
        "data": {"ssh_known_hosts": Path(info.known_hosts_path).read_text()},
    }
    with testbed_handle.admin_client("mgmt") as client:
        url = f"/api/v1/namespaces/{control_ns}/configmaps"
        client.post(url, json=known_hosts).raise_for_status()
    trusted = cli("repo", "add", repo.ssh_url, "--ssh-private-key-path", key_path)
    assert trusted.returncode == 0, trusted.stderr
    key = Path(key_path).read_text()
    [secret] = repo_secrets(testbed_handle, control_ns)
    assert fields(secret)["sshPrivateKey"] == key
    listed = cli("repo", "list", "-o", "wide")
    assert listed.returncode == 0
    assert "ssh-key" in listed.stdout and "Successful" in listed.stdout
    assert key.strip().splitlines()[1] not in listed.stdout


def test_credentials_from_a_template(
    cli: Any,
    testbed_handle: handle.TestBed,
    control_ns: str,
    git_remote: handle.GitRemote,
    repo: gitrepos.RepoInfo,
) -> None:
    prefix = repo.http_url.rsplit("/", 1)[0] + "/"
    template = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "creds-all",
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPO_CREDS},
        },
        "stringData": {
            "url": prefix,
            "username": git_remote.username,
            "password": git_remote.password,
        },
    }
    create_secret(testbed_handle, control_ns, template)
    added = cli("repo", "add", repo.http_url)
    assert added.returncode == 0, added.stderr
    stored = [
        s for s in repo_secrets(testbed_handle, control_ns) if s["metadata"]["name"] != "creds-all"
    ]
    assert set(fields(stored[0])) == {"url", "type"}  # the template's credentials are not copied
    infos = json.loads(cli("repo", "list", "-o", "json").stdout)
    assert infos[0]["connectionState"]["status"] == "Successful"
    creds = cli("repo", "creds", "list", "-o", "json")
    assert creds.returncode == 0, creds.stderr
    assert git_remote.password not in creds.stdout
    [listed] = json.loads(creds.stdout)
    assert (listed["url"], listed["username"], listed["credentials"]) == (
        prefix,
        git_remote.username,
        ["password"],
    )
    table = cli("repo", "creds", "list").stdout.splitlines()
    assert table[0].split() == ["URL", "PATTERN", "TYPE", "CREDS", "PROJECT", "SECRET"]


def test_add_helm_repository_and_oci_registry(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str, git_remote: handle.GitRemote
) -> None:
    from tidegate.testenv import registry, testbed

    charts = f"{git_remote.info.http_base}/charts"
    login = ("--username", git_remote.username, "--password", git_remote.password)
    wrong = f"not-{secrets.token_hex(8)}"
    refused = cli(
        "repo",
        "add",
        charts,
        "--type",
        "helm",
        "--username",
        git_remote.username,
        "--password",
        wrong,
    )
    assert refused.returncode == 1
    assert "credentials were refused (HTTP 401)" in refused.stderr
    assert wrong not in refused.stdout + refused.stderr
    assert repo_secrets(testbed_handle, control_ns) == []

    testbed.up(testbed_handle.directory, [], registry=True)
    info = registry.RegistryInfo.load(testbed_handle.directory)
    oci_url = f"{info.address}/charts"
    added = cli(
        "repo",
        "add",
        oci_url,
        "--type",
        "helm",
        "--name",
        "bed",
        "--enable-oci",
        "--insecure-oci-force-http",
        *login,
    )
    assert added.returncode == 0, added.stderr
    [secret] = repo_secrets(testbed_handle, control_ns)
    assert fields(secret) | {"password": "-"} == {
        "url": oci_url,
        "type": "helm",
        "name": "bed",
        "username": git_remote.username,
        "password": "-",
        "enableOCI": "true",
        "insecureOCIForceHttp": "true",
    }
    denied = cli(
        "repo",
        "add",
        f"oci://{info.address}/other",
        "--type",
        "oci",
        "--insecure-oci-force-http",
        "--username",
        git_remote.username,
        "--password",
        wrong,
    )
    assert denied.returncode == 1
    assert "refused the credentials" in denied.stderr
    assert wrong not in denied.stdout + denied.stderr
