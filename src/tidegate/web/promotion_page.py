"""The promotion pages: ``/promotions`` (the Kargo Projects the user may see) and
``/promotions/PROJECT`` (the pipeline: Warehouses -> Stages, each Stage with its Freight,
health, verification and the Promote / Approve buttons).

They read through the API's own handlers (:mod:`tidegate.api.promotion`, with the request's
verified subject, so ``promotions, get`` gates them as it gates the API) and write only through
the API (the buttons ``fetch`` its ``promote``/``approve`` endpoints). A button the user's role
does not allow is disabled with the rule as its reason.

The pipeline page is live: it opens the pipeline stream (``GET /api/v1/promotion/projects/P/
stream``, :mod:`tidegate.api.pipeline_watch`) and, on each message and after Promote /
Approve, swaps in ``?fragment=1`` (the pipeline and the promotions table alone).
"""

from __future__ import annotations

import datetime

import fastapi
from starlette.requests import Request
from starlette.responses import Response

from tidegate.api import errors
from tidegate.api import promotion as promotion_api
from tidegate.auth import access
from tidegate.web import pages, pipeline_view

router = fastapi.APIRouter(include_in_schema=False)


@router.get("/promotions")
async def projects_page(request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    error = ""
    rows = []
    try:
        listed = await promotion_api.list_projects(request, subject)
        for p in listed["items"]:
            stats = (p.get("status") or {}).get("stats") or {}
            rows.append({"name": p["metadata"]["name"], "stats": stats})
    except errors.ApiError as exc:
        error = exc.message
    return pages.render(
        "promotions.html", subject=subject, page="promotions", projects=rows, error=error
    )


@router.get("/promotions/{project}")
async def pipeline_page(project: str, request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    columns: list[pipeline_view.Obj] = []
    promotions: list[pipeline_view.Obj] = []
    error = ""
    try:
        await promotion_api.get_project(project, request, subject)
        found = {
            plural: (await promotion_api.list_objects(project, plural, request, subject))["items"]
            for plural in ("warehouses", "stages", "freight", "promotions")
        }

        def denied(stage: str, action: str) -> str:
            rule = (promotion_api.RESOURCE, action, promotion_api.rbac_object(project, stage))
            if access.allowed(subject, *rule):
                return ""
            return f"Your role may not {action} to Stage {stage} ({', '.join(rule)})"

        now = datetime.datetime.now(datetime.UTC)
        columns = pipeline_view.pipeline(
            found["warehouses"], found["stages"], found["freight"], now, denied
        )
        promotions = pipeline_view.recent_promotions(found["promotions"])
    except errors.ApiError as exc:
        error = exc.message
    except access.PermissionDeniedError as exc:
        error = str(exc)
    fragment = request.query_params.get("fragment") == "1"
    return pages.render(
        "pipeline_body.html" if fragment else "pipeline.html",
        subject=subject,
        page="promotions",
        project=project,
        columns=columns,
        promotions=promotions,
        error=error,
        live=not error,  # the stream would be refused as the read was
    )
