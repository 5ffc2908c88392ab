"""Two controller replicas, real processes, share the clusters of the test bed (issue 18, 3).

They run in a control namespace of their own with ``--replicas=2`` and short Leases. The
fleet (apps with sync waves, prune and PreSync/PostSync hooks, from faultfleet) spreads over
the bed's workload clusters. Then:

1. each replica holds one shard (the Leases say so);
2. the holder of a shard is SIGKILLed while its apps sync: the survivor takes the shard over
   within seconds and finishes the syncs;
3. a new replica joins and gets a shard back (rebalancing), then is paused with SIGSTOP past
   its lease while its apps sync: the other replica takes the shard, and when the paused one
   resumes (still believing it holds the shard) it writes nothing: its log says so.

After each: every app Synced and Healthy at its latest commit, no operation lost, and nothing
run twice (``faultfleet.violations``: no duplicated history entry, every hook ran once per
sync, no object wrongly pruned or changed).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tidegate.controller import clusters, leases, sharding
from tidegate.model import constants
from tidegate.testenv import faultfleet, faultwatch, handle, scenario
from tidegate.testenv.wait import eventually

pytestmark = pytest.mark.e2e

SIZE = 12
LEASE = 6  # seconds: short, so that the test sees shards move (2 busy cores: not shorter)
SHARD_ARGS = (
    "--replicas=2",
    "--sharding-method=round-robin",
    f"--shard-lease-duration={LEASE}",
    "--shard-renew-deadline=4",
    "--shard-retry-period=1",
    "--operation-processors=16",
    # the fleet-wide controllers (leader-elected: test_singleton_replicas.py) stay out
    "--no-appsets",
    "--no-promotions",
    "--no-rollouts",
    "--no-notifications",
    "--metrics-port=-1",
)
BOUND = 180.0
MOVE_BOUND = LEASE * 4  # a dead replica's shard moves within this (normally ~LEASE + 1 s)


class Replicas:
    def __init__(self, bed: handle.TestBed, ops: scenario.GitOps, workdir: Path) -> None:
        self.bed = bed
        self.ops = ops
        self.workdir = workdir
        self.procs: list[scenario.ControllerProcess] = []

    def start(self, index: int) -> scenario.ControllerProcess:
        proc = scenario.ControllerProcess(
            self.bed,
            self.ops.namespace,
            log=self.workdir / f"replica-{index}.log",
            app_resync=5,
            extra=SHARD_ARGS,
        ).start()
        proc.wait_log("controller ready", timeout=120)
        self.procs.append(proc)
        return proc

    def leases(self) -> dict[int, str]:
        """Shard -> holder identity, from the Leases on the API server."""
        with self.ops.mgmt() as client:
            resp = client.get(
                f"/apis/coordination.k8s.io/v1/namespaces/{self.ops.namespace}/leases",
                params={"labelSelector": f"{leases.LABEL_ROLE}=shard"},
            )
            resp.raise_for_status()
            return {
                int(item["metadata"]["labels"][leases.LABEL_SHARD]): str(
                    item["spec"].get("holderIdentity") or ""
                )
                for item in resp.json()["items"]
            }

    def holder_of(self, shard: int) -> scenario.ControllerProcess | None:
        holder = self.leases().get(shard, "")
        return next((p for p in self.procs if p.pid and f"-{p.pid}-" in holder), None)

    def shard_of_cluster(self) -> dict[str, int]:
        """Bed cluster name -> shard, as the replicas compute it (from the cluster Secrets)."""
        with self.ops.mgmt() as client:
            resp = client.get(
                f"/api/v1/namespaces/{self.ops.namespace}/secrets",
                params={"labelSelector": "argocd.argoproj.io/secret-type=cluster"},
            )
            resp.raise_for_status()
            secrets_ = resp.json()["items"]
        registry = clusters.ClusterRegistry(secrets_, management=None)
        by_server = sharding.assign(
            registry.clusters(), replicas=2, algorithm=sharding.Algorithm.ROUND_ROBIN
        )
        return {
            name: sharding.shard_of(info.server, by_server)
            for name, info in self.bed.clusters.items()
            if name != "mgmt"
        }


@pytest.fixture(scope="module")
def replicas(
    testbed_handle: handle.TestBed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Replicas, faultfleet.Fleet]]:
    workdir = tmp_path_factory.mktemp("replicas")
    namespace = f"tg-{secrets.token_hex(3)}"
    ops = faultfleet.open_bed_ops(testbed_handle, namespace, workdir, extra=SHARD_ARGS)
    group = Replicas(testbed_handle, ops, workdir)
    fleet: faultfleet.Fleet | None = None
    try:
        ops.controller = group.start(0)
        group.start(1)
        workloads = tuple(n for n in testbed_handle.clusters if n != "mgmt")
        # a fresh prefix: app names are the apps' namespaces on the shared clusters
        fleet = faultfleet.Fleet.create(ops, workloads, SIZE, prefix=f"s{secrets.token_hex(2)}")
        fleet.wait_converged(within=BOUND)
        fleet.add_bystanders()
        yield group, fleet
    finally:
        for proc in group.procs:
            if proc.pid is not None:
                os.kill(proc.pid, signal.SIGCONT)  # a paused one must be able to stop
            proc.stop()
        with testbed_handle.admin_client("mgmt") as client:
            client.delete(f"/api/v1/namespaces/{namespace}")
        for app in fleet.apps if fleet is not None else []:
            with testbed_handle.admin_client(app.cluster) as client:
                client.delete(f"/api/v1/namespaces/{app.namespace}")


def _running_on(
    recorder: faultwatch.StatusRecorder, fleet: faultfleet.Fleet, shard_clusters: set[str]
) -> list[str]:
    names = {a.name for a in fleet.apps if a.cluster in shard_clusters}
    return [n for n in recorder.running() if n in names]


async def _kill_point(
    group: Replicas, fleet: faultfleet.Fleet, recorder: faultwatch.StatusRecorder, shard: int
) -> list[str]:
    """Push a new generation and return once apps of ``shard`` are syncing."""
    clusters_of_shard = {c for c, s in group.shard_of_cluster().items() if s == shard}
    fleet.push()
    return await eventually(lambda: _running_on(recorder, fleet, clusters_of_shard), within=60)


def _no_violations(fleet: faultfleet.Fleet, recorder: faultwatch.StatusRecorder) -> None:
    fleet.wait_converged(within=BOUND)
    assert faultfleet.violations(fleet) == []
    assert recorder.unfinished(faultfleet.history_starts(fleet)) == []


async def test_two_replicas_share_the_shards(replicas: tuple[Replicas, faultfleet.Fleet]) -> None:
    group, _ = replicas

    def two_holders() -> dict[int, str] | None:
        found = group.leases()
        return found if len(set(found.values())) == 2 else None

    holders = await eventually(two_holders)
    assert set(holders) == {0, 1}
    assert {group.holder_of(0), group.holder_of(1)} == set(group.procs)
    # the fleet's clusters are spread over both shards
    assert set(group.shard_of_cluster().values()) == {0, 1}

    # tidegate-cluster-status: each replica publishes the clusters of its shards, merged
    def published() -> dict[str, str] | None:
        with group.ops.mgmt() as client:
            resp = client.get(
                f"/api/v1/namespaces/{group.ops.namespace}/configmaps/"
                f"{constants.CLUSTER_STATUS_CONFIGMAP}"
            )
        data = (resp.json().get("data") or {}) if resp.status_code == 200 else {}
        states = {
            name: json.loads(data[name])["connectionState"]
            for name in group.shard_of_cluster()
            if name in data
        }
        wanted = len(group.shard_of_cluster())
        return states if len(states) == wanted and set(states.values()) == {"Successful"} else None

    await eventually(published, within=60)


async def test_a_killed_replicas_clusters_move_within_seconds(
    replicas: tuple[Replicas, faultfleet.Fleet],
) -> None:
    group, fleet = replicas
    shard = 1
    victim = group.holder_of(shard)
    assert victim is not None
    survivor = next(p for p in group.procs if p is not victim)
    with faultwatch.StatusRecorder(group.ops) as recorder:
        syncing = await _kill_point(group, fleet, recorder, shard)
        assert syncing
        victim.kill(signal.SIGKILL)
        killed_at = time.monotonic()
        await eventually(lambda: group.holder_of(shard) is survivor, within=MOVE_BOUND)
        moved_after = time.monotonic() - killed_at
        _no_violations(fleet, recorder)
    group.procs.remove(victim)
    print(f"shard {shard} moved {moved_after:.1f}s after the SIGKILL")


async def test_a_paused_replica_resumes_without_writing(
    replicas: tuple[Replicas, faultfleet.Fleet],
) -> None:
    """The forced race: both replicas believe they own the shard for a moment; one syncs."""
    group, fleet = replicas
    (steady,) = group.procs
    joined = group.start(2)
    # rebalancing: the newcomer gets one of the two shards the survivor held
    await eventually(
        lambda: {group.holder_of(0), group.holder_of(1)} == {steady, joined}, within=MOVE_BOUND
    )
    shard = next(s for s in (0, 1) if group.holder_of(s) is joined)
    assert joined.pid is not None
    with faultwatch.StatusRecorder(group.ops) as recorder:
        await _kill_point(group, fleet, recorder, shard)
        os.kill(joined.pid, signal.SIGSTOP)
        try:
            await eventually(lambda: group.holder_of(shard) is steady, within=MOVE_BOUND)
        finally:
            os.kill(joined.pid, signal.SIGCONT)
        log = joined.log

        def gave_up() -> bool:
            # it woke up still listing the shard as its own, and stopped on its own deadline
            return f"stops work on shard {shard}: not renewed" in log.read_text(errors="replace")

        await eventually(gave_up, within=30)
        _no_violations(fleet, recorder)
    # back among the live replicas, it gets a fair share again (from a release, not a race)
    await eventually(
        lambda: {group.holder_of(0), group.holder_of(1)} == {steady, joined}, within=MOVE_BOUND
    )
