"""Single sign-on: Argo CD's ``/auth/login``, ``/auth/callback`` and ``/auth/logout``, and the
check of an identity provider's ID token on every request.

- ``GET /auth/login?return_url=/path`` starts the authorisation-code flow with PKCE: it keeps
  the login (state, nonce, code verifier) for five minutes, sets the ``argocd.oauthstate``
  cookie to its state and redirects to the provider.
- ``GET /auth/callback?code&state`` takes the login of that state (once: a replayed state is
  refused), checks that the browser's state cookie matches, redeems the code at the token
  endpoint (client secret and code verifier), verifies the ID token (signature against the
  provider's JWKS, issuer, audience, expiry, the login's nonce, a nonce never used before) and
  sets the ``argocd.token`` cookie to it, as Argo CD does. Every outcome is audited.
- ``GET /auth/logout`` clears the cookie and goes to ``logoutURL`` (or ``/login``).
- ``GET /api/v1/settings/oidc`` (open): the public part of ``oidc.config``, for
  ``tidegate login --sso`` (Argo CD puts it in its open settings; Tidegate's need a session).

A request carrying an ID token of the configured issuer is authenticated by :meth:`Sso.subject`:
RBAC subject ``sub``, user name ``email`` (else ``sub``), groups from the claims
``argocd-rbac-cm`` ``scopes`` names. The JWKS is fetched on first use and again when a token
names a key it lacks (the provider rotated its keys), at most once a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import fastapi
import httpx
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from tidegate.api import audit_trail, bootstrap, context, errors, security
from tidegate.auth import access, oidc
from tidegate.store import audit

log = logging.getLogger(__name__)
open_router = fastapi.APIRouter(tags=["SSO"])
JWKS_MIN_INTERVAL = 1.0
CONFIG_REFRESH_SECONDS = 1.0
HTTP_TIMEOUT = 15.0
COOKIE_CHUNK = 4000


class Provider:
    """One issuer's discovery document and JWKS, fetched lazily."""

    def __init__(self, issuer: str, *, verify: bool) -> None:
        self.issuer = issuer
        self.verify = verify
        self.discovery: dict[str, Any] = {}
        self.jwks: dict[str, Any] = {}
        self._jwks_at = 0.0
        self._lock = asyncio.Lock()

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(verify=self.verify, timeout=HTTP_TIMEOUT) as client:
                resp = await client.get(url)
                resp.raise_for_status()
                found = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise errors.ApiError(
                503, f"identity provider {self.issuer} did not answer {url}: {type(exc).__name__}"
            ) from None
        if not isinstance(found, dict):
            raise errors.ApiError(503, f"identity provider {self.issuer}: {url} is not an object")
        return found

    async def metadata(self) -> dict[str, Any]:
        if not self.discovery:
            found = await self._get(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if found.get("issuer") != self.issuer:
                raise errors.ApiError(
                    503, f"identity provider {self.issuer} announces another issuer"
                )
            self.discovery = found
        return self.discovery

    async def keys(self, *, refresh: bool = False) -> dict[str, Any]:
        async with self._lock:
            stale = time.monotonic() - self._jwks_at >= JWKS_MIN_INTERVAL
            if not self.jwks or (refresh and stale):
                uri = str((await self.metadata()).get("jwks_uri") or "")
                if not uri:
                    raise errors.ApiError(503, f"identity provider {self.issuer} has no jwks_uri")
                self.jwks = await self._get(uri)
                self._jwks_at = time.monotonic()
                log.info("fetched the signing keys of %s", self.issuer)
        return self.jwks

    async def verify_token(
        self, token: str, config: oidc.OidcConfig, *, nonce: str | None = None
    ) -> oidc.IdClaims:
        """Verify ``token``; when it names an unknown key, refetch the JWKS once and retry."""
        for refresh in (False, True):
            jwks = await self.keys(refresh=refresh)
            try:
                return oidc.verify_id_token(
                    token,
                    jwks=jwks,
                    issuer=config.issuer,
                    audiences=config.audiences,
                    now=time.time(),
                    nonce=nonce,
                )
            except oidc.UnknownKeyError:
                if refresh:
                    raise
        raise AssertionError("unreachable")


class Sso:
    """The server's SSO state: the logins under way, used nonces, the provider cache."""

    def __init__(self) -> None:
        self.pending = oidc.PendingLogins()
        self.nonces = oidc.SeenNonces()
        self._providers: dict[tuple[str, bool], Provider] = {}
        self._config: tuple[tuple[str, bytes], oidc.OidcConfig | None] | None = None
        self._config_at = 0.0

    async def config(self, ctx: context.ServerContext) -> oidc.OidcConfig | None:
        book = await ctx.accounts.load(ctx)
        text = book.cm.get(oidc.CONFIG_KEY, "")
        if not text.strip():
            return None
        fresh = time.monotonic() - self._config_at < CONFIG_REFRESH_SECONDS
        if self._config is not None and self._config[0][0] == text and fresh:
            return self._config[1]  # argocd-secret is re-read at most once a second
        secret = bootstrap._decode(await ctx.secrets.read(bootstrap.ARGOCD_SECRET))
        fingerprint = (text, repr(sorted(secret.items())).encode())
        if self._config is None or self._config[0] != fingerprint:
            try:
                parsed = oidc.parse_config(book.cm, secret)
            except oidc.OidcConfigError as exc:
                raise errors.ApiError(503, f"SSO is misconfigured: {exc}") from None
            self._config = (fingerprint, parsed)
        self._config_at = time.monotonic()
        return self._config[1]

    def provider(self, config: oidc.OidcConfig, *, verify: bool) -> Provider:
        key = (config.issuer, verify)
        if key not in self._providers:
            self._providers[key] = Provider(config.issuer, verify=verify)
        return self._providers[key]

    async def subject(self, conn: HTTPConnection, token: str) -> access.Subject:
        """The subject of a request bearing the provider's ID token (401 when invalid)."""
        ctx = context.of(conn)
        config = await self.config(ctx)
        if config is None or oidc.unverified_issuer(token) != config.issuer:
            raise errors.ApiError(401, "invalid session: token has an unexpected issuer")
        claims = await self.provider(config, verify=await _verify_tls(ctx)).verify_token(
            token, config
        )
        groups = oidc.groups_of(claims.claims, ctx.policy.current.config.scopes)
        return access.Subject(
            claims.name, claims.subject, groups=groups, policy=ctx.policy, external=True
        )


async def _verify_tls(ctx: context.ServerContext) -> bool:
    book = await ctx.accounts.load(ctx)
    return book.cm.get("oidc.tls.insecure.skip.verify", "").strip().lower() != "true"


def _base_url(request: Request, cm: dict[str, str]) -> str:
    return (cm.get("url") or str(request.base_url)).rstrip("/")


async def _configured(request: Request) -> tuple[context.ServerContext, oidc.OidcConfig]:
    ctx = context.of(request)
    config = await ctx.sso.config(ctx)
    if config is None:
        raise errors.ApiError(404, "SSO is not configured (argocd-cm has no oidc.config)")
    return ctx, config


@open_router.get("/api/v1/settings/oidc", summary="The public OIDC settings (for CLI login)")
async def oidc_settings(request: Request) -> dict[str, Any]:
    _, config = await _configured(request)
    return config.public()


@open_router.get("/auth/login", summary="Start an SSO login", include_in_schema=False)
async def login(request: Request, return_url: str = "/applications") -> Response:
    ctx, config = await _configured(request)
    book = await ctx.accounts.load(ctx)
    provider = ctx.sso.provider(config, verify=await _verify_tls(ctx))
    endpoint = str((await provider.metadata()).get("authorization_endpoint") or "")
    if not endpoint:
        raise errors.ApiError(503, f"identity provider {config.issuer} has no authorize endpoint")
    now = time.monotonic()
    started = oidc.new_login(
        redirect_uri=_base_url(request, book.cm) + "/auth/callback",
        return_url=oidc.safe_return_url(return_url),
        now=now,
    )
    ctx.sso.pending.put(started, now=now)
    url = oidc.authorize_url(
        endpoint,
        client_id=config.client_id,
        scopes=config.requested_scopes,
        login=started,
        claims=config.requested_id_token_claims,
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        oidc.STATE_COOKIE,
        started.state,
        max_age=int(oidc.LOGIN_LIFETIME),
        path="/auth",
        httponly=True,
        secure=not ctx.insecure,
        samesite="lax",
    )
    return response


@open_router.get("/auth/callback", summary="The provider's redirect", include_in_schema=False)
async def callback(request: Request) -> Response:
    ctx, config = await _configured(request)
    params = request.query_params
    try:
        if params.get("error"):
            detail = str(params.get("error_description") or params["error"])[:200]
            raise oidc.IdTokenError(f"the identity provider refused the login: {detail}")
        state, code = params.get("state", ""), params.get("code", "")
        if not state or not code:
            raise oidc.IdTokenError("the callback lacks its code or state")
        started = ctx.sso.pending.take(state, now=time.monotonic())
        if request.cookies.get(oidc.STATE_COOKIE) != state:
            raise oidc.IdTokenError("the login was started in another browser (state cookie)")
        provider = ctx.sso.provider(config, verify=await _verify_tls(ctx))
        id_token = await _redeem(provider, config, code, started)
        claims = await provider.verify_token(id_token, config, nonce=started.nonce)
        ctx.sso.nonces.use(started.nonce, until=claims.expires + oidc.LEEWAY, now=time.time())
    except oidc.IdTokenError as exc:
        await _audit(request, ctx, actor="", groups=(), result="denied", reason=str(exc))
        log.warning("SSO login refused: %s", exc)
        raise errors.ApiError(401, f"SSO login failed: {exc}") from None
    groups = oidc.groups_of(claims.claims, ctx.policy.current.config.scopes)
    await _audit(request, ctx, actor=claims.name, groups=groups, result="succeeded", reason="")
    log.info("SSO login of %r", claims.name, extra={"user": claims.name})
    response = RedirectResponse(started.return_url, status_code=303)
    set_token_cookie(response, id_token, secure=not ctx.insecure)
    response.delete_cookie(oidc.STATE_COOKIE, path="/auth")
    return response


async def _redeem(
    provider: Provider, config: oidc.OidcConfig, code: str, started: oidc.Login
) -> str:
    """The ID token for ``code`` from the provider's token endpoint."""
    endpoint = str((await provider.metadata()).get("token_endpoint") or "")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": started.redirect_uri,
        "code_verifier": started.verifier,
        "client_id": config.client_id,
    }
    auth = httpx.BasicAuth(config.client_id, config.client_secret)
    try:
        async with httpx.AsyncClient(verify=provider.verify, timeout=HTTP_TIMEOUT) as client:
            if config.client_secret:
                resp = await client.post(endpoint, data=form, auth=auth)
            else:
                resp = await client.post(endpoint, data=form)
    except httpx.HTTPError as exc:
        what = type(exc).__name__
        raise oidc.IdTokenError(f"the token endpoint did not answer: {what}") from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200 or not isinstance(body, dict):
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        raise oidc.IdTokenError(
            f"the token endpoint refused the code (HTTP {resp.status_code} {error[:60]})".strip()
        )
    token = body.get("id_token")
    if not isinstance(token, str) or not token:
        raise oidc.IdTokenError("the token endpoint returned no ID token (scope openid?)")
    return token


