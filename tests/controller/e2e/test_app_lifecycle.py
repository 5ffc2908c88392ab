"""The seed Application on the real test bed: deploy, update, prune, self-heal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from tidegate.testenv.scenario import GitOps, synced_healthy

SEED = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: myapp
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/org/repo
    targetRevision: main
    path: apps/myapp
  destination:
    server: https://kubernetes.default.svc
    namespace: production
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
    - CreateNamespace=true
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27.0
"""

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: blue
"""


def _kubectl(gitops: GitOps, *args: str) -> str:
    kubectl = Path(sys.executable).with_name("kubectl")
    out = subprocess.run(
        [str(kubectl), f"--kubeconfig={gitops.bed.clusters['dev'].kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def _deployment(gitops: GitOps, namespace: str) -> dict[str, Any]:
    return json.loads(_kubectl(gitops, "-n", namespace, "get", "deployment", "web", "-o", "json"))


def test_seed_application_syncs_updates_prunes_and_self_heals(gitops: GitOps) -> None:
    repo, work = gitops.repo(
        {"apps/myapp/deployment.yaml": DEPLOYMENT, "apps/myapp/configmap.yaml": CONFIGMAP}
    )
    dest_ns = f"production-{gitops.namespace}"
    app = yaml.safe_load(SEED)
    app["spec"]["source"]["repoURL"] = repo.http_url
    app["spec"]["destination"]["server"] = gitops.bed.clusters["dev"].server
    app["spec"]["destination"]["namespace"] = dest_ns
    gitops.create_app(app)

    first = work.head()
    gitops.wait_app(
        "myapp",
        lambda a: synced_healthy(a, first),
        timeout=90,
        what="Synced and Healthy at the first commit",
    )
    deployment = _deployment(gitops, dest_ns)
    assert deployment["status"]["availableReplicas"] == 2
    pods = json.loads(
        _kubectl(gitops, "-n", dest_ns, "get", "pods", "-l", "app=web", "-o", "json")
    )["items"]
    assert len(pods) == 2 and all(p["spec"]["nodeName"].startswith("dev-node-") for p in pods)
    history = gitops.get_app("myapp")["status"]["history"]
    assert [h["revision"] for h in history] == [first]

    # A commit changing the image tag is deployed automatically.
    second = work.commit(
        {"apps/myapp/deployment.yaml": DEPLOYMENT.replace("1.27.0", "1.27.1")}, "bump nginx"
    )
    gitops.wait_app(
        "myapp", lambda a: synced_healthy(a, second), timeout=60, what="Synced at the image bump"
    )
    image = _deployment(gitops, dest_ns)["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:1.27.1"

    # A commit deleting a manifest prunes the object.
    third = work.commit({}, "drop the config map", delete=["apps/myapp/configmap.yaml"])
    gitops.wait_app(
        "myapp", lambda a: synced_healthy(a, third), timeout=60, what="Synced after the deletion"
    )
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("kubectl")),
            f"--kubeconfig={gitops.bed.clusters['dev'].kubeconfig}",
            "-n",
            dest_ns,
            "get",
            "configmap",
            "settings",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode != 0 and "NotFound" in out.stderr

    # A manual scale is reverted by selfHeal.
    _kubectl(gitops, "-n", dest_ns, "scale", "deployment", "web", "--replicas=5")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _deployment(gitops, dest_ns)["spec"]["replicas"] == 2:
            break
        time.sleep(0.2)
    assert _deployment(gitops, dest_ns)["spec"]["replicas"] == 2
    final = gitops.wait_app("myapp", lambda a: synced_healthy(a, third), timeout=60)
    revisions = [h["revision"] for h in final["status"]["history"]]
    assert revisions[:3] == [first, second, third]


def test_ignore_differences_with_respect_ignore_differences(gitops: GitOps) -> None:
    """An HPA-style replica count: ignored in the diff, and not overwritten by a sync."""
    repo, work = gitops.repo({"app/deployment.yaml": DEPLOYMENT, "app/cm.yaml": CONFIGMAP})
    ns = f"ignore-{gitops.namespace}"
    app = yaml.safe_load(SEED)
    app["metadata"]["name"] = "ignoring"
    app["spec"]["source"].update({"repoURL": repo.http_url, "path": "app"})
    app["spec"]["destination"] = {"server": gitops.bed.clusters["dev"].server, "namespace": ns}
    app["spec"]["ignoreDifferences"] = [
        {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    ]
    app["spec"]["syncPolicy"]["syncOptions"].append("RespectIgnoreDifferences=true")
    gitops.create_app(app)
    gitops.wait_app("ignoring", lambda a: synced_healthy(a, work.head()), timeout=60)
    _kubectl(gitops, "-n", ns, "scale", "deployment", "web", "--replicas=4")
    # A new commit makes the app sync again: the ignored replica count is kept.
    second = work.commit({"app/cm.yaml": CONFIGMAP.replace("blue", "green")}, "green")
    gitops.wait_app("ignoring", lambda a: synced_healthy(a, second), timeout=60)
    assert _deployment(gitops, ns)["spec"]["replicas"] == 4
    out = _kubectl(gitops, "-n", ns, "get", "configmap", "settings", "-o", "json")
    assert json.loads(out)["data"]["mode"] == "green"


CHART = """apiVersion: v2
name: caps
version: 0.1.0
"""

CAPS_TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: caps
data:
  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}
  hasApps: {{ .Capabilities.APIVersions.Has "apps/v1/Deployment" | quote }}
  hasWidgets: {{ .Capabilities.APIVersions.Has "example.com/v1/Widget" | quote }}
"""


