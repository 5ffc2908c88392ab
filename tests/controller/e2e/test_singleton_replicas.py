"""Two controller replicas, real processes: the ApplicationSet controller runs in one of them.

Both run ``tidegate controller --replicas=2`` with short Leases in a control namespace of their
own. The ApplicationSet (and notifications) controller of each waits for the Lease
``tidegate-controller-leader-<kind>``: exactly one replica generates the set's Applications,
the other's log says it stands by and it never starts the controller. The leader is SIGKILLed
(no chance to release the Lease): the other takes the Lease over once it has gone unrenewed
for the lease duration, and a new element of the set's list generator is applied by it.
Promotions and Rollouts stay off: they act beyond the control namespace on the shared bed.
"""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidegate.controller import leases
from tidegate.testenv import handle, scenario
from tidegate.testenv.wait import eventually

pytestmark = pytest.mark.e2e

LEASE = 6  # seconds: short, so that the test sees the Lease move (2 busy cores: not shorter)
ARGS = (
    "--replicas=2",
    f"--shard-lease-duration={LEASE}",
    "--shard-renew-deadline=4",
    "--shard-retry-period=1",
    "--no-promotions",
    "--metrics-port=-1",
)
MOVE_BOUND = LEASE * 4  # a dead leader's Lease moves within this (normally ~LEASE + 1 s)
APPSET_LEASE = f"{leases.PREFIX}-leader-applicationset"
STARTS = "leads the applicationset controller"
STANDBY = "applicationset controller on standby"
ROLLOUTS_RUN = "rollouts: reconciling on cluster"


class Bed:
    def __init__(self, bed: handle.TestBed, namespace: str, workdir: Path) -> None:
        self.bed = bed
        self.namespace = namespace
        self.workdir = workdir
        self.procs: list[scenario.ControllerProcess] = []
        self.set_name = f"ls{secrets.token_hex(3)}"

    def client(self) -> httpx.Client:
        return self.bed.admin_client("mgmt")

    def start(self, index: int) -> scenario.ControllerProcess:
        proc = scenario.ControllerProcess(
            self.bed, self.namespace, log=self.workdir / f"replica-{index}.log", extra=ARGS
        ).start()
        self.procs.append(proc)
        return proc

    def log(self, proc: scenario.ControllerProcess) -> str:
        return proc.log.read_text(errors="replace") if proc.log.exists() else ""

    def holder(self, lease: str = APPSET_LEASE) -> str:
        with self.client() as client:
            resp = client.get(
                f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{lease}"
            )
            if resp.status_code == 404:
                return ""
            resp.raise_for_status()
            return str(resp.json()["spec"].get("holderIdentity") or "")

    def leader(self) -> scenario.ControllerProcess | None:
        holder = self.holder()
        return next((p for p in self.procs if p.pid and f"-{p.pid}-" in holder), None)

    def app_names(self) -> set[str]:
        with self.client() as client:
            resp = client.get(
                f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applications"
            )
            resp.raise_for_status()
            return {str(item["metadata"]["name"]) for item in resp.json()["items"]}

    def appsets_path(self, name: str = "") -> str:
        base = f"/apis/argoproj.io/v1alpha1/namespaces/{self.namespace}/applicationsets"
        return f"{base}/{name}" if name else base

    def appset(self, repo_url: str, elements: list[str]) -> dict[str, Any]:
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": self.set_name, "namespace": self.namespace},
            "spec": {
                "generators": [{"list": {"elements": [{"name": e} for e in elements]}}],
                "template": {
                    "metadata": {"name": f"{self.set_name}-{{{{name}}}}"},
                    "spec": {
                        "project": "default",
                        "source": {"repoURL": repo_url, "targetRevision": "HEAD", "path": "app"},
                        "destination": {
                            "server": self.bed.clusters["dev"].server,
                            "namespace": f"{self.set_name}-{{{{name}}}}",
                        },
                    },
                },
            },
        }

    def wanted(self, *elements: str) -> set[str]:
        return {f"{self.set_name}-{e}" for e in elements}


@pytest.fixture(scope="module")
def replicas(
    testbed_handle: handle.TestBed, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bed]:
    namespace = f"tg-{secrets.token_hex(3)}"
    group = Bed(testbed_handle, namespace, tmp_path_factory.mktemp("singletons"))
    scenario.control_namespace(testbed_handle, namespace)
    try:
        for index in (0, 1):
            group.start(index).wait_log("controller ready", timeout=120)
        yield group
    finally:
        for proc in group.procs:
            if proc.pid is not None:
                os.kill(proc.pid, signal.SIGCONT)
            proc.stop()
        with testbed_handle.admin_client("mgmt") as client:
            client.delete(f"/api/v1/namespaces/{namespace}")


async def test_one_replica_generates_the_sets_apps_and_the_other_takes_over(
    replicas: Bed, tmp_path: Path
) -> None:
    bed = replicas
    assert bed.bed.git is not None
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    repo = bed.bed.git.create_repo(from_dir=src, prefix="singleton")

    # 1. one replica holds the Lease and runs the controller; the other stands by
    leader = await eventually(bed.leader, within=MOVE_BOUND, every=0.2)
    standby = next(p for p in bed.procs if p is not leader)
    with bed.client() as client:
        resp = client.post(bed.appsets_path(), json=bed.appset(repo.http_url, ["a", "b"]))
        assert resp.status_code == 201, resp.text
    await eventually(lambda: bed.app_names() == bed.wanted("a", "b"), within=60, every=0.2)
    assert STARTS in bed.log(leader)
    assert STANDBY in bed.log(standby) and STARTS not in bed.log(standby)
    # so are the notifications: each kind has its own Lease, one holder
    holder = bed.holder(f"{leases.PREFIX}-leader-notifications")
    assert holder and sum(f"-{p.pid}-" in holder for p in bed.procs) == 1
    # the Rollouts and Sealed Secrets controllers of the clusters: in one replica only
    holder = await eventually(
        lambda: bed.holder(f"{leases.PREFIX}-leader-cluster-controllers"), within=MOVE_BOUND
    )
    runs = [p for p in bed.procs if f"-{p.pid}-" in holder]
    assert len(runs) == 1
    await eventually(lambda: ROLLOUTS_RUN in bed.log(runs[0]), within=60)
    assert all(ROLLOUTS_RUN not in bed.log(p) for p in bed.procs if p is not runs[0])
    # no member Lease of their own: only the shard Leases' replicas are members
    with bed.client() as client:
        resp = client.get(
            f"/apis/coordination.k8s.io/v1/namespaces/{bed.namespace}/leases",
            params={"labelSelector": f"{leases.LABEL_ROLE}=replica"},
        )
        resp.raise_for_status()
        assert len(resp.json()["items"]) == 2

    # 2. the leader dies without releasing the Lease: the standby takes over
    leader.kill(signal.SIGKILL)
    new_leader = await eventually(
        lambda: bed.leader() is standby and STARTS in bed.log(standby), within=MOVE_BOUND
    )
    assert new_leader
    # 3. a new element of the list generator is applied by the new leader
    with bed.client() as client:
        resp = client.patch(
            bed.appsets_path(bed.set_name),
            json={
                "spec": {
                    "generators": [
                        {"list": {"elements": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}}
                    ]
                }
            },
            headers={"Content-Type": "application/merge-patch+json"},
        )
        resp.raise_for_status()
    await eventually(lambda: bed.app_names() == bed.wanted("a", "b", "c"), within=60, every=0.2)
    assert standby.alive()
