"""Benchmark of ``/metrics`` rendering with 10,000 apps (issue 16): target < 200 ms.

The controller's state collector (``tidegate.controller.metrics.StateCollector``) over 10,000
app records (two ``--metrics-application-labels``, a condition on one app in ten), plus the
process counters a busy controller carries: ``argocd_app_sync_total`` and
``argocd_app_k8s_request_total`` for every app, reconcile histograms per destination. No
cluster is needed: the render reads memory only, which is the point being measured. The first
scrape formats every app's lines; later ones reuse them for apps whose stored copy is unchanged
(between two scrapes of a 10,000-app fleet most are), which is what the target is about.

    .venv/bin/python bench/metrics_bench.py [--apps 10000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

from common import header, percentile, row, spread, verdict

from tidegate import render
from tidegate.controller import appstate, clusters, metrics, runtime, scheduler
from tidegate.metrics import exposition
from tidegate.metrics import families as fam

TARGET_SECONDS = 0.2


@dataclasses.dataclass
class Source:
    namespace: str
    states: appstate.AppStates
    registry: clusters.ClusterRegistry
    runtimes: runtime.Runtimes
    scheduler: scheduler.Scheduler
    deps: Any


def app(i: int) -> dict[str, Any]:
    status: dict[str, Any] = {
        "sync": {"status": "Synced" if i % 7 else "OutOfSync"},
        "health": {"status": "Healthy" if i % 11 else "Degraded"},
    }
    if i % 10 == 0:
        status["conditions"] = [{"type": "SyncError", "message": "x"}]
    return {
        "metadata": {
            "name": f"app-{i:05d}",
            "namespace": "argocd",
            "labels": {"team": f"team-{i % 40}", "tier": "web"},
            "resourceVersion": str(i + 1),
        },
        "spec": {
            "project": f"proj-{i % 20}",
            "source": {"repoURL": f"https://git.example/org/repo-{i % 100}.git", "path": "p"},
            "destination": {"server": f"https://cluster-{i % 4}.example", "namespace": "web"},
            "syncPolicy": {"automated": {"prune": True}},
        },
        "status": status,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    states = appstate.AppStates()
    for i in range(args.apps):
        raw = app(i)
        states.seen(raw["metadata"]["name"], raw)
        ns, name, project, dest = metrics.app_identity(raw, "argocd")
        fam.APP_SYNC_TOTAL.labels(ns, name, project, dest, "Succeeded", "false").inc()
        fam.APP_K8S_REQUESTS.labels(
            ns, name, project, dest, "200", "Patch", "configmaps", "web", "false"
        ).inc()
        fam.APP_RECONCILE.labels(ns, dest).observe(0.3)
    source = Source(
        namespace="argocd",
        states=states,
        registry=clusters.ClusterRegistry([], management=None),
        runtimes=runtime.Runtimes(on_change=lambda *a: None, tracking_method="annotation"),
        scheduler=scheduler.Scheduler(names=states.names, resync_seconds=180, jitter=0),
        deps=dataclasses.make_dataclass("Deps", ["render_cache"])(render.RenderCache()),
    )
    collector = metrics.StateCollector(source, app_labels=["team", "tier"])
    started = time.perf_counter()
    size = len(exposition.render(collector.collect))
    cold = time.perf_counter() - started  # every app's lines formatted for the first time
    samples = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        exposition.render(collector.collect)
        samples.append(time.perf_counter() - started)
    header(f"/metrics render, {args.apps} apps ({size / 1024 / 1024:.1f} MiB of text)")
    row("first scrape (all lines formatted)", f"{cold * 1000:.0f} ms")
    row("later scrapes", spread(samples))
    p95 = percentile(samples, 0.95)
    row("later scrapes p95", f"{p95 * 1000:.0f} ms (target < {TARGET_SECONDS * 1000:.0f} ms): "
        f"{verdict(p95, TARGET_SECONDS)}")  # fmt: skip


if __name__ == "__main__":
    main()
