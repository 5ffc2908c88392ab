"""Sync waves and hooks through the controller: PreSync before wave 0, wave 1 after wave 0 is
healthy, PostSync last; a failing hook fails the sync and runs the SyncFail hook. And a
controller killed (SIGKILL) in the middle of a multi-wave sync resumes it after a restart."""

from __future__ import annotations

import json
from typing import Any

from tidegate.testenv import scenario

PRESYNC = """apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox}]
"""

POSTSYNC = """apiVersion: batch/v1
kind: Job
metadata:
  name: smoke
  annotations:
    argocd.argoproj.io/hook: PostSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: smoke, image: busybox}]
"""

FAILING_PRESYNC = """apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  backoffLimit: 0
  activeDeadlineSeconds: 1
  template:
    spec:
      restartPolicy: Never
      nodeSelector: {tidegate.test/no-such-node: "true"}
      containers: [{name: migrate, image: busybox}]
"""

SYNCFAIL = """apiVersion: v1
kind: ConfigMap
metadata:
  name: sync-failed-marker
  annotations:
    argocd.argoproj.io/hook: SyncFail
data: {failed: "true"}
"""


def deployment(name: str, wave: int, *, min_ready: int = 0) -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
spec:
  replicas: 1
  minReadySeconds: {min_ready}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers: [{{name: c, image: nginx:1.27}}]
"""


def configmap(name: str, wave: int) -> str:
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  annotations:
    argocd.argoproj.io/sync-wave: "{wave}"
data: {{k: v}}
"""


def _get(gitops: scenario.GitOps, namespace: str, kind: str, name: str) -> dict[str, Any]:
    out = scenario.kubectl(gitops.bed, "dev", "-n", namespace, "get", kind, name, "-o", "json")
    data: dict[str, Any] = json.loads(out)
    return data


def _sync(gitops: scenario.GitOps, name: str) -> None:
    gitops.patch_app(
        name, {"operation": {"sync": {"prune": True}, "initiatedBy": {"username": "e2e"}}}
    )


def _finished(app: dict[str, Any]) -> bool:
    phase = ((app.get("status") or {}).get("operationState") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Error") and not app.get("operation")


def test_presync_wave0_wave1_postsync_in_order(gitops: scenario.GitOps) -> None:
    repo, _ = gitops.repo(
        {
            "app/presync.yaml": PRESYNC,
            "app/web.yaml": deployment("web", 0, min_ready=2),
            "app/after.yaml": configmap("after-web", 1),
            "app/postsync.yaml": POSTSYNC,
        }
    )
    ns = f"waves-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "waves",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            automated=False,
        )
    )
    _sync(gitops, "waves")
    app = gitops.wait_app("waves", _finished, timeout=120, what="the sync to finish")
    state = app["status"]["operationState"]
    assert state["phase"] == "Succeeded", state

    job = _get(gitops, ns, "job", "migrate")
    web = _get(gitops, ns, "deployment", "web")
    after = _get(gitops, ns, "configmap", "after-web")
    smoke = _get(gitops, ns, "job", "smoke")
    # PreSync completed before wave 0 was created.
    assert job["status"]["completionTime"] <= web["metadata"]["creationTimestamp"]
    # Wave 1 was created only once wave 0 was Available (minReadySeconds makes that take time).
    available = next(c for c in web["status"]["conditions"] if c["type"] == "Available")
    assert available["status"] == "True"
    assert available["lastTransitionTime"] <= after["metadata"]["creationTimestamp"]
    # PostSync ran last.
    assert smoke["metadata"]["creationTimestamp"] >= after["metadata"]["creationTimestamp"]
    phases = [(r["kind"], r.get("syncPhase")) for r in state["syncResult"]["resources"]]
    assert ("Job", "PreSync") in phases and ("Job", "PostSync") in phases


def test_failing_hook_fails_the_sync_and_runs_syncfail(gitops: scenario.GitOps) -> None:
    repo, _ = gitops.repo(
        {
            "app/presync.yaml": FAILING_PRESYNC,
            "app/web.yaml": deployment("never", 0),
            "app/syncfail.yaml": SYNCFAIL,
        }
    )
    ns = f"hookfail-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "hookfail",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            automated=False,
        )
    )
    _sync(gitops, "hookfail")
    app = gitops.wait_app("hookfail", _finished, timeout=120, what="the sync to finish")
    state = app["status"]["operationState"]
    assert state["phase"] == "Failed", state
    assert _get(gitops, ns, "configmap", "sync-failed-marker")["data"] == {"failed": "true"}
    missing = scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "get", "deployment", "never", check=False
    )
    assert "NotFound" in missing  # wave 0 never ran
    assert not app["status"].get("history")


def test_sigkilled_controller_resumes_the_sync_and_records_it_once(
    gitops: scenario.GitOps,
) -> None:
    repo, work = gitops.repo(
        {
            "app/a.yaml": deployment("first", 0, min_ready=6),
            "app/b.yaml": deployment("second", 1),
            "app/c.yaml": configmap("third", 2),
        }
    )
    ns = f"resume-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "resume",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            automated=False,
        )
    )
    _sync(gitops, "resume")

    def wave0_applied(app: dict[str, Any]) -> bool:
        state = (app.get("status") or {}).get("operationState") or {}
        if state.get("phase") != "Running":
            return False
        out = scenario.kubectl(
            gitops.bed, "dev", "-n", ns, "get", "deployment", "first", check=False
        )
        return "NotFound" not in out and "not found" not in out

    gitops.wait_app("resume", wave0_applied, timeout=60, what="wave 0 applied")
    gitops.controller.kill()  # SIGKILL in the middle: wave 0 waits for minReadySeconds
    first_uid = _get(gitops, ns, "deployment", "first")["metadata"]["uid"]
    gitops.controller.start()
    gitops.controller.wait_log("controller ready", timeout=60)

    app = gitops.wait_app("resume", _finished, timeout=120, what="the resumed sync to finish")
    assert app["status"]["operationState"]["phase"] == "Succeeded"
    history = app["status"]["history"]
    assert len(history) == 1 and history[0]["revision"] == work.head()
    first = _get(gitops, ns, "deployment", "first")
    assert first["metadata"]["uid"] == first_uid
    assert first["metadata"]["generation"] == 1  # wave 0 was not applied again with changes
    assert _get(gitops, ns, "configmap", "third")["data"] == {"k": "v"}
