"""``cluster add --service-account/--system-namespace/--shard/--cluster-resources/
--cluster-endpoint``, ``cluster rotate-auth`` and ``cluster set --name`` against the test bed.

The service account is the test's own (a fresh namespace on ``dev`` with a RoleBinding to
``admin`` there), so rotating its tokens touches nothing another test uses."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from tests.cli.test_cluster_cmd import (  # noqa: F401
    cli,
    cluster_secrets,
    control_ns,
    fields,
)

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.testenv import handle, wait

pytestmark = pytest.mark.e2e


@pytest.fixture
def account(testbed_handle: handle.TestBed) -> Iterator[str]:
    """A namespace on dev holding service account 'deployer', admin of that namespace only."""
    ns = f"tg-rot-{secrets.token_hex(3)}"
    with testbed_handle.admin_client("dev") as dev:
        dev.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        dev.post(f"/api/v1/namespaces/{ns}/serviceaccounts",
                 json={"metadata": {"name": "deployer"}}).raise_for_status()  # fmt: skip
        dev.post(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
            json={
                "metadata": {"name": "deployer-admin"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": "admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}],
            },
        ).raise_for_status()  # fmt: skip
        yield ns
        dev.delete(f"/api/v1/namespaces/{ns}")


def _token_secrets(tb: handle.TestBed, ns: str) -> list[str]:
    with tb.admin_client("dev") as dev:
        items = dev.get(f"/api/v1/namespaces/{ns}/secrets").json()["items"]
    return sorted(s["metadata"]["name"] for s in items
                  if s["type"] == "kubernetes.io/service-account-token")  # fmt: skip


async def _authenticates(secret: dict[str, Any]) -> bool:
    config = kube_config.from_cluster_secret(secret)
    try:
        async with kube_client.client_for(config) as client:
            await client.request("GET", "/version", what="get /version")
    except errors.KubeError:
        return False
    return True


def _stored(tb: handle.TestBed, ns: str, name: str) -> dict[str, Any]:
    return next(s for s in cluster_secrets(tb, ns) if fields(s)["name"] == name)


async def test_service_account_shard_and_rotate_auth(
    cli: Any,  # noqa: F811
    testbed_handle: handle.TestBed,
    control_ns: str,  # noqa: F811
    account: str,
) -> None:
    added = cli(
        "cluster", "add", "dev", "--name", "deploy", "--service-account", "deployer",
        "--system-namespace", account, "--shard", "3", "--managed-namespace", account,
        "--cluster-resources",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    secret = _stored(testbed_handle, control_ns, "deploy")
    stored = fields(secret)
    assert (stored["shard"], stored["namespaces"], stored["clusterResources"]) == (
        "3", account, "true"
    )  # fmt: skip
    config = kube_config.from_cluster_secret(secret)
    async with kube_client.client_for(config) as client:
        review = await client.create(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
    assert review["status"]["userInfo"]["username"] == f"system:serviceaccount:{account}:deployer"
    [first_secret] = _token_secrets(testbed_handle, account)  # created for the account
    old_token = json.loads(stored["config"])["bearerToken"]

    rotated = cli("cluster", "rotate-auth", "deploy")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == (
        f"cluster 'deploy' credentials rotated (system:serviceaccount:{account}:deployer;"
        " old tokens revoked)"
    )
    assert old_token not in rotated.stdout + rotated.stderr
    after = _stored(testbed_handle, control_ns, "deploy")
    new_token = json.loads(fields(after)["config"])["bearerToken"]
    assert new_token != old_token
    remaining = _token_secrets(testbed_handle, account)
    assert len(remaining) == 1 and remaining != [first_secret]
    assert await _authenticates(after)
    await wait.eventually(lambda: _revoked(secret), within=30, every=0.5)  # old token revoked

    # Renaming: to a free name works, to another cluster's name is refused (nothing changes).
    assert cli("cluster", "add", "staging", "--use-existing-credentials", "--name",
               "stage").returncode == 0  # fmt: skip
    renamed = cli("cluster", "set", "deploy", "--name", "deployer")
    assert renamed.returncode == 0, renamed.stderr
    assert renamed.stdout.strip() == "cluster 'deploy' updated (now 'deployer')"
    assert fields(_stored(testbed_handle, control_ns, "deployer"))["shard"] == "3"
    clash = cli("cluster", "set", "deployer", "--name", "stage")
    assert clash.returncode == 1 and "that name is cluster" in clash.stderr
    assert {fields(s)["name"] for s in cluster_secrets(testbed_handle, control_ns)} == {
        "deployer", "stage",
    }  # fmt: skip
    # A cluster stored with a client certificate has no token to rotate.
    refused = cli("cluster", "rotate-auth", "stage")
    assert refused.returncode == 1
    assert "not stored with a service account token" in refused.stderr


async def _revoked(secret: dict[str, Any]) -> bool:
    return not await _authenticates(secret)


def test_cluster_endpoint_and_bad_input(
    cli: Any,  # noqa: F811
    testbed_handle: handle.TestBed,
    control_ns: str,  # noqa: F811
) -> None:
    internal = cli("cluster", "add", "staging", "--use-existing-credentials", "--name", "inside",
                   "--cluster-endpoint", "internal")  # fmt: skip
    assert internal.returncode == 0, internal.stderr
    assert fields(_stored(testbed_handle, control_ns, "inside"))["server"] == (
        "https://kubernetes.default.svc"
    )
    for args, hint in [
        (["--cluster-endpoint", "public"], "is not one of kubeconfig, kube-public, internal"),
        (["--shard", "-1"], "must be 0 or more"),
        (["--service-account", "x", "--use-existing-credentials"], "exclude each other"),
    ]:
        result = cli("cluster", "add", "dev", "--name", "bad", *args)
        assert result.returncode == 2, result.stderr
        assert hint in " ".join(result.stderr.replace("│", " ").split())
    missing = cli("cluster", "add", "dev", "--name", "bad", "--service-account", "nobody",
                  "--system-namespace", "default")  # fmt: skip
    assert missing.returncode == 1
    assert "service account default/nobody not found on cluster" in missing.stderr
    assert [fields(s)["name"] for s in cluster_secrets(testbed_handle, control_ns)] == ["inside"]


def test_server_from_cluster_info() -> None:
    from tidegate.controller import cluster_auth

    kubeconfig = "clusters:\n- cluster: {server: 'https://10.0.0.1:6443'}\n  name: ''\n"
    assert (
        cluster_auth.server_from_cluster_info({"data": {"kubeconfig": kubeconfig}}, cluster="dev")
        == "https://10.0.0.1:6443"
    )
    for bad in (None, {"data": {}}, {"data": {"kubeconfig": "clusters: []"}}):
        with pytest.raises(errors.ConfigError, match="cluster dev: "):
            cluster_auth.server_from_cluster_info(bad, cluster="dev")
    token = ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        for part in ({"alg": "RS256"},
                     {"kubernetes.io/serviceaccount/namespace": "ns",
                      "kubernetes.io/serviceaccount/service-account.name": "sa"})
    ) + ".sig"  # fmt: skip
    assert cluster_auth.account_of_token(token) == ("ns", "sa")
    assert cluster_auth.account_of_token("not-a-jwt") is None
