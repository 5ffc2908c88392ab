"""Shard ownership through ``coordination.k8s.io/v1`` Leases in the control namespace.

Every replica keeps a *member* Lease (``<prefix>-replica-<identity>``) renewed every retry
period: the live members are those whose Lease changed within its duration. There is one
*shard* Lease per shard (``<prefix>-shard-<n>``); its ``holderIdentity`` owns the shard. Each
round (:meth:`ShardLeases.step`) a replica

1. renews its member Lease and lists the Leases of the installation;
2. renews the shard Leases it holds (a compare-and-swap on ``resourceVersion``);
3. releases the shards above its fair share (``ceil(shards / live members)``), so that a
   replica that joins gets work, stopping its own work on them first;
4. claims free shards up to its fair share: a Lease with no holder, or one nobody renewed for
   its ``leaseDurationSeconds``, so that the shards of a replica that died move.

Safety (two replicas never both act on a shard): a holder's ownership of a shard is valid until
``renew_deadline`` after the *start* of its last successful renewal, on its own monotonic
clock, which keeps running while the process is paused. Another replica takes a shard only
after it has seen the Lease unchanged for ``lease_duration`` (> ``renew_deadline``) on *its*
monotonic clock, and only with a compare-and-swap against the version it saw, which fails if
the holder renewed meanwhile. Clocks of different machines are never compared. Every write of
a shard's work is fenced (:mod:`tidegate.kube.fence`): it is not sent once :meth:`owns` is
False, however long the replica was paused, and :attr:`on_lost` cancels the work.

The API server is reached through :class:`LeaseStore` (real: :class:`KubeLeaseStore`). The
leader Leases of the fleet-wide controllers (:mod:`.leader`) are held by this same class: one
pinned shard, role ``leader``, no member Lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import Any, Protocol

from tidegate import kube
from tidegate.controller import sharding
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

log = logging.getLogger("tidegate.controller")

PREFIX = "tidegate-controller"
LABEL_ROLE = "tidegate.io/lease-role"  # "shard" or "replica"
LABEL_SHARD = "tidegate.io/shard"
LEASE = ("coordination.k8s.io", "Lease")


class LeaseStore(Protocol):
    """The Lease objects of the control namespace."""

    async def list(self) -> list[dict[str, Any]]:
        """Every Lease labelled with :data:`LABEL_ROLE`."""

    async def create(self, lease: dict[str, Any]) -> dict[str, Any]:
        """Raises KubeConflictError when it exists."""

    async def replace(self, lease: dict[str, Any]) -> dict[str, Any]:
        """Compare-and-swap on ``metadata.resourceVersion``: KubeConflictError when stale."""

    async def delete(self, name: str) -> None: ...

    async def aclose(self) -> None: ...


class KubeLeaseStore:
    """:class:`LeaseStore` on the management cluster's API server, through a client of its
    own: the controller's client queues its requests behind a rate limit that a busy fleet
    fills, and a renewal waiting there would make the replica lose its shards."""

    def __init__(self, mgmt: kube_config.ClusterConfig, namespace: str) -> None:
        self._client = kube.client_for(mgmt)
        self._namespace = namespace

    async def aclose(self) -> None:
        await self._client.aclose()

    async def list(self) -> list[dict[str, Any]]:
        res = await self._client.resource(*LEASE)
        found = await self._client.list(res, namespace=self._namespace, label_selector=LABEL_ROLE)
        return list(found.items)

    async def create(self, lease: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = await self._client.create(lease)
        return created

    async def replace(self, lease: dict[str, Any]) -> dict[str, Any]:
        replaced: dict[str, Any] = await self._client.replace(lease)
        return replaced

    async def delete(self, name: str) -> None:
        await self._client.delete(ResourceKey(LEASE[0], LEASE[1], self._namespace, name))


def default_identity() -> str:
    """Hostname (the pod name in Kubernetes), pid and a random part: unique per process."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _micro_time() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclasses.dataclass
class _Held:
    valid_until: float  # monotonic: ownership ends here unless renewed
    lease: dict[str, Any]


@dataclasses.dataclass
class _Seen:
    version: str
    since: float  # monotonic time this replica first saw this version


