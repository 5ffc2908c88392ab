"""``tidegate app actions list|run`` with the built-in actions (no argocd-cm), against a real
controller and the dev cluster: Deployment restart/pause/resume, StatefulSet and DaemonSet
restart, CronJob create-job, Rollout resume/abort/retry (status through the status
subresource), and argocd-cm actions replacing or merging with the built-ins."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.testenv import scenario

pytestmark = pytest.mark.e2e

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def CONTROLLER_ARGS(_workdir: Path) -> list[str]:
    # The Rollout here is a bare object the actions write to (no selector: a Rollouts
    # controller would call it InvalidSpec and the app Degraded), so none runs.
    return ["--no-rollouts"]


ROLLOUT_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "rollouts.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "scope": "Namespaced",
        "names": {"plural": "rollouts", "singular": "rollout", "kind": "Rollout"},
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object",
                                           "x-kubernetes-preserve-unknown-fields": True}},
        }],
    },
}  # fmt: skip


def _pod_template() -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/web:1"}]}}  # fmt: skip


def _workload(kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": _pod_template(),
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


FILES = {
    "app/deploy.yaml": yaml.safe_dump(_workload("Deployment", "web")),
    "app/sts.yaml": yaml.safe_dump(_workload("StatefulSet", "db")),
    "app/ds.yaml": yaml.safe_dump(_workload("DaemonSet", "agent")),
    "app/cron.yaml": yaml.safe_dump({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {
            "metadata": {"labels": {"job": "nightly"}},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "registry.invalid/job:1"}]}}}}},
    }),
    "app/rollout.yaml": yaml.safe_dump({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "canary"},
        "spec": {"replicas": 1, "template": _pod_template()},
    }),
}  # fmt: skip


@pytest.fixture(scope="module")
def rollout_crd(gitops: scenario.GitOps) -> Iterator[None]:
    existed = scenario.kubectl(gitops.bed, "dev", "get", "crd", "rollouts.argoproj.io",
                               "--ignore-not-found", "-o", "name")  # fmt: skip
    if not existed.strip():
        scenario.apply_manifests(gitops.bed, "dev", [ROLLOUT_CRD])
        scenario.kubectl(gitops.bed, "dev", "wait", "--for=condition=Established",
                         "--timeout=60s", "crd/rollouts.argoproj.io")  # fmt: skip
    yield
    if not existed.strip():
        scenario.kubectl(gitops.bed, "dev", "delete", "crd", "rollouts.argoproj.io",
                         "--wait=false", check=False)  # fmt: skip


def _cli(gitops: scenario.GitOps, *args: str) -> subprocess.CompletedProcess[str]:
    kubeconfig = str(gitops.bed.clusters["mgmt"].kubeconfig)
    return subprocess.run(
        [sys.executable, "-m", "tidegate", "app", "actions", *args,
         f"--kubeconfig={kubeconfig}", "-n", gitops.namespace],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _offered(gitops: scenario.GitOps, kind: str) -> dict[str, bool]:
    listed = _cli(gitops, "list", "builtin", "--kind", kind, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return {row["action"]["name"]: row["action"]["disabled"] for row in json.loads(listed.stdout)}


def _live(gitops: scenario.GitOps, ns: str, what: str) -> dict[str, Any]:
    return dict(json.loads(scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", what,
                                            "-o", "json")))  # fmt: skip


def test_builtin_actions(gitops: scenario.GitOps, rollout_crd: None) -> None:
    repo, _work = gitops.repo(FILES)
    ns = f"act-{gitops.namespace}"
    gitops.create_app(
        scenario.application("builtin", repo_url=repo.http_url, path="app",
                             server=gitops.bed.clusters["dev"].server, namespace=ns,
                             automated=False)
    )  # fmt: skip
    gitops.patch_app("builtin", {"operation": {"sync": {"revision": "main"}}})
    gitops.wait_app(
        "builtin",
        lambda a: (
            not a.get("operation")
            and ((a.get("status") or {}).get("operationState") or {}).get("phase") == "Succeeded"
            and len((a.get("status") or {}).get("resources") or []) == 5
        ),
        timeout=120,
    )

    assert _offered(gitops, "Deployment") == {"pause": False, "restart": False}
    ran = _cli(gitops, "run", "builtin", "restart", "--kind", "Deployment")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "Deployment/web patched"
    annotations = _live(gitops, ns, "deployment/web")["spec"]["template"]["metadata"]["annotations"]
    assert RESTARTED_AT in annotations
    assert _cli(gitops, "run", "builtin", "pause", "--kind", "Deployment").returncode == 0
    assert _live(gitops, ns, "deployment/web")["spec"]["paused"] is True
    assert _offered(gitops, "Deployment") == {"restart": False, "resume": False}
    assert _cli(gitops, "run", "builtin", "resume", "--kind", "Deployment").returncode == 0
    assert "paused" not in _live(gitops, ns, "deployment/web")["spec"]

    for kind, name in (("StatefulSet", "statefulset/db"), ("DaemonSet", "daemonset/agent")):
        assert _cli(gitops, "run", "builtin", "restart", "--kind", kind).returncode == 0
        template = _live(gitops, ns, name)["spec"]["template"]["metadata"]
        assert RESTARTED_AT in template["annotations"]

    made = _cli(gitops, "run", "builtin", "create-job", "--kind", "CronJob")
    assert made.returncode == 0, made.stderr
    job_name = made.stdout.strip().removeprefix("Job/").removesuffix(" created")
    job = _live(gitops, ns, f"job/{job_name}")
    assert job["metadata"]["ownerReferences"][0]["name"] == "nightly"
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"

    pause = '{"status": {"pauseConditions": [{"reason": "CanaryPauseStep"}]}}'
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "patch", "rollout", "canary",
                     "--subresource=status", "--type=merge", "-p", pause)  # fmt: skip
    assert _offered(gitops, "Rollout") == {
        "abort": False, "promote-full": False, "restart": False, "resume": False, "retry": True
    }  # fmt: skip
    assert _cli(gitops, "run", "builtin", "resume", "--kind", "Rollout").returncode == 0
    assert "pauseConditions" not in _live(gitops, ns, "rollout/canary").get("status", {})
    assert _cli(gitops, "run", "builtin", "abort", "--kind", "Rollout").returncode == 0
    assert _live(gitops, ns, "rollout/canary")["status"]["abort"] is True
    refused = _cli(gitops, "run", "builtin", "abort", "--kind", "Rollout")
    assert refused.returncode == 1 and "action 'abort' is disabled" in refused.stderr
    assert _cli(gitops, "run", "builtin", "retry", "--kind", "Rollout").returncode == 0
    assert "abort" not in _live(gitops, ns, "rollout/canary")["status"]

    custom = ("discovery.lua: |\n  return {scale = {}}\ndefinitions:\n- name: scale\n"
              "  action.lua: |\n    obj.spec.replicas = 2\n    return obj\n")  # fmt: skip
    key = "resource.customizations.actions.apps_Deployment"
    scenario.apply_manifests(gitops.bed, "mgmt", [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": gitops.namespace}, "data": {key: custom},
    }])  # fmt: skip
    assert _offered(gitops, "Deployment") == {"scale": False}  # replaced
    scenario.apply_manifests(gitops.bed, "mgmt", [{
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "argocd-cm", "namespace": gitops.namespace},
        "data": {key: custom + "mergeBuiltinActions: true\n"},
    }])  # fmt: skip
    assert _offered(gitops, "Deployment") == {"pause": False, "restart": False, "scale": False}
