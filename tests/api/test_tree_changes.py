"""The tree stream's wake-ups (pure logic over an in-memory subscription and event): a read at
once, then each change of the hub and each change of the destination, keepalives when idle,
and the end of a subscriber that fell behind."""

from __future__ import annotations

import pytest

from tidegate.api import hub, streams, tree_watch


async def test_hub_and_destination_changes_both_wake_the_tree() -> None:
    sub = hub.Subscription()
    dest = tree_watch.DestinationWatch("shop")
    changes = streams._tree_changes(sub, dest, keepalive=30)
    assert await anext(changes) is True  # the first read
    dest.changed.set()
    assert await anext(changes) is True  # the destination changed
    dest.changed.clear()
    change = hub.Change("MODIFIED", {"metadata": {"name": "shop"}}, b"{}")
    sub.offer(change)
    assert await anext(changes) is change
    sub.offer(change)
    dest.changed.set()  # both pending: the app's change first, neither lost
    assert [await anext(changes), await anext(changes)] == [change, True]
    await changes.aclose()


async def test_idle_and_overflow() -> None:
    sub = hub.Subscription()
    changes = streams._tree_changes(sub, tree_watch.DestinationWatch("shop"), keepalive=0.01)
    assert await anext(changes) is True
    assert await anext(changes) is None  # idle: a keepalive
    sub.queue.put_nowait(None)  # what the hub sends a subscriber it dropped
    with pytest.raises(OverflowError):
        await anext(changes)


def test_a_closed_watch_frees_nothing_it_did_not_hold() -> None:
    before = tree_watch.watched_trees()
    watch = tree_watch.DestinationWatch("shop")
    watch.close()
    watch.close()
    assert tree_watch.watched_trees() == before and watch.watching == 0
