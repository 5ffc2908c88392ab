"""The Rollouts page (``/rollouts``): every Rollout the apps a user may see manage, on every
cluster, with its phase, canary step and weight, and Promote / Promote full / Abort buttons.

The Rollouts are found in the apps' managed resources and read live from their destinations
(:mod:`tidegate.api.app_rollouts`); the actions offered for each are the resource actions
API's (:func:`tidegate.controller.resource_actions.offered`), and a button runs one through
that API (``POST /api/v1/applications/APP/resource/actions/v2``), so the server checks RBAC
``applications, action/argoproj.io/Rollout/ACTION, PROJECT/APP`` again. A button the user's
role does not allow, or that the Rollout's state does not offer, is disabled with the reason.
``?fragment=1`` renders the table alone (the page swaps it in after an action and on changes of
the apps it lists).
"""

from __future__ import annotations

import functools

import fastapi
from starlette.requests import Request
from starlette.responses import Response

from tidegate.api import app_rollouts, applications, context
from tidegate.auth import access
from tidegate.controller import resource_actions
from tidegate.web import pages, rollout_views, views

router = fastapi.APIRouter(include_in_schema=False)


def _denied(subject: access.Subject, item: app_rollouts.Managed, action: str) -> str:
    obj = applications.rbac_object(item.app)
    rule = f"action/{app_rollouts.GROUP}/{app_rollouts.KIND}/{action}"
    if access.allowed(subject, "applications", rule, obj):
        return ""
    project = obj.partition("/")[0]
    return (
        f"Your role may not run {action} on Rollouts of project {project} "
        f"(applications, {rule}, {obj})"
    )


@router.get("/rollouts")
async def rollouts_page(request: Request) -> Response:
    subject = await pages.subject_or_redirect(request)
    if isinstance(subject, Response):
        return subject
    ctx = context.of(request)
    await applications.ready_hub(ctx)
    visible, _ = pages.visible_apps(ctx, subject)
    found = await app_rollouts.read(ctx, app_rollouts.managed(visible))
    actions = await resource_actions.registry(ctx.client, ctx.namespace)
    rows = [
        rollout_views.row(
            item,
            views.summary(item.app)["cluster"],
            resource_actions.offered(actions, item.live) if item.live is not None else [],
            functools.partial(_denied, subject, item),
        )
        for item in found
    ]
    fragment = request.query_params.get("fragment") == "1"
    return pages.render(
        "rollouts_body.html" if fragment else "rollouts.html",
        subject=subject,
        page="rollouts",
        rows=rows,
        limit=app_rollouts.MAX_ROLLOUTS,
        resource_version=ctx.hub.resource_version,
    )
