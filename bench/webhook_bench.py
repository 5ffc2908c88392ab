"""Benchmark of commit -> Synced latency with a Git webhook (issue 4).

Set-up (not timed): a test bed with mgmt+dev, Tidegate installed in a fresh control namespace,
``tidegate controller`` running as a process with its webhook endpoint and a Git poll interval
of 180 s (so only the webhook can explain a prompt sync), one Application with automated sync
whose directory holds a ConfigMap and a Deployment.

Each sample: commit a change of the ConfigMap and push it to the test bed's git server (push
time reported apart), POST a GitHub-style ``push`` payload to ``/api/webhook``, then poll the
Application (every 20 ms) until ``status.sync.revision`` is the new sha, it is Synced and
Healthy and no operation is pending. The latency counts from just before the POST (the push
has landed) to that moment. Targets: p50 < 2 s, p95 < 5 s (nearest rank, over ``--commits``).

    .venv/bin/python bench/webhook_bench.py [--commits 20]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from tidegate.testenv import procs, scenario

P50_TARGET = 2.0
P95_TARGET = 5.0

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  release: "{n}"
"""


def _application(repo_url: str, server: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "hooked"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": "app"},
            "destination": {"server": server, "namespace": namespace},
            "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
        },
    }


def _payload(repo_url: str, sha: str) -> bytes:
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 40,
            "after": sha,
            "repository": {
                "html_url": repo_url.removesuffix(".git"),
                "clone_url": repo_url,
                "default_branch": "main",
            },
            "commits": [
                {"id": sha, "added": [], "removed": [], "modified": ["app/configmap.yaml"]}
            ],
        }
    ).encode()


def run(args: argparse.Namespace) -> None:
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        assert bed.git is not None
        workdir = Path(tmp)
        control = f"tg-hook-{secrets.token_hex(3)}"
        dest = f"hooked-{control}"
        scenario.control_namespace(bed, control)
        port = procs.free_port()
        controller = scenario.ControllerProcess(
            bed, control, log=workdir / "controller.log", app_resync=180, webhook_port=port
        ).start()
        try:
            controller.wait_log("controller ready", timeout=60)
            gitops = scenario.GitOps(bed, control, controller, workdir, port)
            repo, work = gitops.repo(
                {
                    "app/configmap.yaml": CONFIGMAP.format(n=0),
                    "app/deployment.yaml": common.WEB_DEPLOYMENT,
                }
            )
            gitops.create_app(_application(repo.http_url, bed.clusters["dev"].server, dest))
            gitops.wait_app(
                "hooked",
                lambda a: scenario.synced_healthy(a, work.head()),
                timeout=120,
                what="the first sync",
            )
            _samples(args, gitops, repo.http_url, work, port)
        finally:
            controller.stop()
            with bed.admin_client("mgmt") as client:
                client.delete(f"/api/v1/namespaces/{control}")
            with bed.admin_client("dev") as client:
                client.delete(f"/api/v1/namespaces/{dest}")


def _samples(
    args: argparse.Namespace, gitops: scenario.GitOps, repo_url: str, work: Any, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/api/webhook"
    headers = {"X-GitHub-Event": "push", "Content-Type": "application/json"}
    latencies: list[float] = []
    pushes: list[float] = []
    with gitops.mgmt() as mgmt, httpx.Client(timeout=10) as hook:

        def synced(sha: str) -> bool:
            resp = mgmt.get(gitops.app_path("hooked"))
            resp.raise_for_status()
            return scenario.synced_healthy(resp.json(), sha)

        for number in range(args.commits + 1):  # the first one warms up, not counted
            started = time.perf_counter()
            sha = work.commit({"app/configmap.yaml": CONFIGMAP.format(n=number + 1)}, "bump")
            pushed = time.perf_counter()
            resp = hook.post(url, content=_payload(repo_url, sha), headers=headers)
            assert resp.status_code == 200, resp.text
            assert resp.json().get("refreshed", 0) >= 1, resp.text
            deadline = time.monotonic() + 60
            while not synced(sha):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"app not Synced at {sha[:8]} after 60 s")
                time.sleep(0.02)
            latency = time.perf_counter() - pushed
            if number == 0:
                print(f"warm-up commit: {latency:.2f} s (not counted)", flush=True)
                continue
            latencies.append(latency)
            pushes.append(pushed - started)
            print(f"commit {number:2d}: push {pushed - started:.2f} s, webhook -> Synced "
                  f"{latency:.2f} s", flush=True)  # fmt: skip

    p50 = common.percentile(latencies, 0.50)
    p95 = common.percentile(latencies, 0.95)
    common.header(f"commit -> Synced with the webhook, {len(latencies)} commits")
    common.row("git commit + push (not counted)", common.spread(pushes, digits=2))
    common.row("webhook POST -> Synced", common.spread(latencies, digits=2))
    common.row(
        "p50",
        f"{p50:.2f} s - {p50 / P50_TARGET:.2f}x of target 2 s: {common.verdict(p50, P50_TARGET)}",
    )
    common.row(
        "p95",
        f"{p95:.2f} s - {p95 / P95_TARGET:.2f}x of target 5 s: {common.verdict(p95, P95_TARGET)}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    run(args)
    print(f"\n(total wall {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
