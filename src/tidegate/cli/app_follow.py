"""Following an Application until something holds: an operation ends, or ``app wait``
conditions are met. Polling with a deadline (one GET per interval; no sleep-based guessing).

On a terminal a Rich live table shows the sync result's resources and a progress line; when
stdout is not a terminal, plain lines are printed as resources and the phase change.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tidegate.cli import app_access, app_show, app_state
from tidegate.sync import request

Obj = Mapping[str, Any]
POLL_SECONDS = 0.2


@dataclasses.dataclass(frozen=True)
class Outcome:
    app: Obj | None  # None: the app was deleted meanwhile
    state: Obj | None  # the final operation state (None if not reached)
    timed_out: bool = False
    missing: tuple[str, ...] = ()


class Progress(Protocol):
    def update(self, app: Obj, state: Obj | None, missing: tuple[str, ...]) -> None: ...

    def close(self) -> None: ...


class PlainProgress:
    """Lines on stdout: one per resource result change, one per phase/message change."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._phase: tuple[str, str] | None = None
        self._missing: tuple[str, ...] = ()

    def update(self, app: Obj, state: Obj | None, missing: tuple[str, ...]) -> None:
        stamp = time.strftime("%H:%M:%S")
        if state is not None:
            for row in app_state.result_rows(state):
                if self._rows.get(row[:4]) != row:
                    self._rows[row[:4]] = row
                    group, kind, ns, name, st, hook, sync_phase, message = row
                    what = f"{group + '/' if group else ''}{kind} {ns + '/' if ns else ''}{name}"
                    extra = "  ".join(x for x in (hook, sync_phase, message) if x)
                    sys.stdout.write(f"{stamp}  {what}  {st}  {extra}".rstrip() + "\n")
            phase = (str(state.get("phase") or ""), str(state.get("message") or ""))
            if phase != self._phase:
                self._phase = phase
                sys.stdout.write(f"{stamp}  operation {phase[0]}: {phase[1]}".rstrip(": ") + "\n")
        if missing and missing != self._missing:
            self._missing = missing
            sys.stdout.write(f"{stamp}  waiting for: {'; '.join(missing)}\n")
        sys.stdout.flush()

    def close(self) -> None:
        return None


class LiveProgress:
    """A Rich live table, redrawn on every poll (terminals only)."""

    def __init__(self, title: str, *, no_color: bool) -> None:
        from rich.console import Console
        from rich.live import Live

        self._title = title
        self._started = time.monotonic()
        self._console = Console(no_color=no_color)
        self._live = Live(console=self._console, transient=True, auto_refresh=False)
        self._live.start()

    def update(self, app: Obj, state: Obj | None, missing: tuple[str, ...]) -> None:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        elapsed = time.monotonic() - self._started
        table = Table(*app_show.RESULT_HEADERS, box=None, header_style="bold")
        for row in app_state.result_rows(state):
            table.add_row(*row)
        phase = str((state or {}).get("phase") or "waiting")
        message = str((state or {}).get("message") or "; ".join(missing))
        line = Text(f"{self._title}  {phase}  {elapsed:.0f}s  {message}")
        self._live.update(Group(line, table), refresh=True)

    def close(self) -> None:
        self._live.stop()


def progress(title: str, *, no_color: bool = False, quiet: bool = False) -> Progress:
    """A live table on a terminal, plain lines otherwise (nothing when ``quiet``)."""
    if quiet:
        return _Silent()
    if sys.stdout.isatty():
        return LiveProgress(title, no_color=no_color)
    return PlainProgress()


class _Silent:
    def update(self, app: Obj, state: Obj | None, missing: tuple[str, ...]) -> None:
        return None

    def close(self) -> None:
        return None


async def follow_operation(
    apps: app_access.Apps,
    name: str,
    *,
    namespace: str,
    before: Obj | None,
    deadline: app_access.Deadline,
    show: Progress,
    interval: float = POLL_SECONDS,
) -> Outcome:
    """Poll until the operation requested after ``before`` (the old operationState) ends."""
    last: Obj | None = None
    try:
        async for app in apps.poll(name, namespace=namespace, interval=interval):
            if app is None:
                return Outcome(None, None)
            last = app
            show.update(app, app_state.new_operation_state(app, before), ())
            final = app_state.operation_finished(app, before)
            if final is not None:
                return Outcome(app, final)
            if deadline.passed():
                break
    finally:
        show.close()
    return Outcome(last, app_state.new_operation_state(last or {}, before), timed_out=True)


async def wait_until(
    apps: app_access.Apps,
    name: str,
    *,
    namespace: str,
    wanted: app_state.WaitFor,
    deadline: app_access.Deadline,
    show: Progress,
    interval: float = POLL_SECONDS,
    resources: Sequence[request.ResourceFilter] = (),
) -> Outcome:
    """Poll until every condition of ``wanted`` holds (or the app is gone); with
    ``resources``, sync and health are those resources' (``app_state.unmet``)."""
    last: Obj | None = None
    missing: tuple[str, ...] = ()
    try:
        async for app in apps.poll(name, namespace=namespace, interval=interval):
            if app is None:
                return Outcome(None, None, missing=("the application was deleted",))
            last = app
            missing = tuple(app_state.unmet(app, wanted, resources=resources))
            show.update(app, None, missing)
            if not missing:
                return Outcome(app, app_state.operation_state(app))
            if deadline.passed():
                break
    finally:
        show.close()
    return Outcome(last, None, timed_out=True, missing=missing)


async def wait_gone(
    apps: app_access.Apps,
    name: str,
    *,
    namespace: str,
    deadline: app_access.Deadline,
    interval: float,
) -> bool:
    """True once the app no longer exists; False at the deadline."""
    async for app in apps.poll(name, namespace=namespace, interval=interval):
        if app is None:
            return True
        if deadline.passed():
            return False
    return False  # pragma: no cover - poll never ends by itself


SETTLE_SECONDS = 3.0


async def wait_refreshed(
    apps: app_access.Apps,
    name: str,
    *,
    namespace: str,
    before: Obj,
    deadline: app_access.Deadline,
    interval: float = POLL_SECONDS,
) -> Outcome:
    """Poll until the controller has handled a refresh request made after ``before``.

    Done when ``status.reconciledAt`` changes; also when the controller has removed the
    refresh annotation and ``reconciledAt`` stays put for :data:`SETTLE_SECONDS` (a
    controller may skip status writes that would change only timestamps).
    """
    import asyncio

    from tidegate.model import constants

    loop = asyncio.get_running_loop()
    old = app_state.status(before).get("reconciledAt")
    cleared_at: float | None = None
    last: Obj | None = None
    async for app in apps.poll(name, namespace=namespace, interval=interval):
        if app is None:
            return Outcome(None, None)
        last = app
        if app_state.status(app).get("reconciledAt") != old:
            return Outcome(app, None)
        annotations = (app.get("metadata") or {}).get("annotations") or {}
        if constants.ANNOTATION_REFRESH not in annotations:
            cleared_at = cleared_at if cleared_at is not None else loop.time()
            if loop.time() - cleared_at >= SETTLE_SECONDS:
                return Outcome(app, None)
        if deadline.passed():
            break
    return Outcome(last, None, timed_out=True, missing=("refresh not handled by the controller",))
