"""Git webhooks, the refresh side: what a push costs, bounded per repository.

Deliveries are cheap to send and a fetch is not: a replayed or unsigned payload posted a thousand
times a second must cost what one delivery costs. :class:`Coalescer` keeps, per repository, at
most one refresh running and at most one waiting. A delivery that arrives while a refresh runs
merges its Applications and ApplicationSets into the waiting one (created if none waits yet); the
waiting refresh starts when the running one ends, so its fetch starts after every delivery it
absorbed and no push is missed. Two more rules make a flood cheap whatever its length: a
delivery announcing a commit that a completed fetch (started after an identical delivery) already
brought is a repeat and schedules nothing, and two refreshes of one repository start at least
:data:`MIN_FETCH_INTERVAL` apart. Memory is bounded by the number of repositories with work pending
(each holding names of known Applications and ApplicationSets), never by the number of deliveries.

:func:`on_push` is the controller's ``on_push`` callback: it matches the event to Applications
(:mod:`tidegate.controller.webhook_match`) and ApplicationSets, submits one refresh per pushed
repository and answers at once with the number of Applications scheduled for a refresh.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from tidegate.controller import webhook, webhook_match
from tidegate.sources import urls

log = logging.getLogger(__name__)


MIN_FETCH_INTERVAL = 1.0
"""Seconds between the starts of two webhook refreshes of one repository: a flood of distinct
deliveries lasting T seconds costs at most 1 + T / MIN_FETCH_INTERVAL fetches."""

_MAX_REMEMBERED = 4096  # repositories whose last fetched commits are remembered


@dataclasses.dataclass
class Refresh:
    """One repository's pending refresh: fetch ``repo_url`` once, then refresh these objects.

    ``commits`` are the ``(ref, after)`` pairs the deliveries announced; ``fetch`` is cleared when
    a fetch that started after all of them already ran (a repeated delivery).
    """

    repo_url: str
    apps: set[str] = dataclasses.field(default_factory=set)
    appsets: set[str] = dataclasses.field(default_factory=set)
    commits: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    fetch: bool = True

    def absorb(self, other: Refresh) -> None:
        self.apps |= other.apps
        self.appsets |= other.appsets
        self.commits |= other.commits


RunRefresh = Callable[[Refresh], Awaitable[bool]]
"""Runs one refresh; True when its commits are now fetched (False: the fetch failed)."""


class Coalescer:
    """Per repository key: at most one refresh running and one waiting (see the module doc).

    A delivery whose every ``(ref, after)`` commit was already fetched, by a fetch that started
    after an identical delivery, is a repeat: it schedules nothing. Two refreshes of one key start
    at least ``min_interval`` seconds apart.
    """

    def __init__(self, run: RunRefresh, *, min_interval: float = MIN_FETCH_INTERVAL) -> None:
        self._run = run
        self.min_interval = min_interval
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiting: dict[str, Refresh] = {}
        self._last_start: dict[str, float] = {}
        self._fetched: collections.OrderedDict[str, dict[str, str]] = collections.OrderedDict()
        self.started = 0  # refreshes started (for metrics and tests)
        self.merged = 0  # submissions absorbed into a waiting refresh
        self.repeated = 0  # submissions dropped as repeats of a delivery already fetched

    def submit(self, key: str, refresh: Refresh) -> None:
        """Run ``refresh`` now, or fold it into the one waiting behind the running refresh."""
        if self._already_fetched(key, refresh):
            self.repeated += 1
            return
        if key not in self._running:
            self._start(key, refresh)
            return
        waiting = self._waiting.get(key)
        if waiting is None:
            self._waiting[key] = refresh
        else:
            waiting.absorb(refresh)
            self.merged += 1

    def pending(self) -> int:
        """Refreshes running or waiting (never more than two per repository)."""
        return len(self._running) + len(self._waiting)

    async def idle(self) -> None:
        """Return once nothing runs or waits."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def aclose(self) -> None:
        self._waiting.clear()
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _already_fetched(self, key: str, refresh: Refresh) -> bool:
        fetched = self._fetched.get(key)
        if not refresh.commits or fetched is None:
            return False
        return all(after and fetched.get(ref) == after for ref, after in refresh.commits)

    def _start(self, key: str, refresh: Refresh) -> None:
        self.started += 1
        now = time.monotonic()
        delay = max(0.0, self._last_start.get(key, -math.inf) + self.min_interval - now)
        self._last_start[key] = now + delay
        if len(self._last_start) > _MAX_REMEMBERED:
            horizon = now - self.min_interval
            self._last_start = {k: t for k, t in self._last_start.items() if t > horizon}
        task = asyncio.create_task(
            self._guarded(key, refresh, delay), name=f"webhook-refresh:{key}"
        )
        self._running[key] = task
        task.add_done_callback(lambda _: self._finished(key))

    async def _guarded(self, key: str, refresh: Refresh, delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            if self._already_fetched(key, refresh):
                refresh.fetch = False  # a repeat: its apps are queued, nothing is fetched
            if await self._run(refresh):
                self._remember(key, refresh.commits)
        except asyncio.CancelledError:
            raise
        except Exception:  # one repository's failure never stops the next refresh
            log.exception("webhook refresh of %s failed", urls.display(refresh.repo_url))

    def _remember(self, key: str, commits: set[tuple[str, str]]) -> None:
        fetched = self._fetched.setdefault(key, {})
        self._fetched.move_to_end(key)
        for ref, after in commits:
            if after:
                fetched[ref] = after
        while len(self._fetched) > _MAX_REMEMBERED:
            self._fetched.popitem(last=False)

    def _finished(self, key: str) -> None:
        self._running.pop(key, None)
        waiting = self._waiting.pop(key, None)
        if waiting is not None:
            self._start(key, waiting)


class _Scheduler(Protocol):
    def request(self, name: str, *, hard: bool = False) -> None: ...


class AppController(Protocol):
    """What a webhook refresh needs from the application controller."""

    @property
    def apps(self) -> Mapping[str, Mapping[str, Any]]: ...

    @property
    def scheduler(self) -> _Scheduler: ...

    async def refresh_repo(self, repo_url: str) -> bool: ...


class AppSetController(Protocol):
    """What a webhook refresh needs from the ApplicationSet controller."""

    def sets_reading(self, repo_url: str) -> list[str]: ...

    def enqueue(self, name: str, *, after: float = 0.0) -> None: ...


class WebhookRefresher:
    """Matches pushes to Applications and ApplicationSets and refreshes them, coalesced."""

    def __init__(
        self,
        apps: AppController,
        appsets: AppSetController | None = None,
        *,
        min_interval: float = MIN_FETCH_INTERVAL,
    ) -> None:
        self.apps = apps
        self.appsets = appsets
        self.coalescer = Coalescer(self._refresh, min_interval=min_interval)

    async def on_push(self, event: webhook.PushEvent) -> int:
        """Schedule the refreshes ``event`` asks for; the number of Applications concerned."""
        pending: dict[str, Refresh] = {}
        names = [
            name
            for name, raw in list(self.apps.apps.items())
            if webhook_match.application_matches(raw, event)
        ]
        for name in names:
            for url in _matching_source_urls(self.apps.apps.get(name) or {}, event):
                _pending_for(pending, url).apps.add(name)
        if self.appsets is not None:
            for url in event.repo_urls:
                sets = self.appsets.sets_reading(url)
                if sets:
                    _pending_for(pending, url).appsets.update(sets)
        # A delivery names one commit per pushed ref; only single-ref pushes say which one.
        single = len(event.refs) <= 1 and event.after.strip("0")
        commits = (
            {(event.refs[0] if event.refs else event.revision, event.after)} if single else set()
        )
        for key, refresh in pending.items():
            refresh.commits = set(commits)
            self.coalescer.submit(key, refresh)
        log.info(
            "webhook push",
            extra={
                "provider": str(event.provider),
                "revision": event.revision,
                "apps": len(names),
                "repositories": len(pending),
            },
        )
        return len(names)

    async def _refresh(self, refresh: Refresh) -> bool:
        shown = urls.display(refresh.repo_url)
        log.info(
            "webhook refresh of %s started: %d app(s), %d set(s)%s",
            shown,
            len(refresh.apps),
            len(refresh.appsets),
            "" if refresh.fetch else ", already fetched",
        )
        fetched = True
        if refresh.fetch:  # one fetch serves apps and sets
            fetched = await self.apps.refresh_repo(refresh.repo_url)
        for name in sorted(refresh.apps):
            self.apps.scheduler.request(name)
        if self.appsets is not None:
            for name in sorted(refresh.appsets):
                self.appsets.enqueue(name)
        log.info("webhook refresh of %s done", shown)
        return fetched

    async def aclose(self) -> None:
        await self.coalescer.aclose()


def _pending_for(pending: dict[str, Refresh], url: str) -> Refresh:
    key = urls.normalise(url)
    found = pending.get(key)
    if found is None:
        found = pending[key] = Refresh(repo_url=url)
    return found


def _matching_source_urls(raw: Mapping[str, Any], event: webhook.PushEvent) -> Iterable[str]:
    spec = raw.get("spec") or {}
    srcs: Sequence[Mapping[str, Any]] = spec.get("sources") or (
        [spec["source"]] if spec.get("source") else []
    )
    for src in srcs:
        url = str(src.get("repoURL") or "")
        if url and webhook_match.same_repo(url, event):
            yield url
