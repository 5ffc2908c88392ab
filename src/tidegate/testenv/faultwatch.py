"""The fault suite's status recorder: every state of the Applications, seen through a watch.

:class:`StatusRecorder` watches the control namespace's Applications from a thread,
reconnecting (and relisting) through any break, such as the management API server restarting,
and keeps every sync/health/operation state seen. From them a test asks whether a status
flapped or changed while a fault lasted, which operations are running now, and which operations
were seen starting and never ending (lost).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Iterable
from typing import Any

import httpx

from tidegate.testenv import scenario

TERMINAL = ("Succeeded", "Failed", "Error")


@dataclasses.dataclass(frozen=True)
class Seen:
    """One state of an app, as a watch event (or a relist) showed it."""

    at: float
    name: str
    sync: str
    health: str
    revision: str
    phase: str
    started_at: str
    message: str = ""


def _seen(app: dict[str, Any]) -> Seen:
    status = app.get("status") or {}
    sync = status.get("sync") or {}
    operation = status.get("operationState") or {}
    return Seen(
        at=time.monotonic(),
        name=str(app["metadata"]["name"]),
        sync=str(sync.get("status") or ""),
        health=str((status.get("health") or {}).get("status") or ""),
        revision=str(sync.get("revision") or ""),
        phase=str(operation.get("phase") or ""),
        started_at=str(operation.get("startedAt") or ""),
        message=str(operation.get("message") or "")[:200],
    )


class StatusRecorder:
    """Every state of the control namespace's Applications, from a watch (relisted after any
    break, e.g. the management API server restarting)."""

    def __init__(self, ops: scenario.GitOps) -> None:
        self.ops = ops
        self.seen: list[Seen] = []
        self.breaks = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StatusRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=20)

    def _record(self, app: dict[str, Any]) -> None:
        with self._lock:
            self.seen.append(_seen(app))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.ops.bed.admin_client("mgmt", timeout=10) as client:
                    self._watch(client)
            except (httpx.HTTPError, OSError, ValueError, KeyError):
                self.breaks += 1
                self._stop.wait(0.5)  # the API server is down: try again shortly

    def _watch(self, client: httpx.Client) -> None:
        resp = client.get(self.ops.app_path())
        resp.raise_for_status()
        listed = resp.json()
        for app in listed["items"]:
            self._record(app)
        params = {
            "watch": "1",
            "resourceVersion": listed["metadata"]["resourceVersion"],
            "timeoutSeconds": "60",
        }
        timeout = httpx.Timeout(10, read=5)  # ends a watch of a dead server within seconds
        with client.stream("GET", self.ops.app_path(), params=params, timeout=timeout) as stream:
            for line in _lines(stream, self._stop):
                event = json.loads(line)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self._record(event["object"])
                elif event.get("type") == "ERROR":
                    return

    def mark(self) -> float:
        return time.monotonic()

    def window(self, start: float, end: float | None = None) -> dict[str, list[Seen]]:
        """Per app, its last state before ``start`` and every state seen until ``end``."""
        with self._lock:
            seen = list(self.seen)
        out: dict[str, list[Seen]] = {}
        for item in seen:
            if end is not None and item.at > end:
                continue
            states = out.setdefault(item.name, [])
            if item.at < start:
                states[:] = [item]
            else:
                states.append(item)
        return out

    def flapped(self, start: float, end: float, names: Iterable[str]) -> list[str]:
        """Apps of ``names`` whose sync or health status changed more than once between
        ``start`` and ``end`` (a fault may change a status once, e.g. to Unknown, and must
        then hold it), with the sequence seen."""
        window = self.window(start, end)
        out = []
        for name in names:
            statuses = [(s.sync, s.health) for s in window.get(name, [])]
            changes = [b for a, b in itertools.pairwise(statuses) if a != b]
            if len(changes) > 1:
                out.append(f"{name}: {statuses[0]} then {changes}")
        return out

    def relapsed(self, start: float, end: float, names: Iterable[str]) -> list[str]:
        """Apps of ``names`` that, once seen Synced at a revision, were later seen out of
        Synced at that same revision (or with none) between ``start`` and ``end``: a status
        that flaps while Git did not change, for phases that push commits (where leaving
        Synced for a new revision is the truth)."""
        window = self.window(start, end)
        out = []
        for name in names:
            synced_at: str | None = None
            for state in window.get(name, []):
                if state.sync == "Synced":
                    synced_at = state.revision
                elif synced_at is not None and state.revision in (synced_at, ""):
                    out.append(f"{name}: Synced at {synced_at[:10]}, then {state.sync} at "
                               f"{state.revision[:10] or 'no revision'}")  # fmt: skip
                    break
                else:
                    synced_at = None  # a new revision: out of sync until synced to it
        return out

    def changed(self, start: float, end: float, names: Iterable[str]) -> list[str]:
        """Apps of ``names`` whose sync or health status changed at all in the window."""
        window = self.window(start, end)
        out = []
        for name in names:
            statuses = {(s.sync, s.health) for s in window.get(name, [])}
            if len(statuses) > 1:
                out.append(f"{name}: {sorted(statuses)}")
        return out

    def operations_started(self, start: float, names: Iterable[str]) -> dict[str, set[str]]:
        """The ``startedAt`` of every operation seen running after ``start``, per app."""
        window = self.window(start)
        wanted = set(names)
        out: dict[str, set[str]] = {}
        for name, states in window.items():
            if name in wanted:
                out[name] = {s.started_at for s in states[1:] if s.started_at} - {
                    states[0].started_at
                }
        return out

    def running(self) -> list[str]:
        """Apps whose latest state seen has an operation Running."""
        latest = self.window(time.monotonic())
        return sorted(name for name, states in latest.items() if states[-1].phase == "Running")

    def operations(self, name: str) -> list[str]:
        """Every operation of app ``name`` seen, in order: its ``startedAt``, the phases it went
        through and its last message (what a failure report needs to explain a broken promise)."""
        with self._lock:
            seen = [s for s in self.seen if s.name == name and s.started_at]
        phases: dict[str, list[str]] = {}
        messages: dict[str, str] = {}
        for item in seen:
            got = phases.setdefault(item.started_at, [])
            if not got or got[-1] != item.phase:
                got.append(item.phase)
            messages[item.started_at] = item.message
        return [f"{at}: {'>'.join(p)} ({messages[at]})" for at, p in phases.items()]

    def unfinished(self, history: Iterable[tuple[str, str]] = ()) -> list[str]:
        """Operations seen that never showed an end (lost), as ``app@startedAt``; an end is a
        terminal phase seen, or an entry of ``history`` (app, ``deployStartedAt``) when the
        recorder missed the last write (it relists after a break)."""
        with self._lock:
            seen = list(self.seen)
        started = {(s.name, s.started_at) for s in seen if s.started_at}
        ended = {(s.name, s.started_at) for s in seen if s.started_at and s.phase in TERMINAL}
        return sorted(f"{name}@{at}" for name, at in started - ended - set(history))


def _lines(stream: httpx.Response, stop: threading.Event) -> Iterable[str]:
    with contextlib.suppress(httpx.ReadTimeout):
        for line in stream.iter_lines():
            if stop.is_set():
                return
            if line.strip():
                yield line
