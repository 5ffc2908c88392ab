"""Leader election for the fleet-wide controllers that run once per installation.

The ApplicationSet, promotion and notifications controllers that ``tidegate controller`` runs
beside the application controller act on the whole installation, not on one cluster: with
several replicas each of them runs in exactly one replica at a time, the holder of a Lease
``<prefix>-leader-<kind>`` (label ``tidegate.io/lease-role=leader``) in the control namespace.

The Lease is held with :class:`~tidegate.controller.leases.ShardLeases` itself, pinned to one
"shard" and without member Leases, so it has the same safety argument (see that module): the
holder's claim is valid until ``renew_deadline`` after the start of its last successful
renewal on its own monotonic clock; another replica takes the Lease only after seeing it
unchanged for ``lease_duration`` (> ``renew_deadline``) on its own clock, with a
compare-and-swap. When the holder stops owning the Lease, :class:`Singleton` cancels the
controller's task; every write the task (and any task it started) sends to an API server
passes the write fence (:mod:`tidegate.kube.fence`), refused once the Lease is not owned, so a
replica paused past its deadline writes nothing when it wakes up. The next holder starts a
fresh controller, which lists everything again.

Why not shard these controllers per cluster like the applications: an ApplicationSet
generates Applications for many clusters at once (the cluster generator, conflicts between
sets are judged over all of them), a promotion pipeline spans stages on several clusters, and
notifications follow apps whose subscriptions live in AppProjects. None of them maps onto one
cluster shard; one elected replica is simple and has the shards' safety.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from tidegate.controller import leases, sharding
from tidegate.kube import fence
from tidegate.model import errors

log = logging.getLogger("tidegate.controller")

Work = Callable[[], Coroutine[Any, Any, None]]
"""Starts one term of the controller's work: a fresh coroutine each time the Lease is won."""


class LeaderLease(leases.ShardLeases):
    """The one Lease ``<prefix>-leader-<kind>``: claimed when free, renewed while held."""

    role = "leader"
    member_lease = False  # the application controller's shard Leases keep the member Leases

    def __init__(
        self,
        kind: str,
        *,
        store: leases.LeaseStore,
        namespace: str,
        settings: sharding.ShardingSettings,
        on_acquired: Callable[[int], None] = lambda _shard: None,
        on_lost: Callable[[int], None] = lambda _shard: None,
        clock: Callable[[], float] = time.monotonic,
        prefix: str = leases.PREFIX,
    ) -> None:
        super().__init__(
            store=store,
            namespace=namespace,
            settings=dataclasses.replace(settings, replicas=1, shard=0),
            on_acquired=on_acquired,
            on_lost=on_lost,
            clock=clock,
            prefix=prefix,
        )
        self.kind = kind

    def shard_lease_name(self, shard: int) -> str:
        return self.lease_name

    @property
    def lease_name(self) -> str:
        return f"{self.prefix}-leader-{self.kind}"

    def leads(self) -> bool:
        return self.owns(0)


class Singleton:
    """Runs ``work`` while this replica holds the leader Lease of ``kind``; see above."""

    def __init__(
        self,
        kind: str,
        work: Work,
        *,
        store: leases.LeaseStore,
        namespace: str,
        settings: sharding.ShardingSettings,
        clock: Callable[[], float] = time.monotonic,
        prefix: str = leases.PREFIX,
    ) -> None:
        self.kind = kind
        self._work = work
        self.lease = LeaderLease(
            kind,
            store=store,
            namespace=namespace,
            settings=settings,
            on_acquired=self._start,
            on_lost=self._stop,
            clock=clock,
            prefix=prefix,
        )
        self._task: asyncio.Task[None] | None = None
        self._failed: asyncio.Future[None] | None = None
        self.terms = 0  # how many times the work was started here

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def fence(self, what: str) -> None:
        """The write fence of the controller's work: raises FenceError unless leading."""
        if not self.lease.leads():
            raise errors.FenceError(
                f"{what}: not sent: controller replica {self.lease.identity} does not lead "
                f"the {self.kind} controller (Lease {self.lease.namespace}/"
                f"{self.lease.lease_name})"
            )

    def _start(self, _shard: int) -> None:
        log.info(
            "controller replica %s leads the %s controller (Lease %s): starting it",
            self.lease.identity,
            self.kind,
            self.lease.lease_name,
        )
        self.terms += 1
        self._task = asyncio.create_task(self._term(), name=f"{self.kind}-controller")
        self._task.add_done_callback(self._ended)

    async def _term(self) -> None:
        fence.set_for_task(self.fence)  # this task and every task it starts
        await self._work()

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._failed is None or self._failed.done():
            return
        exc = task.exception()
        if exc is not None:
            self._failed.set_exception(exc)
        elif self.lease.leads():
            self._failed.set_exception(
                errors.TidegateError(f"the {self.kind} controller stopped on its own")
            )

    def _stop(self, _shard: int) -> None:
        if self._task is not None:
            log.warning(
                "controller replica %s no longer leads the %s controller: stopping it",
                self.lease.identity,
                self.kind,
            )
            self._task.cancel()

    async def run(self) -> None:
        """Elect, run the work while leading, until cancelled (then release the Lease). Raises
        what the work raised (as the controller would, run without election)."""
        self._failed = asyncio.get_running_loop().create_future()
        log.info(
            "controller replica %s: %s controller on standby until it holds Lease %s/%s",
            self.lease.identity,
            self.kind,
            self.lease.namespace,
            self.lease.lease_name,
        )
        elect = asyncio.create_task(self.lease.run(), name=f"{self.kind}-leader-lease")
        try:
            await asyncio.wait([elect, self._failed], return_when=asyncio.FIRST_COMPLETED)
            if self._failed.done():
                self._failed.result()
            elect.result()
        finally:
            elect.cancel()
            await asyncio.gather(elect, return_exceptions=True)
            if self._task is not None:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            if not self._failed.done():
                self._failed.cancel()
            await self.lease.release_all()
