"""Management-wide mode: ``tidegate controller`` unseals on every registered cluster with that
cluster's own keys (kube-system, Sealed Secrets' default), ``tidegate cluster add`` prepares a
new cluster (CRD and key), and ``tidegate seal --cluster NAME`` seals for a cluster of the
registry. A SealedSecret committed to Git and deployed by an Application becomes the right Secret
on dev; the same plaintext sealed for prod cannot be unsealed on dev.

The module's controller (the shared ``gitops`` fixture) is the only Tidegate process here; it
runs with ``--sealed-secrets`` (test controllers run without it unless asked) and the clusters'
default key namespace.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.controller.e2e.conftest import gitops  # noqa: F401 - the module's GitOps fixture
from tests.sealedsecrets.e2e.conftest import KEYS, SS_PATH, get, make_secret, plain, synced

from tidegate.model import constants
from tidegate.testenv import handle, scenario, wait

pytestmark = pytest.mark.e2e


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    """Test controllers run without the management-wide unsealer unless asked: this one is."""
    return ["--sealed-secrets"]


SEALED_CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/sealedsecrets.bitnami.com"


def cli(bed: handle.TestBed, control_ns: str, *args: str, stdin: str = "") -> Any:
    """``tidegate ARGS`` with the bed's kubeconfig (current context: mgmt)."""
    env = {**os.environ, "KUBECONFIG": str(bed.kubeconfig)}
    env[constants.ENV_CONTROL_NAMESPACE] = control_ns
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def app_ns(gitops: scenario.GitOps) -> Iterator[str]:  # noqa: F811
    name = f"ssf-{secrets.token_hex(3)}"
    yield name
    with gitops.bed.admin_client("dev") as c:
        c.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture(scope="module")
def prod_added(gitops: scenario.GitOps) -> str:  # noqa: F811
    """prod registered with ``tidegate cluster add``: its CRD and a key exist at once."""
    done = cli(gitops.bed, gitops.namespace, "cluster", "add", "prod", "--use-existing-credentials")
    assert done.returncode == 0, done.stderr
    return "prod"


def test_cluster_add_prepares_the_cluster(gitops: scenario.GitOps, prod_added: str) -> None:  # noqa: F811
    assert get(gitops.bed, "prod", SEALED_CRD) is not None
    listed = get(gitops.bed, "prod", KEYS)
    assert listed is not None and listed["items"], "no sealing key on prod after cluster add"
    # --fetch-cert through the registry (the cluster Secret's credentials) answers at once.
    fetched = cli(gitops.bed, gitops.namespace, "seal", "--cluster", "prod", "--fetch-cert")
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in fetched.stdout + fetched.stderr


async def test_sealed_in_git_becomes_the_secret_on_dev_and_prods_cannot_open(
    gitops: scenario.GitOps,  # noqa: F811
    app_ns: str,
    prod_added: str,
) -> None:
    bed = gitops.bed
    # The controller made (or found) dev's key as soon as it saw dev registered.
    await wait.eventually(lambda: (get(bed, "dev", KEYS) or {}).get("items") or None, within=60)

    def seal(cluster: str, name: str) -> dict[str, Any]:
        secret = make_secret(app_ns, name, password="fleet-pw-7q", user="app")
        done = cli(bed, gitops.namespace, "seal", "--cluster", cluster, "-o", "yaml",
                   stdin=json.dumps(secret))  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "fleet-pw-7q" not in done.stdout
        sealed: dict[str, Any] = yaml.safe_load(done.stdout)
        return sealed

    for_dev, for_prod = seal("dev", "db"), seal("prod", "db-prod")
    repo, work = gitops.repo({"secrets/db.yaml": yaml.safe_dump(for_dev)})
    app_name = f"sealed-{secrets.token_hex(2)}"
    gitops.create_app(
        scenario.application(
            app_name,
            repo_url=repo.http_url,
            path="secrets",
            server=bed.clusters["dev"].server,
            namespace=app_ns,
        )
    )
    gitops.wait_app(
        app_name,
        lambda a: scenario.synced_healthy(a, work.head()),
        timeout=120,
        what="Synced and Healthy",
    )
    secret = await wait.eventually(
        lambda: get(bed, "dev", f"/api/v1/namespaces/{app_ns}/secrets/db"), within=30
    )
    assert plain(secret) == {"password": "fleet-pw-7q", "user": "app"}
    assert secret["metadata"]["labels"] == {"team": "a"}
    assert secret["metadata"]["ownerReferences"][0]["kind"] == "SealedSecret"

    # The same plaintext sealed for prod, committed for dev: refused, said why, no Secret.
    work.commit({"secrets/db-prod.yaml": yaml.safe_dump(for_prod)}, "add prod's SealedSecret")

    def refused() -> dict[str, Any] | None:
        cond = synced(get(bed, "dev", SS_PATH.format(ns=app_ns) + "/db-prod"))
        return cond if cond and cond["status"] == "False" else None

    cond = await wait.eventually(refused, within=90)
    assert cond["reason"] == "ErrUnsealFailed"
    assert "SealedSecret" in cond["message"] and "db-prod" in cond["message"]
    assert "fleet-pw-7q" not in cond["message"]
    assert get(bed, "dev", f"/api/v1/namespaces/{app_ns}/secrets/db-prod") is None
    app = gitops.wait_app(
        app_name,
        lambda a: (a.get("status") or {}).get("health", {}).get("status") == "Degraded",
        timeout=90,
        what="Degraded (the SealedSecret cannot be unsealed)",
    )
    assert "fleet-pw-7q" not in json.dumps(app)
    assert "fleet-pw-7q" not in gitops.controller.log.read_text()
