"""Helpers of the Rollouts e2e tests: the bed's dev cluster, seen through its API server.

Every module's controller handles only Rollouts labelled with the module's own
``controller-instance-id`` (Argo Rollouts' isolation), so tests on the shared bed never act on
each other's Rollouts, and the other test controllers leave these alone.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from typing import Any

import yaml

from tidegate.testenv import handle

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

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return tidegate("rollout", *args, f"--kubeconfig={self.kubeconfig}", "-n", self.ns)

    def cli_json(self, *args: str) -> Any:
        done = self.cli(*args, "-o", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
