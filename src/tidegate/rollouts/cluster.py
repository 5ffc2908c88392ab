"""Everything that acts on Rollouts inside one cluster (I/O): the Rollout controller and the
analysis controller of its runs, started and stopped together.

The analysis controller here measures only the AnalysisRuns a Rollout created (label
``rollout-type``) for this instance id (the run carries the Rollout's
``controller-instance-id`` label, or none), so standalone analysis controllers and other
instances sharing the cluster never measure the same run twice.
"""

from __future__ import annotations

import asyncio

from tidegate.analysis import controller as analysis_controller
from tidegate.kube import client as kube_client
from tidegate.rollouts import controller, names


def runs_selector(instance_id: str) -> str:
    return f"{names.ROLLOUT_TYPE_LABEL},{controller.instance_selector(instance_id)}"


class ClusterControllers:
    def __init__(
        self, client: kube_client.KubeClient, *, namespace: str | None = None, instance_id: str = ""
    ) -> None:
        self.rollouts = controller.Controller(client, namespace=namespace, instance_id=instance_id)
        self.analysis = analysis_controller.AnalysisController(
            client, namespace=namespace, label_selector=runs_selector(instance_id)
        )

    async def run(self) -> None:
        """Run both until cancelled (or one fails)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.rollouts.run(), name="rollouts")
            group.create_task(self.analysis.run(), name="analysis")