def set_token_cookie(response: Response, token: str, *, secure: bool) -> None:
    """``argocd.token``, split as Argo CD splits long tokens (``<count>:<part0>``, ``-N``)."""
    parts = [token[i : i + COOKIE_CHUNK] for i in range(0, len(token), COOKIE_CHUNK)] or [""]
    values = [parts[0]] if len(parts) == 1 else [f"{len(parts)}:{parts[0]}", *parts[1:]]
    for index, value in enumerate(values):
        name = security.COOKIE if index == 0 else f"{security.COOKIE}-{index}"
        response.set_cookie(name, value, path="/", httponly=True, secure=secure, samesite="lax")


@open_router.get("/auth/logout", summary="Log out of SSO", include_in_schema=False)
async def logout(request: Request) -> Response:
    ctx = context.of(request)
    config = await ctx.sso.config(ctx)
    token = security.token_of(request) or ""
    target = "/login"
    if config is not None and config.logout_url:
        book = await ctx.accounts.load(ctx)
        target = oidc.logout_url(
            config.logout_url, token=token, redirect=_base_url(request, book.cm) + "/login"
        )
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(security.COOKIE, path="/")
    return response


async def _audit(
    request: Request,
    ctx: context.ServerContext,
    *,
    actor: str,
    groups: tuple[str, ...],
    result: str,
    reason: str,
) -> None:
    client = request.client
    entry = audit.Entry(
        actor=actor,
        groups=groups,
        client=client.host if client else "",
        action="login",
        kind="Session",
        result=result,
        reason=reason,
    )
    await audit_trail.write(ctx, entry)
