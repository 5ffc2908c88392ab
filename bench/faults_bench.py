"""Benchmark: the engine under faults (issue 9, "Numbers").

On a test bed of its own (mgmt, dev, staging: it kills API servers, so never a shared one) with
a fleet of automated apps (``testenv.faultfleet``: waves, hooks, prune, self-heal) and a real
``tidegate controller`` process, it prints:

1. **Convergence after each fault**: seconds from the end of the fault to every app Synced and
   Healthy at its latest commit, p50 and p95 over ``--repeats`` runs of each fault: the
   controller SIGKILLed in the middle of syncs, a workload API server killed and restarted in
   place, the management API server restarted, the git server stopped and restarted, the git
   server hung (SIGSTOP) and resumed. A commit is pushed before each fault, so the apps have
   work to finish after it.
2. **Latency on healthy clusters and repositories while another hangs**: for the apps of
   ``dev``, the refresh latency (a hard-refresh request until the app's ``reconciledAt``
   moves) and the sync latency (a commit and its webhook until the app is Synced and Healthy
   at it), without a fault and while (a) the ``staging`` API server hangs (SIGSTOP: accepts
   connections, never answers) and (b) another repository hangs (apps of a repository served
   through a ``FaultProxy`` that is switched to HANG). Prints p50/p95 and the ratio to the
   fault-free figure; the target is within 10% (ratio <= 1.10). Fault-free and faulted samples
   alternate in ``--rounds`` rounds, so load that changes during the run weighs on both.
3. **Controller memory over a cluster outage**: RSS every 5 s while the ``staging`` API server
   is down for ``--outage-seconds`` (default 600), then after it recovers.

    .venv/bin/python bench/faults_bench.py [--apps 20] [--repeats 3] [--samples 10]
        [--rounds 5] [--outage-seconds 600]
        [--only convergence|isolation|isolation-cluster|isolation-repository|memory ...]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MIB, cpu_seconds, header, percentile, row, rss_bytes, verdict

from tidegate.testenv import faultfleet, faults, handle, scenario, testbed
from tidegate.testenv.faultproxy import FaultProxy, Mode

CLUSTERS = ("dev", "staging")
BOUND = 300.0
TARGET_RATIO = 1.10


class Bench:
    def __init__(self, bed: handle.TestBed, ops: scenario.GitOps, fleet: faultfleet.Fleet) -> None:
        self.bed = bed
        self.ops = ops
        self.fleet = fleet
        self.faults = faults.BedFaults(bed.directory)
        self.incarnation = 0
        self.hung_app = ""  # the app of the repository that ``_hung_repository`` hangs

    def restart_controller(self) -> None:
        self.incarnation += 1
        faultfleet.restart_controller(self.ops, incarnation=self.incarnation)

    def converge(self) -> float:
        return self.fleet.wait_converged(within=BOUND)

    def pid(self) -> int:
        assert self.ops.controller.pid is not None
        return self.ops.controller.pid


# -- 1. convergence after each fault ---------------------------------------------------------


def _controller_kill(bench: Bench) -> None:
    bench.fleet.push()
    _wait_some_running(bench)
    bench.restart_controller()


def _workload_outage(bench: Bench) -> None:
    bench.faults.kill("kube-apiserver", "staging")
    bench.fleet.push()
    time.sleep(10)  # the outage lasts 10 s (the fault, not a synchronisation)
    bench.faults.restart()


def _mgmt_restart(bench: Bench) -> None:
    bench.fleet.push()
    bench.faults.kill("kube-apiserver", "mgmt")
    bench.faults.restart()


def _git_stopped(bench: Bench) -> None:
    bench.fleet.push()
    bench.faults.kill("git")
    time.sleep(10)
    bench.faults.restart()


def _git_hung(bench: Bench) -> None:
    bench.fleet.push()
    bench.faults.hang("git")
    time.sleep(10)
    bench.faults.resume("git")


FAULTS: dict[str, Callable[[Bench], None]] = {
    "controller SIGKILLed mid-sync": _controller_kill,
    "workload API server killed, restarted": _workload_outage,
    "management API server restarted": _mgmt_restart,
    "git server stopped, restarted": _git_stopped,
    "git server hung (SIGSTOP), resumed": _git_hung,
}


def _wait_some_running(bench: Bench) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        with bench.ops.mgmt() as client:
            items = client.get(bench.ops.app_path()).json()["items"]
        if any(
            ((a.get("status") or {}).get("operationState") or {}).get("phase") == "Running"
            for a in items
        ):
            return
        time.sleep(0.1)
    raise TimeoutError("no sync started after the commit")


def convergence(bench: Bench, repeats: int) -> None:
    header(f"1. convergence after each fault ({len(bench.fleet.apps)} apps, {repeats} runs)")
    for name, fault in FAULTS.items():
        samples = []
        for _ in range(repeats):
            fault(bench)
            samples.append(bench.converge())
        row(name, f"p50 {percentile(samples, 0.5):.1f} s, p95 {percentile(samples, 0.95):.1f} s")


# -- 2. latency on the healthy cluster / repository while another hangs ------------------------


def _annotate_refresh(ops: scenario.GitOps, name: str) -> str:
    before = str((ops.get_app(name).get("status") or {}).get("reconciledAt") or "")
    ops.patch_app(name, {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}})
    return before


def refresh_latency(bench: Bench, samples: int) -> list[float]:
    """Seconds from a hard-refresh request on a dev app until its reconciledAt moves (the
    timestamp has one-second resolution: the request waits for the next second first)."""
    out = []
    dev = bench.fleet.on("dev")
    for index in range(samples):
        app = dev[index % len(dev)]
        _next_second()
        started = time.monotonic()
        before = _annotate_refresh(bench.ops, app.name)
        name = app.name
        _poll(lambda: _reconciled(bench.ops, name) not in ("", before))  # noqa: B023
        out.append(time.monotonic() - started)
    return out


def sync_latency(bench: Bench, samples: int) -> list[float]:
    """Seconds from a commit to dev's repository and its webhook until every dev app is
    Synced and Healthy at it (one sample per commit)."""
    out = []
    names = {a.name for a in bench.fleet.on("dev")}
    for _ in range(samples):
        bench.fleet.push(["dev"])
        started = time.monotonic()
        codes = faultfleet.flood(bench.fleet, 1, clusters=["dev"])
        assert all(code < 500 for code in codes), codes
        _poll(lambda: not names & set(bench.fleet.converged()))
        out.append(time.monotonic() - started)
    return out


def _reconciled(ops: scenario.GitOps, name: str) -> str:
    return str((ops.get_app(name).get("status") or {}).get("reconciledAt") or "")


def _next_second() -> None:
    time.sleep(1.0 - (time.time() % 1.0) + 0.01)


def _poll(check: Callable[[], Any], within: float = BOUND) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("not within the bound")
        time.sleep(0.05)


def _apps(ops: scenario.GitOps) -> dict[str, dict[str, Any]]:
    with ops.mgmt() as client:
        resp = client.get(ops.app_path())
        resp.raise_for_status()
        return {a["metadata"]["name"]: a for a in resp.json()["items"]}


@contextmanager
def _hung_cluster(bench: Bench) -> Iterator[None]:
    """staging's API server hung, measured once the controller knows (its apps Unknown): the
    steady state of a hang, not its first seconds."""
    bench.faults.hang("kube-apiserver", "staging")
    names = {a.name for a in bench.fleet.on("staging")}
    try:
        _poll(
            lambda: all(
                ((a.get("status") or {}).get("sync") or {}).get("status") == "Unknown"
                for n, a in _apps(bench.ops).items()
                if n in names
            )
        )
        yield
    finally:
        bench.faults.resume("kube-apiserver", "staging")


@contextmanager
def _hung_repository(bench: Bench, proxy: FaultProxy) -> Iterator[None]:
    """Another repository hung, measured once its app reports it (RepoUnreachableWarning)."""
    proxy.mode = Mode.HANG
    bench.ops.patch_app(  # make the hung repository's app fetch now
        bench.hung_app, {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}
    )
    try:
        _poll(
            lambda: any(
                c.get("type") == "RepoUnreachableWarning"
                for c in (bench.ops.get_app(bench.hung_app).get("status") or {}).get("conditions")
                or []
            )
        )
        yield
    finally:
        proxy.mode = Mode.FORWARD


def isolation(bench: Bench, samples: int, proxy: FaultProxy, rounds: int, which: set[str]) -> None:
    """Fault-free and faulted samples taken in alternating rounds (A B A B ...), so a change
    of the machine's load during the run weighs on both alike; the ratio is of the pooled p50s,
    and the median of the per-round ratios is printed beside it. ``which``: the hung cluster
    (``cluster``), the hung repository (``repository``) or both."""
    header(
        f"2. latency of dev's apps while another cluster / repository hangs"
        f" ({samples} each, in {rounds} alternating rounds)"
    )
    per_round = max(1, samples // rounds)
    faults_in_turn: tuple[tuple[str, str, Callable[[], AbstractContextManager[None]]], ...] = (
        ("cluster", "staging API server hung", lambda: _hung_cluster(bench)),
        ("repository", "another repository hung", lambda: _hung_repository(bench, proxy)),
    )
    for kind, label, fault in faults_in_turn:
        if kind not in which:
            continue
        base: tuple[list[float], list[float]] = ([], [])
        hit: tuple[list[float], list[float]] = ([], [])
        paired: tuple[list[float], list[float]] = ([], [])
        cpu = {"base": [0.0, 0.0], "hit": [0.0, 0.0]}  # controller CPU s, wall s
        for _ in range(rounds):
            with _cpu(bench, cpu["base"]):
                b_refresh = refresh_latency(bench, per_round)
                b_sync = sync_latency(bench, per_round)
            with fault(), _cpu(bench, cpu["hit"]):
                f_refresh = refresh_latency(bench, per_round)
                f_sync = sync_latency(bench, per_round)
            bench.converge()
            for index, (b, f) in enumerate(((b_refresh, f_refresh), (b_sync, f_sync))):
                base[index].extend(b)
                hit[index].extend(f)
                paired[index].append(percentile(f, 0.5) / max(percentile(b, 0.5), 1e-9))
        _latency_rows(f"{label}, no fault", base[0], base[1], None)
        _latency_rows(label, hit[0], hit[1], base, paired)
        row(
            f"{label}: controller CPU",
            "{:.2f} cores while measuring without the fault, {:.2f} with it".format(
                *(used / max(wall, 1e-9) for used, wall in (cpu["base"], cpu["hit"]))
            ),
        )


@contextmanager
def _cpu(bench: Bench, into: list[float]) -> Iterator[None]:
    """Add the controller's CPU seconds and the wall seconds of the block to ``into``."""
    used, started = cpu_seconds(bench.pid()), time.monotonic()
    try:
        yield
    finally:
        into[0] += cpu_seconds(bench.pid()) - used
        into[1] += time.monotonic() - started


