"""Benchmark of the local test bed (issue 2): warm start, memory, clean stop, workload readiness.

Each round starts mgmt+dev+staging+prod (binaries already built: a *warm* start) in a fresh
temporary directory and measures:

- ``up`` wall time (target < 30 s);
- the resident memory of every process of the set, summed from /proc (VmRSS; target < 3 GiB),
  read after the Deployment test and again ``--settle`` seconds later (the larger is reported),
  with PSS beside it (shared pages counted once);
- ``kubectl apply`` of a 3-replica Deployment on ``dev`` until it is ``Available`` with 3
  available replicas (target < 10 s);
- ``down`` wall time and the processes left behind afterwards (target: zero).

It also reports the binary cache size (``du`` of ~/.cache/tidegate/bin) and, from the build logs,
how long the cold build of each component took (log file creation to last write); the cold build
is not re-run.

    .venv/bin/python bench/testenv_bench.py [--rounds 3]

This benchmark always starts its own test beds (``TIDEGATE_TESTENV_DIR`` is ignored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from tidegate.testenv import binaries, handle, testbed

UP_TARGET = 30.0
RSS_TARGET = 3 * 1024**3
AVAILABLE_TARGET = 10.0


def deployment(namespace: str) -> dict[str, Any]:
    labels = {"app": "bench-web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bench-web", "namespace": namespace},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27.0"}]},
            },
        },
    }


def _available(bed: handle.TestBed, namespace: str) -> bool:
    with bed.admin_client("dev") as client:
        resp = client.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/bench-web")
        if resp.status_code != 200:
            return False
        status = resp.json().get("status") or {}
    conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
    return conditions.get("Available") == "True" and status.get("availableReplicas") == 3


def deployment_to_available(bed: handle.TestBed, namespace: str) -> float:
    with bed.admin_client("dev") as client:
        client.post("/api/v1/namespaces", json=common.namespace_object(namespace))
    docs = yaml.safe_dump(deployment(namespace))
    started = time.perf_counter()
    common.kubectl(bed.clusters["dev"].kubeconfig, "apply", "-f", "-", stdin=docs)
    common.wait_until(
        lambda: _available(bed, namespace), timeout=120, what="the Deployment to be Available"
    )
    return time.perf_counter() - started


def one_round(number: int, *, settle: float) -> dict[str, float]:
    scratch = Path(tempfile.mkdtemp(prefix="tidegate-testenv-bench-"))
    directory = scratch / "testbed"
    try:
        started = time.perf_counter()
        state = testbed.up(directory, testbed.DEFAULT_CLUSTERS)
        up_s = time.perf_counter() - started
        bed = handle.TestBed.open(directory)
        sessions = [p for p in state.all_pids() if p]
        available_s = deployment_to_available(bed, f"bench-{number}")
        pids = common.processes_of(str(directory.resolve()), sessions)
        rss_early = sum(common.rss_bytes(p) for p in pids)
        settle_until = time.monotonic() + settle
        while time.monotonic() < settle_until:  # let caches, leases and informers fill
            time.sleep(0.5)
        pids = common.processes_of(str(directory.resolve()), sessions)
        rss = max(rss_early, sum(common.rss_bytes(p) for p in pids))
        pss = sum(common.pss_bytes(p) for p in pids)
        started = time.perf_counter()
        testbed.down(directory)
        down_s = time.perf_counter() - started
        left = common.processes_of(str(directory.resolve()), sessions)
        for pid in left:
            print(f"  left behind: {pid} {common.cmdline(pid)[:160]}")
        result = {
            "up": up_s,
            "rss": float(rss),
            "pss": float(pss),
            "processes": float(len(pids)),
            "available": available_s,
            "down": down_s,
            "left": float(len(left)),
        }
        print(
            f"round {number}: up {up_s:.1f} s, {len(pids)} processes, RSS {rss / common.MIB:.0f} "
            f"MiB (PSS {pss / common.MIB:.0f} MiB), Deployment Available in {available_s:.2f} s, "
            f"down {down_s:.1f} s, {len(left)} processes left",
            flush=True,
        )
        return result
    finally:
        if directory.exists():
            testbed.down(directory)
        shutil.rmtree(scratch, ignore_errors=True)


def cache_report() -> None:
    root = binaries.cache_root()
    common.header(f"binary cache {root}")
    if not root.exists():
        common.row("cache", "absent (binaries come from PATH or $TIDEGATE_BIN_DIR)")
        return
    du = subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True, check=False)
    size = int(du.stdout.split()[0]) if du.returncode == 0 else 0
    common.row("size (du -sb)", f"{size / common.MIB:.0f} MiB")
    total = 0.0
    for log in sorted((root / "logs").glob("*.log")):
        birth = _birth_time(log)
        if birth is None:
            common.row(log.stem, "build time unknown (no file creation time)")
            continue
        took = log.stat().st_mtime - birth
        total += took
        common.row(f"cold build {log.stem}", f"{took:.0f} s (log created to last write)")
    if total:
        common.row("cold build, all components", f"{total:.0f} s (sequential sum)")


def _birth_time(path: Path) -> float | None:
    out = subprocess.run(["stat", "-c", "%W", str(path)], capture_output=True, text=True)
    try:
        value = float(out.stdout.strip())
    except ValueError:
        return None
    return value if value > 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds to run before reading memory again"
    )
    args = parser.parse_args()
    os.environ.pop(common.REUSE_ENV, None)
    binaries.ensure(["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                     "kwok", "kwok-stages"])  # fmt: skip
    rounds = [one_round(n, settle=args.settle) for n in range(1, args.rounds + 1)]

    def col(key: str) -> list[float]:
        return [r[key] for r in rounds]

    common.header(f"test bed mgmt+dev+staging+prod, {args.rounds} rounds")
    up = col("up")
    common.row("warm up", f"{common.spread(up, digits=1)}")
    common.row(
        "  vs target 30 s",
        f"{max(up) / UP_TARGET:.2f}x of target (worst) - {common.verdict(max(up), UP_TARGET)}",
    )
    rss = [r / common.MIB for r in col("rss")]
    common.row("RSS summed over the set", common.spread(rss, "MiB", 0))
    common.row(
        "  vs target 3 GiB",
        f"{max(rss) * common.MIB / RSS_TARGET:.2f}x of target - "
        f"{common.verdict(max(rss) * common.MIB, RSS_TARGET)}",
    )
    common.row("PSS summed over the set", common.spread([p / common.MIB for p in col("pss")],
                                                        "MiB", 0))  # fmt: skip
    common.row("processes in the set", common.spread(col("processes"), "", 0))
    avail = col("available")
    common.row("apply -> Deployment Available (3 pods)", common.spread(avail, digits=2))
    common.row(
        "  vs target 10 s",
        f"{max(avail) / AVAILABLE_TARGET:.2f}x of target - "
        f"{common.verdict(max(avail), AVAILABLE_TARGET)}",
    )
    common.row("down", common.spread(col("down"), digits=1))
    left = col("left")
    common.row(
        "processes left after down",
        f"{int(max(left))} (max over rounds) - {'meets' if max(left) == 0 else 'MISSES'} target 0",
    )
    cache_report()


if __name__ == "__main__":
    main()
