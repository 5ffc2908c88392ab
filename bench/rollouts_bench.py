"""Benchmark: the Rollouts controller's reaction time and memory.

1. Reaction: a canary Rollout paused at a step on ``dev`` (controller in-process); the bench
   resumes it (the status patch ``tidegate rollout promote`` writes) and times, from that write,
   until a watch of the Rollout's ReplicaSets sees the next step's scale written. Also the
   same for a timed pause (``pause: {duration: 1}``): from the pause's end (its startTime + 1 s,
   as the controller recorded it) to the next scale. Target: p50 < 1 s.
2. Scale: 100 Rollouts (1 replica each) spread over ``dev``, ``staging`` and ``prod``, reconciled
   by one :class:`~tidegate.rollouts.fleet.Fleet` in this process, all Healthy; RSS growth of the
   process from before the controllers started. Target: < 100 MiB. The Fleet is bound to an
   application controller's runtimes of the three clusters as ``tidegate controller`` binds it
   (``bench/bound_fleet.py``; the growth includes those runtimes and their live caches);
   ``--own-watches`` measures the standalone mode (the Fleet's own watches) instead.

Run: .venv/bin/python bench/rollouts_bench.py [--rounds 10] [--rollouts 100] [--own-watches]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import os
import secrets
import time
from typing import Any

import bound_fleet
import common

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import watch
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import controller, fleet, install
from tidegate.testenv import handle

INSTANCE = f"bench-{secrets.token_hex(3)}"
LABEL = controller.INSTANCE_ID_LABEL
CLUSTERS = ("dev", "staging", "prod")


def rollout(name: str, ns: str, steps: list[dict[str, Any]], replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": ns, "labels": {LABEL: INSTANCE}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/b:0"}]},
            },
            "strategy": {"canary": {"steps": steps}},
        },
    }


async def _namespace(client: kube_client.KubeClient, ns: str) -> None:
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})


async def _status(client: kube_client.KubeClient, ns: str, name: str) -> dict[str, Any]:
    obj = await client.get(ResourceKey("argoproj.io", "Rollout", ns, name))
    status: dict[str, Any] = obj.get("status") or {}
    return status


async def until(probe: Any, within: float = 60.0, what: str = "condition") -> Any:
    """Poll the coroutine function ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)


