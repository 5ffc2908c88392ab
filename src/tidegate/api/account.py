"""AccountService: ``PUT /api/v1/account/password`` (change the admin password).

As Argo CD: the current password must be right, the new one must match ``passwordPattern``
(argocd-cm, default ``^.{8,32}$``); the bcrypt hash and ``admin.passwordMtime`` in
``argocd-secret`` are replaced, so every token issued before is refused from then on. The
initial-password Secret is left for the admin to delete, as Argo CD leaves it.
"""

from __future__ import annotations

import base64
import logging
import re
import time

import fastapi
from starlette.requests import Request

from tidegate.api import bootstrap, context, errors, security
from tidegate.api import settings as settings_api
from tidegate.auth import access, passwords
from tidegate.model import errors as tg_errors
from tidegate.model.keys import ResourceKey

log = logging.getLogger(__name__)
router = fastapi.APIRouter(tags=["AccountService"])


@router.put("/api/v1/account/password", summary="Change the password of the logged-in user")
async def update_password(
    request: Request, subject: access.Subject = security.Subject
) -> dict[str, object]:
    body = await security.json_object(request)
    name = str(body.get("name") or subject.username)
    current, new = body.get("currentPassword"), body.get("newPassword")
    if name != subject.username:
        raise errors.ApiError(403, "only your own password can be changed")
    if not isinstance(current, str) or not isinstance(new, str):
        raise errors.ApiError(400, "currentPassword and newPassword are required")
    ctx = context.of(request)
    cm = await settings_api.argocd_cm(ctx)
    pattern = cm.get("passwordPattern", settings_api.DEFAULT_PASSWORD_PATTERN)
    try:
        if not re.fullmatch(pattern, new) or not passwords.acceptable(new):
            raise errors.ApiError(400, f"new password does not match the pattern {pattern}")
    except re.error:
        raise errors.ApiError(400, "argocd-cm passwordPattern is not a valid pattern") from None
    clock = time.monotonic()
    secrets = await ctx.secrets.accounts()
    if ctx.login_failures.blocked(name, clock) or not passwords.verify_password(
        current, secrets.admin_hash
    ):
        ctx.login_failures.failed(name, clock)
        raise errors.ApiError(401, "current password does not match")
    data = {
        bootstrap.KEY_ADMIN_PASSWORD: passwords.hash_password(new).encode(),
        bootstrap.KEY_ADMIN_MTIME: bootstrap.now_rfc3339().encode(),
    }
    patch = {"data": {k: base64.b64encode(v).decode() for k, v in data.items()}}
    key = ResourceKey("", "Secret", ctx.namespace, bootstrap.ARGOCD_SECRET)
    try:
        await ctx.client.patch(key, patch)
    except tg_errors.KubeNotFoundError:
        raise errors.ApiError(503, "argocd-secret is missing; restart the server") from None
    ctx.secrets.forget()
    log.info("password of user %r changed", name, extra={"user": name})
    return {}
