"""Status writes: compute exactly what changed in ``Application.status`` and write only that.

Refreshes produce a status *patch* (:mod:`tidegate.controller.appstatus`): the fields they own,
``None`` for a field to remove. The API server applies a JSON merge patch (RFC 7386) deeply, so
the status the app will have is ``merged(current, patch)``; :func:`changes` turns that back into
the smallest merge patch from the current status: changed values, nulls for removed keys at any
depth, lists replaced whole. A patch that changes nothing is not sent; one that changes only
timestamps is sent at most once per resync period, so an idle fleet costs no writes.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tidegate.controller import appstate
from tidegate.model import errors

log = logging.getLogger("tidegate.controller")

TIMESTAMPS = ("reconciledAt", "observedAt")


def merged(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """``target`` after the merge patch ``patch``, as the API server applies it (RFC 7386)."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping):
            base = out.get(key)
            out[key] = merged(base if isinstance(base, Mapping) else {}, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def diff(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest merge patch that turns ``current`` into ``wanted``."""
    patch: dict[str, Any] = {}
    for key in current.keys() - wanted.keys():
        patch[key] = None
    for key, value in wanted.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            sub = diff(old, value)
            if sub:
                patch[key] = sub
        elif key not in current or old != value:
            patch[key] = value
    return patch


def changes(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """What ``patch`` really changes in ``current`` (see the module docstring): the same as
    ``diff(current, merged(current, patch))``, without copying what does not change (a no-op
    refresh pass asks this of every app)."""
    out: dict[str, Any] = {}
    for key, value in patch.items():
        if value is None:
            if key in current:
                out[key] = None
            continue
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            sub = changes(old, value)
            if sub:
                out[key] = sub
            continue
        new = merged({}, value) if isinstance(value, Mapping) else value
        if key not in current or old != new:
            out[key] = new if isinstance(value, Mapping) else copy.deepcopy(value)
    return out


def only_timestamps(patch: Mapping[str, Any]) -> bool:
    return all(key in TIMESTAMPS for key in patch)


class StatusWriter:
    """Writes the status patches of refreshes, keeping each app's stored copy current."""

    def __init__(
        self,
        *,
        patch: Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]],
        resync_seconds: float,
    ) -> None:
        self._patch = patch  # a merge patch of the Application, answering the stored object
        self._resync = resync_seconds

    async def write(self, state: appstate.AppState, status: Mapping[str, Any]) -> None:
        current = state.raw.get("status") or {}
        patch = changes(current, status)
        if not patch:
            return
        last = state.last_status_write
        fresh = last is not None and time.monotonic() - last < self._resync
        if fresh and only_timestamps(patch):
            return
        try:
            updated = await self._patch(state.name, {"status": patch})
        except errors.KubeNotFoundError:
            return
        except errors.KubeError as exc:
            log.warning("app %s: status write failed: %s", state.name, exc)
            return
        state.last_status_write = time.monotonic()
        state.store(updated, own_write=True)
