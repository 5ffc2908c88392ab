"""The Rollouts and analysis controllers that ``tidegate controller`` runs on a cluster read
through the application controller's runtime of it (issue 14, "the same cluster cache"): its
client and its live cache. Proved on the bed's dev cluster with the real wiring
(``daemon.runtime_binding`` over ``engine.Controller``'s runtimes):

- the runtime's client holds exactly one watch per kind, Rollouts, ReplicaSets, AnalysisRuns
  and Services included, although the cache, the Rollouts controller and the analysis
  controller all consume some of them (without sharing: two or three per kind);
- when the cluster's settings change, the runtime is replaced; the old client's watches all
  close, the controllers bind to the new runtime (again one watch per kind) and carry the
  Rollout on: a new image pauses at the first canary step.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.rollouts.e2e.conftest import instance_id, rollout_manifest

from tidegate import daemon
from tidegate.controller import engine, settings
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import watch as kube_watch
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import fleet as rollouts_fleet
from tidegate.rollouts import install
from tidegate.testenv import handle, scenario, wait

pytestmark = pytest.mark.e2e

SHARED = ("Rollout.argoproj.io", "ReplicaSet.apps", "AnalysisRun.argoproj.io", "Service")
STEPS = [{"setWeight": 50}, {"pause": {}}]


def _secret(bed: handle.TestBed, token: str, name: str, version: str) -> dict[str, Any]:
    """The dev cluster's Secret ``cluster-<token>`` registering it as ``name``, as the API
    server stores it (data, not stringData)."""
    secret = scenario.cluster_secret(bed, "dev", namespace="argocd", name=token)
    data = {**secret.pop("stringData"), "name": name}
    secret["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    secret["metadata"]["resourceVersion"] = version
    return secret


def _one_watch_per_kind(client: kube_client.KubeClient) -> bool:
    watches = dict(client.open_watches)
    return all(watches.get(kind) == 1 for kind in SHARED) and set(watches.values()) == {1}


@pytest.fixture
async def dev(testbed_handle: handle.TestBed) -> AsyncIterator[kube_client.KubeClient]:
    cfg = kube_config.from_kubeconfig(testbed_handle.clusters["dev"].kubeconfig)
    async with kube_client.client_for(cfg) as client:
        await install.ensure_crds(client)
        yield client


async def test_rollouts_share_the_runtime_and_follow_its_replacement(
    testbed_handle: handle.TestBed, dev: kube_client.KubeClient, tmp_path: Any
) -> None:
    bed, token = testbed_handle, secrets.token_hex(3)
    instance, ns = instance_id(), f"ro-{token}"
    server = bed.clusters["dev"].server
    mgmt = kube_config.from_kubeconfig(bed.clusters["mgmt"].kubeconfig)
    ctrl = engine.Controller(mgmt=mgmt, settings=settings.Settings(cache_dir=tmp_path))
    fleet = rollouts_fleet.Fleet(instance_id=instance, bind=daemon.runtime_binding(ctrl))
    await dev.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    try:
        added = _secret(bed, token, token, "1")
        ctrl._handle(engine.SECRET_KEY, kube_watch.WatchEvent("ADDED", added))
        first = await ctrl.runtime(ctrl.registry.resolve(server, None))
        await fleet.sync(daemon.registered_clusters(ctrl)[1:])  # dev only (not in-cluster)
        rollout = rollout_manifest("web", "registry.invalid/web:v1", instance,
                                   {"canary": {"steps": STEPS}}, replicas=2)  # fmt: skip
        rollout["metadata"]["namespace"] = ns
        await dev.create(rollout)
        key = ResourceKey("argoproj.io", "Rollout", ns, "web")

        async def phase_is(*wanted: Any) -> bool:
            status = (await dev.get(key)).get("status") or {}
            return (status.get("phase"), status.get("currentStepIndex"))[: len(wanted)] == wanted

        assert await wait.eventually(lambda: phase_is("Healthy"), within=90)
        assert await wait.eventually(lambda: _one_watch_per_kind(first.client), within=30), dict(
            first.client.open_watches
        )
        assert fleet.members[server].bindings == 1

        # The cluster's settings change (here its name): the engine replaces the runtime.
        renamed = _secret(bed, token, f"{token}b", "2")
        ctrl._handle(engine.SECRET_KEY, kube_watch.WatchEvent("MODIFIED", renamed))
        second = await ctrl.runtime(ctrl.registry.resolve(server, None))
        assert second is not first
        assert await wait.eventually(lambda: fleet.members[server].bindings == 2, within=30)
        assert not first.client.open_watches  # the old runtime's watches are all closed
        assert await wait.eventually(lambda: _one_watch_per_kind(second.client), within=30), dict(
            second.client.open_watches
        )
        assert fleet.controllers()[0].client is second.client

        # The rebound controller carries the Rollout on: v2 pauses at the first step.
        await dev.patch(
            key,
            {"spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "registry.invalid/web:v2"}]}}}},
        )  # fmt: skip
        assert await wait.eventually(lambda: phase_is("Paused", 1), within=90)
    finally:
        await fleet.aclose()
        ctrl.scheduler.close()
        await ctrl.runtimes.aclose()
        await ctrl.mgmt.aclose()
        await dev.delete(ResourceKey("", "Namespace", "", ns))
