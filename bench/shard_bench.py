"""Benchmarks of clusters sharded across two controller replicas (issue 18, sections 3-4).

1. **No-op refresh, two replicas.** ``--apps`` (10,000) apps x ``--per-app`` (1) ConfigMaps
   spread over the workload clusters (dev, staging, prod), the objects server-side applied
   beforehand (as bench/refresh_bench.py does for one cluster) so every app is Synced from its
   first comparison. Two replica processes (this script with ``--replica``, each an in-process
   ``Controller`` with ``ShardingSettings(replicas=2)``) share the clusters through Leases. Each
   pass, both refresh every app they own at the same moment (``refresh_all``); the pass takes
   as long as the slower one (target < 3 s). Each replica's RSS is reported (target < 1 GiB).
2. **Kill one of two replicas during a cold sync.** ``--cold-apps`` (1,000) apps x
   ``--cold-per-app`` (10) ConfigMaps with automated sync, nothing applied beforehand, two
   ``tidegate controller --replicas=2`` processes; once ``--kill-at`` (30 %) of the apps are
   Synced the holder of a shard that still has work is SIGKILLed. Reported: the time until every
   app is Synced and Healthy, when the shard moved, and that nothing was lost or run twice
   (each app exactly one history entry and one operation, every ConfigMap present).

    .venv/bin/python bench/shard_bench.py [--apps 10000] [--per-app 1] [--rounds 5]
        [--cold-apps 1000] [--cold-per-app 10] [--kill-at 0.3] [--only refresh|kill]

Uses the bed in $TIDEGATE_TESTENV_DIR (or starts one with mgmt, dev, staging, prod).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import refresh_bench

from tidegate.controller import engine, leases, settings, sharding
from tidegate.kube import config as kube_config
from tidegate.model import constants
from tidegate.testenv import handle, scenario

PASS_TARGET = 3.0
RSS_TARGET = 1024 * common.MIB
WORKLOADS = ("dev", "staging", "prod")
SHARD_ARGS = ("--replicas=2", "--sharding-method=round-robin")
LEASE_ARGS = ("--shard-lease-duration=6", "--shard-renew-deadline=4", "--shard-retry-period=1")
SINGLETONS_OFF = ("--no-appsets", "--no-promotions", "--no-rollouts", "--no-notifications")


# -- fleet ---------------------------------------------------------------------------------------


def set_up(
    bed: handle.TestBed, workdir: Path, apps: int, per_app: int, *, applied: bool, auto: bool
) -> tuple[str, str, list[str]]:
    """A control namespace with the workload clusters registered, one repository with a
    directory per app, a destination namespace per cluster, and the Applications (round-robin
    over the clusters). ``applied``: the apps' objects are server-side applied first."""
    assert bed.git is not None
    control = f"tg-shard-{secrets.token_hex(3)}"
    dest = f"bench-shard-{secrets.token_hex(3)}"
    scenario.control_namespace(bed, control, WORKLOADS)
    for name in WORKLOADS:
        with bed.admin_client(name) as client:
            client.post("/api/v1/namespaces", json=common.namespace_object(dest)).raise_for_status()
    names = [refresh_bench.app_name(i) for i in range(apps)]
    src = workdir / f"src-{control}"
    for name in names:
        path = src / "apps" / name / "configmaps.yaml"
        path.parent.mkdir(parents=True)
        docs = [refresh_bench.configmap(name, j, None) for j in range(per_app)]
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    repo = bed.git.create_repo(from_dir=src)
    cluster_of = {name: WORKLOADS[i % len(WORKLOADS)] for i, name in enumerate(names)}
    if applied:
        started = time.perf_counter()
        for cluster in WORKLOADS:
            objects = [
                _ours(refresh_bench.configmap(n, j, dest), control)
                for n in names
                if cluster_of[n] == cluster
                for j in range(per_app)
            ]
            for i in range(0, len(objects), refresh_bench.BATCH):
                refresh_bench._kubectl_apply(
                    bed.clusters[cluster].kubeconfig,
                    objects[i : i + refresh_bench.BATCH],
                    constants.FIELD_MANAGER,
                )
        print(f"set-up: {apps * per_app} objects applied in {time.perf_counter() - started:.1f} s")
    app_objs = []
    for name in names:
        obj = refresh_bench.application(
            name, repo.http_url, bed.clusters[cluster_of[name]].server, dest
        )
        obj["metadata"]["namespace"] = control
        if auto:
            obj["spec"]["syncPolicy"] = {"automated": {}}
        app_objs.append(obj)
    for i in range(0, len(app_objs), refresh_bench.BATCH):
        refresh_bench._kubectl_apply(
            bed.clusters["mgmt"].kubeconfig, app_objs[i : i + refresh_bench.BATCH], "bench"
        )
    return control, dest, names


