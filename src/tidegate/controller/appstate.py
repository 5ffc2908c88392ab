"""One record per Application: everything the controller remembers about an app, in one place.

An :class:`AppState` is created when the app is first seen (watch or relist) and dropped whole
when it is deleted: its stored copy, the fingerprint that decides whether a change needs a
refresh, the last comparison, the running operation and the event that wakes it, the self-heal
backoff and the time of the last status write. Nothing about an app lives anywhere else, so
deleting an app leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tidegate.controller import compare as cmp
from tidegate.controller import memo as resource_memo
from tidegate.controller import passmemo
from tidegate.model import constants

# Told of every new stored copy of an app: (the copy before, or None on first sight; the new one).
Observer = Callable[[dict[str, Any] | None, dict[str, Any]], None]


def fingerprint(obj: Mapping[str, Any]) -> str:
    """What in an Application, when changed, needs a refresh (not our own status writes)."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    relevant = {
        "spec": obj.get("spec"),
        "operation": obj.get("operation"),
        "refresh": annotations.get(constants.ANNOTATION_REFRESH),
        "approved": annotations.get(constants.ANNOTATION_DELETION_APPROVED),
        "deleting": meta.get("deletionTimestamp"),
        "terminating": ((obj.get("status") or {}).get("operationState") or {}).get("phase")
        == "Terminating",
    }
    return json.dumps(relevant, sort_keys=True, default=str)


def older(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether ``candidate`` is an older version of the app than ``current``.

    The stored copy is fed by the watch and by the responses to our own writes, which arrive in
    no fixed order: a late watch event or a late response must not put back an older copy (one
    still carrying a finished ``operation``, or not yet carrying a new one, which then waited
    for the next poll). resourceVersions are etcd revisions; when they are not integers, the
    candidate is taken as newer.
    """
    if current is None:
        return False
    try:
        new, old = int(version(candidate)), int(version(current))
    except ValueError:
        return False
    return new < old


def version(obj: Mapping[str, Any] | None) -> str:
    """The app copy's ``metadata.resourceVersion`` ("" when it has none)."""
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def precondition(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ``metadata`` of a merge patch bound to ``obj``'s version: the API server refuses
    the write (409) once the app has changed since (a copy without one: unbound)."""
    return {"resourceVersion": version(obj) or None}


def stamped_at(
    obj: Mapping[str, Any],
    *,
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> float | None:
    """The monotonic time at which the stored status was stamped (its ``reconciledAt``), None
    when it has none. A controller that starts over a fleet thus knows which statuses were
    stamped within the resync period and writes no timestamp-only change to them (cold start:
    no write at all for an app whose comparison did not change)."""
    text = (obj.get("status") or {}).get("reconciledAt")
    if not isinstance(text, str):
        return None
    try:
        at = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return monotonic() - max(0.0, wall() - at.timestamp())


@dataclasses.dataclass(eq=False)
class AppState:
    """What the controller knows about one app."""

    name: str
    raw: dict[str, Any]  # the newest copy seen (watch events and the answers to our writes)
    fingerprint: str = ""
    comparison: cmp.Comparison | None = None  # the last successful comparison
    operation: asyncio.Task[None] | None = None  # the running operation, if any
    # Set on any change of the app or of its live resources: a waiting operation step re-checks.
    wake: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    self_heal_attempts: int = 0
    self_heal_next_at: float = 0.0  # monotonic time before which self-heal waits
    last_status_write: float | None = None  # monotonic time; None: never (or a refresh asked)
    observer: Observer | None = None  # events, metrics and notifications of changes
    # ``raw`` is the API server's answer to this controller's own last write (not a watch
    # event since): as new as anything the server had then (operate.load need not read it).
    own_write: bool = False
    # Each resource's last diff and health with their inputs: a no-op refresh reuses them.
    memo: resource_memo.ResourceMemo = dataclasses.field(default_factory=resource_memo.ResourceMemo)
    # The last no-op pass's comparison and status with their inputs: reused whole while equal.
    passes: passmemo.PassMemo = dataclasses.field(default_factory=passmemo.PassMemo)

    def operating(self) -> bool:
        return self.operation is not None and not self.operation.done()

    def store(
        self, obj: dict[str, Any], *, refingerprint: bool = False, own_write: bool = False
    ) -> bool:
        """Keep ``obj`` unless it is older than the stored copy; True when kept.
        ``own_write``: ``obj`` is the answer to our own write."""
        if older(obj, self.raw):
            return False
        # The watch's echo of our own write is that same version: still the newest there is.
        echo = self.own_write and version(obj) == version(self.raw)
        self.own_write = own_write or echo
        before, self.raw = self.raw, obj
        if self.observer is not None and before is not obj:
            self.observer(before, obj)
        if refingerprint:
            self.fingerprint = fingerprint(obj)
        return True


class AppStates:
    """The records of all apps of the control namespace, by name."""

    def __init__(self, observer: Observer | None = None) -> None:
        self._by_name: dict[str, AppState] = {}
        self._observer = observer

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[AppState]:
        return iter(list(self._by_name.values()))

    def names(self) -> list[str]:
        return list(self._by_name)

    def get(self, name: str) -> AppState | None:
        return self._by_name.get(name)

    def raws(self) -> dict[str, dict[str, Any]]:
        """Every app's stored copy, by name (a new dict: safe to iterate while apps change)."""
        return {name: state.raw for name, state in self._by_name.items()}

    def seen(self, name: str, obj: dict[str, Any]) -> tuple[AppState, bool] | None:
        """Record a copy from the watch. Returns the record and whether the app changed in a
        way that needs a refresh (a new fingerprint); None when ``obj`` is older than what is
        stored."""
        state = self._by_name.get(name)
        if state is None:
            state = AppState(name, obj, observer=self._observer)
            state.last_status_write = stamped_at(obj)  # a restart: when the status was written
            self._by_name[name] = state
            if self._observer is not None:
                self._observer(None, obj)
        elif not state.store(obj):
            return None
        new = fingerprint(obj)
        changed = new != state.fingerprint
        state.fingerprint = new
        return state, changed

    def drop(self, name: str) -> AppState | None:
        """Forget the app entirely; its running operation is cancelled."""
        state = self._by_name.pop(name, None)
        if state is not None:
            if state.operation is not None:
                state.operation.cancel()
            state.wake.set()
        return state