def test_helm_sees_the_destination_clusters_capabilities(gitops: GitOps) -> None:
    """helm template gets --kube-version and --api-versions from the destination cluster."""
    repo, work = gitops.repo({"chart/Chart.yaml": CHART, "chart/templates/cm.yaml": CAPS_TEMPLATE})
    ns = f"caps-{gitops.namespace}"
    app = yaml.safe_load(SEED)
    app["metadata"]["name"] = "caps"
    app["spec"]["source"].update({"repoURL": repo.http_url, "path": "chart"})
    app["spec"]["destination"] = {"server": gitops.bed.clusters["dev"].server, "namespace": ns}
    gitops.create_app(app)
    gitops.wait_app("caps", lambda a: synced_healthy(a, work.head()), timeout=60)
    data = json.loads(_kubectl(gitops, "-n", ns, "get", "configmap", "caps", "-o", "json"))["data"]
    version = json.loads(_kubectl(gitops, "version", "-o", "json"))["serverVersion"]["gitVersion"]
    assert data == {"kubeVersion": version, "hasApps": "true", "hasWidgets": "false"}
    assert gitops.get_app("caps")["status"]["sourceType"] == "Helm"


GREETING_TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: greeting
data:
  greeting: {{ .Values.greeting | quote }}
"""


def test_multi_source_app_takes_helm_values_from_a_ref_source(gitops: GitOps) -> None:
    """spec.sources: a chart from one repository, its values from another ($values/...)."""
    chart_repo, _ = gitops.repo(
        {
            "chart/Chart.yaml": CHART,
            "chart/values.yaml": "greeting: default\n",
            "chart/templates/cm.yaml": GREETING_TEMPLATE,
        }
    )
    values_repo, values_work = gitops.repo({"envs/prod.yaml": "greeting: from-values-repo\n"})
    ns = f"multi-{gitops.namespace}"
    app = yaml.safe_load(SEED)
    app["metadata"]["name"] = "multi"
    del app["spec"]["source"]
    app["spec"]["sources"] = [
        {
            "repoURL": chart_repo.http_url,
            "targetRevision": "main",
            "path": "chart",
            "helm": {"valueFiles": ["$values/envs/prod.yaml"]},
        },
        {"repoURL": values_repo.http_url, "targetRevision": "main", "ref": "values"},
    ]
    app["spec"]["destination"] = {"server": gitops.bed.clusters["dev"].server, "namespace": ns}
    gitops.create_app(app)

    def greeting() -> str:
        out = _kubectl(gitops, "-n", ns, "get", "configmap", "greeting", "-o", "json")
        return str(json.loads(out)["data"]["greeting"])

    gitops.wait_app(
        "multi",
        lambda a: (
            (a.get("status") or {}).get("sync", {}).get("status") == "Synced"
            and not a.get("operation")
        ),
        timeout=60,
    )
    assert greeting() == "from-values-repo"
    # A commit to the values repository alone is picked up (revisions lists both sources).
    second = values_work.commit({"envs/prod.yaml": "greeting: changed\n"}, "new values")
    status = gitops.wait_app(
        "multi",
        lambda a: (
            second in ((a.get("status") or {}).get("sync") or {}).get("revisions", [])
            and (a["status"]["sync"]["status"] == "Synced")
            and not a.get("operation")
        ),
        timeout=60,
        what="the values commit",
    )["status"]
    assert status["sourceTypes"][0] == "Helm"
    assert greeting() == "changed"