def _ours(obj: dict[str, Any], installation: str) -> dict[str, Any]:
    """An object as this installation applies it (other suites on the shared clusters use the
    same app names; the installation id keeps their objects and ours apart)."""
    obj["metadata"]["annotations"][constants.ANNOTATION_INSTALLATION_ID] = installation
    return obj


def tear_down(bed: handle.TestBed, control: str, dest: str) -> None:
    with bed.admin_client("mgmt") as client:
        client.delete(f"/api/v1/namespaces/{control}")
    for name in WORKLOADS:
        with bed.admin_client(name) as client:
            client.delete(f"/api/v1/namespaces/{dest}")


def list_apps(bed: handle.TestBed, control: str) -> list[dict[str, Any]]:
    with bed.admin_client("mgmt") as client:
        resp = client.get(f"/apis/argoproj.io/v1alpha1/namespaces/{control}/applications")
        resp.raise_for_status()
        items: list[dict[str, Any]] = resp.json()["items"]
        return items


def shard_holders(bed: handle.TestBed, control: str) -> dict[int, str]:
    with bed.admin_client("mgmt") as client:
        resp = client.get(
            f"/apis/coordination.k8s.io/v1/namespaces/{control}/leases",
            params={"labelSelector": f"{leases.LABEL_ROLE}=shard"},
        )
        resp.raise_for_status()
        return {
            int(i["metadata"]["labels"][leases.LABEL_SHARD]): str(i["spec"].get("holderIdentity"))
            for i in resp.json()["items"]
        }


async def common_wait(check: Any, interval: float = 0.2) -> None:
    """Poll ``check`` (plain) until it is true (the replica waits for its Leases)."""
    while not check():  # noqa: ASYNC110 - the lease state has no event to wait on
        await asyncio.sleep(interval)


# -- 1. no-op refresh: a replica process ----------------------------------------------------------


async def replica(args: argparse.Namespace) -> None:
    """One replica: report READY once its apps are Synced, then one pass per line on stdin."""
    bed = handle.TestBed.open(Path(args.bed))
    conf = settings.Settings(
        namespace=args.replica,
        app_resync_seconds=3600,
        cache_dir=Path(args.cache),
        installation_id=args.replica,  # the control namespace, as the objects were applied
        # the default lease timings (15 s / 10 s / 2 s): this measures work, not failover
        sharding=sharding.ShardingSettings(replicas=2, algorithm=sharding.Algorithm.ROUND_ROBIN),
    )
    ctrl = engine.Controller(
        mgmt=kube_config.from_kubeconfig(bed.clusters["mgmt"].kubeconfig), settings=conf
    )
    assert ctrl.shards is not None
    runner = asyncio.create_task(ctrl.run())
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(ctrl.ready.wait(), 300)

        def settled() -> bool:
            assert ctrl.shards is not None
            return ctrl.shards.leases.members == 2 and len(ctrl.shards.leases.held()) == 1

        def mine() -> list[str]:
            return [s.name for s in ctrl.states if ctrl.shards and ctrl.shards.owns_app(s.raw)]

        deadline = time.monotonic() + 1800
        while True:  # one shard each, all its apps Synced, and still so after the first pass
            await common_wait(settled)
            while not refresh_bench._all_synced(ctrl, mine()):
                if runner.done():
                    runner.result()
                if time.monotonic() > deadline:
                    raise TimeoutError("apps not Synced")
                await asyncio.sleep(0.5)
            await ctrl.refresh_all()
            if settled() and mine():
                break
        # The Events of the first passes (sync and health changes of every app) are written
        # by a background task at the API server's pace: a steady no-op pass writes none.
        await ctrl.events.flush()
        await ctrl.journal.flush()
        print(json.dumps({"ready": len(mine()), "shards": sorted(ctrl.shards.leases.held())}),
              flush=True)  # fmt: skip
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() == "stop":
                break
            started, cpu = time.perf_counter(), time.process_time()
            await ctrl.refresh_all()
            print(json.dumps({"pass": time.perf_counter() - started,
                              "cpu": time.process_time() - cpu,
                              "rss": common.rss_bytes(os.getpid())}), flush=True)  # fmt: skip
        print(json.dumps({"peak": common.peak_rss_self()}), flush=True)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner


