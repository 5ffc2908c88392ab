"""Sync windows (AppProject ``spec.syncWindows``): is a sync allowed at a given time?

Semantics (Argo CD's "Sync Windows" documentation):

- a window applies to an app when the app's name matches one of ``applications``, its
  destination namespace one of ``namespaces``, or its destination server or name one of
  ``clusters`` (shell globs); with ``andOperator: true`` every non-empty list must match;
- a window is active from each time its cron ``schedule`` fires (in ``timeZone``, default UTC)
  for ``duration``;
- with no matching windows, syncs are allowed; an active deny window blocks syncs (it wins over
  active allow windows), an active allow window permits them, and when allow windows match but
  none is active, syncs are blocked;
- ``manualSync: true`` lets manual syncs through: through active deny windows if all of them
  allow it, and outside allow windows if one of the inactive ones allows it;
- ``syncOverrun: true`` lets a sync that is already running continue: through a deny window
  that became active after the sync started, and past the end of an allow window that was
  active when it started (the controller re-checks the windows while an operation runs).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import croniter

from tidegate.model import durations, errors, globs

_MAX_SCAN = 1000


@dataclasses.dataclass(frozen=True)
class SyncWindow:
    kind: Literal["allow", "deny"]
    schedule: str
    duration: float
    applications: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    manual_sync: bool = False
    time_zone: str = "UTC"
    and_operator: bool = False
    sync_overrun: bool = False

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> SyncWindow:
        kind = spec.get("kind")
        if kind not in ("allow", "deny"):
            raise errors.SpecError(f"sync window kind must be allow or deny, not {kind!r}")
        schedule = str(spec.get("schedule") or "")
        if not croniter.croniter.is_valid(schedule):
            raise errors.SpecError(f"sync window schedule {schedule!r} is not a valid cron")
        zone = str(spec.get("timeZone") or "UTC")
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise errors.SpecError(f"sync window timeZone {zone!r} is unknown") from None
        for field in ("applications", "namespaces", "clusters"):
            for pattern in spec.get(field) or ():
                globs.compile_glob(str(pattern))  # a malformed pattern is a SpecError now
        return cls(
            kind=kind,
            schedule=schedule,
            duration=durations.parse(str(spec.get("duration") or "")),
            applications=tuple(spec.get("applications") or ()),
            namespaces=tuple(spec.get("namespaces") or ()),
            clusters=tuple(spec.get("clusters") or ()),
            manual_sync=bool(spec.get("manualSync", False)),
            time_zone=zone,
            and_operator=bool(spec.get("andOperator", False)),
            sync_overrun=bool(spec.get("syncOverrun", False)),
        )

    def matches(self, app: AppRef) -> bool:
        checks = []
        if self.applications:
            checks.append(_any_glob(self.applications, [app.name]))
        if self.namespaces:
            checks.append(_any_glob(self.namespaces, [app.namespace]))
        if self.clusters:
            checks.append(_any_glob(self.clusters, [app.server, app.cluster_name]))
        if not checks:
            return False
        return all(checks) if self.and_operator else any(checks)

    def _last_start(self, now: dt.datetime) -> dt.datetime:
        local = now.astimezone(zoneinfo.ZoneInfo(self.time_zone))
        # croniter's get_prev is strict; step a microsecond ahead so a start at `now` counts.
        return croniter.croniter(self.schedule, local + dt.timedelta(microseconds=1)).get_prev(
            dt.datetime
        )

    def active(self, now: dt.datetime) -> bool:
        start = self._last_start(now)
        return start <= now < start + dt.timedelta(seconds=self.duration)

    def overrun_by(self, started: dt.datetime | None, now: dt.datetime) -> bool:
        """Whether a sync that started at ``started`` may run on at ``now`` despite this window
        (``syncOverrun``): a deny window active now that became active after the sync started,
        or an allow window that was active when it started."""
        if not self.sync_overrun or started is None:
            return False
        if self.kind == "deny":
            return started < self._last_start(now)
        return self.active(started)

    def boundaries_after(self, now: dt.datetime) -> list[dt.datetime]:
        """The next start and end of this window after ``now``."""
        local = now.astimezone(zoneinfo.ZoneInfo(self.time_zone))
        nxt = croniter.croniter(self.schedule, local).get_next(dt.datetime)
        out = [nxt, nxt + dt.timedelta(seconds=self.duration)]
        end = self._last_start(now) + dt.timedelta(seconds=self.duration)
        if end > now:
            out.append(end)
        return out


@dataclasses.dataclass(frozen=True)
class AppRef:
    name: str
    namespace: str = ""  # destination namespace
    server: str = ""  # destination server URL
    cluster_name: str = ""  # destination cluster name


@dataclasses.dataclass(frozen=True)
class WindowVerdict:
    allowed: bool
    matched: tuple[SyncWindow, ...]
    active: tuple[SyncWindow, ...]
    next_change: dt.datetime | None  # when ``allowed`` next flips (None: not within the scan)


def _any_glob(patterns: Sequence[str], values: Sequence[str]) -> bool:
    return any(globs.matches(p, v) for p in patterns for v in values if v)


def _allowed(
    windows: Sequence[SyncWindow],
    now: dt.datetime,
    *,
    manual: bool,
    started: dt.datetime | None = None,
) -> bool:
    if not windows:
        return True
    active = [w for w in windows if w.active(now)]
    denies = [w for w in active if w.kind == "deny"]
    if denies:
        return all((manual and w.manual_sync) or w.overrun_by(started, now) for w in denies)
    if any(w.kind == "allow" for w in active):
        return True
    inactive_allows = [w for w in windows if w.kind == "allow" and w not in active]
    if inactive_allows:
        return any(
            (manual and w.manual_sync) or w.overrun_by(started, now) for w in inactive_allows
        )
    return True


def evaluate(
    windows: Sequence[SyncWindow],
    app: AppRef,
    now: dt.datetime,
    *,
    manual: bool = False,
    started: dt.datetime | None = None,
) -> WindowVerdict:
    """Whether ``app`` may sync at ``now`` (timezone-aware), and when that changes next;
    ``started``: when the sync being checked started (a running one, for ``syncOverrun``)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    matched = tuple(w for w in windows if w.matches(app))
    allowed = _allowed(matched, now, manual=manual, started=started)
    active = tuple(w for w in matched if w.active(now))
    change = _next_change(matched, now, allowed, manual, started)
    return WindowVerdict(allowed, matched, active, change)


def _next_change(
    windows: Sequence[SyncWindow],
    now: dt.datetime,
    allowed: bool,
    manual: bool,
    started: dt.datetime | None = None,
) -> dt.datetime | None:
    if not windows:
        return None
    cursor = now
    for _ in range(_MAX_SCAN):
        candidates = [b for w in windows for b in w.boundaries_after(cursor) if b > cursor]
        if not candidates:
            return None
        cursor = min(candidates)
        if _allowed(windows, cursor, manual=manual, started=started) != allowed:
            return cursor.astimezone(now.tzinfo)
    return None
