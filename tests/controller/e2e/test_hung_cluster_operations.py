"""A sync already running when its cluster starts to hang gives its operation slot up within
seconds, and waits for the cluster recorded as still running; the only slot then serves a sync
on a healthy cluster; once the cluster answers again the held sync resumes from what it had
recorded and ends once (issue 9: "one slow API server never delays another cluster's apps").

The hung cluster is the bed's dev API server seen through a fault proxy (its own port, so the
shared bed's processes are never stopped): FREEZE pauses every connection, established ones
included, as SIGSTOP does; FORWARD resumes them, as SIGCONT does. The held sync waits at
wave 0 for a LoadBalancer Service that is Progressing until the test gives it an ingress.
"""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests.controller.e2e.conftest import gitops  # noqa: F401 - the module's GitOps fixture

from tidegate.testenv import scenario
from tidegate.testenv.faultproxy import FaultProxy, Mode

pytestmark = pytest.mark.e2e
APP_RESYNC = 3


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    return ["--operation-processors", "1"]  # one slot: a held sync would starve every other


LB = """apiVersion: v1
kind: Service
metadata:
  name: lb
  annotations:
    argocd.argoproj.io/sync-wave: "0"
spec:
  type: LoadBalancer
  ports: [{port: 80}]
  selector: {app: lb}
"""
AFTER = """apiVersion: v1
kind: ConfigMap
metadata:
  name: after
  annotations:
    argocd.argoproj.io/sync-wave: "1"
data: {k: v}
"""
FREE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: free
data: {k: v}
"""


def _op(app: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = (app.get("status") or {}).get("operationState") or {}
    return op


@pytest.fixture
def proxy(gitops: scenario.GitOps) -> Iterator[FaultProxy]:  # noqa: F811
    dev = urlsplit(gitops.bed.clusters["dev"].server)
    with FaultProxy(Mode.FORWARD, upstream=(dev.hostname or "127.0.0.1", dev.port or 443)) as fp:
        yield fp


@dataclasses.dataclass
class Held:
    """The held app's sync, waiting at wave 0 on dev seen through the proxy."""

    app: str
    repo_url: str
    held_ns: str
    free_ns: str
    started: str


@pytest.fixture
def held(gitops: scenario.GitOps, proxy: FaultProxy) -> Iterator[Held]:  # noqa: F811
    token = secrets.token_hex(3)
    hung, held_ns, free_ns = f"hung-{token}", f"held-{token}", f"free-{token}"
    app = held_ns
    secret = scenario.cluster_secret(gitops.bed, "dev", namespace=gitops.namespace, name=hung)
    secret["stringData"]["server"] = f"https://127.0.0.1:{proxy.port}"
    scenario.apply_manifests(gitops.bed, "mgmt", [secret])
    repo, _work = gitops.repo({"held/lb.yaml": LB, "held/after.yaml": AFTER, "free/cm.yaml": FREE})
    try:
        gitops.create_app(scenario.application(
            app, repo_url=repo.http_url, path="held", server=secret["stringData"]["server"],
            namespace=held_ns, automated=False))  # fmt: skip
        gitops.patch_app(app, {"operation": {"sync": {"revision": "main"}}})

        def at_wave_0(app: dict[str, Any]) -> bool:
            with gitops.bed.admin_client("dev") as dev:
                lb = dev.get(f"/api/v1/namespaces/{held_ns}/services/lb").status_code == 200
            return lb and _op(app).get("phase") == "Running"

        gitops.wait_app(app, at_wave_0, timeout=90, what="the held sync waiting at wave 0")
        started = _op(gitops.get_app(app))["startedAt"]

        proxy.mode = Mode.FREEZE
        waiting = gitops.wait_app(
            app, lambda a: "waiting for cluster" in str(_op(a).get("message")), timeout=60,
            what="the held sync giving its slot up")  # fmt: skip
        assert _op(waiting)["phase"] == "Running" and _op(waiting)["startedAt"] == started
        yield Held(app, repo.http_url, held_ns, free_ns, started)
    finally:
        proxy.mode = Mode.FORWARD
        with gitops.bed.admin_client("dev") as dev:
            for ns in (held_ns, free_ns):
                dev.delete(f"/api/v1/namespaces/{ns}")


