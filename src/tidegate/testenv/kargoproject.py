"""A Kargo project of its own on the test bed's management cluster, for promotion e2e tests that
build their Warehouse and Stages by hand (``pipeline.py`` is the ready-made dev -> staging ->
prod one): create objects and credentials, promote with the real CLI, read Promotions."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tidegate.testenv import pipeline, scenario
from tidegate.testenv.wait import eventually

API = "kargo.akuity.io/v1alpha1"
ENDED = ("Succeeded", "Failed", "Errored", "Aborted")
T = TypeVar("T")


def until(probe: Callable[[], T | None], within: float = 90.0) -> T:
    """``wait.eventually`` for synchronous tests."""
    return asyncio.run(eventually(probe, within=within, every=0.5))


class KargoProject:
    def __init__(self, gitops: scenario.GitOps, *, shard: str = "") -> None:
        self.gitops = gitops
        self.name = f"p-{secrets.token_hex(3)}"
        self.kubeconfig = gitops.bed.clusters["mgmt"].kubeconfig
        labels = {"kargo.akuity.io/shard": shard} if shard else {}
        self.call(
            "POST",
            f"{pipeline.KARGO}/projects",
            {
                "apiVersion": API,
                "kind": "Project",
                "metadata": {"name": self.name, "labels": labels},
            },
        )
        until(lambda: pipeline.namespace_exists(gitops, self.name))

    def call(self, method: str, path: str, body: Any = None) -> Any:
        with self.gitops.mgmt() as client:
            headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
            resp = client.request(method, path, json=body, headers=headers)
            assert resp.status_code < 300, resp.text
            return resp.json()

    def kargo(self, method: str, plural: str, name: str = "", body: Any = None) -> Any:
        path = f"{pipeline.KARGO}/namespaces/{self.name}/{plural}" + (f"/{name}" if name else "")
        return self.call(method, path, body)

    def create(self, kind: str, name: str, spec: Mapping[str, Any]) -> Any:
        obj = {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}
        return self.kargo("POST", kind.lower() + "s", body=obj)

    def git_creds(self, name: str, url: str, username: str, password: str) -> None:
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "labels": {"kargo.akuity.io/cred-type": "git"}},
            "stringData": {"repoURL": url, "username": username, "password": password},
        }
        self.call("POST", f"/api/v1/namespaces/{self.name}/secrets", secret)

    def freights(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.kargo("GET", "freights")["items"]
        return items

    def promote(self, stage: str, freight: str) -> tuple[int, str]:
        """``tidegate promote``: its exit code and stderr."""
        done = pipeline.tidegate(
            self.kubeconfig, "promote", f"--project={self.name}", f"--stage={stage}",
            f"--freight={freight}",
        )  # fmt: skip
        return done.returncode, done.stderr

    def promotions(self, stage: str) -> list[dict[str, Any]]:
        """The Stage's Promotions, oldest first."""
        items = [p for p in self.kargo("GET", "promotions")["items"] if p["spec"]["stage"] == stage]
        return sorted(items, key=lambda p: str(p["metadata"]["creationTimestamp"]))

    def ended(self, stage: str, freight: str, within: float = 120.0) -> dict[str, Any]:
        """The newest Promotion of ``freight`` to ``stage``, once it ended."""

        def done() -> dict[str, Any] | None:
            mine = [p for p in self.promotions(stage) if p["spec"]["freight"] == freight]
            last = mine[-1] if mine else {}
            return last if (last.get("status") or {}).get("phase") in ENDED else None

        return until(done, within)

    def current(self, stage: str) -> str:
        """The Freight the Stage holds ("" for none)."""
        history = (self.kargo("GET", "stages", stage).get("status") or {}).get("freightHistory")
        return str(history[0]["id"]) if history else ""

    def delete(self) -> None:
        with self.gitops.mgmt() as client:
            client.delete(f"{pipeline.KARGO}/projects/{self.name}")
            client.delete(f"/api/v1/namespaces/{self.name}")
