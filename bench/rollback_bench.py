"""Benchmark: from a failed analysis measurement to stable traffic restored (issue 14).

The Rollouts and analysis controllers run in this process as ``tidegate controller`` runs them:
a rollouts Fleet bound to an application controller's runtime of ``dev`` (``bound_fleet.py``).
Each round is a canary Rollout (4 replicas, ``setWeight: 50`` then an indefinite pause) with a
background analysis: a ``web`` metric every second, ``failureLimit: 0``, against a loopback HTTP
server the bench controls. A new image pauses the canary at 50% (2 canary + 2 stable pods) while
the metric passes; then the bench flips the Rollout's endpoint to failing. From the first failing
answer (recorded by the server) the bench times, through a watch of the ReplicaSets:

- **writes**: the abort's writes seen, canary ReplicaSet at 0 replicas and stable at 4 (the
  scale moves within maxSurge/maxUnavailable, so this takes more than one pass and waits for
  the kwok pods of each move);
- **restored**: the stable ReplicaSet with 4 available replicas and the canary's pods gone.

That is the analysis controller's measurement, the run's ``Failed`` status, the Rollout
controller's abort and every scale step. Target: < 5 s ("from a failed analysis to stable traffic
restored"); p50/p95 and the ratio to the target are printed.

Run: .venv/bin/python bench/rollback_bench.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import bound_fleet
import common
import rollouts_bench

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import watch
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import install

INSTANCE = rollouts_bench.INSTANCE
REPLICAS = 4
TARGET = 5.0
TEMPLATE = "bench-web-ok"


class Endpoint:
    """What the loopback server answers per Rollout (``/NAME``), and when it answered."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failing: set[str] = set()
        self.passed: dict[str, int] = {}
        self.first_failure: dict[str, float] = {}

    def answer(self, name: str) -> bool:
        with self.lock:
            ok = name not in self.failing
            if ok:
                self.passed[name] = self.passed.get(name, 0) + 1
            return ok

    def answered(self, name: str, ok: bool) -> None:
        if not ok:
            with self.lock:
                self.first_failure.setdefault(name, time.perf_counter())


ENDPOINT = Endpoint()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        name = self.path.strip("/")
        ok = ENDPOINT.answer(name)
        common.send_json(self, {"ok": ok})
        ENDPOINT.answered(name, ok)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _template(ns: str) -> dict[str, Any]:
    metric = {
        "name": "ok",
        "interval": "1s",
        "failureLimit": 0,
        "successCondition": "result == true",
        "provider": {"web": {"url": "{{args.url}}", "jsonPath": "{$.ok}"}},
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": TEMPLATE, "namespace": ns},
        "spec": {"args": [{"name": "url"}], "metrics": [metric]},
    }


def _rollout(name: str, ns: str, url: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"setWeight": 50}, {"pause": {}}]
    obj = rollouts_bench.rollout(name, ns, steps, replicas=REPLICAS)
    obj["spec"]["strategy"]["canary"]["analysis"] = {
        "templates": [{"templateName": TEMPLATE}],
        "args": [{"name": "url", "value": f"{url}/{name}"}],
    }
    return obj


@dataclass
class Seen:
    """A ReplicaSet as the watch last saw it."""

    when: float
    replicas: int
    available: int
    current: int


