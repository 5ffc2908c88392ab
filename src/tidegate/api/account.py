"""AccountService: ``PUT /api/v1/account/password`` (change a password).

As Argo CD: your own password, or another account's with ``accounts, update, <name>``; the
caller's current password must be right, the new one must match ``passwordPattern``
(argocd-cm, default ``^.{8,32}$``); the bcrypt hash and ``admin.passwordMtime`` in
``argocd-secret`` are replaced, so every token issued before is refused from then on. The
initial-password Secret is left for the admin to delete, as Argo CD leaves it.
"""

from __future__ import annotations

import logging
import re
import time

import fastapi
from starlette.requests import Request

from tidegate.api import bootstrap, context, errors, security
from tidegate.api import settings as settings_api
from tidegate.auth import access, accounts, passwords

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
        security.authorize(subject, "accounts", "update", name)
    if not isinstance(current, str) or not isinstance(new, str):
        raise errors.ApiError(400, "currentPassword and newPassword are required")
    ctx = context.of(request)
    book = await ctx.accounts.load(ctx)
    target = book.accounts.get(name)
    if target is None:
        raise errors.ApiError(404, f"account {name!r} not found")
    pattern = book.cm.get("passwordPattern", settings_api.DEFAULT_PASSWORD_PATTERN)
    try:
        # the length first: a 1 MB password never reaches the (user-written) pattern
        if not passwords.acceptable(new) or not re.fullmatch(pattern, new):
            raise errors.ApiError(400, f"new password does not match the pattern {pattern}")
    except re.error:
        raise errors.ApiError(400, "argocd-cm passwordPattern is not a valid pattern") from None
    clock = time.monotonic()
    caller = book.accounts.get(subject.username)
    if ctx.login_failures.blocked(subject.username, clock) or not passwords.verify_password(
        current, caller.password_hash if caller else None
    ):
        ctx.login_failures.failed(subject.username, clock)
        raise errors.ApiError(401, "current password does not match")
    prefix = accounts.secret_prefix(name)
    data = {
        f"{prefix}.password": passwords.hash_password(new).encode(),
        f"{prefix}.passwordMtime": bootstrap.now_rfc3339().encode(),
    }
    await ctx.accounts.update_secret(ctx, lambda _current: data)
    log.info("password of user %r changed", name, extra={"user": name})
    return {}
