"""``tidegate cluster ...`` end to end: the console script against the test bed's real clusters.

Each test uses its own control namespace on ``mgmt`` so it cannot collide with other users of
the test bed. ``cluster add dev`` really installs the ``tidegate-manager`` service account on
``dev`` (idempotent: every test that adds dev gets the same token).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import constants
from tidegate.testenv import handle

pytestmark = pytest.mark.e2e
TIDEGATE = Path(sys.executable).parent / "tidegate"


@pytest.fixture
def control_ns(testbed_handle: handle.TestBed) -> Iterator[str]:
    """A fresh control namespace on the management cluster, deleted afterwards."""
    name = f"argocd-{secrets.token_hex(4)}"
    with testbed_handle.admin_client("mgmt") as client:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        client.post("/api/v1/namespaces", json=body).raise_for_status()
        yield name
        client.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def cli(testbed_handle: handle.TestBed, control_ns: str) -> Any:
    """Run ``tidegate ARGS`` with KUBECONFIG set (management = current context, mgmt)."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": str(testbed_handle.kubeconfig)}
        env[constants.ENV_CONTROL_NAMESPACE] = control_ns
        return subprocess.run(
            [str(TIDEGATE), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    return run


def cluster_secrets(testbed: handle.TestBed, namespace: str) -> list[dict[str, Any]]:
    with testbed.admin_client("mgmt") as client:
        resp = client.get(
            f"/api/v1/namespaces/{namespace}/secrets",
            params={"labelSelector": f"{constants.LABEL_SECRET_TYPE}=cluster"},
        )
        resp.raise_for_status()
        items: list[dict[str, Any]] = resp.json()["items"]
        return items


def fields(secret: dict[str, Any]) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


async def whoami_and_namespaces(secret: dict[str, Any]) -> tuple[str, set[str]]:
    """With the credentials of a cluster Secret: the user name and the namespaces seen."""
    config = kube_config.from_cluster_secret(secret)
    async with kube_client.client_for(config) as client:
        review = await client.create(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
        res = await client.resource("", "Namespace", "v1")
        names = {n["metadata"]["name"] for n in (await client.list(res)).items}
    return str(review["status"]["userInfo"]["username"]), names


async def test_add_with_service_account_token(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str
) -> None:
    result = cli("cluster", "add", "dev", "--label", "env=dev", "--annotation", "owner=team-a")
    assert result.returncode == 0, result.stderr
    dev_server = testbed_handle.clusters["dev"].server
    assert result.stdout.strip() == f"cluster 'dev' added ({dev_server})"
    [secret] = cluster_secrets(testbed_handle, control_ns)
    assert secret["metadata"]["labels"] == {constants.LABEL_SECRET_TYPE: "cluster", "env": "dev"}
    assert secret["metadata"]["annotations"] == {"owner": "team-a"}
    stored = fields(secret)
    assert (stored["name"], stored["server"]) == ("dev", dev_server)
    config = json.loads(stored["config"])
    assert set(config) == {"bearerToken", "tlsClientConfig"}
    assert config["tlsClientConfig"]["caData"]
    # The token is the service account's, and it works on dev.
    user, namespaces = await whoami_and_namespaces(secret)
    assert user == "system:serviceaccount:kube-system:tidegate-manager"
    assert {"default", "kube-system"} <= namespaces
    assert config["bearerToken"] not in result.stdout + result.stderr

    # Again: nothing changes. Other settings: refused without --upsert, applied with it.
    again = cli("cluster", "add", "dev", "--label", "env=dev", "--annotation", "owner=team-a")
    assert (again.returncode, again.stdout.strip()) == (
        0,
        f"cluster 'dev' unchanged ({dev_server})",
    )
    refused = cli("cluster", "add", "dev", "--label", "env=other")
    assert refused.returncode == 1
    assert "use --upsert to overwrite" in refused.stderr
    assert cluster_secrets(testbed_handle, control_ns)[0]["metadata"]["labels"]["env"] == "dev"
    upsert = cli("cluster", "add", "dev", "--label", "env=other", "--upsert")
    assert upsert.returncode == 0, upsert.stderr
    assert "updated" in upsert.stdout
    [updated] = cluster_secrets(testbed_handle, control_ns)
    assert updated["metadata"]["labels"]["env"] == "other"
    assert updated["metadata"]["name"] == secret["metadata"]["name"]


async def test_add_with_existing_credentials(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str
) -> None:
    result = cli("cluster", "add", "staging", "--use-existing-credentials", "--name", "stage")
    assert result.returncode == 0, result.stderr
    [secret] = cluster_secrets(testbed_handle, control_ns)
    stored = fields(secret)
    assert stored["name"] == "stage"
    tls = json.loads(stored["config"])["tlsClientConfig"]
    assert tls["certData"] and tls["keyData"] and tls["caData"]
    assert "bearerToken" not in json.loads(stored["config"])
    user, namespaces = await whoami_and_namespaces(secret)
    assert user != "system:serviceaccount:kube-system:tidegate-manager"
    assert "kube-system" in namespaces
    # A second cluster under the same name is refused.
    clash = cli("cluster", "add", "prod", "--use-existing-credentials", "--name", "stage")
    assert clash.returncode == 1
    assert "a cluster named 'stage' already exists" in clash.stderr


def test_set_labels_and_annotations(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str
) -> None:
    assert (
        cli("cluster", "add", "prod", "--use-existing-credentials", "--label", "a=1").returncode
        == 0
    )
    result = cli("cluster", "set", "prod", "--label", "b=2", "--label", "a-", "--annotation", "n=x")
    assert result.returncode == 0, result.stderr
    [secret] = cluster_secrets(testbed_handle, control_ns)
    assert secret["metadata"]["labels"] == {constants.LABEL_SECRET_TYPE: "cluster", "b": "2"}
    assert secret["metadata"]["annotations"] == {"n": "x"}
    server = testbed_handle.clusters["prod"].server
    by_server = cli("cluster", "set", server, "--annotation", "n-", "--project", "team")
    assert by_server.returncode == 0, by_server.stderr
    [secret] = cluster_secrets(testbed_handle, control_ns)
    assert not secret["metadata"].get("annotations")
    assert fields(secret)["project"] == "team"
    # Usage errors exit 2; the secret-type label is protected; unknown clusters exit 1.
    assert cli("cluster", "set", "prod", "--label", "novalue").returncode == 2
    assert cli("cluster", "set", "prod").returncode == 2
    protected = cli("cluster", "set", "prod", "--label", f"{constants.LABEL_SECRET_TYPE}-")
    assert protected.returncode == 1
    missing = cli("cluster", "set", "nope", "--label", "a=b")
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: cluster 'nope' not found")


def test_set_in_cluster_creates_its_secret(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str
) -> None:
    result = cli("cluster", "set", "in-cluster", "--label", "role=mgmt")
    assert result.returncode == 0, result.stderr
    [secret] = cluster_secrets(testbed_handle, control_ns)
    assert fields(secret)["server"] == constants.IN_CLUSTER_SERVER
    listed = json.loads(cli("cluster", "list", "-o", "json").stdout)
    assert [(c["name"], c["labels"].get("role")) for c in listed] == [("in-cluster", "mgmt")]
    assert listed[0]["connectionState"]["status"] == "Successful"  # reached as the mgmt cluster


def test_list_probes_counts_apps_and_reads_published_state(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str
) -> None:
    assert cli("cluster", "add", "dev", "--use-existing-credentials").returncode == 0
    broken = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "broken", "labels": {constants.LABEL_SECRET_TYPE: "cluster"}},
        "stringData": {"name": "broken", "server": "https://broken.invalid", "config": "{no"},
    }
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "."},
            "destination": {"name": "dev", "namespace": "guestbook"},
        },
    }
    with testbed_handle.admin_client("mgmt") as client:
        ns = f"/api/v1/namespaces/{control_ns}"
        client.post(f"{ns}/secrets", json=broken).raise_for_status()
        apps = f"/apis/argoproj.io/v1alpha1/namespaces/{control_ns}/applications"
        client.post(apps, json=app).raise_for_status()

    result = cli("cluster", "list", "-o", "json")
    assert result.returncode == 0, result.stderr
    infos = {c["name"]: c for c in json.loads(result.stdout)}
    assert set(infos) == {"in-cluster", "dev", "broken"}
    assert infos["dev"]["connectionState"] == {"status": "Successful", "message": ""}
    assert infos["dev"]["serverVersion"].startswith("1.")
    assert infos["dev"]["applicationsCount"] == 1
    assert infos["in-cluster"]["applicationsCount"] == 0
    assert infos["broken"]["connectionState"]["status"] == "Failed"
    assert "field 'config' is not valid JSON" in infos["broken"]["connectionState"]["message"]
    assert "keyData" in json.dumps(infos["dev"]["config"])
    assert "******" in json.dumps(infos["dev"]["config"])

    table = cli("cluster", "list")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE", "APPS", "CACHED"]
    assert any(line.split()[:2] == [testbed_handle.clusters["dev"].server, "dev"] for line in lines)

    # Once the controller publishes state, list shows it instead of probing.
    published = {
        "connectionState": "Failed",
        "message": "watch failed",
        "serverVersion": "1.30",
        "cachedObjects": 1234,
        "apps": 7,
        "lastUpdated": "2026-01-01T00:00:00Z",
    }
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": constants.CLUSTER_STATUS_CONFIGMAP},
        "data": {"dev": json.dumps(published)},
    }
    with testbed_handle.admin_client("mgmt") as client:
        client.post(
            f"/api/v1/namespaces/{control_ns}/configmaps", json=configmap
        ).raise_for_status()
    infos = {c["name"]: c for c in json.loads(cli("cluster", "list", "-o", "json").stdout)}
    assert infos["dev"]["connectionState"] == {"status": "Failed", "message": "watch failed"}
    assert (infos["dev"]["serverVersion"], infos["dev"]["cachedObjects"]) == ("1.30", 1234)
    assert infos["dev"]["applicationsCount"] == 7
    assert infos["in-cluster"]["connectionState"]["status"] == "Successful"  # still probed