async def _round(
    client: kube_client.KubeClient,
    ns: str,
    url: str,
    name: str,
    changes: asyncio.Queue[tuple[str, Seen]],
) -> tuple[float, float]:
    key = ResourceKey("argoproj.io", "Rollout", ns, name)

    async def status() -> dict[str, Any]:
        found: dict[str, Any] = (await client.get(key)).get("status") or {}
        return found

    async def phase(wanted: str, step: int | None = None) -> dict[str, Any] | None:
        got = await status()
        at = step is None or got.get("currentStepIndex") == step
        return got if got.get("phase") == wanted and at else None

    await client.create(_rollout(name, ns, url))
    await rollouts_bench.until(lambda: phase("Healthy"), what=f"{name} Healthy")
    obj = await client.get(key)
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.invalid/rb:1"
    await client.replace(obj)
    paused = await rollouts_bench.until(lambda: phase("Paused", 1), what=f"{name} paused at 50%")
    canary_rs, stable_rs = f"{name}-{paused['currentPodHash']}", f"{name}-{paused['stableRS']}"
    passed = ENDPOINT.passed.get(name, 0)

    async def measured_again() -> bool:  # the background run measures the canary, passing
        return ENDPOINT.passed.get(name, 0) > passed

    await rollouts_bench.until(measured_again, what=f"{name}'s analysis measuring")
    while not changes.empty():
        changes.get_nowait()
    last: dict[str, Seen] = {}
    with ENDPOINT.lock:
        ENDPOINT.failing.add(name)
    writes = restored = None
    while restored is None:
        rs, seen = await asyncio.wait_for(changes.get(), timeout=120)
        last[rs] = seen
        canary, stable = last.get(canary_rs), last.get(stable_rs)
        if canary is None or stable is None:
            continue
        if writes is None and canary.replicas == 0 and stable.replicas == REPLICAS:
            writes = max(canary.when, stable.when)
        if writes is not None and canary.current == 0 and stable.available == REPLICAS:
            restored = max(canary.when, stable.when)
    if writes is None:  # restored implies written; kept for the type checker
        raise RuntimeError(f"{name} restored before its writes were seen")
    failed_at = ENDPOINT.first_failure[name]
    aborted = await status()
    if not aborted.get("abort"):
        raise RuntimeError(f"{name} restored without an abort: {aborted}")
    return writes - failed_at, restored - failed_at


async def _rounds(
    client: kube_client.KubeClient, url: str, rounds: int
) -> list[tuple[float, float]]:
    ns = f"rbk-{secrets.token_hex(3)}"
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    changes: asyncio.Queue[tuple[str, Seen]] = asyncio.Queue()

    async def watch_sets() -> None:
        res = await client.resource("apps", "ReplicaSet", "v1")
        async for event in watch.reflect(client, res, namespace=ns):
            if event.type in ("ADDED", "MODIFIED") and event.object is not None:
                spec, st = event.object.get("spec") or {}, event.object.get("status") or {}
                seen = Seen(
                    when=time.perf_counter(),
                    replicas=int(spec.get("replicas") or 0),
                    available=int(st.get("availableReplicas") or 0),
                    current=int(st.get("replicas") or 0),
                )
                changes.put_nowait((event.object["metadata"]["name"], seen))

    watcher = asyncio.create_task(watch_sets())
    try:
        await client.create(_template(ns))
        return [await _round(client, ns, url, f"rb{i}", changes) for i in range(rounds)]
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await client.delete(ResourceKey("", "Namespace", "", ns))


async def _main(rounds: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with common.test_bed(["mgmt", "dev"], git=False) as bed:
            cfg = kube_config.from_kubeconfig(bed.clusters["dev"].kubeconfig)
            async with kube_client.client_for(cfg) as client:
                await install.ensure_crds(client)
                async with bound_fleet.bound_fleet(bed, ["dev"], INSTANCE):
                    samples = await _rounds(client, url, rounds)
    finally:
        server.shutdown()
    writes = [w for w, _ in samples]
    restored = [r for _, r in samples]
    common.header("failed analysis measurement -> stable traffic restored (background web metric)")
    common.row("-> canary RS 0, stable RS 4 written", common.spread(writes))
    common.row("-> stable 4 available, canary pods gone", common.spread(restored))
    for label, values in (("writes", writes), ("restored", restored)):
        p50, p95 = common.percentile(values, 0.5), common.percentile(values, 0.95)
        common.row(
            f"{label} p50 / p95 target < 5 s",
            f"{p50:.3f} / {p95:.3f} s = {p50 / TARGET:.2f}x / {p95 / TARGET:.2f}x of target: "
            f"{common.verdict(p95, TARGET)} (p95)",
        )
    print(json.dumps({"writes": writes, "restored": restored}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(_main(args.rounds))


if __name__ == "__main__":
    main()
