"""Nothing half-applied: a sync whose manifests hold an unknown kind and a misspelled field is
validated by a server-side dry run of every object before the first apply, fails naming each bad
object, and creates nothing, not even the good ConfigMap beside them. The same problems show as
a ComparisonError condition after a refresh, before anyone syncs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tidegate.testenv import scenario

GOOD = """apiVersion: v1
kind: ConfigMap
metadata:
  name: good
data: {k: v}
"""
UNKNOWN_KIND = """apiVersion: gizmos.nowhere.example/v1
kind: Gizmo
metadata:
  name: spinner
spec: {speed: 3}
"""
MISSPELLED = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          imagePullPolicyy: Always
"""


def _condition(app: dict[str, Any], kind: str) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("message"))
    return ""


def _state(app: dict[str, Any]) -> dict[str, Any]:
    return dict((app.get("status") or {}).get("operationState") or {})


def _exists(gitops: scenario.GitOps, ns: str, kind: str, name: str) -> bool:
    out = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", kind, name, check=False)
    return "NotFound" not in out


@pytest.fixture
def namespace(gitops: scenario.GitOps) -> Iterator[str]:
    """An existing destination namespace (so the dry run can check every object in it)."""
    ns = f"valid-{gitops.namespace}"
    scenario.kubectl(gitops.bed, "dev", "create", "namespace", ns)
    yield ns
    scenario.kubectl(gitops.bed, "dev", "delete", "namespace", ns, "--wait=false", check=False)


def test_invalid_objects_are_reported_together_and_nothing_is_applied(
    gitops: scenario.GitOps, namespace: str
) -> None:
    repo, _ = gitops.repo(
        {"app/good.yaml": GOOD, "app/gizmo.yaml": UNKNOWN_KIND, "app/web.yaml": MISSPELLED}
    )
    gitops.create_app(
        scenario.application(
            "invalid",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=namespace,
            automated=False,
            sync_options=(),
        )
    )

    # After a refresh, before any sync: one ComparisonError naming both bad objects.
    app = gitops.wait_app(
        "invalid",
        lambda a: "Gizmo" in _condition(a, "ComparisonError"),
        timeout=60,
        what="the dry-run problems as a condition",
    )
    message = _condition(app, "ComparisonError")
    assert "rejected 2 object(s)" in message, message
    # The kind is unknown, so is its scope: it keeps the namespace it was written with (none).
    assert "- Gizmo.gizmos.nowhere.example spinner: " in message, message
    assert "does not serve kind 'Gizmo'" in message, message
    assert f"- Deployment.apps {namespace}/web: " in message, message
    assert "imagePullPolicyy" in message, message
    assert "good" not in message
    assert app["status"]["sync"]["status"] == "OutOfSync"
    assert not _state(app)
    assert not _exists(gitops, namespace, "configmap", "good")
    # `app diff` lists the same problems.
    diff = subprocess.run(
        [sys.executable, "-m", "tidegate", "app", "diff", "invalid", "--no-color",
         f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
         f"--namespace={gitops.namespace}", f"--cache-dir={gitops.workdir / 'cli-cache'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert diff.returncode == 1, diff.stderr
    assert diff.stderr.strip() == message, diff.stderr

    gitops.patch_app(
        "invalid", {"operation": {"sync": {"prune": True}, "initiatedBy": {"username": "e2e"}}}
    )
    app = gitops.wait_app(
        "invalid",
        lambda a: _state(a).get("phase") in ("Failed", "Error") and not a.get("operation"),
        timeout=60,
        what="the sync to fail its validation",
    )
    state = _state(app)
    assert state["phase"] == "Failed", state
    lines = state["message"].splitlines()
    assert lines[0] == "one or more objects failed to apply (dry run), nothing was applied:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        f"- Deployment.apps {namespace}/web",
        "- Gizmo.gizmos.nowhere.example spinner",
    ]
    failed = {r["name"]: r for r in state["syncResult"]["resources"]}
    assert set(failed) == {"web", "spinner"}
    assert all(r["status"] == "SyncFailed" for r in failed.values())
    # Nothing was applied: not the good ConfigMap, not the Deployment.
    assert not _exists(gitops, namespace, "configmap", "good")
    assert not _exists(gitops, namespace, "deployment", "web")
    assert not (app["status"].get("history") or [])
