"""Webhook refreshes are coalesced per repository: one running, one waiting, whatever the flood."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from tidegate.controller import webhook, webhook_refresh


class Gate:
    """A refresh runner that blocks until released and records what it ran."""

    def __init__(self) -> None:
        self.ran: list[webhook_refresh.Refresh] = []
        self.release = asyncio.Event()
        self.fail_next = False

    async def __call__(self, refresh: webhook_refresh.Refresh) -> bool:
        self.ran.append(dataclass_copy(refresh))
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("fetch failed")
        return True


def dataclass_copy(refresh: webhook_refresh.Refresh) -> webhook_refresh.Refresh:
    return webhook_refresh.Refresh(refresh.repo_url, set(refresh.apps), set(refresh.appsets))


async def test_a_flood_costs_one_running_and_one_waiting_refresh() -> None:
    gate = Gate()
    coalescer = webhook_refresh.Coalescer(gate, min_interval=0)
    for i in range(1000):
        coalescer.submit("git/repo", webhook_refresh.Refresh("https://git/repo", {f"app-{i % 7}"}))
    await asyncio.sleep(0)  # let the first refresh start
    assert coalescer.pending() == 2  # one running, one waiting: never a thousand
    assert [r.apps for r in gate.ran] == [{"app-0"}]
    gate.release.set()
    await coalescer.idle()
    assert coalescer.started == 2
    assert coalescer.merged == 998
    # The waiting refresh carries every app the absorbed deliveries named.
    assert gate.ran[1].apps == {f"app-{i}" for i in range(7)}
    assert coalescer.pending() == 0


async def test_a_delivery_after_the_refresh_ended_starts_a_new_one() -> None:
    gate = Gate()
    gate.release.set()
    coalescer = webhook_refresh.Coalescer(gate, min_interval=0)
    coalescer.submit("k", webhook_refresh.Refresh("u", {"a"}))
    await coalescer.idle()
    coalescer.submit("k", webhook_refresh.Refresh("u", {"b"}))
    await coalescer.idle()
    assert [r.apps for r in gate.ran] == [{"a"}, {"b"}]


async def test_repositories_are_independent() -> None:
    gate = Gate()
    coalescer = webhook_refresh.Coalescer(gate, min_interval=0)
    for key in ("one", "two", "three"):
        coalescer.submit(key, webhook_refresh.Refresh(key, {key}))
    await asyncio.sleep(0)
    assert sorted(r.repo_url for r in gate.ran) == ["one", "three", "two"]
    gate.release.set()
    await coalescer.idle()
    assert coalescer.started == 3


async def test_a_failed_refresh_is_logged_and_the_waiting_one_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = Gate()
    gate.fail_next = True
    coalescer = webhook_refresh.Coalescer(gate, min_interval=0)
    coalescer.submit("k", webhook_refresh.Refresh("https://git/k", {"a"}))
    coalescer.submit("k", webhook_refresh.Refresh("https://git/k", {"b"}))
    gate.release.set()
    await coalescer.idle()
    assert [r.apps for r in gate.ran] == [{"a"}, {"b"}]
    assert "webhook refresh of https://git/k failed" in caplog.text


class FakeScheduler:
    def __init__(self) -> None:
        self.added: list[str] = []

    def request(self, name: str, *, hard: bool = False) -> None:
        self.added.append(name)


class FakeController:
    """The application controller's webhook surface: apps, scheduler, refresh_repo."""

    def __init__(self, apps: Mapping[str, Mapping[str, Any]]) -> None:
        self.apps = dict(apps)
        self.scheduler = FakeScheduler()
        self.fetches: list[str] = []
        self.release = asyncio.Event()
        self.failing = False

    async def refresh_repo(self, repo_url: str) -> bool:
        self.fetches.append(repo_url)
        await self.release.wait()
        return not self.failing


class FakeAppSets:
    def __init__(self) -> None:
        self.enqueued: list[str] = []

    def sets_reading(self, repo_url: str) -> list[str]:
        return ["dirs"] if repo_url.endswith("/team/repo.git") else []

    def enqueue(self, name: str, *, after: float = 0.0) -> None:
        self.enqueued.append(name)


def app(url: str) -> dict[str, Any]:
    return {"spec": {"source": {"repoURL": url, "targetRevision": "main", "path": "app"}}}


EVENT = webhook.PushEvent(
    provider=webhook.Provider.GITHUB,
    repo_urls=("https://git.example/team/repo", "https://git.example/team/repo.git"),
    revision="main",
    before="0" * 40,
    after="1" * 40,
    refs=("refs/heads/main",),
)


