"""The order ``app events`` prints: oldest first by last occurrence, and within one second (the
timestamps' resolution) in the order the events were written."""

from __future__ import annotations

from typing import Any

from tidegate.kube import events


def event(name: str, stamp: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": version}, "lastTimestamp": stamp}


def test_events_of_one_second_keep_their_write_order_not_their_names() -> None:
    items = [  # as the API server lists them: by name, a random suffix
        event("app.17f0a", "2026-12-07T01:00:05Z", "2045"),
        event("app.17f0b", "2026-12-07T01:00:05Z", "1990"),
        event("app.17f0c", "2026-12-07T01:00:04Z", "2100"),  # updated (count 2) later
        event("app.17f0d", "2026-12-07T01:00:05Z", "10011"),  # numeric, not text, order
    ]
    ordered = [e["metadata"]["name"] for e in events.newest_last(items)]
    assert ordered == ["app.17f0c", "app.17f0b", "app.17f0a", "app.17f0d"]


def test_events_without_a_resource_version_sort_by_time_alone() -> None:
    items = [event("b", "2026-12-07T01:00:06Z", ""), event("a", "2026-12-07T01:00:05Z", "")]
    assert [e["metadata"]["name"] for e in events.newest_last(items)] == ["a", "b"]
