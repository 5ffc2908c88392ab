"""The audit log page (``/audit``): who did what to which object, when, and with what result.

It calls the API's own handler (:func:`tidegate.api.audit.list_audit`, with the request's
verified subject, so ``audit, get`` gates it exactly as it gates the API) with the filters of
the URL, and shows a page of entries, newest first, with a link to the next older page. The
filter form is a plain GET form: the filters live in the URL (bookmarkable, Back works) and the
page needs no script.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import fastapi
from starlette.requests import Request
from starlette.responses import Response

from tidegate.api import audit, errors
from tidegate.auth import access
from tidegate.store import audit as audit_store
from tidegate.web import pages

router = fastapi.APIRouter(include_in_schema=False)
FILTERS = ("actor", "action", "kind", "app", "project", "result", "since", "until")
PAGE = 100


def entry(item: dict[str, Any]) -> dict[str, str]:
    """One entry as a row shows it (pure)."""
    obj = item.get("object") or {}
    where = "/".join(p for p in (obj.get("project"), obj.get("name")) if p)
    return {
        "id": str(item.get("id") or ""),
        "time": str(item.get("time") or "")[:23].replace("T", " "),
        "actor": str(item.get("actor") or ""),
        "client": str(item.get("client") or ""),
        "action": str(item.get("action") or ""),
        "kind": str(obj.get("kind") or ""),
        "object": where,
        "namespace": str(obj.get("namespace") or ""),
        "result": str(item.get("result") or ""),
        "reason": str(item.get("reason") or ""),
    }


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    chosen = {k: request.query_params.get(k, "").strip() for k in FILTERS}
    after = request.query_params.get("continue", "")
    rows: list[dict[str, str]] = []
    error, older = "", ""
    kept = [(k, v) for k, v in chosen.items() if v]
    try:
        flt = audit.parse_filter(**chosen)
        listed = await audit.list_audit(request, subject, flt, limit=PAGE, continue_=after)
        rows = [entry(i) for i in listed["items"]]
        token = str((listed.get("metadata") or {}).get("continue") or "")
        if token:
            older = "/audit?" + urllib.parse.urlencode([*kept, ("continue", token)])
    except errors.ApiError as exc:
        error = exc.message
    except access.PermissionDeniedError as exc:
        error = str(exc)
    return pages.render(
        "audit.html",
        subject=subject,
        page="audit",
        rows=rows,
        chosen=chosen,
        results=audit_store.RESULTS,
        error=error,
        older=older,
        newest="/audit?" + urllib.parse.urlencode(kept) if after else "",
    )