def test_get_masks_credentials(cli: Any, testbed_handle: handle.TestBed, control_ns: str) -> None:
    assert cli("cluster", "add", "dev").returncode == 0
    [secret] = cluster_secrets(testbed_handle, control_ns)
    token = json.loads(fields(secret)["config"])["bearerToken"]
    for args in (["-o", "yaml"], ["-o", "json"], ["-o", "table"]):
        result = cli("cluster", "get", "dev", *args)
        assert result.returncode == 0, result.stderr
        assert token not in result.stdout
        assert "******" in result.stdout
    info = json.loads(cli("cluster", "get", "dev", "-o", "json").stdout)
    assert info["config"]["bearerToken"] == "******"
    assert info["secretName"] == secret["metadata"]["name"]
    assert cli("cluster", "get", "nope").returncode == 1


def test_rm(cli: Any, testbed_handle: handle.TestBed, control_ns: str) -> None:
    assert cli("cluster", "add", "dev", "--use-existing-credentials").returncode == 0
    refused = cli("cluster", "rm", "in-cluster")
    assert refused.returncode == 1
    assert "management cluster itself" in refused.stderr
    server = testbed_handle.clusters["dev"].server
    result = cli("cluster", "rm", server)
    assert (result.returncode, result.stdout.strip()) == (0, f"cluster 'dev' removed ({server})")
    assert cluster_secrets(testbed_handle, control_ns) == []
    assert cli("cluster", "rm", "dev").returncode == 1


