"""The Rollouts controllers on every registered cluster (I/O): one
:class:`~tidegate.rollouts.cluster.ClusterControllers` (Rollouts and their analysis) per cluster,
supervised by the shared :class:`tidegate.kube.fleet.Fleet` (started, restarted after a failure,
stopped when its cluster is gone or its connection settings change).
"""

from __future__ import annotations

from collections.abc import Callable

from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.kube import fleet
from tidegate.rollouts import cluster, controller


class Fleet(fleet.Fleet[cluster.ClusterControllers]):
    def __init__(
        self,
        *,
        instance_id: str = "",
        client_for: Callable[[kube_config.ClusterConfig], kube_client.KubeClient] = (
            kube_client.client_for
        ),
    ) -> None:
        super().__init__(
            "rollouts",
            lambda client: cluster.ClusterControllers(client, instance_id=instance_id),
            client_for=client_for,
        )
        self.instance_id = instance_id

    def controllers(self) -> list[controller.Controller]:
        """The Rollout controllers running now (one per cluster)."""
        return [both.rollouts for both in self.runners()]
