"""Helpers for the fleet tests: ApplicationSets, cluster labels, webhook pushes and live state
on the destination clusters, all through the same APIs a user or a Git host would use."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tidegate.model import constants
from tidegate.testenv import gitrepos, procs, scenario
from tidegate.testenv.wait import eventually_blocking

CLUSTERS = ("dev", "staging", "prod")
DEFAULT_LABELS: dict[str, dict[str, str]] = {
    "dev": {"environment": "dev"},
    "staging": {"environment": "staging"},
    "prod": {"environment": "production"},
}
SETS = f"/apis/{constants.GROUP}/v1alpha1/namespaces/{{ns}}/applicationsets"


def deployment_yaml(name: str, image: str, *, extra_spec: str = "", pod_spec: str = "") -> str:
    """A two-replica Deployment; ``extra_spec``/``pod_spec`` are indented YAML lines to add."""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
{extra_spec}  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
{pod_spec}      containers:
      - name: main
        image: {image}
"""


eventually = eventually_blocking


def app_state(app: Mapping[str, Any]) -> tuple[str, str]:
    status = app.get("status") or {}
    return (
        str((status.get("sync") or {}).get("status") or ""),
        str((status.get("health") or {}).get("status") or ""),
    )


def deployment_available(dep: Mapping[str, Any] | None, image: str) -> bool:
    """The Deployment runs ``image`` everywhere and is Available (rollout complete)."""
    if not dep:
        return False
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    images = [c.get("image") for c in spec["template"]["spec"]["containers"]]
    return (
        images == [image]
        and status.get("observedGeneration") == dep["metadata"]["generation"]
        and status.get("updatedReplicas") == spec.get("replicas")
        and status.get("availableReplicas") == spec.get("replicas")
        and status.get("replicas") == spec.get("replicas")
    )


def image_of(dep: Mapping[str, Any] | None) -> str | None:
    if not dep:
        return None
    return str(dep["spec"]["template"]["spec"]["containers"][0]["image"])


