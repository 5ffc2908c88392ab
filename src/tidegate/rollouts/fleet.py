"""The Rollouts controllers on every registered cluster (I/O): one
:class:`~tidegate.rollouts.cluster.ClusterControllers` (Rollouts and their analysis) per cluster,
supervised by the shared :class:`tidegate.kube.fleet.Fleet` (started, restarted after a failure,
stopped when its cluster is gone or its connection settings change, bound again when the
controller's runtime of the cluster is replaced).
"""

from __future__ import annotations

from tidegate.kube import fleet
from tidegate.rollouts import cluster, controller

Binding = fleet.Binding
Bind = fleet.Bind


class Fleet(fleet.Fleet[cluster.ClusterControllers]):
    def __init__(self, *, instance_id: str = "", bind: fleet.Bind = fleet.own_watches) -> None:
        super().__init__(
            "rollouts",
            lambda b: cluster.ClusterControllers(b.client, instance_id=instance_id, feed=b.feed),
            bind=bind,
        )
        self.instance_id = instance_id

    def controllers(self) -> list[controller.Controller]:
        """The Rollout controllers running now (one per cluster)."""
        return [both.rollouts for both in self.runners()]
