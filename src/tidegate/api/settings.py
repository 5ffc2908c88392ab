"""SettingsService: ``GET /api/v1/settings``, the subset of Argo CD's settings Tidegate has.

Read from ``argocd-cm`` of the control namespace at each call. Unlike Argo CD (which answers
this one without a session, for its login page), it needs a session like every other route.
"""

from __future__ import annotations

from typing import Any

import fastapi
from starlette.requests import Request

from tidegate.api import context, security
from tidegate.auth import access
from tidegate.controller import argocdcm
from tidegate.model import constants
from tidegate.model import errors as tg_errors

router = fastapi.APIRouter(tags=["SettingsService"])
DEFAULT_PASSWORD_PATTERN = "^.{8,32}$"


def settings_json(data: dict[str, str], namespace: str) -> dict[str, Any]:
    """Argo CD's Settings message from ``argocd-cm`` data. Pure."""
    return {
        "url": data.get("url", ""),
        "appLabelKey": data.get("application.instanceLabelKey", "app.kubernetes.io/instance"),
        "trackingMethod": data.get(
            "application.resourceTrackingMethod", constants.TRACKING_ANNOTATION
        ),
        "installationID": data.get(argocdcm.INSTALLATION_ID_KEY, ""),
        "controllerNamespace": namespace,
        "passwordPattern": data.get("passwordPattern", DEFAULT_PASSWORD_PATTERN),
        "statusBadgeEnabled": False,
        "userLoginsDisabled": False,
        "execEnabled": False,
        "appsInAnyNamespaceEnabled": False,
        "impersonationEnabled": False,
        "hydratorEnabled": False,
        "uiBannerContent": data.get("ui.bannercontent", ""),
        "uiBannerURL": data.get("ui.bannerurl", ""),
    }


@router.get("/api/v1/settings", summary="Server settings")
async def get_settings(
    request: Request, subject: access.Subject = security.Subject
) -> dict[str, Any]:
    del subject  # a session is required; there is nothing to authorise per object
    ctx = context.of(request)
    reply = settings_json(await argocd_cm(ctx), ctx.namespace)
    reply["rbacPolicyError"] = ctx.policy.error  # Tidegate's: why argocd-rbac-cm was refused
    sso = await ctx.sso.config(ctx)
    if sso is not None:
        reply["oidcConfig"] = sso.public()
    return reply


async def argocd_cm(ctx: context.ServerContext) -> dict[str, str]:
    """The data of ``argocd-cm`` in the control namespace ({} when there is none)."""
    path = f"/api/v1/namespaces/{ctx.namespace}/configmaps/{argocdcm.CONFIGMAP_NAME}"
    try:
        found = await ctx.client.request("GET", path, what=f"get {argocdcm.CONFIGMAP_NAME}")
    except tg_errors.KubeNotFoundError:
        return {}
    return {str(k): str(v) for k, v in (found.body.get("data") or {}).items()}