def test_a_sync_on_a_hung_cluster_gives_its_slot_up_and_resumes_once(
    gitops: scenario.GitOps,  # noqa: F811
    proxy: FaultProxy,
    held: Held,
) -> None:
    # The only slot is free: a sync on the healthy cluster runs while dev is still hung.
    gitops.create_app(scenario.application(
        held.free_ns, repo_url=held.repo_url, path="free", server=gitops.bed.clusters["dev"].server,
        namespace=held.free_ns, automated=False))  # fmt: skip
    gitops.patch_app(held.free_ns, {"operation": {"sync": {"revision": "main"}}})
    gitops.wait_app(held.free_ns, lambda a: _op(a).get("phase") == "Succeeded", timeout=60,
                    what="the healthy cluster's sync")  # fmt: skip
    assert _op(gitops.get_app(held.app))["phase"] == "Running"

    # The cluster answers again and the load balancer gets its address: the held sync
    # resumes (same start), applies wave 1 and is recorded once.
    proxy.mode = Mode.FORWARD
    with gitops.bed.admin_client("dev") as dev:
        resp = dev.patch(
            f"/api/v1/namespaces/{held.held_ns}/services/lb/status",
            json={"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.7"}]}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert resp.status_code == 200, resp.text
    done = gitops.wait_app(held.app, lambda a: _op(a).get("phase") == "Succeeded", timeout=120,
                           what="the held sync ending")  # fmt: skip
    assert _op(done)["startedAt"] == held.started
    history = (done.get("status") or {}).get("history") or []
    assert [h.get("deployStartedAt") for h in history] == [held.started]
    with gitops.bed.admin_client("dev") as dev:
        assert dev.get(f"/api/v1/namespaces/{held.held_ns}/configmaps/after").status_code == 200


def test_terminating_a_sync_that_waits_for_a_hung_cluster_ends_it_without_touching_it(
    gitops: scenario.GitOps,  # noqa: F811
    proxy: FaultProxy,
    held: Held,
) -> None:
    """``app terminate-op`` while the cluster hangs: the operation ends Failed at once, saying
    the cluster did not answer; nothing more is applied or deleted there once it answers."""
    result = subprocess.run(
        [sys.executable, "-m", "tidegate", "app", "terminate-op", held.app,
         f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
         f"--namespace={gitops.namespace}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    ended = gitops.wait_app(held.app, lambda a: _op(a).get("phase") == "Failed", timeout=60,
                            what="the terminated sync ending while its cluster hangs")  # fmt: skip
    message = str(_op(ended).get("message"))
    assert "operation terminated" in message and "did not answer" in message, message
    assert _op(ended)["startedAt"] == held.started
    assert not ended.get("operation")
    assert not (ended.get("status") or {}).get("history")

    # The cluster answers again: the load balancer applied before the hang is still there,
    # and wave 1 was never applied (the sync did not go on behind the terminate).
    proxy.mode = Mode.FORWARD
    with gitops.bed.admin_client("dev") as dev:
        assert dev.get(f"/api/v1/namespaces/{held.held_ns}/services/lb").status_code == 200
        resp = dev.patch(
            f"/api/v1/namespaces/{held.held_ns}/services/lb/status",
            json={"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.8"}]}}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert resp.status_code == 200, resp.text
    # A comparison after the end reaches the cluster again: wave 1 is missing (OutOfSync).
    finished = str(_op(ended)["finishedAt"])

    def compared_since(app: dict[str, Any]) -> bool:
        status = app.get("status") or {}
        return (
            str(status.get("reconciledAt") or "") > finished
            and (status.get("sync") or {}).get("status") == "OutOfSync"
        )

    gitops.patch_app(held.app, {"metadata": {"annotations": {
        "argocd.argoproj.io/refresh": "normal"}}})  # fmt: skip
    gitops.wait_app(held.app, compared_since, timeout=90, what="the app compared again")
    assert _op(gitops.get_app(held.app))["phase"] == "Failed"
    with gitops.bed.admin_client("dev") as dev:
        assert dev.get(f"/api/v1/namespaces/{held.held_ns}/configmaps/after").status_code == 404
