"""Bench helper: the Rollouts controllers wired as ``tidegate controller`` wires them.

An application controller (:class:`tidegate.controller.engine.Controller`) runs in this process
on the bed's ``mgmt`` with a control namespace of its own (no Applications), the chosen
clusters registered there by Argo CD cluster Secrets; a rollouts
:class:`~tidegate.rollouts.fleet.Fleet` is bound to the controller's runtimes of those clusters
through :func:`tidegate.daemon.runtime_binding` (their clients and live caches: one watch per
kind per cluster, shared), as the daemon does. Everything it creates is removed on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from tidegate import daemon
from tidegate.controller import engine, settings
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model.keys import ResourceKey
from tidegate.rollouts import fleet
from tidegate.testenv import handle, scenario


async def ready(many: fleet.Fleet, clusters: int, within: float = 120.0) -> None:
    """Until the Fleet runs on ``clusters`` clusters and each one's Rollout and analysis
    controllers have listed what they watch."""
    deadline = time.monotonic() + within
    while True:
        both = many.runners()
        if len(both) == clusters and all(
            b.rollouts.ready.is_set() and b.analysis.ready.is_set() for b in both
        ):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"rollouts controllers not ready on {clusters} clusters")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def bound_fleet(
    bed: handle.TestBed, clusters: Sequence[str], instance_id: str
) -> AsyncIterator[fleet.Fleet]:
    """A Fleet on ``clusters`` reading through a running application controller's runtimes."""
    mgmt_config = kube_config.from_kubeconfig(bed.clusters["mgmt"].kubeconfig)
    control = f"rbctl-{secrets.token_hex(3)}"
    namespace = ResourceKey("", "Namespace", "", control)
    servers = {bed.clusters[name].server for name in clusters}
    async with kube_client.client_for(mgmt_config) as mgmt:
        await mgmt.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": control}})
        try:
            for name in clusters:
                await mgmt.create(scenario.cluster_secret(bed, name, namespace=control))
            with tempfile.TemporaryDirectory(prefix="rbench-cache-") as cache:
                conf = settings.Settings(namespace=control, cache_dir=Path(cache))
                ctrl = engine.Controller(mgmt=mgmt_config, settings=conf)
                running = asyncio.create_task(ctrl.run(), name="application-controller")
                many = fleet.Fleet(instance_id=instance_id, bind=daemon.runtime_binding(ctrl))
                try:
                    await asyncio.wait_for(ctrl.ready.wait(), timeout=120)
                    found = [c for c in daemon.registered_clusters(ctrl) if c[0] in servers]
                    if len(found) != len(servers):
                        raise RuntimeError(f"registered {found}, wanted {sorted(servers)}")
                    await many.sync(found)
                    await ready(many, len(found))
                    yield many
                finally:
                    await many.aclose()
                    running.cancel()
                    await asyncio.gather(running, return_exceptions=True)
        finally:
            await mgmt.delete(namespace)
