"""A real Prometheus scrapes a running controller; the Argo CD dashboard's queries answer."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tidegate.testenv import procs, prometheus, wait
from tidegate.testenv.scenario import GitOps, application, synced_healthy

pytestmark = pytest.mark.e2e

METRICS_PORT = procs.free_port()


def CONTROLLER_ARGS(workdir: Path) -> list[str]:
    return [f"--metrics-port={METRICS_PORT}", "--metrics-application-labels=team,tier"]


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: blue\n"


def test_prometheus_scrapes_argo_cd_dashboard_series(gitops: GitOps, tmp_path: Path) -> None:
    repo, work = gitops.repo({"apps/web/configmap.yaml": CONFIGMAP})
    dev = gitops.bed.clusters["dev"].server
    app = application(
        "web",
        repo_url=repo.http_url,
        path="apps/web",
        server=dev,
        namespace=f"web-{gitops.namespace}",
    )
    app["metadata"]["labels"] = {"team": "payments"}
    gitops.create_app(app)
    gitops.wait_app("web", synced_healthy, timeout=90, what="Synced and Healthy")
    ns = gitops.namespace
    with prometheus.Prometheus.start(
        tmp_path / "prom", targets=[f"127.0.0.1:{METRICS_PORT}"], scrape_interval="1s"
    ) as prom:
        # Panels of Argo CD's Grafana dashboard (examples/dashboard.json), variables filled in.
        health = prom.wait_for(
            f'sum(argocd_app_info{{namespace=~"{ns}",dest_server=~"{dev}",'
            f'health_status="Healthy"}}) by (health_status)'
        )
        assert health[0]["metric"] == {"health_status": "Healthy"}
        assert health[0]["value"][1] == "1"
        sync = prom.wait_for(
            f'sum(argocd_app_info{{namespace=~"{ns}",sync_status="Synced"}}) by (sync_status)'
        )
        assert sync[0]["value"][1] == "1"
        info = prom.wait_for(f'argocd_app_info{{namespace="{ns}",name="web"}}')
        labels = info[0]["metric"]
        assert labels["project"] == "default" and labels["autosync_enabled"] == "true"
        assert labels["repo"] == repo.http_url and labels["dest_namespace"] == f"web-{ns}"
        syncs = prom.wait_for(
            f'sum(argocd_app_sync_total{{namespace=~"{ns}",dest_server=~"{dev}"}}) by (name, phase)'
        )
        assert {(s["metric"]["name"], s["metric"]["phase"]) for s in syncs} == {
            ("web", "Succeeded")
        }
        reconciles = prom.wait_for(
            f'sum(argocd_app_reconcile_count{{namespace=~"{ns}",dest_server=~"{dev}"}})'
            " by (namespace)"
        )
        assert float(reconciles[0]["value"][1]) >= 1
        buckets = prom.wait_for(f'sum(argocd_app_reconcile_bucket{{namespace=~"{ns}"}}) by (le)')
        assert {b["metric"]["le"] for b in buckets} == {
            "0.25", "0.5", "1.0", "2.0", "4.0", "8.0", "16.0", "+Inf"
        }  # fmt: skip
        objects = prom.wait_for(
            f'sum(argocd_cluster_api_resource_objects{{server=~"{dev}"}}) by (server)'
        )
        assert float(objects[0]["value"][1]) > 0
        assert prom.wait_for(f'sum(argocd_cluster_api_resources{{server=~"{dev}"}}) by (server)')
        assert prom.wait_for(f'sum(argocd_cluster_events_total{{server=~"{dev}"}}) by (server)')
        up = prom.wait_for(f'argocd_cluster_connection_status{{server="{dev}"}}')
        assert up[0]["value"][1] == "1"
        git = prom.wait_for(
            f'sum(argocd_git_request_total{{repo="{repo.http_url}",request_type="fetch"}})'
        )
        assert float(git[0]["value"][1]) >= 1
        assert prom.wait_for(
            "histogram_quantile(0.9,"
            " sum(rate(argocd_git_request_duration_seconds_bucket[1m])) by (le))"
        )
        k8s = prom.wait_for(
            f'sum(argocd_app_k8s_request_total{{namespace="{ns}",name="web"}}) by (verb)'
        )
        assert "Patch" in {s["metric"]["verb"] for s in k8s}
        team = prom.wait_for(f'argocd_app_labels{{namespace="{ns}",name="web"}}')
        assert team[0]["metric"]["label_team"] == "payments"
        assert team[0]["metric"].get("label_tier", "") == ""
        # Tidegate's own.
        assert prom.wait_for('tidegate_workqueue_depth{queue="app_refresh"}')
        assert prom.wait_for('tidegate_cache_entries{cache="live_objects"} > 0')
        assert prom.wait_for('sum(tidegate_sync_phase_duration_seconds_count{phase="execute"}) > 0')
        # A new commit goes OutOfSync and syncs again: the counter moves.
        work.commit({"apps/web/configmap.yaml": CONFIGMAP.replace("blue", "green")}, "green")
        prom.wait_for(
            f'sum(argocd_app_sync_total{{namespace="{ns}",name="web",phase="Succeeded"}}) >= 2',
            timeout=90,
        )


def _events_cli(gitops: GitOps, name: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "app",
            "events",
            name,
            "-o",
            "json",
            f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
            "-n",
            gitops.namespace,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    events: list[dict[str, Any]] = json.loads(done.stdout)
    return events


def test_status_events_of_a_sync_are_listed_by_app_events(gitops: GitOps) -> None:
    repo, _work = gitops.repo({"apps/manual/configmap.yaml": CONFIGMAP})
    app = application(
        "manual",
        repo_url=repo.http_url,
        path="apps/manual",
        server=gitops.bed.clusters["dev"].server,
        namespace=f"manual-{gitops.namespace}",
        automated=False,
    )
    gitops.create_app(app)
    gitops.wait_app(
        "manual", lambda a: (a.get("status") or {}).get("sync", {}).get("status") == "OutOfSync"
    )
    gitops.patch_app(
        "manual",
        {"operation": {"initiatedBy": {"username": "alice"}, "sync": {"revision": "main"}}},
    )
    gitops.wait_app("manual", synced_healthy, timeout=90, what="Synced after alice's sync")
    synced = ("ResourceUpdated", "Normal", "Updated sync status: OutOfSync -> Synced")

    def reasons() -> list[tuple[str, str, str]]:
        return [(e["reason"], e["type"], e["message"]) for e in _events_cli(gitops, "manual")]

    seen = asyncio.run(
        wait.eventually(lambda: (got := reasons()) and synced in got and got, every=0.5)
    )
    assert ("ResourceUpdated", "Normal", "Updated sync status:  -> OutOfSync") in seen
    assert seen.index(("ResourceUpdated", "Normal", "Updated sync status:  -> OutOfSync")) < (
        seen.index(synced)
    )
    # The table form, as kubectl get events prints it.
    done = subprocess.run(
        [
            sys.executable, "-m", "tidegate", "app", "events", "manual",
            f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}", "-n", gitops.namespace,
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "MESSAGE"]
    assert any("Updated sync status: OutOfSync -> Synced" in line for line in lines[1:])
    missing = subprocess.run(
        [
            sys.executable, "-m", "tidegate", "app", "events", "nope",
            f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}", "-n", gitops.namespace,
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 1 and "application 'nope' not found" in missing.stderr
