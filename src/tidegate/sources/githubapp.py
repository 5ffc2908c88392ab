"""GitHub App credentials: a repository's app id, installation id and private key exchanged for an
installation access token, as GitHub documents it, and that token cached until shortly before it
expires.

The exchange: a JWT signed with the app's private key (RS256; ``iat`` 60 s in the past against
clock drift, ``exp`` 9 minutes ahead, within GitHub's 10-minute limit; ``iss`` the app id) sent as
``Authorization: Bearer`` to ``POST {base}/app/installations/{installation}/access_tokens``, where
``base`` is ``https://api.github.com`` or the repository's ``githubAppEnterpriseBaseUrl``. The
reply (201) holds ``token`` and ``expires_at``; git then authenticates over HTTPS as user
``x-access-token`` with the token as password (what Argo CD does).

:func:`claims`, :func:`token_url` and :func:`parse_reply` are pure; :class:`TokenCache` does the
HTTP call. Neither the key, the JWT nor the token ever appears in an error or a log line.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from tidegate.model import errors
from tidegate.sources import credentials as creds_mod

log = logging.getLogger(__name__)

GITHUB_API = "https://api.github.com"
TOKEN_USERNAME = "x-access-token"
ISSUED_SKEW = 60  # seconds ``iat`` lies in the past (GitHub's advice against clock drift)
LIFETIME = 540  # seconds from now to ``exp``: GitHub refuses more than 10 minutes
REFRESH_MARGIN = 300.0  # a cached token is replaced this long before its ``expires_at``
EXCHANGE_SECONDS = 30.0


def claims(app_id: str, now: float) -> dict[str, Any]:
    """The JWT claims GitHub asks for, at Unix time ``now``."""
    issued = int(now)
    return {"iat": issued - ISSUED_SKEW, "exp": issued + LIFETIME, "iss": app_id}


def app_jwt(creds: creds_mod.RepoCredentials, now: float, *, what: str) -> str:
    """The app's JWT (RS256 with its private key); AuthenticationError for an unusable key."""
    try:
        return jwt.encode(
            claims(creds.github_app_id, now), creds.github_app_private_key, algorithm="RS256"
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        # The key's text is never shown: only that it is not an RSA private key in PEM.
        raise errors.AuthenticationError(
            f"{what}: the GitHub App private key (githubAppPrivateKey) is not a usable RSA"
            f" private key in PEM ({type(exc).__name__})"
        ) from None


def token_url(creds: creds_mod.RepoCredentials) -> str:
    """``POST`` target of the exchange, on github.com or the Enterprise API base URL."""
    base = (creds.github_app_enterprise_base_url or GITHUB_API).rstrip("/")
    return f"{base}/app/installations/{creds.github_app_installation_id}/access_tokens"


@dataclass(frozen=True, repr=False)
class InstallationToken:
    token: str
    expires_at: float  # Unix time

    def __repr__(self) -> str:
        return f"InstallationToken(expires_at={self.expires_at})"


def parse_reply(status: int, body: Any, *, what: str, url: str) -> InstallationToken:
    """GitHub's reply to the exchange as a token, or the error naming the HTTP status and
    GitHub's message: 401, 403 and 404 are AuthenticationError (the app, its key or its
    installation is refused), 429 and 5xx are RepoUnreachableError (tried again later)."""
    if status in (200, 201) and isinstance(body, Mapping):
        token, expires = body.get("token"), body.get("expires_at")
        if isinstance(token, str) and token and isinstance(expires, str):
            try:
                stamp = datetime.datetime.fromisoformat(expires.replace("Z", "+00:00"))
            except ValueError:
                stamp = None
            if stamp is not None and stamp.tzinfo is not None:
                return InstallationToken(token, stamp.timestamp())
        raise errors.AuthenticationError(
            f"{what}: the GitHub App token exchange at {url} answered HTTP {status} without a"
            " token and an expires_at time"
        )
    message = ""
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        message = f": {body['message'][:200]}"
    text = f"{what}: the GitHub App token exchange at {url} was refused: HTTP {status}{message}"
    if status == 429 or status >= 500:
        raise errors.RepoUnreachableError(text)
    raise errors.AuthenticationError(text)


def uses_app(creds: creds_mod.RepoCredentials | None) -> bool:
    """Whether ``creds`` carry a complete GitHub App (id, installation id, private key)."""
    return bool(
        creds
        and creds.github_app_id
        and creds.github_app_installation_id
        and creds.github_app_private_key
    )


def _cache_key(creds: creds_mod.RepoCredentials) -> tuple[str, str, str]:
    key = hashlib.sha256(creds.github_app_private_key.encode()).hexdigest()
    return (token_url(creds), creds.github_app_id, key)


class TokenCache:
    """Installation tokens by app, installation, API base and key; one exchange at a time per
    installation, a token reused until :data:`REFRESH_MARGIN` seconds before it expires.

    ``clock`` is Unix time (GitHub's ``expires_at`` is a wall-clock time); ``transport``
    replaces the HTTP transport (unit tests)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        time_limit: float = EXCHANGE_SECONDS,
    ) -> None:
        self._clock = clock
        self._transport = transport
        self._time_limit = time_limit
        self._tokens: dict[tuple[str, str, str], InstallationToken] = {}
        self._locks: dict[tuple[str, str, str], asyncio.Lock] = {}
        self.exchanges = 0  # how many exchanges were made (tests, metrics)

    async def token(self, creds: creds_mod.RepoCredentials, *, what: str) -> str:
        """A valid installation token for the app in ``creds``, exchanged when none is cached
        or the cached one is about to expire."""
        key = _cache_key(creds)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(key)
            if cached is not None and self._clock() < cached.expires_at - REFRESH_MARGIN:
                return cached.token
            self._tokens.pop(key, None)
            fresh = await self._exchange(creds, what=what)
            self._tokens[key] = fresh
            return fresh.token

    def forget(self, creds: creds_mod.RepoCredentials) -> None:
        """Drop the cached token of the app in ``creds`` (the git server refused it)."""
        self._tokens.pop(_cache_key(creds), None)

    async def git_credentials(
        self, creds: creds_mod.RepoCredentials, *, what: str
    ) -> creds_mod.RepoCredentials:
        """``creds`` as git uses them: user ``x-access-token``, the installation token as
        password (the app fields stay, so their values are scrubbed from git's output)."""
        token = await self.token(creds, what=what)
        return dataclasses.replace(creds, username=TOKEN_USERNAME, password=token)

    async def _exchange(self, creds: creds_mod.RepoCredentials, *, what: str) -> InstallationToken:
        url = token_url(creds)
        if not url.startswith(("https://", "http://")):
            raise errors.ConfigError(
                f"{what}: githubAppEnterpriseBaseUrl must be an http(s) URL, not {url!r}"
            )
        bearer = app_jwt(creds, self._clock(), what=what)
        headers = {
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "tidegate",
        }
        verify: ssl.SSLContext | bool = True
        if creds.insecure:
            verify = False
        elif creds.ca_data:
            verify = ssl.create_default_context(cadata=creds.ca_data)
        self.exchanges += 1
        try:
            async with httpx.AsyncClient(
                transport=self._transport, verify=verify, timeout=self._time_limit
            ) as client:
                reply = await client.post(url, headers=headers)
        except httpx.HTTPError as exc:
            raise errors.RepoUnreachableError(
                f"{what}: the GitHub App token exchange at {url} failed:"
                f" {type(exc).__name__}: {exc}"
            ) from None
        try:
            body: Any = reply.json()
        except ValueError:
            body = None
        found = parse_reply(reply.status_code, body, what=what, url=url)
        log.info("%s: GitHub App installation token obtained (%s)", what, url)
        return found