def bench_refresh(bed: handle.TestBed, workdir: Path, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    control, dest, names = set_up(bed, workdir, args.apps, args.per_app, applied=True, auto=False)
    print(f"set-up of {len(names)} apps in {time.perf_counter() - started:.1f} s", flush=True)
    children: list[subprocess.Popen[str]] = []
    try:
        for index in range(2):
            cmd = [sys.executable, __file__, "--replica", control, "--bed", str(bed.directory),
                   "--cache", str(workdir / f"cache-{index}")]  # fmt: skip
            children.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            )
        started = time.perf_counter()
        ready = [json.loads(_line(c)) for c in children]
        print(f"both replicas ready (all their apps Synced) in {time.perf_counter() - started:.1f}"
              f" s: {[r['ready'] for r in ready]} apps, shards {[r['shards'] for r in ready]}",
              flush=True)  # fmt: skip
        passes: list[float] = []
        cpu: list[float] = []  # the pass's CPU time (the replica that used more): load-proof
        rss: list[list[int]] = [[], []]
        for number in range(1, args.rounds + 1):
            for child in children:
                assert child.stdin is not None
                child.stdin.write("go\n")
                child.stdin.flush()
            results = [json.loads(_line(c)) for c in children]
            passes.append(max(r["pass"] for r in results))
            cpu.append(max(r["cpu"] for r in results))
            for i, r in enumerate(results):
                rss[i].append(r["rss"])
            each = ", ".join(f"{r['pass']:.2f}" for r in results)
            each_cpu = ", ".join(f"{r['cpu']:.2f}" for r in results)
            print(f"pass {number}: {passes[-1]:.2f} s (replicas {each} s; CPU {each_cpu} s; "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)  # fmt: skip
        for child in children:
            assert child.stdin is not None
            child.stdin.write("stop\n")
            child.stdin.flush()
        peaks = [json.loads(_line(c))["peak"] for c in children]
    finally:
        for child in children:
            with contextlib.suppress(Exception):
                child.terminate()
                child.wait(30)
        tear_down(bed, control, dest)
    common.header(f"no-op refresh, {len(names)} apps x {args.per_app} objects over "
                  f"{len(WORKLOADS)} clusters, two replicas")  # fmt: skip
    common.row("apps per replica", " / ".join(str(r["ready"]) for r in ready))
    common.row("no-op pass (slower replica)", common.spread(passes, digits=2))
    common.row("  CPU time of the busier replica", common.spread(cpu, digits=2))
    med = statistics.median(passes)
    common.row("  vs target 3 s", f"{med / PASS_TARGET:.2f}x - {common.verdict(med, PASS_TARGET)}")
    for i in range(2):
        common.row(f"replica {i} RSS / peak", f"{max(rss[i]) / common.MIB:.0f} / "
                   f"{peaks[i] / common.MIB:.0f} MiB")  # fmt: skip
    worst = max(peaks)
    common.row("  vs target 1 GiB", f"{worst / RSS_TARGET:.2f}x (worst peak) - "
               f"{common.verdict(worst, RSS_TARGET)}")  # fmt: skip


def _line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        raise RuntimeError(f"replica exited with {child.wait()}")
    return line


# -- 2. kill one of two replicas during a cold sync -----------------------------------------------


