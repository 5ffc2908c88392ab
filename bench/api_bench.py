"""Benchmark of the API server's list and stream at scale (issue 11).

Set-up (not timed): Tidegate installed in a control namespace of the bench's own on ``mgmt``,
``--apps`` Applications (default 10,000) created directly on the management cluster (bounded
concurrency), ``tidegate server`` started as a process (TLS, certificate pinned), an admin
session. No controller runs: the apps keep the status they were created with.

Measured:
- first page (``?limit=100``): latency over ``--samples`` requests, p50 (target < 50 ms);
- the whole list (no limit), ``--whole`` requests: each time and the largest (target < 1 s;
  Argo CD: 35 s for 8,000 apps, its issue #9575);
- ``--watchers`` concurrent streams (``?name=`` of one app) and ``--changes`` label changes of
  that app through the API: time from sending the PATCH to each watcher's receipt of the
  change, p95 (target < 500 ms);
- the server's RSS afterwards (target < 300 MiB).
Everything it created is deleted at the end (the control namespace goes, with its apps).

    .venv/bin/python bench/api_bench.py [--apps 10000] [--samples 50] [--watchers 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from tidegate.testenv import handle, scenario, serverproc

FIRST_PAGE_TARGET = 0.050
WHOLE_TARGET = 1.0
STREAM_TARGET = 0.5
RSS_TARGET_MIB = 300
CREATE_CONCURRENCY = 16


def _app(name: str, server: str, i: int) -> dict[str, Any]:
    app = scenario.application(
        name,
        repo_url=f"https://git.example/org/repo-{i % 50}.git",
        path=f"apps/{name}",
        server=server,
        namespace=f"team-{i % 20}",
        automated=False,
    )
    app["metadata"]["labels"] = {"team": f"team-{i % 20}", "tier": "web" if i % 2 else "db"}
    return app


async def _create_apps(bed: handle.TestBed, control: str, count: int) -> float:
    pki = bed.directory / "pki"
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{control}/applications"
    dest = bed.clusters["dev"].server
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    started = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=bed.clusters["mgmt"].server, verify=context, timeout=60
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = json.dumps(_app(f"app-{i:05d}", dest, i))
                for _ in range(5):  # bounded retries on a throttled API server
                    resp = await client.post(
                        path, content=body, headers={"Content-Type": "application/json"}
                    )
                    if resp.status_code in (201, 409):
                        break
                    await asyncio.sleep(0.5)
                else:
                    raise RuntimeError(f"create app-{i:05d}: {resp.status_code} {resp.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(CREATE_CONCURRENCY)))
    return time.perf_counter() - started


def _lists(server: serverproc.ServerProcess, token: str, args: argparse.Namespace) -> None:
    with server.client(token=token) as api:
        common.wait_until(
            lambda: (
                len(api.get("/api/v1/applications", params={"search": "app-"}).json()["items"])
                >= args.apps
            ),
            timeout=300,
            interval=0.5,
            what="the server's list to hold every app",
        )
        firsts: list[float] = []
        for _ in range(args.samples):
            started = time.perf_counter()
            resp = api.get("/api/v1/applications", params={"limit": 100})
            firsts.append(time.perf_counter() - started)
            assert resp.status_code == 200 and len(resp.json()["items"]) == 100
        wholes: list[float] = []
        parses: list[float] = []
        sizes: list[int] = []
        for _ in range(args.whole):
            started = time.perf_counter()
            resp = api.get("/api/v1/applications")
            wholes.append(time.perf_counter() - started)  # to the last byte
            body = resp.json()
            parses.append(time.perf_counter() - started)  # and decoded by the client
            sizes.append(len(resp.content))
            assert len(body["items"]) >= args.apps
        filtered: list[float] = []
        for _ in range(args.whole):
            started = time.perf_counter()
            resp = api.get("/api/v1/applications", params={"selector": "team=team-3,tier=web"})
            resp.json()
            filtered.append(time.perf_counter() - started)
    p50 = common.percentile(firsts, 0.5)
    common.header(f"list of {args.apps} applications")
    common.row(
        "first page of 100, p50", f"{p50 * 1000:.1f} ms ({common.verdict(p50, FIRST_PAGE_TARGET)})"
    )
    common.row("first page of 100", common.spread([f * 1000 for f in firsts], "ms", 1))
    worst = max(wholes)
    common.row("whole list, slowest", f"{worst:.3f} s ({common.verdict(worst, WHOLE_TARGET)})")
    common.row("whole list, to the last byte", common.spread(wholes))
    common.row("whole list, decoded by the client", common.spread(parses))
    common.row("whole list body", f"{sizes[0] / common.MIB:.1f} MiB")
    common.row("filtered (selector) list", common.spread([f * 1000 for f in filtered], "ms", 1))


async def _streams(
    server: serverproc.ServerProcess, token: str, args: argparse.Namespace
) -> list[float]:
    target = "app-00007"
    cert = server._secret("argocd-secret")["tls.crt"]
    context = ssl.create_default_context(cadata=cert)
    headers = {"Authorization": f"Bearer {token}"}
    received: dict[int, list[tuple[str, float]]] = {i: [] for i in range(args.watchers)}
    arrived: dict[str, int] = {}
    everyone: dict[str, asyncio.Event] = {}
    ready = asyncio.Event()
    opened = 0
    limits = httpx.Limits(max_connections=args.watchers + 10)
    async with httpx.AsyncClient(
        base_url=server.url, verify=context, headers=headers, timeout=60, limits=limits
    ) as client:

        async def watch(i: int) -> None:
            nonlocal opened
            params = {"name": target}
            async with client.stream("GET", "/api/v1/stream/applications", params=params) as resp:
                lines = resp.aiter_lines()
                await lines.__anext__()  # the initial ADDED
                opened += 1
                if opened == args.watchers:
                    ready.set()
                async for line in lines:
                    event = json.loads(line)["result"]
                    step = event["application"]["metadata"].get("labels", {}).get("step", "")
                    received[i].append((step, time.perf_counter()))
                    arrived[step] = arrived.get(step, 0) + 1
                    if arrived[step] == args.watchers and step in everyone:
                        everyone[step].set()

        tasks = [asyncio.create_task(watch(i)) for i in range(args.watchers)]
        await asyncio.wait_for(ready.wait(), 120)
        latencies: list[float] = []
        for n in range(args.changes):
            step = f"s{n}"
            patch = json.dumps({"metadata": {"labels": {"step": step}}})
            body = json.dumps({"patch": patch, "patchType": "merge"})
            everyone[step] = asyncio.Event()
            sent = time.perf_counter()
            resp = await client.patch(
                f"/api/v1/applications/{target}",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            assert resp.status_code == 200, resp.text
            with contextlib.suppress(TimeoutError):  # counted as missing below
                await asyncio.wait_for(everyone[step].wait(), 10)
            for got in received.values():
                times = [t for s, t in got if s == step]
                if times:
                    latencies.append(times[0] - sent)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


def run(args: argparse.Namespace) -> None:
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        control = f"tg-apibench-{secrets.token_hex(3)}"
        scenario.install(bed, control)
        server = None
        try:
            created = asyncio.run(_create_apps(bed, control, args.apps))
            common.header("set-up")
            common.row(f"created {args.apps} Applications on mgmt", f"{created:.1f} s")
            started = time.perf_counter()
            server = serverproc.ServerProcess(bed, control, log=Path(tmp) / "server.log").start()
            common.row("server start (listening)", f"{time.perf_counter() - started:.2f} s")
            token = server.login()
            _lists(server, token, args)
            latencies = asyncio.run(_streams(server, token, args))
            p95 = common.percentile(latencies, 0.95) if latencies else float("inf")
            expected = args.watchers * args.changes
            common.header(f"{args.watchers} stream watchers, {args.changes} changes")
            common.row("received", f"{len(latencies)} of {expected}")
            common.row(
                "change -> watcher, p95",
                f"{p95 * 1000:.1f} ms ({common.verdict(p95, STREAM_TARGET)})",
            )
            common.row("change -> watcher", common.spread([v * 1000 for v in latencies], "ms", 1))
            assert server.pid is not None
            rss = common.rss_bytes(server.pid) / common.MIB
            common.header("server process")
            common.row(
                "RSS after the runs", f"{rss:.0f} MiB ({common.verdict(rss, RSS_TARGET_MIB)})"
            )
        finally:
            if server is not None:
                server.stop()
            with bed.admin_client("mgmt") as client:
                client.delete(f"/api/v1/namespaces/{control}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--whole", type=int, default=5)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--changes", type=int, default=10)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