def test_unreachable_target_stores_nothing(
    cli: Any, testbed_handle: handle.TestBed, control_ns: str, tmp_path: Path
) -> None:
    kubeconfig = testbed_handle.kubeconfig.read_text().replace(
        testbed_handle.clusters["prod"].server, "https://127.0.0.1:9"
    )
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig)
    result = cli("cluster", "add", "prod", "--kubeconfig", str(path))
    assert result.returncode == 1
    assert "127.0.0.1:9" in result.stderr
    assert cluster_secrets(testbed_handle, control_ns) == []
    unknown = cli("cluster", "add", "no-such-context")
    assert unknown.returncode == 1
    assert "no-such-context" in unknown.stderr


def test_add_reads_a_kubeconfig_list_and_one_context_flag(
    testbed_handle: handle.TestBed, control_ns: str
) -> None:
    """KUBECONFIG as kubectl reads it (two files, merged), ``--context`` for the management
    cluster as in every command, argocd's ``--yes``; ``--mgmt-context`` still works, warned."""
    files = [str(testbed_handle.clusters[n].kubeconfig) for n in ("dev", "mgmt")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KUBECONFIG": os.pathsep.join(files)}
        return subprocess.run(
            [str(TIDEGATE), *args, "-n", control_ns],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    # The current context is dev's (first file): without --context the Secret would land there.
    added = run("cluster", "add", "dev", "--context", "mgmt", "--use-existing-credentials", "-y")
    assert added.returncode == 0, added.stderr
    [secret] = cluster_secrets(testbed_handle, control_ns)
    assert fields(secret)["server"] == testbed_handle.clusters["dev"].server
    listed = run("cluster", "list", "--context", "mgmt", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert {c["name"] for c in json.loads(listed.stdout)} == {"dev", "in-cluster"}

    old = run("cluster", "add", "dev", "--mgmt-context", "mgmt", "--use-existing-credentials")
    assert (old.returncode, old.stdout.split()[-2:]) == (
        0,
        ["unchanged", f"({fields(secret)['server']})"],
    )
    assert "--mgmt-context is deprecated; use --context" in old.stderr
    clash = run("cluster", "add", "dev", "--mgmt-context", "dev", "--context", "mgmt")
    assert clash.returncode == 2 and "disagree" in clash.stderr
    assert run("cluster", "rm", "dev", "--context", "mgmt", "--yes").returncode == 0
    assert cluster_secrets(testbed_handle, control_ns) == []
    unknown = run("cluster", "list", "--context", "nope")
    assert unknown.returncode == 1
    assert "context 'nope' not found (contexts: dev, mgmt)" in unknown.stderr
