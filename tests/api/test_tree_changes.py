"""The tree stream's wake-ups (pure logic over an in-memory subscription and event): a read at
once, then each change of the hub and each change of the destination, keepalives when idle,
and the end of a subscriber that fell behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tidegate.api import hub, streams, tree_watch
from tidegate.kube import config as kube_config
from tidegate.model import errors
from tidegate.testenv import wait


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


class NoSuchKind:
    """A destination client on which no kind is served: the watch ends at once (its record
    stays until nobody listens)."""

    name = "dev"

    async def resource(self, group: str, kind: str) -> object:
        raise errors.UnknownKindError(f"{kind} is not served")


async def test_watches_are_shared_then_ended_after_the_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tree_watch, "GRACE_SECONDS", 0.05)
    key = (kube_config.ClusterConfig(server="https://dev.invalid"), "shop", "", "Pod")
    client: Any = NoSuchKind()
    first, second = asyncio.Event(), asyncio.Event()
    before = tree_watch.running_watches()
    assert tree_watch._listen(client, key, first) and tree_watch._listen(client, key, second)
    assert tree_watch.running_watches() == before + 1  # one watch, two listeners
    assert second.is_set()  # a listener of a running watch reads its tree again once
    tree_watch._unlisten(key, first)
    tree_watch._unlisten(key, second)
    assert tree_watch.running_watches() == before + 1  # kept for a reload, for the grace
    again = asyncio.Event()
    assert tree_watch._listen(client, key, again)  # back within the grace: the same watch
    tree_watch._unlisten(key, again)
    await wait.eventually(lambda: tree_watch.running_watches() == before, within=5)