def _latency_rows(
    label: str,
    refresh: list[float],
    sync: list[float],
    base: tuple[list[float], list[float]] | None,
    paired: tuple[list[float], list[float]] | None = None,
) -> None:
    for what, samples, index in (("refresh", refresh, 0), ("sync", sync, 1)):
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        text = f"p50 {p50:.2f} s, p95 {p95:.2f} s"
        if base is not None:
            ratio = p50 / max(percentile(base[index], 0.5), 1e-9)
            text += f", p50 ratio {ratio:.2f} ({verdict(ratio, TARGET_RATIO, below=False)})"
        if paired is not None:
            text += f", median of round ratios {percentile(paired[index], 0.5):.2f}"
        row(f"{label}: {what}", text)


# -- 3. memory over an outage ------------------------------------------------------------------


def outage_memory(bench: Bench, seconds: float) -> None:
    header(f"3. controller RSS over a {seconds:.0f} s outage of staging's API server")
    pid = bench.pid()
    before = rss_bytes(pid)
    bench.faults.kill("kube-apiserver", "staging")
    readings = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        readings.append(rss_bytes(pid))
        time.sleep(5)  # the sampling period
    during_end = rss_bytes(pid)
    bench.faults.restart()
    recovered = bench.converge()
    row("before the outage", f"{before / MIB:.1f} MiB")
    row("during: max", f"{max(readings) / MIB:.1f} MiB ({len(readings)} samples)")
    row("at the end of the outage", f"{during_end / MIB:.1f} MiB")
    row("growth over the outage", f"{(during_end - before) / MIB:+.1f} MiB")
    row("converged after recovery in", f"{recovered:.1f} s")
    row("after recovery", f"{rss_bytes(pid) / MIB:.1f} MiB")


