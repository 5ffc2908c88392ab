"""Watches of one Kargo project's objects for the pipeline stream
(``GET /api/v1/promotion/projects/P/stream``, :mod:`tidegate.api.promotion`).

While a client holds the stream open, :func:`follow` runs one watch
(:func:`tidegate.kube.watch.reflect`) of each kind the pipeline page shows (:data:`KINDS`) in the
project's namespace on the management cluster. The stream does not carry the objects: it tells
the page that something changed, and the page reads itself again (``?fragment=1``). So that a
burst of changes (a promotion writes its Promotion, Stage and Freight several times within a
second) costs one read, not one per change, the events are gathered in a
:class:`tidegate.api.burst.Burst` and sent as one message once they have been quiet for
:data:`burst.QUIET_SECONDS`, at the latest :data:`burst.LONGEST_SECONDS` after the first.

Messages (``{"result": ...}``, framed as the server's other streams frame them):
``{"type": "LISTED", "project"}`` once every watch has listed (read the page now: it may have
changed between its load and the watches' start), then ``{"type": "CHANGED", "project",
"kinds", "changes"}`` per burst. The watches end when the client goes (or the server stops).

Bounded: at most :data:`MAX_STREAMS` pipeline streams at once per server (each runs
``len(KINDS)`` watches); a further one is refused with 503 and ``Retry-After``, as the render cap
refuses a render.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, ClassVar

from tidegate.api import burst, errors
from tidegate.kube import client as kube_client
from tidegate.kube import discovery, watch
from tidegate.model import errors as tg_errors
from tidegate.promotion.crds import GROUP

log = logging.getLogger(__name__)
Obj = dict[str, Any]
KINDS = ("Warehouse", "Stage", "Freight", "Promotion")
MAX_STREAMS = 16
RETRY_AFTER_SECONDS = 10


def kargo_missing(exc: tg_errors.UnknownKindError) -> errors.ApiError:
    """The answer when the management cluster does not serve Kargo's kinds."""
    return errors.ApiError(
        404,
        "promotion is not installed on the management cluster: it serves no "
        f"{GROUP} CustomResourceDefinitions (`tidegate install` installs them): {exc}",
    )


async def resources(client: kube_client.KubeClient) -> list[discovery.APIResource]:
    """The API resources of :data:`KINDS`; a clear 404 when Kargo's CRDs are missing."""
    try:
        return [await client.resource(GROUP, kind) for kind in KINDS]
    except tg_errors.UnknownKindError as exc:
        raise kargo_missing(exc) from None


class Slot:
    """One admitted stream; :meth:`release` (idempotent) gives its place back."""

    def __init__(self) -> None:
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            _Open.streams -= 1


class _Open:
    """How many pipeline streams are open (one server, one event loop)."""

    streams: ClassVar[int] = 0


def admit(project: str, *, limit: int | None = None) -> Slot:
    """A place for one more stream; 503 with ``Retry-After`` when ``limit`` are open."""
    cap = MAX_STREAMS if limit is None else limit
    if _Open.streams >= cap:
        raise errors.ApiError(
            503,
            f"pipeline stream of project {project}: {cap} pipeline streams are open, the "
            f"most this server serves; retry in {RETRY_AFTER_SECONDS} s",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    _Open.streams += 1
    return Slot()


def open_streams() -> int:
    """How many pipeline streams are open now."""
    return _Open.streams


class Feed:
    """What the watches tell one stream: which kinds have listed, and the burst of changes
    since the last message. ``wake`` is set on every news."""

    def __init__(self, kinds: tuple[str, ...], gathered: burst.Burst) -> None:
        self.burst = gathered
        self.wake = asyncio.Event()
        self._unlisted = set(kinds)
        self.announced = False

    @property
    def listed(self) -> bool:
        return not self._unlisted

    def has_listed(self, kind: str) -> None:
        self._unlisted.discard(kind)
        self.wake.set()

    def changed(self, kind: str, now: float) -> None:
        self.burst.add(kind, now)
        self.wake.set()


async def messages(
    project: str, feed: Feed, keepalive: float, clock: Callable[[], float]
) -> AsyncGenerator[Obj | None, None]:
    """The stream's messages from ``feed``: LISTED once, then one CHANGED per burst; ``None``
    when idle for ``keepalive`` seconds (the framing sends a keepalive)."""
    while True:
        if feed.listed and not feed.announced:
            feed.announced = True
            feed.burst.clear()  # the page's read after LISTED covers them
            yield {"result": {"type": "LISTED", "project": project}}
            continue
        due = feed.burst.due()
        now = clock()
        if due is not None and now >= due:
            batch = feed.burst.take()
            yield {
                "result": {
                    "type": "CHANGED",
                    "project": project,
                    "kinds": list(batch.kinds),
                    "changes": batch.changes,
                }
            }
            continue
        feed.wake.clear()  # no await since due was read: nothing is missed
        try:
            async with asyncio.timeout(keepalive if due is None else due - now):
                await feed.wake.wait()
        except TimeoutError:
            if due is None:
                yield None


async def _watch(
    client: kube_client.KubeClient, res: discovery.APIResource, project: str, feed: Feed
) -> None:
    clock = asyncio.get_running_loop().time
    async for event in watch.reflect(client, res, namespace=project):
        if event.type == "RELISTED" and not feed.listed:
            feed.has_listed(res.kind)
        elif event.type in ("ADDED", "MODIFIED", "DELETED", "RELISTED"):
            feed.changed(res.kind, clock())
        elif event.type == "ERROR":
            log.warning("pipeline stream of %s: %s", project, event.reason)


async def follow(
    client: kube_client.KubeClient,
    project: str,
    found: list[discovery.APIResource],
    keepalive: float,
    slot: Slot,
) -> AsyncIterator[Obj | None]:
    """Watch ``found`` in the project's namespace and yield the stream's messages; the watches
    end, and ``slot`` is released, when the consumer stops (the client went, the server
    stops)."""
    feed = Feed(tuple(r.kind for r in found), burst.Burst())
    tasks = [asyncio.create_task(_watch(client, res, project, feed)) for res in found]
    try:
        clock = asyncio.get_running_loop().time
        async with contextlib.aclosing(messages(project, feed, keepalive, clock)) as stream:
            async for message in stream:
                yield message
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        slot.release()
