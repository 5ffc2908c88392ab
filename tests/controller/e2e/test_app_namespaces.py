"""Applications in any namespace, with the real controller: apps in a namespace matching
``--application-namespaces`` are reconciled when their project lists the namespace in
``sourceNamespaces``, refused with a condition (nothing applied) when it does not, and apps in
any other namespace are ignored; such apps are tracked as ``<namespace>_<name>``."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tidegate.model import constants
from tidegate.testenv import scenario
from tidegate.testenv.wait import eventually

TENANT = f"tenant-{secrets.token_hex(3)}"  # namespaces {TENANT}-* hold tenant apps


def CONTROLLER_ARGS(_workdir: Path) -> tuple[str, ...]:
    return ("--application-namespaces", f"{TENANT}-*")


CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data: {{k: v}}
"""


def _cli(gitops: scenario.GitOps, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `tidegate app ...` against the control namespace."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "app",
            *args,
            f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
            f"--namespace={gitops.namespace}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _app_exists(gitops: scenario.GitOps, namespace: str, name: str) -> bool:
    with gitops.mgmt() as client:
        resp = client.get(gitops.app_path(name, namespace=namespace))
        if resp.status_code == 404:
            return False
        resp.raise_for_status()
        return True


def _namespace(gitops: scenario.GitOps, cluster: str, name: str) -> str:
    scenario.kubectl(gitops.bed, cluster, "create", "namespace", name)
    return name


def _project(gitops: scenario.GitOps, name: str, **spec: Any) -> None:
    scenario.apply_manifests(
        gitops.bed,
        "mgmt",
        [
            {
                "apiVersion": constants.API_VERSION,
                "kind": "AppProject",
                "metadata": {"name": name, "namespace": gitops.namespace},
                "spec": spec,
            }
        ],
    )


def _condition(app: dict[str, Any], kind: str) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("message"))
    return ""


def _op_state(app: dict[str, Any]) -> dict[str, Any]:
    return dict((app.get("status") or {}).get("operationState") or {})


def _configmap(gitops: scenario.GitOps, namespace: str, name: str) -> dict[str, Any] | None:
    with gitops.bed.admin_client("dev") as client:
        resp = client.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        data: dict[str, Any] = resp.json()
        return data


@pytest.fixture(scope="module")
def tenant(gitops: scenario.GitOps) -> Iterator[str]:
    """A tenant namespace on mgmt, created after the controller started."""
    ns = _namespace(gitops, "mgmt", f"{TENANT}-a")
    try:
        yield ns
    finally:
        scenario.kubectl(gitops.bed, "mgmt", "delete", "namespace", ns, "--wait=false")