@contextmanager
def _proxied_app(ops: scenario.GitOps, git: handle.GitRemote) -> Iterator[tuple[FaultProxy, str]]:
    """An app on dev whose repository is reached through a fault proxy (forwarding to the git
    server until a test switches it to HANG), synced once."""
    base = git.info.http_base
    port = int(base.rsplit(":", 1)[1].split("/")[0])
    repo, work = ops.repo({"app/cm.yaml": faultfleet.CM.format(name="via", wave=0, generation=0)})
    with FaultProxy(Mode.FORWARD, upstream=("127.0.0.1", port)) as proxy:
        url = proxy.url(repo.http_url.removeprefix(base))
        scenario.apply_manifests(
            ops.bed, "mgmt", [scenario.repo_secret(git, url, namespace=ops.namespace,
                                                   name="hung-repo")]
        )  # fmt: skip
        name = "hung-repo-app"
        ops.create_app(
            scenario.application(
                name, repo_url=url, path="app", server=ops.bed.clusters["dev"].server,
                namespace=name,
            )
        )  # fmt: skip
        ops.wait_app(name, lambda a: scenario.synced_healthy(a, work.head()), timeout=BOUND)
        yield proxy, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds in part 2")
    parser.add_argument("--outage-seconds", type=float, default=600.0)
    parser.add_argument(
        "--only",
        choices=("convergence", "isolation", "isolation-cluster", "isolation-repository", "memory"),
        action="append",
        help="run only these parts (repeatable; default: all three; isolation-cluster and "
        "isolation-repository: one half of part 2)",
    )
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="faults-bench-", dir="/tmp"))
    directory = scratch / "testbed"
    started = time.perf_counter()
    testbed.up(directory, ("mgmt", *CLUSTERS))
    try:
        bed = handle.TestBed.open(directory)
        print(f"test bed up in {time.perf_counter() - started:.1f} s ({directory})", flush=True)
        ops = faultfleet.open_bed_ops(bed, f"tg-{secrets.token_hex(3)}", scratch)
        ops.controller.start().wait_log("controller ready", timeout=120)
        try:
            fleet = faultfleet.Fleet.create(ops, CLUSTERS, args.apps, prefix="b")
            fleet.wait_converged(within=BOUND * 2)
            assert bed.git is not None
            with _proxied_app(ops, bed.git) as (proxy, hung_app):
                bench = Bench(bed, ops, fleet)
                bench.hung_app = hung_app
                parts = set(args.only or ("convergence", "isolation", "memory"))
                if "convergence" in parts:
                    convergence(bench, args.repeats)
                which = {
                    kind
                    for kind in ("cluster", "repository")
                    if {"isolation", f"isolation-{kind}"} & parts
                }
                if which:
                    isolation(bench, args.samples, proxy, args.rounds, which)
                if "memory" in parts:
                    outage_memory(bench, args.outage_seconds)
        finally:
            ops.controller.stop()
    finally:
        testbed.down(directory)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
