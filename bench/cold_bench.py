"""Fleet-scale worst days (issue 18): cold sync, cold start, and a disaster-recovery drill.

1,000 Applications x 10 ConfigMaps on the test bed's ``dev`` cluster (``--apps``, ``--per-app``
for smaller runs), one repository with one directory per app on the test-bed git server, the
application controller running in this process (``engine.Controller``, default settings). One
command each; each prints its figure AND its ratio to the named baseline:

``sync``   Cold sync. Baseline: ``kubectl apply --server-side`` of the same objects (one kubectl
           process, every object in one stream) into a fresh namespace. Then the Applications
           (automated sync) are created in one batch and timed until every app is Synced and
           Healthy. Target: within 2x of kubectl, controller (process) peak RSS < 400 MiB.
``start``  Cold start. The objects are applied and a first controller brings every app to
           Synced (writing its records); it stops, and a new controller (empty memory, same
           cache directory: a restarted pod keeps its volume) starts. Timed from its start until
           every app was refreshed by it and is Synced. Baseline: the first controller's pass
           over the same fleet. Target < 10 s. Reports the dry runs the new controller sent.
``dr``     Disaster recovery. The fleet (automated sync, selfHeal, CreateNamespace) is Synced;
           then the destination namespace is deleted (dev's state wiped) and the drill is timed
           until every app is Synced and Healthy again, from the wipe and from the moment the
           namespace is gone. Baseline: ``kubectl apply --server-side`` of the same objects.

    .venv/bin/python bench/cold_bench.py sync|start|dr [--apps 1000] [--per-app 10]
                                         [--profile FILE]

``--profile FILE`` (sync, start) runs the timed part (the cold sync; the restarted controller's
pass) under cProfile and writes the stats to FILE (read them with ``python -m pstats FILE``);
the figure is then slower.

The machine is shared: the load average before and after each run is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import refresh_bench

from tidegate.controller import appstatus, engine, settings
from tidegate.kube import config as kube_config
from tidegate.model import constants
from tidegate.testenv import handle, scenario

SYNC_RATIO_TARGET = 2.0
START_TARGET = 10.0
RSS_TARGET = 400 * common.MIB


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Fleet:
    """The control namespace, repository, destination namespace and app names of one run."""

    def __init__(self, bed: handle.TestBed, workdir: Path, apps: int, per_app: int) -> None:
        assert bed.git is not None
        self.bed, self.workdir, self.per_app = bed, workdir, per_app
        self.control = f"tg-cold-{secrets.token_hex(3)}"
        self.dest = f"bench-cold-{secrets.token_hex(3)}"
        self.names = [refresh_bench.app_name(i) for i in range(apps)]
        scenario.control_namespace(bed, self.control)
        src = workdir / "src"
        for name in self.names:
            docs = [refresh_bench.configmap(name, j, None) for j in range(per_app)]
            path = src / "apps" / name / "configmaps.yaml"
            path.parent.mkdir(parents=True)
            path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        self.repo_url = bed.git.create_repo(from_dir=src).http_url

    def objects(self, namespace: str, *, tracked: bool = True) -> list[dict[str, Any]]:
        """The apps' objects in ``namespace``, stamped as the controller stamps them
        (installation id: the control namespace). Not ``tracked``: the same objects of another
        installation (the same size), which the apps neither claim nor prune."""
        per_app = range(self.per_app)
        objs = [refresh_bench.configmap(n, j, namespace) for n in self.names for j in per_app]
        installation = self.control if tracked else f"{self.control}-baseline"
        for obj in objs:
            obj["metadata"]["annotations"][constants.ANNOTATION_INSTALLATION_ID] = installation
        return objs

    def kubectl_apply(self, namespace: str, *, tracked: bool = True) -> float:
        """``kubectl apply --server-side`` of every object in one stream (the baseline)."""
        dev = self.bed.clusters["dev"].kubeconfig
        objs = [common.namespace_object(namespace), *self.objects(namespace, tracked=tracked)]
        return refresh_bench._kubectl_apply(dev, objs, constants.FIELD_MANAGER)

    def applications(self, *, automated: bool, self_heal: bool = False) -> None:
        server = self.bed.clusters["dev"].server
        apps = []
        for name in self.names:
            obj = refresh_bench.application(name, self.repo_url, server, self.dest)
            obj["metadata"]["namespace"] = self.control
            if automated:
                obj["spec"]["syncPolicy"] = {
                    "automated": {"prune": True, "selfHeal": self_heal},
                    "syncOptions": ["CreateNamespace=true"],
                }
            apps.append(obj)
        refresh_bench._kubectl_apply(self.bed.clusters["mgmt"].kubeconfig, apps, "bench")

    def delete_namespace(self, cluster: str, namespace: str, *, wait: bool) -> None:
        subprocess.run(
            [common.kubectl_path(), f"--kubeconfig={self.bed.clusters[cluster].kubeconfig}",
             "delete", "namespace", namespace, f"--wait={'true' if wait else 'false'}",
             "--ignore-not-found", "--timeout=600s"],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip

    def cleanup(self) -> None:
        self.delete_namespace("mgmt", self.control, wait=False)
        self.delete_namespace("dev", self.dest, wait=False)


@contextlib.contextmanager
def fleet(args: argparse.Namespace) -> Iterator[Fleet]:
    with common.test_bed(["mgmt", "dev"]) as bed, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        made = Fleet(bed, Path(tmp), args.apps, args.per_app)
        print(f"set-up: control namespace {made.control}, repository of {args.apps} "
              f"directories in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        try:
            yield made
        finally:
            made.cleanup()


OPERATION_PROCESSORS = settings.Settings().operation_workers  # --operation-processors


def controller(made: Fleet) -> engine.Controller:
    conf = settings.Settings(
        namespace=made.control,
        operation_workers=OPERATION_PROCESSORS,
        app_resync_seconds=3600,
        cache_dir=made.workdir / "cache",
        # its own installation: runs side by side never claim (or prune) each other's objects
        installation_id=made.control,
    )
    mgmt = kube_config.from_kubeconfig(made.bed.clusters["mgmt"].kubeconfig)
    return engine.Controller(mgmt=mgmt, settings=conf)


def _status(ctrl: engine.Controller, name: str) -> dict[str, Any]:
    state = ctrl.states.get(name)
    return dict((state.raw.get("status") if state is not None else None) or {})


def synced_and_healthy(ctrl: engine.Controller, names: list[str]) -> bool:
    for name in names:
        status = _status(ctrl, name)
        if (status.get("sync") or {}).get("status") != "Synced":
            return False
        if (status.get("health") or {}).get("status") != "Healthy":
            return False
        if (status.get("operationState") or {}).get("phase") == "Running":
            return False
    return True


async def until(
    runner: asyncio.Task[None], done: Callable[[], bool], *, within: float, what: str
) -> None:
    deadline = time.monotonic() + within
    while not done():
        if runner.done():
            runner.result()
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def running(ctrl: engine.Controller) -> Any:
    runner = asyncio.create_task(ctrl.run())
    try:
        await asyncio.wait_for(ctrl.ready.wait(), 300)
        yield runner
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await runner
        await ctrl.aclose()


def dry_runs_sent(ctrl: engine.Controller) -> int:
    return ctrl.deps.dry_runs.misses - getattr(ctrl.deps.dry_runs, "recalled", 0)


# -- sync -------------------------------------------------------------------------------------


async def cold_sync(made: Fleet, baseline: float, profile: Path | None = None) -> None:
    ctrl = controller(made)
    profiler = cProfile.Profile() if profile is not None else None
    async with running(ctrl) as runner:
        if profiler is not None:
            profiler.enable()
        started = time.perf_counter()
        cpu_before = common.cpu_seconds(os.getpid())
        made.applications(automated=True)
        created = time.perf_counter() - started
        await until(runner, lambda: synced_and_healthy(ctrl, made.names), within=3600,
                    what="every app Synced and Healthy")  # fmt: skip
        elapsed = time.perf_counter() - started
        cpu = common.cpu_seconds(os.getpid()) - cpu_before
        peak = common.peak_rss_self()
        sent = dry_runs_sent(ctrl)
        if profiler is not None and profile is not None:
            profiler.disable()
            profiler.dump_stats(profile)
    objects = len(made.names) * made.per_app
    common.header(f"cold sync of {len(made.names)} apps / {objects} objects (load {load()})")
    common.row("kubectl apply --server-side (baseline)", f"{baseline:.1f} s")
    common.row("tidegate: apps created -> all Synced+Healthy",
               f"{elapsed:.1f} s (of which creating the apps {created:.1f} s)")  # fmt: skip
    ratio = elapsed / baseline
    common.row("  ratio to kubectl", f"{ratio:.2f}x - target {SYNC_RATIO_TARGET:.0f}x: "
               f"{common.verdict(ratio, SYNC_RATIO_TARGET)}")  # fmt: skip
    common.row("refresh dry runs sent", str(sent))
    # near the wall time: the controller's one core is what limits it, not the API servers
    common.row("controller process CPU (user+sys)", f"{cpu:.1f} s ({cpu / elapsed:.0%} of a core)")
    common.row("process peak RSS", f"{peak / common.MIB:.0f} MiB - target 400 MiB: "
               f"{common.verdict(peak, RSS_TARGET)}")  # fmt: skip


# -- start ------------------------------------------------------------------------------------


async def cold_start(made: Fleet, profile: Path | None = None) -> None:
    first = controller(made)
    async with running(first) as runner:
        started = time.perf_counter()
        await until(runner, lambda: synced_and_healthy(first, made.names), within=3600,
                    what="every app Synced (first controller)")  # fmt: skip
        await first.scheduler.drain()
        baseline = time.perf_counter() - started
        first_sent = dry_runs_sent(first)
    second = controller(made)
    profiler = cProfile.Profile() if profile is not None else None
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    async with running(second) as runner:
        ready = time.perf_counter() - started
        await second.scheduler.drain()
        await until(runner, lambda: synced_and_healthy(second, made.names), within=600,
                    what="every app Synced (restarted controller)")  # fmt: skip
        elapsed = time.perf_counter() - started
        sent = dry_runs_sent(second)
        recalled = getattr(second.deps.dry_runs, "recalled", 0)
        refreshed = second.refresh_count
    if profiler is not None and profile is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    objects = len(made.names) * made.per_app
    common.header(f"cold start over {len(made.names)} apps / {objects} objects (load {load()})")
    common.row("first controller, first pass (baseline)",
               f"{baseline:.1f} s, {first_sent} dry runs")  # fmt: skip
    common.row("restarted controller: start -> all refreshed, Synced",
               f"{elapsed:.1f} s (ready after {ready:.1f} s; {refreshed} refreshes)")  # fmt: skip
    common.row("  ratio to the first pass", f"{elapsed / baseline:.2f}x")
    common.row("  vs target 10 s", f"{elapsed / START_TARGET:.2f}x of target - "
               f"{common.verdict(elapsed, START_TARGET)}")  # fmt: skip
    common.row("dry runs sent after the restart", f"{sent} ({recalled} recalled from records)")


# -- dr ---------------------------------------------------------------------------------------


async def drill(made: Fleet, baseline: float) -> None:
    made.applications(automated=True, self_heal=True)
    ctrl = controller(made)
    async with running(ctrl) as runner:
        await until(runner, lambda: synced_and_healthy(ctrl, made.names), within=3600,
                    what="every app Synced before the drill")  # fmt: skip
        await ctrl.scheduler.drain()
        started = time.perf_counter()
        wiped_at = appstatus.now()
        await asyncio.to_thread(made.delete_namespace, "dev", made.dest, wait=True)
        gone = time.perf_counter() - started

        def recovered() -> bool:  # every app re-synced since the wipe, Synced and Healthy
            return synced_and_healthy(ctrl, made.names) and all(
                str((_status(ctrl, n).get("operationState") or {}).get("startedAt") or "")
                >= wiped_at for n in made.names
            )  # fmt: skip

        await until(runner, recovered, within=3600,
                    what="every app Synced and Healthy after the wipe")  # fmt: skip
        elapsed = time.perf_counter() - started
    objects = len(made.names) * made.per_app
    common.header(f"disaster recovery of {len(made.names)} apps / {objects} objects "
                  f"(load {load()})")  # fmt: skip
    common.row("kubectl apply --server-side (baseline)", f"{baseline:.1f} s")
    common.row("wipe -> namespace gone", f"{gone:.1f} s")
    common.row("wipe -> all Synced+Healthy again", f"{elapsed:.1f} s")
    common.row("  from namespace gone", f"{elapsed - gone:.1f} s, "
               f"{(elapsed - gone) / baseline:.2f}x of kubectl")  # fmt: skip


def main() -> None:
    global OPERATION_PROCESSORS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("sync", "start", "dr"))
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--per-app", type=int, default=10)
    parser.add_argument(
        "--operation-processors",
        type=int,
        default=OPERATION_PROCESSORS,
        help="the controller's --operation-processors (default: its default)",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="cProfile stats file (sync, start)"
    )
    args = parser.parse_args()
    OPERATION_PROCESSORS = args.operation_processors
    print(f"load average before: {load()} ({os.cpu_count()} cores)", flush=True)
    started = time.perf_counter()
    with fleet(args) as made:
        if args.what == "start":
            made.kubectl_apply(made.dest)  # every app Synced from its first comparison
            made.applications(automated=False)
            asyncio.run(cold_start(made, args.profile))
        else:
            scratch = f"bench-kubectl-{secrets.token_hex(3)}"
            # The baseline's objects are another installation's, and gone before the timed
            # part: until this was so, each app also pruned the 10 baseline objects that
            # carried its tracking label (the namespace's deletion was not waited for), and
            # their deletion ran during the timed part.
            try:
                baseline = made.kubectl_apply(scratch, tracked=False)
            finally:
                made.delete_namespace("dev", scratch, wait=True)
            print(f"baseline: kubectl apply --server-side of {len(made.objects(scratch))} "
                  f"objects in {baseline:.1f} s (load {load()})", flush=True)  # fmt: skip
            asyncio.run(
                cold_sync(made, baseline, args.profile)
                if args.what == "sync"
                else drill(made, baseline)
            )
    print(f"\n(total wall {time.perf_counter() - started:.0f} s; load after: {load()})")


if __name__ == "__main__":
    main()