def test_an_app_in_a_permitted_tenant_namespace_syncs_with_a_namespaced_tracking_id(
    gitops: scenario.GitOps, tenant: str
) -> None:
    server = gitops.bed.clusters["dev"].server
    dest = _namespace(gitops, "dev", f"ok-{gitops.namespace}")
    _project(
        gitops,
        "team-ok",
        sourceRepos=["*"],
        destinations=[{"server": server, "namespace": dest}],
        sourceNamespaces=[f"{TENANT}-*"],
    )
    repo, work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="tenant-cm")})
    app = scenario.application(
        "web",
        repo_url=repo.http_url,
        path="app",
        server=server,
        namespace=dest,
        project="team-ok",
        sync_options=(),
    )
    gitops.create_app(app, namespace=tenant)
    gitops.wait_app(
        "web",
        lambda a: scenario.synced_healthy(a, work.head()),
        timeout=90,
        what="the tenant app to sync",
        namespace=tenant,
    )
    cm = _configmap(gitops, dest, "tenant-cm")
    assert cm is not None
    tracking = cm["metadata"]["annotations"][constants.ANNOTATION_TRACKING_ID]
    assert tracking.startswith(f"{tenant}_web:"), tracking

    # The CLI: `app list -N NS` / `-A`, `app get NS/NAME`, `app sync NS/NAME`.
    listed = _cli(gitops, "list", "-N", tenant, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert [a["metadata"]["name"] for a in json.loads(listed.stdout)] == ["web"]
    every = _cli(gitops, "list", "-A", "-o", "json")
    assert every.returncode == 0, every.stderr
    assert (tenant, "web") in {
        (a["metadata"]["namespace"], a["metadata"]["name"]) for a in json.loads(every.stdout)
    }
    got = _cli(gitops, "get", f"{tenant}/web", "-o", "json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["status"]["sync"]["status"] == "Synced"
    diffed = _cli(gitops, "diff", f"{tenant}/web", f"--cache-dir={gitops.workdir / 'cli'}")
    assert diffed.returncode == 0, diffed.stdout + diffed.stderr  # in sync: tracked as ns_name
    live = _cli(
        gitops,
        "manifests",
        f"{tenant}/web",
        "--source",
        "live",
        f"--cache-dir={gitops.workdir / 'cli'}",
    )
    assert live.returncode == 0, live.stderr
    assert f"{tenant}_web:/ConfigMap:{dest}/tenant-cm" in live.stdout, live.stdout
    synced = _cli(gitops, "sync", f"{tenant}/web")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    state = gitops.get_app("web", namespace=tenant)["status"]["operationState"]
    assert state["phase"] == "Succeeded", state

    # Deleting it with the resources finalizer cascades to what it applied (found by its
    # <namespace>_<name> tracking id), then the finalizer is dropped and the app goes.
    gitops.patch_app(
        "web", {"metadata": {"finalizers": [constants.FINALIZER_RESOURCES]}}, namespace=tenant
    )
    with gitops.mgmt() as client:
        client.delete(gitops.app_path("web", namespace=tenant)).raise_for_status()
    asyncio.run(
        eventually(
            lambda: (
                _configmap(gitops, dest, "tenant-cm") is None
                and not _app_exists(gitops, tenant, "web")
            ),
            within=60,
            every=0.2,
        )
    )


def test_an_app_in_a_namespace_its_project_does_not_permit_is_refused(
    gitops: scenario.GitOps, tenant: str
) -> None:
    server = gitops.bed.clusters["dev"].server
    dest = _namespace(gitops, "dev", f"no-{gitops.namespace}")
    _project(
        gitops,
        "team-no",
        sourceRepos=["*"],
        destinations=[{"server": server, "namespace": dest}],
        sourceNamespaces=["somewhere-else"],
    )
    repo, _work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="refused-cm")})
    app = scenario.application(
        "intruder",
        repo_url=repo.http_url,
        path="app",
        server=server,
        namespace=dest,
        project="team-no",
        sync_options=(),
    )
    gitops.create_app(app, namespace=tenant)
    refused = gitops.wait_app(
        "intruder",
        lambda a: bool(_condition(a, "InvalidSpecError")),
        timeout=90,
        what="the sourceNamespaces refusal",
        namespace=tenant,
    )
    message = _condition(refused, "InvalidSpecError")
    assert (
        f"application 'intruder' in namespace '{tenant}' is not permitted to use project "
        "'team-no'" in message
    ), message
    # A sync asked for explicitly is refused the same way, and nothing reaches the cluster.
    gitops.patch_app("intruder", {"operation": {"sync": {"prune": True}}}, namespace=tenant)
    ended = gitops.wait_app(
        "intruder",
        lambda a: not a.get("operation") and _op_state(a).get("phase") in ("Failed", "Error"),
        timeout=60,
        what="the refused sync to end",
        namespace=tenant,
    )
    failed = str(_op_state(ended).get("message"))
    assert "is not permitted to use project 'team-no'" in failed, failed
    assert _configmap(gitops, dest, "refused-cm") is None


def test_an_app_in_a_namespace_not_watched_is_ignored(gitops: scenario.GitOps) -> None:
    server = gitops.bed.clusters["dev"].server
    elsewhere = _namespace(gitops, "mgmt", f"other-{gitops.namespace}")
    try:
        dest = _namespace(gitops, "dev", f"ign-{gitops.namespace}")
        repo, _work = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="ignored-cm")})
        gitops.create_app(
            scenario.application(
                "ghost",
                repo_url=repo.http_url,
                path="app",
                server=server,
                namespace=dest,
                sync_options=(),
            ),
            namespace=elsewhere,
        )
        # A control-namespace app created afterwards syncs: the controller has seen the
        # ghost's creation by then (one watch, in order) and left it alone.
        repo2, work2 = gitops.repo({"app/cm.yaml": CONFIGMAP.format(name="home-cm")})
        gitops.create_app(
            scenario.application(
                "home",
                repo_url=repo2.http_url,
                path="app",
                server=server,
                namespace=dest,
                sync_options=(),
            )
        )
        gitops.wait_app("home", lambda a: scenario.synced_healthy(a, work2.head()), timeout=90)
        cm = _configmap(gitops, dest, "home-cm")
        assert cm is not None
        tracking = cm["metadata"]["annotations"][constants.ANNOTATION_TRACKING_ID]
        assert tracking.startswith("home:"), tracking  # control-namespace ids are unchanged
        assert not gitops.get_app("ghost", namespace=elsewhere).get("status")
        assert _configmap(gitops, dest, "ignored-cm") is None
    finally:
        scenario.kubectl(gitops.bed, "mgmt", "delete", "namespace", elsewhere, "--wait=false")
