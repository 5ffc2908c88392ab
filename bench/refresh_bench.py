"""Benchmark of a no-op refresh at scale (issue 4): 1,000 apps x 10 ConfigMaps on one cluster.

Set-up (timed, reported, not a target): a test bed with mgmt+dev, Tidegate installed in a fresh
control namespace, a repository with one directory per app (10 ConfigMaps each), the 10,000
ConfigMaps server-side applied to dev with their tracking annotation (kubectl, batches of
1,000), then 1,000 Applications applied to mgmt (kubectl, one batch). So every app is Synced
from its first comparison.

The application controller runs in this process (``tidegate.controller.engine.Controller``).
After its first pass (everything Synced), each round calls ``await ctrl.refresh_all()`` - every
app queued, returns when the queue has drained and all workers are idle - and reports:

- wall time of a full refresh pass when nothing changed (target < 3 s);
- server-side dry runs issued in the pass (``ctrl.deps.dry_runs`` hits/misses; must be 0
  misses: the pass makes no dry-run API call);
- the process's RSS (VmRSS) after the passes, and its peak (target < 400 MiB).

    .venv/bin/python bench/refresh_bench.py [--apps 1000] [--per-app 10] [--rounds 5]
        [--profile FILE]   # cProfile of one more pass, written to FILE (pstats)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from tidegate.controller import engine, settings
from tidegate.kube import config as kube_config
from tidegate.model import constants
from tidegate.testenv import handle, scenario

PASS_TARGET = 3.0
RSS_TARGET = 400 * common.MIB
BATCH = 1000


def app_name(index: int) -> str:
    return f"app-{index:04d}"


def configmap(app: str, index: int, namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"{app}-cm-{index}", "labels": {"bench": "refresh"}}
    if namespace is not None:
        meta["namespace"] = namespace
        meta["annotations"] = {
            constants.ANNOTATION_TRACKING_ID: f"{app}:/ConfigMap:{namespace}/{meta['name']}"
        }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": {"index": str(index), "app": app, "payload": "x" * 64},
    }


def application(name: str, repo_url: str, server: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo_url, "targetRevision": "main", "path": f"apps/{name}"},
            "destination": {"server": server, "namespace": namespace},
        },
    }


def _kubectl_apply(kubeconfig: Path, objs: list[dict[str, Any]], manager: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [common.kubectl_path(), f"--kubeconfig={kubeconfig}", "apply", "--server-side",
         "--force-conflicts", f"--field-manager={manager}", "-f", "-"],
        input=yaml.safe_dump_all(objs, sort_keys=False), capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"kubectl apply failed: {result.stderr.strip()[-2000:]}")
    return time.perf_counter() - started


def set_up(
    bed: handle.TestBed, workdir: Path, apps: int, per_app: int
) -> tuple[str, str, list[str]]:
    assert bed.git is not None
    control = f"tg-refresh-{secrets.token_hex(3)}"
    dest = f"bench-refresh-{secrets.token_hex(3)}"
    started = time.perf_counter()
    scenario.control_namespace(bed, control)
    with bed.admin_client("dev") as client:
        client.post("/api/v1/namespaces", json=common.namespace_object(dest)).raise_for_status()
    src = workdir / "src"
    names = [app_name(i) for i in range(apps)]
    for name in names:
        docs = [configmap(name, j, None) for j in range(per_app)]
        path = src / "apps" / name / "configmaps.yaml"
        path.parent.mkdir(parents=True)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    repo = bed.git.create_repo(from_dir=src)
    print(f"set-up: installed, repository of {apps} directories in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip

    started = time.perf_counter()
    objects = [configmap(n, j, dest) for n in names for j in range(per_app)]
    batches = [objects[i : i + BATCH] for i in range(0, len(objects), BATCH)]
    dev = bed.clusters["dev"].kubeconfig
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda b: _kubectl_apply(dev, b, constants.FIELD_MANAGER), batches))
    print(f"set-up: {len(objects)} ConfigMaps applied to dev in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip

    started = time.perf_counter()
    server = bed.clusters["dev"].server
    app_objs = [application(n, repo.http_url, server, dest) for n in names]
    for obj in app_objs:
        obj["metadata"]["namespace"] = control
    _kubectl_apply(bed.clusters["mgmt"].kubeconfig, app_objs, "bench")
    print(f"set-up: {apps} Applications applied to mgmt in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return control, dest, names


def _all_synced(ctrl: engine.Controller, names: list[str]) -> bool:
    for name in names:
        state = ctrl.states.get(name)
        status = (state.raw.get("status") if state is not None else None) or {}
        if (status.get("sync") or {}).get("status") != "Synced":
            return False
    return True


async def measure(
    bed: handle.TestBed, workdir: Path, control: str, names: list[str], args: argparse.Namespace
) -> None:
    conf = settings.Settings(
        namespace=control, app_resync_seconds=3600, cache_dir=workdir / "cache"
    )
    mgmt = kube_config.from_kubeconfig(bed.clusters["mgmt"].kubeconfig)
    ctrl = engine.Controller(mgmt=mgmt, settings=conf)
    rss_before = common.rss_bytes(_self_pid())
    runner = asyncio.create_task(ctrl.run())
    started = time.perf_counter()
    try:
        await asyncio.wait_for(ctrl.ready.wait(), 120)
        deadline = time.monotonic() + 900
        while not _all_synced(ctrl, names):
            if runner.done():
                runner.result()
            if time.monotonic() > deadline:
                unsynced = [n for n in names if not _all_synced(ctrl, [n])]
                sample = (ctrl.apps.get(unsynced[0]) or {}).get("status")
                raise TimeoutError(f"{len(unsynced)} apps not Synced; e.g. {sample}")
            await asyncio.sleep(0.2)
        await ctrl.scheduler.drain()
        first = time.perf_counter() - started
        # The first pass's Events (every app's sync and health changes) are written by a
        # background task at the API server's pace; a steady no-op pass writes none.
        await ctrl.events.flush()
        await ctrl.journal.flush()
        first_misses = ctrl.deps.dry_runs.misses
        print(f"first pass (cold: fetch, render, {first_misses} dry runs): {first:.1f} s",
              flush=True)  # fmt: skip

        times: list[float] = []
        cpu: list[float] = []  # CPU seconds of this process: what a busy machine cannot inflate
        misses: list[int] = []
        hits: list[int] = []
        for number in range(1, args.rounds + 1):
            h0, m0, r0 = ctrl.deps.dry_runs.hits, ctrl.deps.dry_runs.misses, ctrl.refresh_count
            p0 = _pass_memo_hits(ctrl)
            t0, c0 = time.perf_counter(), time.process_time()
            await ctrl.refresh_all()
            elapsed = time.perf_counter() - t0
            times.append(elapsed)
            cpu.append(time.process_time() - c0)
            hits.append(ctrl.deps.dry_runs.hits - h0)
            misses.append(ctrl.deps.dry_runs.misses - m0)
            refreshed = ctrl.refresh_count - r0
            reused = _pass_memo_hits(ctrl) - p0
            print(f"pass {number}: {elapsed:.2f} s ({cpu[-1]:.2f} s CPU, load "
                  f"{os.getloadavg()[0]:.1f}), {refreshed} apps refreshed ({reused} reused "
                  f"whole: controller/passmemo.py), dry-run cache "
                  f"{hits[-1]} hits / {misses[-1]} misses", flush=True)  # fmt: skip
        assert _all_synced(ctrl, names), "an app left Synced during no-op passes"
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await ctrl.refresh_all()
            profiler.disable()
            profiler.dump_stats(args.profile)
            print(f"profile of one more pass written to {args.profile}")
        rss = common.rss_bytes(_self_pid())
        peak = common.peak_rss_self()
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
        await ctrl.aclose()

    total_objects = len(names) * args.per_app
    common.header(f"no-op refresh of {len(names)} apps / {total_objects} objects, "
                  f"{args.rounds} passes")  # fmt: skip
    common.row("first (cold) pass", f"{first:.1f} s, {first_misses} dry runs")
    common.row("no-op pass", common.spread(times, digits=2))
    common.row("  CPU time of a no-op pass", common.spread(cpu, digits=2))
    med = statistics.median(times)
    common.row(
        "  vs target 3 s",
        f"{med / PASS_TARGET:.2f}x of target - {common.verdict(med, PASS_TARGET)} (median); "
        f"worst {max(times) / PASS_TARGET:.2f}x",
    )
    common.row("dry runs issued per no-op pass", f"{max(misses)} (max); cache hits "
               f"{min(hits)}-{max(hits)} per pass")  # fmt: skip
    common.row("process RSS after the passes", f"{rss / common.MIB:.0f} MiB "
               f"(before the controller started: {rss_before / common.MIB:.0f} MiB)")  # fmt: skip
    common.row("process peak RSS", f"{peak / common.MIB:.0f} MiB")
    common.row(
        "  vs target 400 MiB",
        f"{peak / RSS_TARGET:.2f}x of target (peak) - {common.verdict(peak, RSS_TARGET)}",
    )


def _pass_memo_hits(ctrl: engine.Controller) -> int:
    return sum(state.passes.hits for state in ctrl.states)


def _self_pid() -> int:
    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--per-app", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        control, dest, names = set_up(bed, workdir, args.apps, args.per_app)
        try:
            asyncio.run(measure(bed, workdir, control, names, args))
        finally:
            with bed.admin_client("mgmt") as client:
                client.delete(f"/api/v1/namespaces/{control}")
            with bed.admin_client("dev") as client:
                client.delete(f"/api/v1/namespaces/{dest}")
    print(f"\n(total wall {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
