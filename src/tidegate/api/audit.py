"""``GET /api/v1/audit``: the audit log, filtered and paged (Tidegate's; Argo CD has none).

Filters (all optional, exact matches, each a bound query parameter): ``actor``, ``action``,
``kind``, ``app`` (an object name of any kind; ``name`` is the same), ``project``, ``result``
(allowed|denied|succeeded|failed), ``since`` and ``until`` (RFC 3339). Newest first; ``limit``
(default 100, at most 1000) and ``continue`` (the token of the previous page). Needs
``audit, get, *`` (in the built-in ``role:admin``). There is no way to change or delete an
entry through the API; retention is the server's ``--audit-retention-days``.
"""

from __future__ import annotations

import asyncio
import datetime
from typing import Annotated, Any

import fastapi
from starlette.requests import Request

from tidegate.api import context, errors, security
from tidegate.auth import access
from tidegate.store import audit

router = fastapi.APIRouter(tags=["AuditService"])


def _time(value: str, what: str) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.ApiError(400, f"{what} must be an RFC 3339 time, not {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


@router.get("/api/v1/audit", summary="Query the audit log")
async def list_audit(
    request: Request,
    subject: access.Subject = security.Subject,
    actor: str = "",
    action: str = "",
    kind: str = "",
    app: str = "",
    name: str = "",
    project: str = "",
    result: str = "",
    since: str = "",
    until: str = "",
    limit: int = 100,
    continue_: Annotated[str, fastapi.Query(alias="continue")] = "",
) -> Any:
    security.authorize(subject, "audit", "get", "*")
    log = context.of(request).audit
    if log is None:
        raise errors.ApiError(503, "this server keeps no audit log")
    if result and result not in audit.RESULTS:
        raise errors.ApiError(400, f"result must be one of {', '.join(audit.RESULTS)}")
    if continue_ and not continue_.isdigit():
        raise errors.ApiError(400, "continue is not a token of this list")
    flt = audit.Filter(
        actor=actor,
        action=action,
        kind=kind,
        name=app or name,
        project=project,
        result=result,
        since=_time(since, "since"),
        until=_time(until, "until"),
    )
    limit = max(1, min(limit or 100, 1000))
    rows = await asyncio.to_thread(log.query, flt, limit=limit, before_id=int(continue_ or 0))
    meta: dict[str, Any] = {}
    if len(rows) == limit:
        meta["continue"] = str(rows[-1]["id"])
    return {"items": [audit.row_json(r) for r in rows], "metadata": meta}
