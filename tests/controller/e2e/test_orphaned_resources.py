"""AppProject orphanedResources with the real controller: an untracked object created in the
app's destination namespace gives an OrphanedResourceWarning naming it; ignore globs and the
objects Kubernetes makes in every namespace (default ServiceAccount, kube-root-ca.crt) are not
orphans; deleting the orphan clears the warning; the orphan itself is never touched."""

from __future__ import annotations

from typing import Any

from tidegate.model import constants
from tidegate.testenv import scenario

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: managed
data: {k: v}
"""


def _warning(app: dict[str, Any]) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "OrphanedResourceWarning":
            return str(cond.get("message"))
    return ""


def test_orphaned_resources_warning(gitops: scenario.GitOps) -> None:
    project = {
        "apiVersion": constants.API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": "watched", "namespace": gitops.namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "orphanedResources": {
                "warn": True,
                "ignore": [{"kind": "ConfigMap", "name": "ignored-*"}],
            },
        },
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [project])
    repo, work = gitops.repo({"app/cm.yaml": CONFIGMAP})
    ns = f"orphans-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "watched-app",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            project="watched",
        )
    )
    app = gitops.wait_app(
        "watched-app",
        lambda a: scenario.synced_healthy(a, work.head()),
        timeout=60,
        what="the first sync",
    )
    # The namespace holds the default ServiceAccount and kube-root-ca.crt: not orphans.
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "serviceaccount", "default")
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "configmap", "kube-root-ca.crt")
    assert not _warning(app)

    for name in ("stray", "ignored-by-glob"):
        scenario.kubectl(gitops.bed, "dev", "-n", ns, "create", "configmap", name)
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "create", "serviceaccount", "builder")
    app = gitops.wait_app(
        "watched-app",
        lambda a: "2 orphaned" in _warning(a),
        timeout=30,
        what="an OrphanedResourceWarning",
    )
    assert _warning(app) == (
        "Application has 2 orphaned resources: ConfigMap/stray, ServiceAccount/builder"
    )
    assert scenario.synced_healthy(app)  # a warning, not an error

    scenario.kubectl(gitops.bed, "dev", "-n", ns, "delete", "configmap", "stray")
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "delete", "serviceaccount", "builder")
    gitops.wait_app(
        "watched-app", lambda a: not _warning(a), timeout=30, what="the warning to clear"
    )
    # Orphans are reported, never pruned.
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "configmap", "ignored-by-glob")
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "configmap", "managed")
