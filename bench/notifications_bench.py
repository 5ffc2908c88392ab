"""Benchmarks of notifications (issue 16).

1. Event -> notification delivered (target p95 < 2 s): the notifications controller runs in
   this process against the test bed's mgmt cluster (its own Application watch, as
   ``tidegate notifications-controller``), with a webhook service pointing at a local HTTP
   server. For each of ``--events`` apps subscribed to ``on-sync-succeeded``, the app's status
   is patched to a finished sync; the latency is from the patch being sent to the request
   arriving at the receiver.
2. Cost of 1,000 apps with subscriptions (target: < 5% of a no-op refresh pass). A no-op pass
   writes no app, so the observer feeds the notifier nothing: its cost there is zero by
   construction. Measured instead is the worst case: every one of ``--apps`` apps (three
   subscriptions each) changed once and evaluated, CPU seconds from ``time.process_time``,
   compared with 5% of the no-op pass target of bench/refresh_bench.py (3 s -> 150 ms).

    .venv/bin/python bench/notifications_bench.py [--events 20] [--apps 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from typing import Any

import yaml
from common import header, percentile, row, spread, test_bed, verdict

from tidegate import kube
from tidegate.kube import config as kube_config
from tidegate.model.keys import ResourceKey
from tidegate.notify import config as notify_config
from tidegate.notify import controller, evaluate
from tidegate.testenv import receiver as receiver_mod
from tidegate.testenv import scenario

LATENCY_TARGET = 2.0
PASS_TARGET = 3.0  # bench/refresh_bench.py: a no-op refresh pass of 1,000 apps
SUB = "notifications.argoproj.io/subscribe."


def cm_data(url: str) -> dict[str, str]:
    return {
        "service.webhook.hook": yaml.safe_dump({"url": url}),
        "template.app-sync-succeeded": yaml.safe_dump(
            {"webhook": {"hook": {"method": "POST", "body": "{{.app.metadata.name}}"}}}
        ),
    }


def app(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {f"{SUB}on-sync-succeeded.hook": ""},
        },
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/r.git", "path": "p"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
        },
    }


async def latency(bed: Any, events: int) -> list[float]:
    namespace = f"nb-{secrets.token_hex(3)}"
    scenario.install(bed, namespace)
    receiver = receiver_mod.Recorder()
    mgmt = kube.client_for(kube_config.from_kubeconfig(bed.clusters["mgmt"].kubeconfig))
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": notify_config.CONFIGMAP, "namespace": namespace},
        "data": cm_data(receiver.url),
    }
    await mgmt.apply(cm, force=True)
    names = [f"app-{i:03d}" for i in range(events)]
    for name in names:
        await mgmt.apply(app(name, namespace), force=True)
    notifier = controller.Notifier(mgmt=mgmt, namespace=namespace)
    task = asyncio.create_task(notifier.run(watch_apps=True))
    await notifier.ready.wait()
    samples = []
    try:
        for index, name in enumerate(names):
            status = {
                "operationState": {
                    "phase": "Succeeded",
                    "startedAt": "2026-01-01T00:00:00Z",
                    "finishedAt": "2026-01-01T00:00:01Z",
                    "syncResult": {"revision": f"{index:040x}"},
                }
            }
            sent = time.perf_counter()  # the write of the change, its API call included
            await mgmt.patch(
                ResourceKey("argoproj.io", "Application", namespace, name), {"status": status}
            )
            deadline = sent + 30
            while not (arrived := [r["at"] for r in receiver.requests if r["body"] == name]):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"no notification for {name} within 30 s")
                await asyncio.sleep(0.005)
            samples.append(arrived[0] - sent)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await mgmt.request("DELETE", f"/api/v1/namespaces/{namespace}", what="delete namespace")
        await mgmt.aclose()
        receiver.close()
    return samples


def evaluation_cost(apps: int) -> float:
    conf = notify_config.load(cm_data("http://127.0.0.1:9"), {})
    fleet = []
    for i in range(apps):
        a = app(f"app-{i:04d}", "argocd")
        a["metadata"]["annotations"].update(
            {f"{SUB}on-sync-failed.hook": "", f"{SUB}on-health-degraded.hook": "a;b"}
        )
        a["status"] = {
            "sync": {"status": "Synced"},
            "health": {"status": "Healthy"},
            "operationState": {"phase": "Succeeded", "syncResult": {"revision": "abc"}},
        }
        fleet.append(a)
    started = time.process_time()
    for a in fleet:
        evaluate.evaluate(a, None, conf)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--apps", type=int, default=1000)
    args = parser.parse_args()
    with test_bed(["mgmt"], git=False) as bed:
        samples = asyncio.run(latency(bed, args.events))
    header(f"event -> notification delivered, {args.events} events (webhook on loopback)")
    row("latency", spread(samples))
    p95 = percentile(samples, 0.95)
    row("p95", f"{p95:.3f} s (target < {LATENCY_TARGET:g} s): {verdict(p95, LATENCY_TARGET)}")
    cost = evaluation_cost(args.apps)
    budget = 0.05 * PASS_TARGET
    header(f"{args.apps} apps with 3 subscriptions each")
    row("no-op refresh pass", "0 evaluations (no app is written, nothing is fed)")
    row("every app changed once (worst case)", f"{cost * 1000:.0f} ms CPU")
    row("vs 5% of a 3 s pass", f"{budget * 1000:.0f} ms: {verdict(cost, budget)}")


if __name__ == "__main__":
    main()
