"""Everything that acts on Rollouts inside one cluster (I/O): the Rollout controller and the
analysis controller of its runs, started and stopped together, reading one
:class:`~tidegate.kube.feed.Feed` (the management controller's live cache of the cluster, or
watches of their own when standalone).

The analysis controller here measures only the AnalysisRuns a Rollout created (label
``rollout-type``) for this instance id (the run carries the Rollout's
``controller-instance-id`` label, or none), so standalone analysis controllers and other
instances sharing the cluster never measure the same run twice.
"""

from __future__ import annotations

import asyncio

from tidegate.analysis import controller as analysis_controller
from tidegate.kube import client as kube_client
from tidegate.kube import feed as kube_feed
from tidegate.rollouts import controller, names


def runs_selector(instance_id: str) -> str:
    return f"{names.ROLLOUT_TYPE_LABEL},{controller.instance_selector(instance_id)}"


class ClusterControllers:
    def __init__(
        self,
        client: kube_client.KubeClient,
        *,
        namespace: str | None = None,
        instance_id: str = "",
        feed: kube_feed.Feed | None = None,
    ) -> None:
        feed = feed if feed is not None else kube_feed.DirectFeed(client)
        self.rollouts = controller.Controller(
            client, namespace=namespace, instance_id=instance_id, feed=feed
        )
        self.analysis = analysis_controller.AnalysisController(
            client, namespace=namespace, label_selector=runs_selector(instance_id), feed=feed
        )

    async def run(self) -> None:
        """Run both until cancelled, or until their feed closes (then
        :class:`~tidegate.kube.feed.FeedClosedError` is raised, alone)."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.rollouts.run(), name="rollouts")
                group.create_task(self.analysis.run(), name="analysis")
        except* kube_feed.FeedClosedError as closed:
            raise _first(closed) from None


def _first(group: BaseExceptionGroup[kube_feed.FeedClosedError]) -> kube_feed.FeedClosedError:
    found = group.exceptions[0]
    while isinstance(found, BaseExceptionGroup):
        found = found.exceptions[0]
    return found
