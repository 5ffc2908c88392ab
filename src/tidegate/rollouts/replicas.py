"""Replica arithmetic of a canary (pure): weight -> counts, and one bounded scaling move.

Without a traffic router the traffic split is the replica split, so the canary count is the
replica count whose share is closest to the weight (Argo Rollouts' rule: floor and ceiling on
``replicas`` and, when surge is allowed, ``replicas + 1``; a tie picks the larger canary; for a
weight strictly between 0 and 100 with more than one replica neither side drops to zero).
"""

from __future__ import annotations

import dataclasses
import math


def weighted_counts(replicas: int, weight: int, *, surge: bool) -> tuple[int, int]:
    """(canary, stable) for ``weight`` percent of traffic by replica ratio."""
    if weight <= 0:
        return 0, replicas
    if weight >= 100:
        return replicas, 0
    options: list[tuple[int, int]] = []
    for total in (replicas, replicas + 1) if surge else (replicas,):
        exact = total * weight / 100
        for canary in sorted({math.floor(exact), math.ceil(exact)}):
            stable = total - canary
            if total == replicas + 1 and stable > replicas:
                continue
            options.append((canary, stable))

    def score(option: tuple[int, int]) -> tuple[float, int]:
        canary, stable = option
        total = canary + stable
        actual = canary * 100 / total if total else 0.0
        return round(abs(actual - weight), 9), -canary  # rounded: a tie is a tie

    canary, stable = min(options, key=score)
    if replicas > 1:
        if canary == 0:
            canary, stable = 1, replicas - 1
        elif stable == 0:
            canary, stable = replicas - 1, 1
    return canary, stable


def scaled_to(replicas: int, weight: int) -> int:
    """Replicas of a ReplicaSet scaled to ``weight`` percent (rounded up, as Argo does)."""
    return min(replicas, math.ceil(replicas * weight / 100)) if weight > 0 else 0


@dataclasses.dataclass(frozen=True)
class Side:
    """One ReplicaSet's part in a move: its current and available replicas and its target."""

    current: int
    available: int
    target: int


def move(
    grow: Side, shrink: Side, others: int, *, replicas: int, surge: int, unavailable: int
) -> tuple[int, int]:
    """The next (grow, shrink) counts towards their targets without going over
    ``replicas + surge`` pods in total or under ``replicas - unavailable`` available ones.

    ``grow`` is the side whose target is at or above its count (it scales up within the surge),
    ``shrink`` the other (it scales down within the availability budget; unready pods go first,
    since removing them costs no availability). ``others`` are pods of older ReplicaSets.
    """
    total = grow.current + shrink.current + others
    new_grow = grow.current
    if grow.target > grow.current:
        room = max(0, replicas + surge - total)
        new_grow = min(grow.target, grow.current + room)
    elif grow.target < grow.current:
        new_grow = grow.target
    new_shrink = shrink.current
    if shrink.target > shrink.current:
        new_shrink = shrink.target
    elif shrink.target < shrink.current:
        available = grow.available + shrink.available
        budget = max(0, available - (replicas - unavailable))
        unready = max(0, shrink.current - shrink.available)
        new_shrink = max(shrink.target, shrink.current - unready - budget)
    return new_grow, new_shrink