async def test_on_push_flood_fetches_at_most_twice_and_refreshes_every_matching_app() -> None:
    ctrl = FakeController(
        {
            "web": app("https://git.example/team/repo.git"),
            "api": app("https://git.example/team/repo"),
            "other": app("https://git.example/team/other.git"),
        }
    )
    appsets = FakeAppSets()
    refresher = webhook_refresh.WebhookRefresher(ctrl, appsets, min_interval=0)
    answers = await asyncio.gather(*(refresher.on_push(EVENT) for _ in range(1000)))
    assert set(answers) == {2}
    assert refresher.coalescer.pending() <= 2
    ctrl.release.set()
    await refresher.coalescer.idle()
    assert 1 <= len(ctrl.fetches) <= 2
    assert set(ctrl.scheduler.added) == {"web", "api"}
    assert len(ctrl.scheduler.added) <= 4
    assert set(appsets.enqueued) == {"dirs"}
    await refresher.aclose()


async def test_a_repeated_delivery_after_its_fetch_schedules_nothing() -> None:
    ctrl = FakeController({"web": app("https://git.example/team/repo.git")})
    ctrl.release.set()
    refresher = webhook_refresh.WebhookRefresher(ctrl, None, min_interval=0)
    assert await refresher.on_push(EVENT) == 1
    await refresher.coalescer.idle()
    for _ in range(100):  # the same delivery replayed: its commit is already fetched
        assert await refresher.on_push(EVENT) == 1
    assert refresher.coalescer.pending() == 0
    assert refresher.coalescer.repeated == 100
    assert ctrl.fetches == ["https://git.example/team/repo.git"]
    # A new commit on the branch is fetched again.
    await refresher.on_push(dataclasses.replace(EVENT, after="2" * 40))
    await refresher.coalescer.idle()
    assert len(ctrl.fetches) == 2


async def test_a_delivery_whose_fetch_failed_is_not_a_repeat() -> None:
    ctrl = FakeController({"web": app("https://git.example/team/repo.git")})
    ctrl.release.set()
    ctrl.failing = True
    refresher = webhook_refresh.WebhookRefresher(ctrl, None, min_interval=0)
    await refresher.on_push(EVENT)
    await refresher.coalescer.idle()
    ctrl.failing = False
    await refresher.on_push(EVENT)  # the same delivery again: fetched again, not skipped
    await refresher.coalescer.idle()
    assert len(ctrl.fetches) == 2 and refresher.coalescer.repeated == 0


async def test_a_waiting_repeat_queues_its_apps_without_fetching() -> None:
    ctrl = FakeController({"web": app("https://git.example/team/repo.git")})
    refresher = webhook_refresh.WebhookRefresher(ctrl, None, min_interval=0)
    for _ in range(50):  # all arrive while the first fetch runs
        await refresher.on_push(EVENT)
    ctrl.release.set()
    await refresher.coalescer.idle()
    assert len(ctrl.fetches) == 1  # the waiting refresh carried the same commit
    assert ctrl.scheduler.added == ["web", "web"]


async def test_refreshes_of_one_repository_start_at_least_the_interval_apart() -> None:
    gate = Gate()
    gate.release.set()
    coalescer = webhook_refresh.Coalescer(gate, min_interval=3600)
    coalescer.submit("k", webhook_refresh.Refresh("u", {"a"}))
    await asyncio.sleep(0)
    coalescer.submit("k", webhook_refresh.Refresh("u", {"b"}))
    for _ in range(20):
        await asyncio.sleep(0)
    assert [r.apps for r in gate.ran] == [{"a"}]  # the second waits for the interval
    coalescer.submit("k", webhook_refresh.Refresh("u", {"c"}))
    assert coalescer.pending() <= 2
    await coalescer.aclose()


async def test_on_push_for_an_unknown_repository_schedules_nothing() -> None:
    ctrl = FakeController({"other": app("https://git.example/team/other.git")})
    refresher = webhook_refresh.WebhookRefresher(ctrl, FakeAppSets(), min_interval=0)
    event = webhook.PushEvent(
        provider=webhook.Provider.GITHUB,
        repo_urls=("https://attacker.example/x",),
        revision="main",
        before="",
        after="",
        refs=("refs/heads/main",),
    )
    assert await refresher.on_push(event) == 0
    assert refresher.coalescer.pending() == 0
    assert ctrl.fetches == []
