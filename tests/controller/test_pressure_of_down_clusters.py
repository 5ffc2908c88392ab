"""The operation gate's view of the API servers leaves out a cluster marked down: a hung
server's last answers must not shrink the limit every other cluster's operations share."""

from __future__ import annotations

from tests.controller.test_cluster_release import cluster_secret

from tidegate.controller import engine
from tidegate.kube import config as kube_config
from tidegate.kube import watch as kube_watch

HUNG, WELL = "https://127.0.0.1:9", "https://127.0.0.1:7"  # nothing listens on either


def answers(client: object, seconds: float, count: int) -> None:
    for _ in range(count):
        client.pressure.record(seconds, 200)  # type: ignore[attr-defined]


async def test_a_cluster_marked_down_does_not_weigh_on_the_gate() -> None:
    ctrl = engine.Controller(mgmt=kube_config.ClusterConfig(server="https://127.0.0.1:8"))
    try:
        for name, server in (("hung", HUNG), ("well", WELL)):
            secret = cluster_secret(name, server)
            ctrl._handle(engine.SECRET_KEY, kube_watch.WatchEvent(type="ADDED", object=secret))
        hung = await ctrl.runtime(ctrl.registry.resolve(HUNG, None))
        well = await ctrl.runtime(ctrl.registry.resolve(WELL, None))
        answers(well.client, 0.01, 40)
        answers(hung.client, 0.01, 40)
        answers(hung.client, 5.0, 5)  # answers slowing down as the server hangs
        assert ctrl._api_pressure().trend > 2.0  # a slow server weighs while it answers

        hung.mark_down("cluster hung: no answer to /version within 3s")
        assert ctrl._api_pressure().trend < 2.0

        answers(well.client, 5.0, 5)  # the others still count
        assert ctrl._api_pressure().trend > 2.0
    finally:
        ctrl.scheduler.close()
        await ctrl.runtimes.aclose()
        await ctrl.mgmt.aclose()