async def _reaction(client: kube_client.KubeClient, rounds: int) -> tuple[list[float], list[float]]:
    ns = f"rb-{secrets.token_hex(3)}"
    await _namespace(client, ns)
    ctl = controller.Controller(client, namespace=ns, instance_id=INSTANCE)
    task = asyncio.create_task(ctl.run())
    promote: list[float] = []
    timed: list[float] = []
    scaled: asyncio.Queue[tuple[float, str, int]] = asyncio.Queue()

    async def watch_sets() -> None:
        res = await client.resource("apps", "ReplicaSet", "v1")
        async for event in watch.reflect(client, res, namespace=ns):
            if event.type in ("ADDED", "MODIFIED") and event.object is not None:
                meta = event.object["metadata"]
                scaled.put_nowait(
                    (time.time(), meta["name"], int(event.object["spec"].get("replicas") or 0))
                )

    watcher = asyncio.create_task(watch_sets())
    try:
        for i in range(rounds):
            name = f"r{i}"
            steps: list[dict[str, Any]] = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50},
                     {"pause": {"duration": 1}}, {"setWeight": 75}]  # fmt: skip
            obj = rollout(name, ns, steps, replicas=4)
            await client.create(obj)
            await until(lambda n=name: _healthy(client, ns, n))
            obj = await client.get(ResourceKey("argoproj.io", "Rollout", ns, name))
            obj["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.invalid/b:1"
            await client.replace(obj)
            await until(lambda n=name: _paused_at(client, ns, n, 1))
            canary = (await _status(client, ns, name))["currentPodHash"]
            while not scaled.empty():
                scaled.get_nowait()
            sent = time.time()
            await client.patch(
                ResourceKey("argoproj.io", "Rollout", ns, name),
                {"status": {"pauseConditions": None}},
                subresource="status",
            )
            promote.append(await _next_scale(scaled, f"{name}-{canary}", 2) - sent)
            status = await until(lambda n=name: _paused_at(client, ns, n, 3))
            started = datetime.datetime.fromisoformat(
                status["pauseConditions"][0]["startTime"].replace("Z", "+00:00")
            ).timestamp()
            # startTime has whole seconds: the pause really ended between started+1 and +2
            seen = await _next_scale(scaled, f"{name}-{canary}", 3)
            timed.append(seen - (started + 1.0))
    finally:
        watcher.cancel()
        task.cancel()
        await asyncio.gather(watcher, task, return_exceptions=True)
        await client.delete(ResourceKey("", "Namespace", "", ns))
    return promote, timed


async def _healthy(client: kube_client.KubeClient, ns: str, name: str) -> bool:
    return (await _status(client, ns, name)).get("phase") == "Healthy"


async def _paused_at(
    client: kube_client.KubeClient, ns: str, name: str, step: int
) -> dict[str, Any] | None:
    status = await _status(client, ns, name)
    ok = status.get("phase") == "Paused" and status.get("currentStepIndex") == step
    return status if ok else None


async def _next_scale(
    scaled: asyncio.Queue[tuple[float, str, int]], rs: str, replicas: int
) -> float:
    while True:
        when, name, count = await asyncio.wait_for(scaled.get(), timeout=60)
        if name == rs and count == replicas:
            return when


async def _scale(bed: handle.TestBed, count: int, own_watches: bool) -> tuple[float, float]:
    """RSS growth (MiB) from before the controllers started to all ``count`` Rollouts Healthy,
    and the part of it already there once the controllers were bound (before any Rollout)."""
    configs = {n: kube_config.from_kubeconfig(bed.clusters[n].kubeconfig) for n in CLUSTERS}
    clients = {n: kube_client.client_for(c) for n, c in configs.items()}
    ns = f"rs-{secrets.token_hex(3)}"
    for client in clients.values():
        await install.ensure_crds(client)
        await _namespace(client, ns)
    before = common.rss_bytes(os.getpid())
    try:
        async with contextlib.AsyncExitStack() as stack:
            if own_watches:
                many = fleet.Fleet(instance_id=INSTANCE)
                stack.push_async_callback(many.aclose)
                await many.sync((c.server, c) for c in configs.values())
                await bound_fleet.ready(many, len(configs))
            else:
                await stack.enter_async_context(bound_fleet.bound_fleet(bed, CLUSTERS, INSTANCE))
            bound = common.rss_bytes(os.getpid())
            for i in range(count):
                client = clients[CLUSTERS[i % len(CLUSTERS)]]
                await client.create(rollout(f"s{i}", ns, [{"setWeight": 50}], replicas=1))

            async def all_healthy() -> bool:
                healthy = 0
                for client in clients.values():
                    res = await client.resource("argoproj.io", "Rollout")
                    listed = await client.list(res, namespace=ns)
                    healthy += sum(
                        1 for r in listed.items if (r.get("status") or {}).get("phase") == "Healthy"
                    )
                return healthy == count

            await until(all_healthy, within=600)
            after = common.rss_bytes(os.getpid())
    finally:
        for client in clients.values():
            await client.delete(ResourceKey("", "Namespace", "", ns))
            await client.aclose()
    return (after - before) / common.MIB, (bound - before) / common.MIB


async def _main(rounds: int, count: int, own_watches: bool) -> None:
    with common.test_bed(["mgmt", *CLUSTERS], git=False) as bed:
        # The RSS first: nothing else has run in this process yet.
        growth, bound = await _scale(bed, count, own_watches)
        dev = kube_config.from_kubeconfig(bed.clusters["dev"].kubeconfig)
        async with kube_client.client_for(dev) as client:
            await install.ensure_crds(client)
            promote, timed = await _reaction(client, rounds)
    common.header("Rollouts: reaction from a step's end to the next step's writes")
    common.row("promote -> next scale written", common.spread(promote))
    common.row("timed pause end -> next scale written", common.spread(timed))
    for label, samples in (("promote", promote), ("timed pause", timed)):
        p50 = common.percentile(samples, 0.5)
        common.row(f"{label} p50 target < 1 s", f"{p50:.3f} s: {common.verdict(p50, 1.0)}")
    mode = "own watches" if own_watches else "bound to the controller's runtimes"
    common.header(f"Rollouts: {count} Rollouts over dev, staging, prod, one process ({mode})")
    common.row("RSS growth, controllers bound, no Rollout", f"{bound:.1f} MiB")
    common.row("RSS growth, all Healthy", f"{growth:.1f} MiB: {common.verdict(growth, 100.0)}")
    print(json.dumps({"promote": promote, "timed": timed, "rss_growth_mib": growth,
                      "rss_bound_mib": bound, "own_watches": own_watches}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--rollouts", type=int, default=100)
    parser.add_argument(
        "--own-watches",
        action="store_true",
        help="the Fleet opens watches of its own instead of reading the controller's runtimes",
    )
    args = parser.parse_args()
    asyncio.run(_main(args.rounds, args.rollouts, args.own_watches))


if __name__ == "__main__":
    main()
