"""Where a workload controller gets the objects it watches: a :class:`Feed` (I/O).

A feed hands out, per subscription to one kind (optionally one namespace and a label
selector), the events of :func:`tidegate.kube.watch.reflect`: first a ``RELISTED`` with the
complete current set, then ``ADDED``/``MODIFIED``/``DELETED`` (and ``ERROR`` while the cluster
does not answer, further ``RELISTED`` after an expiry). A kind the cluster does not serve (its
CRD is not installed) is reported as a ``RELISTED`` with no items and reason ``"absent"``; its
objects follow once it is served.

Two implementations:

- :class:`tidegate.live.cache.ClusterCache` (the controller's per-cluster live cache): every
  subscriber of a kind shares the cache's one watch of it. Its subscriptions end when the cache
  stops (the cluster's settings changed and its runtime was replaced): the consumer then binds
  to the new runtime.
- :class:`DirectFeed`: one list+watch per subscription, with the selector sent to the server,
  for a controller running standalone (``tidegate rollouts-controller``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from tidegate.kube import client as kube_client
from tidegate.kube import watch
from tidegate.model import errors

log = logging.getLogger(__name__)

ABSENT = "absent"


class Feed(Protocol):
    def subscribe(
        self,
        group: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> AsyncIterator[watch.WatchEvent]:
        """The events of one kind; ends only when the feed itself is closed."""
        ...


class FeedClosedError(errors.TemporaryError):
    """A consumer's feed ended (its cluster runtime was replaced or stopped): bind again."""


class DirectFeed:
    """A feed that opens its own list+watch per subscription (standalone controllers)."""

    def __init__(self, client: kube_client.KubeClient) -> None:
        self.client = client

    async def subscribe(
        self,
        group: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
    ) -> AsyncIterator[watch.WatchEvent]:
        backoff = watch.Backoff()
        told_absent = False
        while True:
            try:
                res = await self.client.resource(group, kind)
                break
            except errors.KubeError as exc:
                if not told_absent:
                    told_absent = True
                    yield watch.WatchEvent("RELISTED", reason=ABSENT)
                log.info("waiting for %s/%s on cluster %s: %s", group, kind, self.client.name, exc)
                await asyncio.sleep(backoff.next())
                self.client.discovery.invalidate()
        async for event in watch.reflect(
            self.client, res, namespace=namespace, label_selector=label_selector
        ):
            yield event
