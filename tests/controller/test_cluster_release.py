"""A cluster removed from the registry releases its watches and credentials.

The controller keeps one runtime (client and live cache) per destination cluster. Removing the
cluster's Secret used to leave that runtime running: its watches kept retrying with the old
credentials. Now the runtime is closed: the cache's watch tasks stop and the client's
connection pools close. The cluster is unreachable here (nothing listens on its port), which
changes nothing: the release does not depend on the cluster.
"""

from __future__ import annotations

import asyncio

from tidegate.controller import clusters, engine
from tidegate.kube import config as kube_config
from tidegate.kube import watch as kube_watch

SERVER = "https://127.0.0.1:9"  # nothing listens there


def cluster_secret(name: str, server: str) -> dict[str, object]:
    secret = clusters.cluster_secret(
        name=name,
        server=server,
        config=kube_config.ClusterConfig(server=server, bearer_token="t0ken"),
        namespace="argocd",
    )
    secret["metadata"]["resourceVersion"] = "1"  # type: ignore[index]
    return secret


async def test_removing_a_cluster_secret_closes_its_runtime() -> None:
    ctrl = engine.Controller(mgmt=kube_config.ClusterConfig(server="https://127.0.0.1:8"))
    try:
        gone, kept = cluster_secret("gone", SERVER), cluster_secret("kept", "https://127.0.0.1:7")
        for secret in (gone, kept):
            ctrl._handle(engine.SECRET_KEY, kube_watch.WatchEvent(type="ADDED", object=secret))
        rt_gone = await ctrl.runtime(ctrl.registry.resolve(SERVER, None))
        rt_kept = await ctrl.runtime(ctrl.registry.resolve("https://127.0.0.1:7", None))
        supervisor = rt_gone.cache._supervisor
        assert supervisor is not None and not supervisor.done()

        ctrl._handle(engine.SECRET_KEY, kube_watch.WatchEvent(type="DELETED", object=gone))
        await asyncio.wait_for(asyncio.gather(*ctrl._releases), 10)

        assert ctrl.runtimes.get(SERVER) is None
        assert supervisor.done()  # its watches stopped
        assert rt_gone.client._http.is_closed and rt_gone.client._watch_http.is_closed
        assert ctrl.runtimes.get("https://127.0.0.1:7") is rt_kept  # the other one stays
        assert not rt_kept.client._http.is_closed
    finally:
        ctrl.scheduler.close()
        await ctrl.runtimes.aclose()
        await ctrl.mgmt.aclose()