def bench_kill(bed: handle.TestBed, workdir: Path, args: argparse.Namespace) -> None:
    control, dest, names = set_up(
        bed, workdir, args.cold_apps, args.cold_per_app, applied=False, auto=False
    )
    replicas = [
        scenario.ControllerProcess(
            bed, control, log=workdir / f"replica-{i}.log", app_resync=30,
            extra=(*SHARD_ARGS, *LEASE_ARGS, *SINGLETONS_OFF, "--metrics-port=-1",
                   "--operation-processors=16",
                   # one audit file each: two processes creating one SQLite schema at once
                   # collide ("database is locked"), as pods with their own disks do not
                   f"--audit-db=sqlite:///{workdir / f'audit-{i}.db'}"),
        ).start()
        for i in range(2)
    ]  # fmt: skip
    try:
        for proc in replicas:
            proc.wait_log("controller ready", timeout=300)
        common.wait_until(
            lambda: len(set(shard_holders(bed, control).values())) == 2,
            timeout=120,
            what="both replicas holding a shard",
        )
        # automated sync for every app at once: the cold sync starts now
        started = time.perf_counter()
        patch: dict[str, Any] = {"spec": {"syncPolicy": {"automated": {}}}}
        with bed.admin_client("mgmt") as client:
            for name in names:
                client.patch(
                    f"/apis/argoproj.io/v1alpha1/namespaces/{control}/applications/{name}",
                    json=patch, headers={"Content-Type": "application/merge-patch+json"},
                ).raise_for_status()  # fmt: skip
        threshold = int(len(names) * args.kill_at)
        while sum(1 for a in list_apps(bed, control) if _synced(a)) < threshold:
            time.sleep(0.5)
        holders = shard_holders(bed, control)
        # the victim: the holder of the shard with the most apps still to sync
        victim = next(p for p in replicas if p.pid and f"-{p.pid}-" in holders.get(1, ""))
        survivor = next(p for p in replicas if p is not victim)
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.perf_counter()
        print(f"SIGKILLed replica {victim.pid} at {killed_at - started:.1f} s "
              f"({threshold} apps Synced)", flush=True)  # fmt: skip
        moved = None
        while True:
            apps = list_apps(bed, control)
            if (
                moved is None
                and survivor.pid
                and f"-{survivor.pid}-" in shard_holders(bed, control).get(1, "")
            ):
                moved = time.perf_counter() - killed_at
            if all(_synced(a) for a in apps) and len(apps) == len(names):
                break
            if time.perf_counter() - started > 3600:
                raise TimeoutError("not every app Synced within an hour")
            time.sleep(0.5)
        total = time.perf_counter() - started
        problems = _lost_or_twice(bed, dest, apps, args.cold_per_app)
    finally:
        for proc in replicas:
            proc.stop()
        tear_down(bed, control, dest)
    common.header(f"cold sync of {len(names)} apps x {args.cold_per_app} objects, one of two "
                  f"replicas SIGKILLed at {args.kill_at:.0%} Synced")  # fmt: skip
    common.row("time until every app Synced", f"{total:.1f} s")
    common.row("shard moved after the kill", f"{moved:.1f} s" if moved is not None else "?")
    common.row("lost or run twice", "none" if not problems else "; ".join(problems[:5]))


def _synced(app: dict[str, Any]) -> bool:
    status = app.get("status") or {}
    return (status.get("sync") or {}).get("status") == "Synced" and (
        (status.get("operationState") or {}).get("phase") == "Succeeded"
    )


def _lost_or_twice(
    bed: handle.TestBed, dest: str, apps: list[dict[str, Any]], per_app: int
) -> list[str]:
    out = []
    for app in apps:
        history = (app.get("status") or {}).get("history") or []
        if len(history) != 1:
            out.append(f"{app['metadata']['name']}: {len(history)} history entries")
    expected = len(apps) * per_app
    found = 0
    for name in WORKLOADS:
        with bed.admin_client(name) as client:
            resp = client.get(
                f"/api/v1/namespaces/{dest}/configmaps", params={"labelSelector": "bench=refresh"}
            )
            resp.raise_for_status()
            found += len(resp.json()["items"])
    if found != expected:
        out.append(f"{found} ConfigMaps on the clusters, {expected} expected")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10000)
    parser.add_argument("--per-app", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold-apps", type=int, default=1000)
    parser.add_argument("--cold-per-app", type=int, default=10)
    parser.add_argument("--kill-at", type=float, default=0.3)
    parser.add_argument("--only", choices=("refresh", "kill"), default=None)
    parser.add_argument("--replica", default="", help=argparse.SUPPRESS)
    parser.add_argument("--bed", default="", help=argparse.SUPPRESS)
    parser.add_argument("--cache", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.replica:
        asyncio.run(replica(args))
        return
    started = time.perf_counter()
    with common.test_bed(["mgmt", *WORKLOADS]) as bed, tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "refresh"):
            bench_refresh(bed, Path(tmp), args)
        if args.only in (None, "kill"):
            bench_kill(bed, Path(tmp), args)
    print(f"\n(total wall {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
