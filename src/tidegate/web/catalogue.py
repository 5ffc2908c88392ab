"""The fleet's other objects: ApplicationSets (with their generated apps and RollingSync steps),
clusters, repositories and projects, at Argo CD's routes (``/applicationsets``,
``/settings/clusters``, ``/settings/repos``, ``/settings/projects``).

Each page calls the API's own list handler (with the request's verified subject, so the same
authorisation gate filters it) and shows what it returned; nothing is read around the API.
"""

from __future__ import annotations

from typing import Any

import fastapi
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tidegate.api import applications, context, credentials, projects
from tidegate.web import pages, views

router = fastapi.APIRouter(include_in_schema=False)
Obj = dict[str, Any]


def _apps(request: Request, subject: Any) -> list[Obj]:
    ctx = context.of(request)
    return [a for a in ctx.hub.sorted_apps() if applications.allowed(subject, a, ctx.namespace)]


@router.get("/settings")
async def settings_root() -> Response:
    return RedirectResponse("/settings/clusters", status_code=303)


@router.get("/applicationsets")
async def appsets_page(request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    listed = await projects.list_appsets(request, subject)
    await applications.ready_hub(context.of(request))
    apps = _apps(request, subject)
    return pages.render(
        "appsets.html",
        subject=subject,
        page="applicationsets",
        appsets=[views.appset(a, apps) for a in listed["items"]],
    )


@router.get("/settings/clusters")
async def clusters_page(request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    listed = await credentials.list_clusters(request, subject)
    await applications.ready_hub(context.of(request))
    apps = _apps(request, subject)
    return pages.render(
        "clusters.html",
        subject=subject,
        page="clusters",
        clusters=[views.cluster(c, apps) for c in listed["items"]],
    )


@router.get("/settings/repos")
async def repos_page(request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    listed = await credentials.list_repositories(request, subject)
    return pages.render("repos.html", subject=subject, page="repos", repos=listed["items"])


@router.get("/settings/projects")
async def projects_page(request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    listed = await projects.list_projects(request, subject)
    await applications.ready_hub(context.of(request))
    apps = _apps(request, subject)
    return pages.render(
        "projects.html",
        subject=subject,
        page="projects",
        projects=[views.project(p, apps) for p in listed["items"]],
    )
