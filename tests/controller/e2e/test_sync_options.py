"""Sync options that need the controller: Prune=confirm waits for approval on the app, and
FailOnSharedResource refuses to take over another app's object."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import Any

from tidegate.model import constants
from tidegate.testenv import scenario


def configmap(name: str, *, options: str = "") -> str:
    annotations = (
        f"\n  annotations:\n    argocd.argoproj.io/sync-options: {options}" if options else ""
    )
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{annotations}\ndata: {{k: v}}\n"
    )


def _state(app: dict[str, Any]) -> dict[str, Any]:
    return dict((app.get("status") or {}).get("operationState") or {})


def _finished(app: dict[str, Any]) -> bool:
    return _state(app).get("phase") in ("Succeeded", "Failed", "Error") and not app.get("operation")


def _exists(gitops: scenario.GitOps, ns: str, name: str) -> bool:
    out = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "configmap", name, check=False)
    return "NotFound" not in out


def _confirm_deletion(gitops: scenario.GitOps, name: str) -> None:
    """Approve as a user would: `tidegate app confirm-deletion` sets the annotation to now."""
    result = subprocess.run(
        [sys.executable, "-m", "tidegate", "app", "confirm-deletion", name,
         f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
         f"--namespace={gitops.namespace}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _sync(gitops: scenario.GitOps, name: str) -> None:
    gitops.patch_app(
        name, {"operation": {"sync": {"prune": True}, "initiatedBy": {"username": "e2e"}}}
    )


def test_prune_confirm_waits_for_the_deletion_approved_annotation(gitops: scenario.GitOps) -> None:
    repo, work = gitops.repo(
        {
            "app/precious.yaml": configmap("precious", options="Prune=confirm"),
            "app/other.yaml": configmap("other"),
        }
    )
    ns = f"confirm-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "confirm",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            automated=False,
        )
    )
    _sync(gitops, "confirm")
    gitops.wait_app("confirm", _finished, timeout=60, what="the first sync")
    work.commit({}, "drop precious", delete=["app/precious.yaml"])
    _sync(gitops, "confirm")
    gitops.wait_app(
        "confirm",
        lambda a: "confirmation" in _state(a).get("message", ""),
        timeout=60,
        what="the sync to wait for pruning confirmation",
    )
    assert _exists(gitops, ns, "precious")
    assert gitops.get_app("confirm").get("operation")  # still running
    _confirm_deletion(gitops, "confirm")
    annotations = gitops.get_app("confirm")["metadata"]["annotations"]
    assert dt.datetime.fromisoformat(annotations[constants.ANNOTATION_DELETION_APPROVED])
    app = gitops.wait_app("confirm", _finished, timeout=60, what="the approved sync to finish")
    assert _state(app)["phase"] == "Succeeded", _state(app)
    assert not _exists(gitops, ns, "precious")
    assert _exists(gitops, ns, "other")


def test_fail_on_shared_resource_leaves_the_other_apps_object_alone(
    gitops: scenario.GitOps,
) -> None:
    ns = f"shared-{gitops.namespace}"
    server = gitops.bed.clusters["dev"].server
    owner_repo, owner_work = gitops.repo({"app/shared.yaml": configmap("shared")})
    gitops.create_app(
        scenario.application(
            "owner", repo_url=owner_repo.http_url, path="app", server=server, namespace=ns
        )
    )
    gitops.wait_app("owner", lambda a: scenario.synced_healthy(a, owner_work.head()), timeout=60)
    intruder_repo, _ = gitops.repo(
        {"app/shared.yaml": configmap("shared").replace("k: v", "k: mine")}
    )
    gitops.create_app(
        scenario.application(
            "intruder",
            repo_url=intruder_repo.http_url,
            path="app",
            server=server,
            namespace=ns,
            automated=False,
            sync_options=("FailOnSharedResource=true",),
        )
    )
    _sync(gitops, "intruder")
    app = gitops.wait_app("intruder", _finished, timeout=60, what="the refused sync")
    state = _state(app)
    assert state["phase"] == "Failed", state
    assert "owner" in state["message"], state["message"]
    out = scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "get", "configmap", "shared", "-o", "jsonpath={.data.k}"
    )
    assert out == "v"


def test_create_namespace_with_managed_namespace_metadata(gitops: scenario.GitOps) -> None:
    repo, work = gitops.repo({"app/cm.yaml": configmap("cfg")})
    ns = f"managed-{gitops.namespace}"
    app = scenario.application(
        "managed",
        repo_url=repo.http_url,
        path="app",
        server=gitops.bed.clusters["dev"].server,
        namespace=ns,
    )
    app["spec"]["syncPolicy"]["managedNamespaceMetadata"] = {
        "labels": {"team": "payments"},
        "annotations": {"owner": "platform"},
    }
    gitops.create_app(app)
    gitops.wait_app("managed", lambda a: scenario.synced_healthy(a, work.head()), timeout=60)
    out = scenario.kubectl(gitops.bed, "dev", "get", "namespace", ns, "-o", "json")
    meta = json.loads(out)["metadata"]
    assert meta["labels"]["team"] == "payments"
    assert meta["annotations"]["owner"] == "platform"
    # The namespace is not part of the app: no tracking, so it is never pruned.
    assert constants.ANNOTATION_TRACKING_ID not in meta["annotations"]


def test_delete_confirm_keeps_the_resource_until_deletion_is_approved(
    gitops: scenario.GitOps,
) -> None:
    repo, work = gitops.repo(
        {
            "app/guarded.yaml": configmap("guarded", options="Delete=confirm"),
            "app/plain.yaml": configmap("plain"),
        }
    )
    ns = f"delconfirm-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "delconfirm",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
        )
    )
    gitops.wait_app("delconfirm", lambda a: scenario.synced_healthy(a, work.head()), timeout=60)
    gitops.patch_app(
        "delconfirm", {"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io"]}}
    )
    with gitops.mgmt() as client:
        assert client.delete(gitops.app_path("delconfirm")).status_code == 200

    def waiting(app: dict[str, Any]) -> bool:
        return any(
            c.get("type") == "DeletionError" and "guarded" in c.get("message", "")
            for c in (app.get("status") or {}).get("conditions") or []
        )

    gitops.wait_app("delconfirm", waiting, timeout=60, what="the deletion to wait for approval")
    assert _exists(gitops, ns, "guarded")
    _confirm_deletion(gitops, "delconfirm")
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    while dt.datetime.now(dt.UTC) < deadline:
        with gitops.mgmt() as client:
            gone = client.get(gitops.app_path("delconfirm")).status_code == 404
        if gone and not _exists(gitops, ns, "guarded"):
            break
    assert gone and not _exists(gitops, ns, "guarded") and not _exists(gitops, ns, "plain")
