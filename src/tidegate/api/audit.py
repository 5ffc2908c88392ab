"""``GET /api/v1/audit``: the audit log, filtered and paged (Tidegate's; Argo CD has none).

Filters (all optional, exact matches, each a bound query parameter): ``actor``, ``action``,
``kind``, ``app`` (an object name of any kind; ``name`` is the same), ``project``, ``result``
(allowed|denied|succeeded|failed), ``since`` and ``until`` (RFC 3339). Newest first; ``limit``
(default 100, at most 1000) and ``continue`` (the token of the previous page). Needs
``audit, get, *`` (in the built-in ``role:admin``). There is no way to change or delete an
entry through the API; retention is the server's ``--audit-retention-days``.

``GET /api/v1/audit/export`` takes the same filters and streams every matching entry as JSON
lines (``application/x-ndjson``), for a security team's tools.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import fastapi
from starlette.requests import Request
from starlette.responses import StreamingResponse

from tidegate.api import context, errors, security
from tidegate.auth import access
from tidegate.store import audit

router = fastapi.APIRouter(tags=["AuditService"])
EXPORT_PAGE = 1000


def _time(value: str, what: str) -> datetime.datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.ApiError(400, f"{what} must be an RFC 3339 time, not {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def parse_filter(
    actor: str = "",
    action: str = "",
    kind: str = "",
    app: str = "",
    name: str = "",
    project: str = "",
    result: str = "",
    since: str = "",
    until: str = "",
) -> audit.Filter:
    """The query's filters (a FastAPI dependency shared by the list and the export)."""
    if result and result not in audit.RESULTS:
        raise errors.ApiError(400, f"result must be one of {', '.join(audit.RESULTS)}")
    return audit.Filter(
        actor=actor,
        action=action,
        kind=kind,
        name=app or name,
        project=project,
        result=result,
        since=_time(since, "since"),
        until=_time(until, "until"),
    )


FILTER = fastapi.Depends(parse_filter)


def _log(request: Request, subject: access.Subject) -> audit.AuditLog:
    security.authorize(subject, "audit", "get", "*")
    log = context.of(request).audit
    if log is None:
        raise errors.ApiError(503, "this server keeps no audit log")
    return log


@router.get("/api/v1/audit", summary="Query the audit log")
async def list_audit(
    request: Request,
    subject: access.Subject = security.Subject,
    flt: audit.Filter = FILTER,
    limit: int = 100,
    continue_: Annotated[str, fastapi.Query(alias="continue")] = "",
) -> Any:
    log = _log(request, subject)
    if continue_ and not continue_.isdigit():
        raise errors.ApiError(400, "continue is not a token of this list")
    limit = max(1, min(limit or 100, 1000))
    rows = await asyncio.to_thread(log.query, flt, limit=limit, before_id=int(continue_ or 0))
    meta: dict[str, Any] = {}
    if len(rows) == limit:
        meta["continue"] = str(rows[-1]["id"])
    return {"items": [audit.row_json(r) for r in rows], "metadata": meta}


@router.get("/api/v1/audit/export", summary="Export the audit log as JSON lines")
async def export_audit(
    request: Request,
    subject: access.Subject = security.Subject,
    flt: audit.Filter = FILTER,
) -> StreamingResponse:
    """Every matching entry, newest first, one JSON object a line (``application/x-ndjson``),
    read a page of 1,000 at a time so that an export of millions never sits in memory."""
    log = _log(request, subject)

    async def lines() -> AsyncIterator[bytes]:
        before = 0
        while True:
            rows = await asyncio.to_thread(log.query, flt, limit=EXPORT_PAGE, before_id=before)
            for row in rows:
                yield (json.dumps(audit.row_json(row), separators=(",", ":")) + "\n").encode()
            if len(rows) < EXPORT_PAGE:
                return
            before = int(rows[-1]["id"])

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
    )