class ShardLeases:
    """This replica's shard Leases: claims, renews, releases; answers :meth:`owns`."""

    role = "shard"  # the LABEL_ROLE of the Leases it claims
    member_lease = True  # keep a member Lease, count the live members, forget dead ones

    def __init__(
        self,
        *,
        store: LeaseStore,
        namespace: str,
        settings: sharding.ShardingSettings,
        on_acquired: Callable[[int], None] = lambda _shard: None,
        on_lost: Callable[[int], None] = lambda _shard: None,
        clock: Callable[[], float] = time.monotonic,
        prefix: str = PREFIX,
    ) -> None:
        self.store = store
        self.namespace = namespace
        self.settings = settings
        self.identity = settings.identity or default_identity()
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self.clock = clock
        self.prefix = prefix
        self.members = 1  # live replicas seen in the last round, this one included
        self._held: dict[int, _Held] = {}
        self._seen: dict[str, _Seen] = {}
        self._member: dict[str, Any] | None = None

    # -- ownership ----------------------------------------------------------------------------

    def owns(self, shard: int) -> bool:
        held = self._held.get(shard)
        return held is not None and self.clock() < held.valid_until

    def held(self) -> frozenset[int]:
        """The shards this replica owns now."""
        return frozenset(s for s in self._held if self.owns(s))

    def require(self, shard: int, what: str) -> None:
        """The write fence of shard ``shard``: raises FenceError once it is not owned."""
        if not self.owns(shard):
            raise errors.FenceError(
                f"{what}: not sent: controller replica {self.identity} does not hold shard "
                f"{shard} (Lease {self.namespace}/{self.shard_lease_name(shard)})"
            )

    def shard_lease_name(self, shard: int) -> str:
        return f"{self.prefix}-shard-{shard}"

    def _lose(self, shard: int, why: str) -> None:
        if self._held.pop(shard, None) is None:
            return
        log.warning("controller replica %s stops work on shard %d: %s", self.identity, shard, why)
        self.on_lost(shard)

    # -- one round ----------------------------------------------------------------------------

    async def step(self) -> None:
        for shard, held in list(self._held.items()):
            if self.clock() >= held.valid_until:
                self._lose(shard, f"not renewed within {self.settings.renew_deadline:g}s")
        # Renewals first, together: their spacing is what keeps the shards, and a slow API
        # server must not push them behind the member renewal and the list.
        await asyncio.gather(*(self._renew(s) for s in sorted(self._held)), self._renew_member())
        try:
            listed = await self.store.list()
        except errors.KubeError as exc:  # claim nothing this round
            log.warning("listing the Leases of %s failed: %s", self.namespace, exc)
            return
        leases = {str(lease["metadata"]["name"]): lease for lease in listed}
        now = self.clock()
        for name, lease in leases.items():
            version = str(lease["metadata"].get("resourceVersion") or "")
            seen = self._seen.get(name)
            if seen is None or seen.version != version:
                self._seen[name] = _Seen(version, now)
        for gone in set(self._seen) - set(leases):
            del self._seen[gone]
        self.members = 1 + sum(
            1
            for name, lease in leases.items()
            if _role(lease) == "replica"
            and _holder(lease) != self.identity
            and not self._expired(name, lease)
        )
        target = self._target()
        for shard in sorted(self._held, reverse=True):
            if len(self._held) <= target:
                break
            if shard != self.settings.shard:
                await self.release(shard, why="rebalancing: above this replica's fair share")
        for shard in self._candidates():
            if len(self._held) >= target:
                break
            if shard not in self._held:
                await self._claim(shard, leases.get(self.shard_lease_name(shard)))
        await self._forget_dead_members(leases)

    def _target(self) -> int:
        """How many shards to hold: the pinned one, or a fair share of the live replicas'."""
        if self.settings.shard is not None:
            return 1
        return sharding.fair_share(self.settings.replicas, self.members)

    def _candidates(self) -> list[int]:
        if self.settings.shard is not None:
            return [self.settings.shard]
        return list(range(self.settings.replicas))

    def _expired(self, name: str, lease: dict[str, Any]) -> bool:
        seen = self._seen.get(name)
        duration = float((lease.get("spec") or {}).get("leaseDurationSeconds") or 0)
        return seen is not None and self.clock() - seen.since >= duration

    # -- writes -------------------------------------------------------------------------------

    def _lease(self, name: str, role: str, shard: int | None, acquire: str) -> dict[str, Any]:
        labels = {LABEL_ROLE: role, "app.kubernetes.io/part-of": "tidegate"}
        if shard is not None and role == "shard":
            labels[LABEL_SHARD] = str(shard)
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": self.namespace, "labels": labels},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.settings.lease_duration,
                "acquireTime": acquire,
                "renewTime": _micro_time(),
            },
        }

    async def _renew_member(self) -> None:
        if not self.member_lease:
            return
        name = f"{self.prefix}-replica-{self.identity}"
        try:
            if self._member is None:
                lease = self._lease(name, "replica", None, _micro_time())
                self._member = await self.store.create(lease)
            else:
                lease = _renewed(self._member)
                self._member = await self.store.replace(lease)
        except errors.KubeError as exc:
            self._member = None  # create again, or replace what is there next round
            log.warning("member Lease %s/%s: %s", self.namespace, name, exc)

    async def _renew(self, shard: int) -> None:
        held = self._held[shard]
        started = self.clock()
        try:
            held.lease = await self.store.replace(_renewed(held.lease))
        except errors.KubeError as exc:
            log.warning("renewing Lease %s failed: %s", self.shard_lease_name(shard), exc)
            if isinstance(exc, errors.KubeConflictError):  # someone else wrote it: not ours
                self._lose(shard, f"Lease {self.shard_lease_name(shard)} was changed by another")
            elif self.clock() >= held.valid_until:
                self._lose(shard, f"not renewed within {self.settings.renew_deadline:g}s")
            return
        held.valid_until = started + self.settings.renew_deadline

    async def _claim(self, shard: int, current: dict[str, Any] | None) -> None:
        name = self.shard_lease_name(shard)
        holder = _holder(current) if current is not None else ""
        if (
            current is not None
            and holder not in ("", self.identity)
            and not self._expired(name, current)
        ):
            return  # held by a live replica
        started = self.clock()
        try:
            if current is None:
                lease = await self.store.create(self._lease(name, self.role, shard, _micro_time()))
            else:
                wanted = self._lease(name, self.role, shard, _micro_time())
                wanted["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                transitions = int((current.get("spec") or {}).get("leaseTransitions") or 0)
                wanted["spec"]["leaseTransitions"] = transitions + (1 if _holder(current) else 0)
                lease = await self.store.replace(wanted)
        except errors.KubeError as exc:  # another replica was faster, or the server failed
            log.info("claiming shard %d (Lease %s) failed: %s", shard, name, exc)
            return
        self._held[shard] = _Held(started + self.settings.renew_deadline, lease)
        previous = _holder(current) if current is not None else ""
        log.info(
            "controller replica %s holds shard %d%s",
            self.identity,
            shard,
            f" (taken over from {previous})" if previous else "",
        )
        self.on_acquired(shard)

    async def release(self, shard: int, *, why: str) -> None:
        """Stop work on ``shard`` now, then clear the Lease's holder so that another replica
        takes it at once instead of after the lease duration."""
        held = self._held.get(shard)
        if held is None:
            return
        self._lose(shard, why)
        cleared = _renewed(held.lease)
        cleared["spec"]["holderIdentity"] = ""
        try:
            await self.store.replace(cleared)
        except errors.KubeError as exc:  # it expires on its own
            log.info("releasing Lease %s: %s", self.shard_lease_name(shard), exc)

    async def release_all(self) -> None:
        """On shutdown: release every shard and remove the member Lease."""
        for shard in sorted(self._held):
            await self.release(shard, why="shutting down")
        if self._member is not None:
            try:
                await self.store.delete(str(self._member["metadata"]["name"]))
            except errors.KubeError as exc:
                log.info("removing member Lease: %s", exc)
            self._member = None

    async def _forget_dead_members(self, leases: dict[str, dict[str, Any]]) -> None:
        """Member Leases of replicas gone for three lease durations are deleted."""
        if not self.member_lease:
            return
        for name, lease in leases.items():
            seen = self._seen.get(name)
            duration = float((lease.get("spec") or {}).get("leaseDurationSeconds") or 0)
            if (
                _role(lease) == "replica"
                and seen is not None
                and self.clock() - seen.since >= 3 * duration
            ):
                with contextlib.suppress(errors.KubeError):  # another replica deleted it first
                    await self.store.delete(name)

    async def run(self) -> None:
        """Rounds every retry period, until cancelled."""
        while True:
            started = self.clock()
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next round tries again; held shards expire on their own
                log.exception("shard Leases: round failed")
            # a round every retry period, however long this one took
            await asyncio.sleep(max(0.0, self.settings.retry_period - (self.clock() - started)))


def _renewed(lease: dict[str, Any]) -> dict[str, Any]:
    out = {**lease, "metadata": dict(lease["metadata"]), "spec": dict(lease.get("spec") or {})}
    out["spec"]["renewTime"] = _micro_time()
    return out


def _holder(lease: dict[str, Any]) -> str:
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def _role(lease: dict[str, Any]) -> str:
    return str(((lease.get("metadata") or {}).get("labels") or {}).get(LABEL_ROLE) or "")
