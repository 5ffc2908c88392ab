"""Benchmark: from a failed analysis measurement to the AnalysisRun ``Failed`` (issue 14).

The AnalysisController runs in-process against the ``dev`` cluster of a test bed, watching a
namespace of its own. Each round creates an AnalysisRun whose web metric fails on its first
measurement (``failureLimit: 0``); the loopback endpoint records when it answered, and the
bench polls the run (every 10 ms) until ``status.phase`` is ``Failed``. The figure is answer ->
Failed seen on the API server: condition evaluation, bookkeeping, the status write and one read.
Target: p50 < 1 s (the analysis half of "failed analysis -> stable traffic restored < 5 s").

Run: .venv/bin/python bench/analysis_bench.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import common

from tidegate.analysis import controller, crds, names
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

ANSWERED: list[float] = []


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        common.send_json(self, {"ok": False})
        ANSWERED.append(time.perf_counter())

    def log_message(self, format: str, *args: object) -> None:
        pass


async def _install(client: kube_client.KubeClient) -> None:
    for crd in crds.crds():
        try:
            await client.create(crd)
        except errors.KubeApiError as exc:
            if not kube_client.already_exists(exc):
                raise
    deadline = time.monotonic() + 60
    while True:
        client.discovery.invalidate()
        try:
            await client.resource(names.GROUP, names.RUN_KIND, names.VERSION)
            return
        except errors.KubeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _rounds(client: kube_client.KubeClient, url: str, rounds: int) -> list[float]:
    ns = f"anbench-{secrets.token_hex(3)}"
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    ctl = controller.AnalysisController(client, namespace=ns)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    samples: list[float] = []
    try:
        await asyncio.wait_for(ctl.ready.wait(), timeout=60)
        for i in range(rounds):
            ANSWERED.clear()
            name = f"fail-{i}"
            await client.create(
                {
                    "apiVersion": names.API_VERSION,
                    "kind": names.RUN_KIND,
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {
                        "metrics": [
                            {
                                "name": "health",
                                "provider": {"web": {"url": url, "jsonPath": "{$.ok}"}},
                                "successCondition": "result == true",
                            }
                        ]
                    },
                }
            )
            key = ResourceKey(names.GROUP, names.RUN_KIND, ns, name)
            deadline = time.monotonic() + 60
            while True:
                run = await client.get(key)
                if (run.get("status") or {}).get("phase") == names.FAILED:
                    seen = time.perf_counter()
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not Failed: {run.get('status')}")
                await asyncio.sleep(0.01)
            samples.append(seen - ANSWERED[0])
    finally:
        stop.set()
        await task
        await client.delete(ResourceKey("", "Namespace", "", ns))
    return samples


async def _main(rounds: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"
    try:
        with common.test_bed(["dev"], git=False) as bed:
            cfg = kube_config.from_kubeconfig(bed.clusters["dev"].kubeconfig)
            async with kube_client.client_for(cfg) as client:
                await _install(client)
                samples = await _rounds(client, url, rounds)
    finally:
        server.shutdown()
    common.header("failed measurement -> AnalysisRun Failed (web metric, failureLimit 0)")
    common.row("answer -> Failed seen", common.spread(samples))
    p50 = common.percentile(samples, 0.5)
    common.row("p50 target < 1 s", f"{p50:.3f} s: {common.verdict(p50, 1.0)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(_main(args.rounds))


if __name__ == "__main__":
    main()
