"""Which controller shard handles which destination cluster. Pure: no I/O.

Argo CD's sharding, with its names: ``ARGOCD_CONTROLLER_REPLICAS`` is the number of shards,
``ARGOCD_CONTROLLER_SHARD`` pins a replica to one shard (unset or -1: the replica claims free
shards through Leases, see :mod:`.leases`), ``ARGOCD_CONTROLLER_SHARDING_ALGORITHM`` chooses
how clusters are spread:

- ``legacy`` (the default): the FNV-1a 32-bit hash of the cluster's ID modulo the shard count;
  the ID is the uid of the cluster Secret, and the implicit in-cluster entry (no Secret, ID "")
  is always shard 0. Stable, not balanced.
- ``round-robin``: the clusters sorted by ID, the n-th goes to shard ``n % replicas``. Balanced
  to one cluster, but adding or removing a cluster moves others.
- ``consistent-hashing``: consistent hashing with bounded loads: clusters sorted by ID each walk
  a hash ring from their own position to the first shard holding fewer than 1.25 times the mean
  number of clusters. Balanced, and few clusters move when the fleet changes. Unlike Argo CD,
  the load counts clusters, not apps: every replica must compute the same assignment from what
  it sees, and cluster Secrets change rarely while app counts change all the time (two
  replicas with different counts could both take a cluster).

A cluster Secret's ``shard`` field wins when it is below the shard count (a larger one is
ignored, and the algorithm decides, as in Argo CD). An app whose destination does not resolve
belongs to shard 0, so that exactly one replica reports its error.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence

from tidegate.controller import clusters
from tidegate.model import errors

ENV_REPLICAS = "ARGOCD_CONTROLLER_REPLICAS"
ENV_SHARD = "ARGOCD_CONTROLLER_SHARD"
ENV_ALGORITHM = "ARGOCD_CONTROLLER_SHARDING_ALGORITHM"
LOAD_FACTOR = 1.25  # consistent hashing: a shard takes at most 1.25x the mean load
RING_POINTS = 64  # consistent hashing: virtual points per shard on the ring


class Algorithm(enum.StrEnum):
    LEGACY = "legacy"
    ROUND_ROBIN = "round-robin"
    CONSISTENT_HASHING = "consistent-hashing"


def parse_algorithm(value: str) -> Algorithm:
    """The algorithm named ``value`` ("" is the default, legacy); a precise error otherwise."""
    wanted = value.strip() or Algorithm.LEGACY.value
    try:
        return Algorithm(wanted)
    except ValueError:
        allowed = ", ".join(a.value for a in Algorithm)
        raise errors.ConfigError(
            f"{ENV_ALGORITHM}={value!r}: unknown sharding algorithm (one of: {allowed})"
        ) from None


@dataclasses.dataclass(frozen=True)
class ShardingSettings:
    """How this replica takes part in sharding. Durations in seconds, as client-go's leader
    election has them: a holder renews every ``retry_period``; it stops its work on a shard
    when it has not renewed for ``renew_deadline``; another replica may take the shard when the
    Lease has not changed for ``lease_duration``. ``lease_duration > renew_deadline`` is what
    makes the old holder stop before the new one starts."""

    replicas: int
    shard: int | None = None
    algorithm: Algorithm = Algorithm.LEGACY
    lease_duration: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    identity: str = ""  # this replica's holder identity ("" : hostname, pid and a random part)

    def __post_init__(self) -> None:
        if self.replicas < 1:
            raise errors.ConfigError(f"{ENV_REPLICAS}={self.replicas}: must be 1 or more")
        if self.shard is not None and not 0 <= self.shard < self.replicas:
            raise errors.ConfigError(
                f"{ENV_SHARD}={self.shard}: must be -1 (claim a free shard) or between 0 and "
                f"{self.replicas - 1} ({ENV_REPLICAS}={self.replicas})"
            )
        if self.lease_duration < 1:
            raise errors.ConfigError(
                f"shard lease duration {self.lease_duration}s: must be 1 second or more"
            )
        if not 0 < self.renew_deadline < self.lease_duration:
            raise errors.ConfigError(
                f"shard renew deadline {self.renew_deadline:g}s: must be above 0 and below the "
                f"lease duration ({self.lease_duration}s), so that a replica that cannot renew "
                "stops before another takes its shard"
            )
        if not 0 < self.retry_period < self.renew_deadline:
            raise errors.ConfigError(
                f"shard retry period {self.retry_period:g}s: must be above 0 and below the "
                f"renew deadline ({self.renew_deadline:g}s)"
            )


def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bits (Go's hash/fnv New32a)."""
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def cluster_id(cluster: clusters.Cluster) -> str:
    """Argo CD's cluster ID: the uid of its Secret ("" for the implicit in-cluster entry)."""
    return cluster.uid


def _explicit(cluster: clusters.Cluster, replicas: int) -> int | None:
    if cluster.shard is not None and cluster.shard < replicas:
        return cluster.shard
    return None


def _legacy(cid: str, replicas: int) -> int:
    return fnv32a(cid.encode()) % replicas if cid else 0


def _ring_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _bounded_loads(ordered: Sequence[clusters.Cluster], replicas: int) -> dict[str, int]:
    ring = sorted(
        (_ring_hash(f"shard-{shard}-{point}"), shard)
        for shard in range(replicas)
        for point in range(RING_POINTS)
    )
    positions = [position for position, _ in ring]
    capacity = math.ceil(len(ordered) * LOAD_FACTOR / replicas)
    loads = [0] * replicas
    out: dict[str, int] = {}
    for cluster in ordered:
        start = bisect.bisect_left(positions, _ring_hash(cluster_id(cluster)))
        chosen = min(range(replicas), key=lambda shard: (loads[shard], shard))
        for step in range(len(ring)):
            shard = ring[(start + step) % len(ring)][1]
            if loads[shard] + 1 <= capacity:
                chosen = shard
                break
        loads[chosen] += 1
        out[cluster.server] = chosen
    return out


def assign(
    fleet: Iterable[clusters.Cluster],
    *,
    replicas: int,
    algorithm: Algorithm,
) -> dict[str, int]:
    """The shard of every cluster, by server URL."""
    registered = [c for c in fleet if c.server]
    out: dict[str, int] = {}
    if algorithm is Algorithm.LEGACY:
        for cluster in registered:
            out[cluster.server] = _legacy(cluster_id(cluster), replicas)
    else:
        ordered = sorted(registered, key=lambda c: (cluster_id(c), c.server))
        if algorithm is Algorithm.ROUND_ROBIN:
            out = {c.server: index % replicas for index, c in enumerate(ordered)}
        else:
            out = _bounded_loads(ordered, replicas)
    for cluster in registered:
        explicit = _explicit(cluster, replicas)
        if explicit is not None:
            out[cluster.server] = explicit
    return out


def shard_of(server: str | None, assignment: Mapping[str, int]) -> int:
    """The shard of a destination server; 0 when it is not a registered cluster."""
    if not server:
        return 0
    return assignment.get(server, assignment.get(server.rstrip("/"), 0))


def fair_share(shards: int, members: int) -> int:
    """How many shards one of ``members`` live replicas should hold."""
    return math.ceil(shards / max(1, members))
