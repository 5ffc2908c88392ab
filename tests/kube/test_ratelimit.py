"""Token bucket: a burst passes at once, then requests are spaced at 1/qps."""

from __future__ import annotations

from tidegate.kube import ratelimit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_rate() -> None:
    clock = Clock()
    bucket = ratelimit.TokenBucket(qps=10, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    waits = [bucket.reserve() for _ in range(3)]
    assert waits == [0.1, 0.2, 0.30000000000000004] or [round(w, 6) for w in waits] == [
        0.1,
        0.2,
        0.3,
    ]
    clock.now += 10  # long idle: the bucket refills to the burst, no more
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert round(bucket.reserve(), 6) == 0.1


def test_disabled() -> None:
    bucket = ratelimit.TokenBucket(qps=0, burst=1)
    assert not bucket.enabled
    assert all(bucket.reserve() == 0.0 for _ in range(1000))
