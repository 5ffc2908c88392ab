"""What the controller tells about each operation it runs: a Kubernetes Event on the
Application, as Argo CD's controller and API server emit them, and an entry in the audit log.

Events (core/v1, in the Application's namespace, name ``<app>.<hex nanoseconds>``, source
component ``tidegate-application-controller``, annotations ``dest-server``, ``dest-namespace``
and ``user``):

- ``OperationStarted`` (Normal): ``Initiated automated sync to '<revision>'`` for an automated
  sync; ``<user> initiated sync to <revision>`` (``partial sync`` with ``resources``) for one a
  user requested, the user being ``operation.initiatedBy.username``.
- ``OperationCompleted``: ``Sync operation to <revision> succeeded`` (Normal) or ``... failed:
  <message>`` (Warning); ``Partial sync operation`` with ``resources``. Dry runs emit none.

Audit entry (when the controller has an audit log): actor = ``initiatedBy.username``
(``tidegate-controller`` for automated syncs), action ``sync``, the Application (project,
name, namespace), result ``succeeded``/``failed``, reason = the completion message and the
revision before and after. Failing to write either is logged; it never fails the operation.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections.abc import Mapping
from typing import Any

from tidegate.kube import client as kube_client
from tidegate.kube import events as kube_events
from tidegate.store import audit

log = logging.getLogger("tidegate.controller")
COMPONENT = "tidegate-application-controller"
STARTED = "OperationStarted"
COMPLETED = "OperationCompleted"
CONTROLLER_ACTOR = "tidegate-controller"
CLOSE_GRACE_SECONDS = 2.0  # queued events a stopping controller still writes


def _m(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def initiator(operation: Mapping[str, Any]) -> tuple[str, bool]:
    """(user name, automated) of an operation."""
    by = _m(operation.get("initiatedBy"))
    automated = bool(by.get("automated"))
    user = str(by.get("username") or "")
    return (user or (CONTROLLER_ACTOR if automated else "Unknown user")), automated


def _revision(operation: Mapping[str, Any], app: Mapping[str, Any]) -> str:
    sync = _m(operation.get("sync"))
    revisions = sync.get("revisions")
    if isinstance(revisions, list) and revisions:
        return ", ".join(str(r) for r in revisions)
    source = _m(_m(app.get("spec")).get("source"))
    return str(sync.get("revision") or source.get("targetRevision") or "HEAD")


def _partial(operation: Mapping[str, Any]) -> bool:
    return bool(_m(operation.get("sync")).get("resources"))


def started_message(operation: Mapping[str, Any], app: Mapping[str, Any]) -> str:
    user, automated = initiator(operation)
    revision = _revision(operation, app)
    if automated:
        return f"Initiated automated sync to '{revision}'"
    return f"{user} initiated {'partial ' if _partial(operation) else ''}sync to {revision}"


def completed_message(
    operation: Mapping[str, Any], *, succeeded: bool, message: str, revision: str
) -> str:
    words = ["Partial sync operation" if _partial(operation) else "Sync operation"]
    if revision:
        words += ["to", revision]
    words += ["succeeded"] if succeeded else ["failed:", message]
    return " ".join(words)


def event(
    app: Mapping[str, Any],
    *,
    reason: str,
    kind: str,
    message: str,
    user: str,
    now: datetime.datetime,
    component: str = COMPONENT,
) -> dict[str, Any]:
    """The core/v1 Event about ``app`` (from ``component``). Pure."""
    meta = _m(app.get("metadata"))
    dest = _m(_m(app.get("spec")).get("destination"))
    name = str(meta.get("name") or "")
    stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    annotations = {
        "dest-server": str(dest.get("server") or ""),
        "dest-namespace": str(dest.get("namespace") or ""),
    }
    if user:
        annotations["user"] = user
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{name}.{int(now.timestamp() * 1e9):x}",
            "namespace": str(meta.get("namespace") or ""),
            "annotations": annotations,
        },
        "involvedObject": {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "name": name,
            "namespace": str(meta.get("namespace") or ""),
            "uid": str(meta.get("uid") or ""),
            "resourceVersion": str(meta.get("resourceVersion") or ""),
        },
        "source": {"component": component},
        "reason": reason,
        "type": kind,
        "message": message,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def audit_entry(
    app: Mapping[str, Any],
    operation: Mapping[str, Any],
    *,
    succeeded: bool,
    message: str,
    revision: str,
) -> audit.Entry:
    """The audit entry of a finished operation. Pure."""
    meta = _m(app.get("metadata"))
    user, _ = initiator(operation)
    before = str(_m(_m(app.get("status")).get("sync")).get("revision") or "")
    reason = completed_message(
        operation, succeeded=succeeded, message=message, revision=revision
    ) + (f" (revision before: {before})" if before and before != revision else "")
    return audit.Entry(
        actor=user,
        action="sync",
        result="succeeded" if succeeded else "failed",
        kind="Application",
        project=str(_m(app.get("spec")).get("project") or ""),
        name=str(meta.get("name") or ""),
        namespace=str(meta.get("namespace") or ""),
        client=COMPONENT,
        reason=reason,
    )


class Journal:
    """Writes the events (through the management cluster) and the audit entries."""

    def __init__(self, *, mgmt: kube_client.KubeClient, audit_url: str = "") -> None:
        self.mgmt = mgmt
        self.audit = audit.AuditLog(audit_url) if audit_url else None
        # Written in order by a background task: an operation never waits for its events
        # (two management-cluster writes per sync, on the cold sync's critical path: issue 18).
        self._writer = kube_events.EventRecorder(mgmt, component=COMPONENT)

    async def aclose(self) -> None:
        await self._writer.aclose(grace=CLOSE_GRACE_SECONDS)
        if self.audit is not None:
            self.audit.close()

    async def flush(self) -> None:
        """Wait until the queued events are written (tests)."""
        await self._writer.flush()

    async def _emit(self, obj: dict[str, Any]) -> None:
        self._writer.enqueue(obj)

    async def started(self, app: Mapping[str, Any]) -> None:
        operation = _m(app.get("operation"))
        if not operation.get("sync") or _m(operation.get("sync")).get("dryRun"):
            return
        user, _ = initiator(operation)
        message = started_message(operation, app)
        await self._emit(
            event(app, reason=STARTED, kind="Normal", message=message, user=user, now=_now())
        )

    async def ended(
        self,
        app: Mapping[str, Any],
        operation: Mapping[str, Any],
        *,
        succeeded: bool,
        message: str,
        revision: str,
    ) -> None:
        if not operation.get("sync") or _m(operation.get("sync")).get("dryRun"):
            return
        user, _ = initiator(operation)
        text = completed_message(operation, succeeded=succeeded, message=message, revision=revision)
        kind = "Normal" if succeeded else "Warning"
        done = event(app, reason=COMPLETED, kind=kind, message=text, user=user, now=_now())
        await self._emit(done)
        if self.audit is None:
            return
        entry = audit_entry(app, operation, succeeded=succeeded, message=message, revision=revision)
        started = time.monotonic()
        try:
            await asyncio.to_thread(self.audit.append, entry)
        except Exception as exc:
            log.error("audit entry of %s's sync not written: %s", entry.name, exc)
            return
        log.debug("audit entry written in %.1f ms", (time.monotonic() - started) * 1000)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