@dataclass
class Fleet(scenario.GitOps):
    dest_namespaces: set[tuple[str, str]] = field(default_factory=set)

    @property
    def token(self) -> str:
        """A short id of this module's fleet, for names that must not collide on the shared
        clusters. Tracking ids name the app but not its control namespace; the controller's
        installation id (its control namespace) already keeps same-named apps of two modules
        from claiming each other's objects, unique names keep their object keys apart too."""
        return self.namespace.rsplit("-", 1)[-1]

    # -- management cluster ---------------------------------------------------------------------

    def apply_set(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace an ApplicationSet in the control namespace."""
        body = {**manifest, "metadata": {**manifest["metadata"], "namespace": self.namespace}}
        base = SETS.format(ns=self.namespace)
        with self.mgmt() as client:
            current = client.get(f"{base}/{body['metadata']['name']}")
            if current.status_code == 404:
                resp = client.post(base, json=body)
            else:
                body["metadata"]["resourceVersion"] = current.json()["metadata"]["resourceVersion"]
                resp = client.put(f"{base}/{body['metadata']['name']}", json=body)
            assert resp.status_code in (200, 201), resp.text
            data: dict[str, Any] = resp.json()
            return data

    def get_set(self, name: str) -> dict[str, Any]:
        with self.mgmt() as client:
            resp = client.get(f"{SETS.format(ns=self.namespace)}/{name}")
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
            return data

    def set_condition(self, name: str, kind: str) -> dict[str, Any] | None:
        for cond in (self.get_set(name).get("status") or {}).get("conditions") or []:
            if cond.get("type") == kind:
                return dict(cond)
        return None

    def apps(self) -> dict[str, dict[str, Any]]:
        """Applications of the control namespace that are not being deleted."""
        with self.mgmt() as client:
            resp = client.get(self.app_path())
            resp.raise_for_status()
            items = resp.json()["items"]
        return {
            a["metadata"]["name"]: a for a in items if not a["metadata"].get("deletionTimestamp")
        }

    def app_exists(self, name: str) -> bool:
        with self.mgmt() as client:
            return client.get(self.app_path(name)).status_code == 200

    def label_cluster(self, cluster: str, labels: Mapping[str, str | None]) -> None:
        """Merge ``labels`` into the cluster Secret's labels (None removes one), as kubectl
        label would."""
        with self.mgmt() as client:
            resp = client.patch(
                f"/api/v1/namespaces/{self.namespace}/secrets/cluster-{cluster}",
                json={"metadata": {"labels": dict(labels)}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert resp.status_code == 200, resp.text

    def put_secret(self, secret: dict[str, Any]) -> None:
        """Create or replace a Secret of the control namespace."""
        name = secret["metadata"]["name"]
        secret["metadata"]["namespace"] = self.namespace
        path = f"/api/v1/namespaces/{self.namespace}/secrets"
        with self.mgmt() as client:
            current = client.get(f"{path}/{name}")
            if current.status_code == 404:
                resp = client.post(path, json=secret)
            else:
                secret["metadata"]["resourceVersion"] = current.json()["metadata"][
                    "resourceVersion"
                ]
                resp = client.put(f"{path}/{name}", json=secret)
            assert resp.status_code in (200, 201), resp.text

    # -- git ----------------------------------------------------------------------------------

    def push_webhook(
        self,
        repo: gitrepos.RepoInfo,
        *,
        before: str,
        after: str,
        added: Sequence[str] = (),
        modified: Sequence[str] = (),
    ) -> float:
        """Deliver a GitHub push event for ``main`` to the controller; returns its duration."""
        payload = {
            "ref": "refs/heads/main",
            "before": before,
            "after": after,
            "repository": {
                "html_url": repo.http_url,
                "clone_url": repo.http_url,
                "default_branch": "main",
            },
            "commits": [{"id": after, "added": list(added), "modified": list(modified)}],
        }
        started = time.monotonic()
        resp = httpx.post(
            f"http://127.0.0.1:{self.webhook_port}/api/webhook",
            json=payload,
            headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": secrets.token_hex(8)},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        return time.monotonic() - started

    # -- destination clusters -----------------------------------------------------------------

    def dest_namespace(self, suffix: str) -> str:
        """A namespace name for this module on the destination clusters (deleted afterwards)."""
        name = f"{self.namespace}-{suffix}"
        for cluster in CLUSTERS:
            self.dest_namespaces.add((cluster, name))
        return name

    def ensure_namespace(self, cluster: str, name: str) -> None:
        with self.bed.admin_client(cluster) as client:
            resp = client.post(
                "/api/v1/namespaces",
                json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )
            assert resp.status_code in (201, 409), resp.text

    def deployment(self, cluster: str, namespace: str, name: str) -> dict[str, Any] | None:
        path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
        with self.bed.admin_client(cluster) as client:
            resp = client.get(path)
            if resp.status_code == 404:
                return None
            resp.raise_for_status()
            data: dict[str, Any] = resp.json()
            return data

    def log_tail(self, lines: int = 30) -> str:
        return procs.tail(self.controller.log, lines)

    def cleanup(self) -> None:
        with self.mgmt() as client:
            for kind in ("applicationsets", "applications"):
                base = f"/apis/{constants.GROUP}/v1alpha1/namespaces/{self.namespace}/{kind}"
                resp = client.get(base)
                for obj in resp.json().get("items", []) if resp.status_code == 200 else []:
                    if obj["metadata"].get("finalizers"):
                        client.patch(
                            f"{base}/{obj['metadata']['name']}",
                            json={"metadata": {"finalizers": None}},
                            headers={"Content-Type": "application/merge-patch+json"},
                        )
            client.delete(f"/api/v1/namespaces/{self.namespace}")
        for cluster, ns in sorted(self.dest_namespaces):
            with self.bed.admin_client(cluster) as client:
                client.delete(f"/api/v1/namespaces/{ns}")
