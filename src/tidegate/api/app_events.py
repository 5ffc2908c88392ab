"""Kubernetes Events for the changes users make to Applications through the API, as Argo CD's
API server emits them: ``ResourceCreated`` ``<user> created application``, ``ResourceUpdated``
``<user> updated application`` (``... application spec`` for ``PUT .../spec``),
``ResourceDeleted`` ``<user> deleted application``; source component ``tidegate-server``,
annotations ``user``, ``dest-server``, ``dest-namespace`` (the Event builder is the
controller's, :func:`tidegate.controller.journal.event`). Operations are told by the
controller (``OperationStarted``/``OperationCompleted``). A failed write is logged only.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from tidegate.controller import journal

log = logging.getLogger(__name__)
COMPONENT = "tidegate-server"
_REASONS = {
    "create": ("ResourceCreated", "created application"),
    "update": ("ResourceUpdated", "updated application"),
    "delete": ("ResourceDeleted", "deleted application"),
}


def app_event(
    action: str, path: str, app: Mapping[str, Any], *, actor: str, now: datetime.datetime
) -> dict[str, Any] | None:
    """The Event for a succeeded ``action`` on ``app`` through ``path``; None for others. Pure."""
    if action not in _REASONS or not (app.get("metadata") or {}).get("name"):
        return None
    reason, text = _REASONS[action]
    if action == "update" and path.rstrip("/").endswith("/spec"):
        text += " spec"
    user = actor or "Unknown user"
    return journal.event(
        app,
        reason=reason,
        kind="Normal",
        message=f"{user} {text}",
        user=actor,
        now=now,
        component=COMPONENT,
    )


async def emit(client: Any, event: dict[str, Any]) -> None:
    try:
        await client.create(event)
    except Exception as exc:
        log.warning("event %s not written: %s", event["metadata"]["name"], exc)
