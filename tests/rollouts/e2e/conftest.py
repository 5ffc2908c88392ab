"""Helpers of the Rollouts e2e tests: the bed's dev cluster, seen through its API server.

Every module's controller handles only Rollouts labelled with the module's own
``controller-instance-id`` (Argo Rollouts' isolation), so tests on the shared bed never act on
each other's Rollouts, and the other test controllers leave these alone.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tidegate.testenv import handle, procs, scenario

INSTANCE_LABEL = "argo-rollouts.argoproj.io/controller-instance-id"
HASH = "rollouts-pod-template-hash"
RO_PATH = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts"


def instance_id() -> str:
    return f"e2e-{secrets.token_hex(3)}"


def tidegate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def rollout_manifest(
    name: str, image: str, instance: str, strategy: dict[str, Any], *, replicas: int = 5
) -> dict[str, Any]:
    """The seed's Rollout with a selector and a pod template (and the instance label)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": {INSTANCE_LABEL: instance}},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
            "strategy": strategy,
        },
    }


def dump(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


class Dev:
    """Reads of the dev cluster for assertions."""

    def __init__(self, bed: handle.TestBed, ns: str) -> None:
        self.bed = bed
        self.ns = ns
        self.kubeconfig = str(bed.clusters["dev"].kubeconfig)

    def get(self, path: str) -> dict[str, Any] | None:
        with self.bed.admin_client("dev") as c:
            resp = c.get(path)
            if resp.status_code == 404:
                return None
            resp.raise_for_status()
            body: dict[str, Any] = resp.json()
            return body

    def rollout(self, name: str) -> dict[str, Any]:
        return self.get(RO_PATH.format(ns=self.ns) + f"/{name}") or {}

    def status(self, name: str) -> dict[str, Any]:
        status: dict[str, Any] = self.rollout(name).get("status") or {}
        return status

    def images(self) -> dict[str, int]:
        """Running, ready pods (not terminating) by image."""
        pods = (self.get(f"/api/v1/namespaces/{self.ns}/pods") or {}).get("items") or []
        out: dict[str, int] = {}
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp"):
                continue
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (pod.get("status") or {}).get("conditions") or ()
            )
            if not ready:
                continue
            image = pod["spec"]["containers"][0]["image"]
            out[image] = out.get(image, 0) + 1
        return out

    def service_hash(self, name: str) -> str:
        svc = self.get(f"/api/v1/namespaces/{self.ns}/services/{name}") or {}
        return str(((svc.get("spec") or {}).get("selector") or {}).get(HASH) or "")

    def replica_sets(self) -> list[dict[str, Any]]:
        items = (self.get(f"/apis/apps/v1/namespaces/{self.ns}/replicasets") or {}).get("items")
        return list(items or [])

    def delete_namespace(self) -> None:
        with self.bed.admin_client("dev") as c:
            c.delete(f"/api/v1/namespaces/{self.ns}")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return tidegate("rollout", *args, f"--kubeconfig={self.kubeconfig}", "-n", self.ns)

    def cli_json(self, *args: str) -> Any:
        done = self.cli(*args, "-o", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


class Standalone(Dev):
    """A fresh namespace on dev and a ``tidegate rollouts-controller`` for it (own instance id)."""

    def __init__(self, bed: handle.TestBed, ns: str, instance: str, log: Any) -> None:
        super().__init__(bed, ns)
        self.instance = instance
        self.log = log

    def apply(self, *objs: dict[str, Any]) -> None:
        with self.bed.admin_client("dev") as c:
            for obj in objs:
                obj = {**obj, "metadata": {**obj["metadata"], "namespace": self.ns}}
                group_version = obj["apiVersion"]
                base = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
                plural = {"Rollout": "rollouts", "Service": "services", "Ingress": "ingresses",
                          "AnalysisTemplate": "analysistemplates"}[obj["kind"]]  # fmt: skip
                resp = c.patch(
                    f"{base}/namespaces/{self.ns}/{plural}/{obj['metadata']['name']}",
                    params={"fieldManager": "e2e", "force": "true"},
                    content=json.dumps(obj),
                    headers={"Content-Type": "application/apply-patch+yaml"},
                )
                assert resp.status_code in (200, 201), resp.text


@pytest.fixture(scope="session", autouse=True)
def rollout_crds(testbed_handle: handle.TestBed) -> None:
    """Argo Rollouts' CRDs on dev, as ``tidegate rollouts-controller --install-crds`` creates
    them where missing: every module here needs them, whichever runs first or alone."""
    kubeconfig = str(testbed_handle.clusters["dev"].kubeconfig)
    done = tidegate("rollouts-controller", f"--kubeconfig={kubeconfig}", "--install-crds")
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def standalone(
    testbed_handle: handle.TestBed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Standalone]:
    instance = instance_id()
    ns = f"ro-{secrets.token_hex(3)}"
    kubeconfig = str(testbed_handle.clusters["dev"].kubeconfig)  # CRDs: rollout_crds
    with testbed_handle.admin_client("dev") as c:
        c.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
    log = tmp_path_factory.mktemp("rollouts") / "controller.log"
    pid = procs.spawn(
        [sys.executable, "-m", "tidegate", "rollouts-controller", f"--kubeconfig={kubeconfig}",
         f"--namespace={ns}", f"--instance-id={instance}", "--logformat=text"],
        log=log,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    proc = scenario.ControllerProcess(testbed_handle, ns, log=log)
    proc.pid = pid
    try:
        proc.wait_log("rollouts controller ready", timeout=120)
        yield Standalone(testbed_handle, ns, instance, log)
    finally:
        proc.stop()
        with testbed_handle.admin_client("dev") as c:
            c.delete(f"/api/v1/namespaces/{ns}")
