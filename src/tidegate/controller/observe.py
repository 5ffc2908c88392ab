"""What follows a change of an app's stored copy: its Events, its sync counters, listeners.

The engine gives :class:`AppObserver` to :class:`~tidegate.controller.appstate.AppStates`, which
calls it with the copy before and the new one every time a newer copy is stored (watch events
and the answers to the controller's own writes). It must stay cheap and never wait: events go
to the recorder's queue, listeners (notifications) only queue work of their own.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from typing import Any

from tidegate.controller import events, metrics
from tidegate.kube import events as kube_events
from tidegate.metrics import families as metric_families

log = logging.getLogger("tidegate.controller")

Listener = Callable[[dict[str, Any] | None, dict[str, Any]], None]


def _seconds(start: object, end: object) -> float:
    try:
        began = dt.datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        ended = dt.datetime.fromisoformat(str(end).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (ended - began).total_seconds())


class AppObserver:
    def __init__(
        self, *, control_namespace: str, recorder: kube_events.EventRecorder | None
    ) -> None:
        self._namespace = control_namespace
        self._recorder = recorder
        self.listeners: list[Listener] = []

    def __call__(self, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
        try:
            self._count(before, after)
            if self._recorder is not None:
                for spec in events.app_events(before, after):
                    self._recorder.record(after, spec)
        except Exception:  # an observer never breaks the write that stored the copy
            log.exception("observing a change of an application failed")
        for listener in self.listeners:
            try:
                listener(before, after)
            except Exception:
                log.exception("a listener of application changes failed")

    def _count(self, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> None:
        if not events.completed(before, after):
            return
        namespace, name, project, dest = metrics.app_identity(after, self._namespace)
        state = events.operation_state(after)
        sync = (state.get("operation") or {}).get("sync") or {}
        metric_families.APP_SYNC_TOTAL.labels(
            namespace,
            name,
            project,
            dest,
            str(state.get("phase")),
            "true" if sync.get("dryRun") else "false",
        ).inc()
        metric_families.APP_SYNC_DURATION.labels(namespace, name, project, dest).inc(
            _seconds(state.get("startedAt"), state.get("finishedAt"))
        )
