"""The live cache's watches shared with subscribers (Fanout, no I/O): each subscriber sees the
one watch of a kind through its own namespace and label selector, as if it had made the
request; a late subscriber starts from the mirror; a closed cache ends every subscription."""

from __future__ import annotations

from typing import Any

from tidegate.kube import feed, watch
from tidegate.live import fanout
from tidegate.model import labelselector

RS = ("apps", "ReplicaSet")


def rs(ns: str, name: str, version: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"namespace": ns, "name": name, "resourceVersion": version, "labels": labels},
    }


def subscriber(namespace: str | None = None, selector: str = "") -> fanout.Subscriber:
    return fanout.Subscriber(RS, namespace, labelselector.parse(selector))


def drained(sub: fanout.Subscriber) -> list[tuple[str, list[str]]]:
    """(type, names) of every queued event."""
    out = []
    while not sub.queue.empty():
        event = sub.queue.get_nowait()
        if event is None:
            out.append(("END", []))
            continue
        names = [i["metadata"]["name"] for i in event.items]
        if event.object is not None:
            names = [event.object["metadata"]["name"]]
        out.append((event.type, names))
    return out


def test_each_subscriber_sees_its_namespace_and_selector() -> None:
    hub = fanout.Fanout()
    mine, theirs = subscriber("a", "hash"), subscriber(None, "!hash")
    assert hub.add(mine) is True  # the first subscriber asks for a list
    assert hub.add(theirs) is False  # one list serves both
    hub.relisted(RS, [rs("a", "x", "1", hash="h"), rs("b", "y", "1", hash="h"), rs("a", "z", "1")],
                 "initial")  # fmt: skip
    hub.changed(RS, watch.WatchEvent("ADDED", object=rs("a", "w", "2", hash="h")))
    hub.changed(RS, watch.WatchEvent("ADDED", object=rs("c", "v", "3")))
    assert drained(mine) == [("RELISTED", ["x"]), ("ADDED", ["w"])]
    assert drained(theirs) == [("RELISTED", ["z"]), ("ADDED", ["v"])]


def test_an_object_whose_labels_stop_matching_is_deleted_for_that_subscriber() -> None:
    hub = fanout.Fanout()
    sub = subscriber(None, "hash")
    hub.add(sub)
    hub.relisted(RS, [rs("a", "x", "1", hash="h")], "initial")
    hub.changed(RS, watch.WatchEvent("MODIFIED", object=rs("a", "x", "2")))
    hub.changed(RS, watch.WatchEvent("MODIFIED", object=rs("a", "x", "3")))  # still not: nothing
    assert drained(sub) == [("RELISTED", ["x"]), ("DELETED", ["x"])]


def test_a_late_subscriber_starts_from_the_mirror_kept_current_by_the_watch() -> None:
    hub = fanout.Fanout()
    first = subscriber()
    hub.add(first)
    hub.relisted(RS, [rs("a", "x", "1"), rs("a", "y", "1")], "initial")
    hub.changed(RS, watch.WatchEvent("DELETED", object=rs("a", "x", "2")))
    hub.changed(RS, watch.WatchEvent("ADDED", object=rs("a", "z", "3")))
    late = subscriber()
    assert hub.add(late) is False  # no second list, no second watch
    assert drained(late) == [("RELISTED", ["y", "z"])]


def test_events_before_the_subscribers_list_are_not_delivered() -> None:
    hub = fanout.Fanout()
    sub = subscriber()
    hub.add(sub)
    hub.changed(RS, watch.WatchEvent("ADDED", object=rs("a", "x", "1")))  # the store's old watch
    assert drained(sub) == []


def test_an_absent_kind_is_an_empty_list_and_its_objects_follow_once_served() -> None:
    hub = fanout.Fanout()
    sub = subscriber()
    hub.add(sub)
    hub.absent(RS)
    hub.absent(RS)  # said once
    event = sub.queue.get_nowait()
    assert event is not None and (event.type, event.reason, event.items) == (
        "RELISTED",
        feed.ABSENT,
        [],
    )
    assert sub.queue.empty()
    hub.relisted(RS, [rs("a", "x", "1")], "initial")
    assert drained(sub) == [("RELISTED", ["x"])]


def test_closing_ends_every_subscription_and_the_last_one_leaving_drops_the_mirror() -> None:
    hub = fanout.Fanout()
    a, b = subscriber(), subscriber()
    hub.add(a)
    hub.add(b)
    hub.relisted(RS, [], "initial")
    hub.remove(a)
    assert hub.kinds() == {RS}
    hub.remove(b)
    assert hub.kinds() == set()
    assert hub.add(subscriber()) is True  # nothing mirrored any more: a fresh list is needed
    c = subscriber()
    hub.add(c)
    hub.close()
    assert drained(c) == [("END", [])]


def test_each_subscriber_gets_its_own_copies() -> None:
    hub = fanout.Fanout()
    a, b = subscriber(), subscriber()
    hub.add(a)
    hub.add(b)
    listed = rs("a", "x", "1", hash="h")
    hub.relisted(RS, [listed], "initial")
    changed = rs("a", "x", "2", hash="h")
    hub.changed(RS, watch.WatchEvent("MODIFIED", object=changed))
    seen = [a.queue.get_nowait(), a.queue.get_nowait(), b.queue.get_nowait()]
    assert seen[0] is not None and seen[0].items == [listed] and seen[0].items[0] is not listed
    assert seen[1] is not None and seen[1].object == changed and seen[1].object is not changed
    assert seen[2] is not None and seen[2].items[0] is not seen[0].items[0]
    listed["metadata"]["labels"].clear()  # the cache slims its objects in place
    assert seen[0].items[0]["metadata"]["labels"] == {"hash": "h"}
