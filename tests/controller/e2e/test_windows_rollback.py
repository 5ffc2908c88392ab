"""A deny sync window blocks an automated sync (the status says so) until it closes; rollback
to an earlier history entry restores the earlier image; a webhook push syncs promptly."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
from typing import Any

import httpx

from tidegate.model import constants
from tidegate.testenv import scenario

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers: [{{name: web, image: "nginx:{tag}"}}]
"""


def _image(gitops: scenario.GitOps, ns: str) -> str:
    out = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", "deployment", "web", "-o", "json")
    return str(json.loads(out)["spec"]["template"]["spec"]["containers"][0]["image"])


def _conditions(app: dict[str, Any]) -> list[dict[str, Any]]:
    return list((app.get("status") or {}).get("conditions") or [])


def test_deny_window_blocks_automated_sync_until_it_closes(gitops: scenario.GitOps) -> None:
    now = dt.datetime.now(dt.UTC)
    # A window that opened at the start of this minute and closes 60-120 s from now.
    duration = "2m" if now.second > 30 else "1m"
    project = {
        "apiVersion": constants.API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": "windowed", "namespace": gitops.namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "syncWindows": [
                {
                    "kind": "deny",
                    "schedule": f"{now.minute} {now.hour} * * *",
                    "duration": duration,
                    "applications": ["*"],
                    "timeZone": "UTC",
                }
            ],
        },
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [project])
    repo, work = gitops.repo({"app/web.yaml": DEPLOYMENT.format(tag="1.27.0")})
    ns = f"window-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "windowed",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            project="windowed",
        )
    )

    def blocked(app: dict[str, Any]) -> bool:
        return any(
            c["type"] == "SyncError" and "sync window" in c["message"] for c in _conditions(app)
        )

    app = gitops.wait_app("windowed", blocked, timeout=60, what="the window to block the sync")
    assert app["status"]["sync"]["status"] == "OutOfSync"
    assert not app["status"].get("history")
    assert "NotFound" in scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "get", "deployment", "web", check=False
    ) or "not found" in scenario.kubectl(gitops.bed, "dev", "get", "ns", ns, check=False)
    # When the window closes the controller syncs by itself.
    app = gitops.wait_app(
        "windowed",
        lambda a: scenario.synced_healthy(a, work.head()),
        timeout=180,
        what="the sync once the window closed",
    )
    assert not blocked(app)
    assert dt.datetime.now(dt.UTC) >= now.replace(second=0, microsecond=0) + dt.timedelta(
        minutes=int(duration[0])
    )
    assert _image(gitops, ns) == "nginx:1.27.0"


def test_rollback_restores_the_previous_image(gitops: scenario.GitOps) -> None:
    repo, work = gitops.repo({"app/web.yaml": DEPLOYMENT.format(tag="1.27.0")})
    ns = f"rollback-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "rolled",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
            automated=False,
        )
    )
    tidegate = [sys.executable, "-m", "tidegate", "app"]
    common = [
        f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
        f"--namespace={gitops.namespace}",
    ]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*tidegate, *args, *common], capture_output=True, text=True, timeout=180, check=False
        )

    first = run("sync", "rolled", "--timeout", "120")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _image(gitops, ns) == "nginx:1.27.0"
    work.commit({"app/web.yaml": DEPLOYMENT.format(tag="1.27.1")}, "bump")
    second = run("sync", "rolled", "--timeout", "120")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _image(gitops, ns) == "nginx:1.27.1"
    history = gitops.get_app("rolled")["status"]["history"]
    assert len(history) == 2
    back = run("rollback", "rolled", str(history[0]["id"]), "--timeout", "120")
    assert back.returncode == 0, back.stdout + back.stderr
    assert _image(gitops, ns) == "nginx:1.27.0"
    app = gitops.get_app("rolled")
    assert app["status"]["history"][-1]["revision"] == history[0]["revision"]
    assert app["status"]["sync"]["status"] == "OutOfSync"  # Git is ahead of what runs


def test_webhook_push_syncs_promptly(gitops: scenario.GitOps) -> None:
    repo, work = gitops.repo({"app/web.yaml": DEPLOYMENT.format(tag="1.27.0")})
    ns = f"webhook-{gitops.namespace}"
    gitops.create_app(
        scenario.application(
            "hooked",
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=ns,
        )
    )
    gitops.wait_app("hooked", lambda a: scenario.synced_healthy(a, work.head()), timeout=60)
    sha = work.commit({"app/web.yaml": DEPLOYMENT.format(tag="1.27.2")}, "bump via webhook")
    payload = json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": sha,
            "repository": {
                "html_url": repo.http_url.removesuffix(".git"),
                "clone_url": repo.http_url,
                "default_branch": "main",
            },
            "commits": [{"id": sha, "added": [], "removed": [], "modified": ["app/web.yaml"]}],
        }
    ).encode()
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    resp = httpx.post(
        f"http://127.0.0.1:{gitops.webhook_port}/api/webhook",
        content=payload,
        headers=headers,
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["refreshed"] >= 1
    gitops.wait_app(
        "hooked",
        lambda a: scenario.synced_healthy(a, sha),
        timeout=20,
        what="the webhook-triggered sync",
    )
    assert _image(gitops, ns) == "nginx:1.27.2"
    # A wrongly signed delivery is refused once a secret is configured.
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": constants.ARGOCD_SECRET_NAME, "namespace": gitops.namespace},
        "stringData": {"webhook.github.secret": "s3cret-value"},
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [secret])
    bad = hmac.new(b"wrong", payload, hashlib.sha256).hexdigest()

    def refused() -> bool:
        r = httpx.post(
            f"http://127.0.0.1:{gitops.webhook_port}/api/webhook",
            content=payload,
            headers={**headers, "X-Hub-Signature-256": f"sha256={bad}"},
            timeout=10,
        )
        return r.status_code == 401 and "s3cret-value" not in r.text

    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    while dt.datetime.now(dt.UTC) < deadline and not refused():
        pass
    assert refused()
