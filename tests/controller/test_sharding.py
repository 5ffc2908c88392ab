"""Which shard takes which cluster (sharding.py): Argo CD's three algorithms and its rules."""

from __future__ import annotations

import collections
import dataclasses
import math

import pytest

from tidegate.controller import clusters, sharding
from tidegate.model import errors


def cluster(n: int, *, shard: int | None = None, uid: str | None = None) -> clusters.Cluster:
    return clusters.Cluster(
        name=f"c{n}",
        server=f"https://c{n}.example:6443",
        config=None,
        shard=shard,
        secret_name=f"cluster-c{n}",
        uid=uid if uid is not None else f"uid-{n:04d}",
    )


IN_CLUSTER = clusters.Cluster(
    name="in-cluster", server="https://kubernetes.default.svc", config=None
)


def test_fnv1a_matches_the_published_test_vectors() -> None:
    # FNV-1a 32-bit reference values (as Go's hash/fnv New32a computes them).
    assert sharding.fnv32a(b"") == 0x811C9DC5
    assert sharding.fnv32a(b"a") == 0xE40C292C
    assert sharding.fnv32a(b"foobar") == 0xBF9CF968


def test_legacy_hashes_the_secret_uid_and_puts_in_cluster_on_shard_0() -> None:
    fleet = [IN_CLUSTER, *(cluster(n) for n in range(20))]
    got = sharding.assign(fleet, replicas=3, algorithm=sharding.Algorithm.LEGACY)
    assert got[IN_CLUSTER.server] == 0
    for c in fleet[1:]:
        assert got[c.server] == sharding.fnv32a(c.uid.encode()) % 3
    assert set(got.values()) == {0, 1, 2}


def test_round_robin_deals_clusters_sorted_by_id() -> None:
    fleet = [cluster(n) for n in (5, 3, 9, 1, 7, 2, 8)]
    got = sharding.assign(fleet, replicas=3, algorithm=sharding.Algorithm.ROUND_ROBIN)
    ordered = sorted(fleet, key=lambda c: c.uid)
    assert [got[c.server] for c in ordered] == [i % 3 for i in range(len(ordered))]
    counts = collections.Counter(got.values())
    assert max(counts.values()) - min(counts.values()) <= 1


def test_consistent_hashing_bounds_every_shard_and_moves_few_clusters() -> None:
    fleet = [cluster(n) for n in range(30)]
    before = sharding.assign(fleet, replicas=3, algorithm=sharding.Algorithm.CONSISTENT_HASHING)
    bound = math.ceil(30 * sharding.LOAD_FACTOR / 3)
    assert max(collections.Counter(before.values()).values()) <= bound
    assert set(before.values()) == {0, 1, 2}
    # One more cluster: most of the others stay where they were (round-robin would move many).
    after = sharding.assign(
        [*fleet, cluster(999, uid="uid-0000a")],
        replicas=3,
        algorithm=sharding.Algorithm.CONSISTENT_HASHING,
    )
    moved = sum(1 for c in fleet if before[c.server] != after[c.server])
    robin_before = sharding.assign(fleet, replicas=3, algorithm=sharding.Algorithm.ROUND_ROBIN)
    robin_after = sharding.assign(
        [*fleet, cluster(999, uid="uid-0000a")],
        replicas=3,
        algorithm=sharding.Algorithm.ROUND_ROBIN,
    )
    robin_moved = sum(1 for c in fleet if robin_before[c.server] != robin_after[c.server])
    assert moved < robin_moved


@pytest.mark.parametrize("algorithm", list(sharding.Algorithm))
def test_a_secrets_shard_field_wins_when_below_the_shard_count(
    algorithm: sharding.Algorithm,
) -> None:
    pinned, too_high = cluster(1, shard=2), cluster(2, shard=3)
    fleet = [pinned, too_high, *(cluster(n) for n in range(3, 10))]
    got = sharding.assign(fleet, replicas=3, algorithm=algorithm)
    assert got[pinned.server] == 2
    unpinned = sharding.assign(
        [dataclasses.replace(too_high, shard=None), *fleet[2:], pinned],
        replicas=3,
        algorithm=algorithm,
    )
    # shard 3 does not exist with 3 replicas: the algorithm decides, as without the field
    assert got[too_high.server] == unpinned[too_high.server]


def test_an_unknown_destination_belongs_to_shard_0() -> None:
    got = sharding.assign([cluster(1, shard=1)], replicas=2, algorithm=sharding.Algorithm.LEGACY)
    assert sharding.shard_of("https://c1.example:6443", got) == 1
    assert sharding.shard_of("https://nowhere.example", got) == 0
    assert sharding.shard_of(None, got) == 0


def test_fair_share_rounds_up() -> None:
    assert [sharding.fair_share(4, m) for m in (1, 2, 3, 4, 5)] == [4, 2, 2, 1, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"replicas": 0}, "ARGOCD_CONTROLLER_REPLICAS=0: must be 1 or more"),
        ({"replicas": 2, "shard": 2}, "ARGOCD_CONTROLLER_SHARD=2: must be -1"),
        ({"replicas": 2, "lease_duration": 5, "renew_deadline": 5.0}, "below the lease duration"),
        ({"replicas": 2, "renew_deadline": 1.0, "retry_period": 1.0}, "below the renew deadline"),
    ],
)
def test_bad_settings_are_refused_with_the_cause(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(errors.ConfigError, match=message):
        sharding.ShardingSettings(**kwargs)  # type: ignore[arg-type]


def test_an_unknown_algorithm_names_the_known_ones() -> None:
    with pytest.raises(errors.ConfigError, match="one of: legacy, round-robin, consistent-hashing"):
        sharding.parse_algorithm("random")
    assert sharding.parse_algorithm("") is sharding.Algorithm.LEGACY
