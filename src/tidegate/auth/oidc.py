"""Single sign-on with an OpenID Connect provider, as Argo CD's ``oidc.config`` does it. Pure.

- :func:`parse_config`: ``oidc.config`` of ``argocd-cm`` (YAML: ``name``, ``issuer``,
  ``clientID``, ``clientSecret`` — a ``$key`` reference into ``argocd-secret`` —,
  ``cliClientID``, ``requestedScopes``, ``requestedIDTokenClaims``, ``logoutURL``).
- :class:`PendingLogins`: the logins under way, one per ``state``; each is taken once (a
  replayed ``state`` finds nothing) and lives five minutes, as Argo CD's state cookie does.
- :func:`new_login` / :func:`authorize_url`: the authorisation-code request with PKCE (S256),
  a random ``state`` and ``nonce``.
- :func:`verify_id_token`: the ID token's signature against the provider's JWKS (RSA/EC
  only: ``alg: none`` and HMAC are refused), issuer, audience, expiry and, at the callback, the
  nonce. An unknown key id raises :class:`UnknownKeyError` so that the caller refetches the
  JWKS once (the provider rotated its keys) and tries again.
- :func:`groups_of`: the values of the claims ``scopes`` (``argocd-rbac-cm``) names, the
  groups RBAC tries as subjects.

The I/O (discovery, JWKS, the token endpoint) is in :mod:`tidegate.api.sso` and the CLI.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import jwt
import yaml

from tidegate.auth import tokens
from tidegate.model import errors

CONFIG_KEY = "oidc.config"
DEFAULT_SCOPES = ("openid", "profile", "email", "groups")
STATE_COOKIE = "argocd.oauthstate"
LOGIN_LIFETIME = 300.0  # seconds a started login may take, as Argo CD's state cookie
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY = 10  # seconds of clock skew allowed on exp/nbf/iat
MAX_PENDING = 10_000


class OidcConfigError(errors.ConfigError):
    """``oidc.config`` cannot be used; the message names the field and the cause."""


class IdTokenError(tokens.TokenError):
    """An ID token (or a callback) that cannot be accepted; says why, never echoes the token."""


class UnknownKeyError(IdTokenError):
    """The token names a key the JWKS we hold does not have (refetch it once, then refuse)."""


@dataclasses.dataclass(frozen=True)
class OidcConfig:
    name: str
    issuer: str
    client_id: str
    client_secret: str = dataclasses.field(repr=False)
    cli_client_id: str = ""
    requested_scopes: tuple[str, ...] = DEFAULT_SCOPES
    requested_id_token_claims: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    logout_url: str = ""

    @property
    def audiences(self) -> tuple[str, ...]:
        """Who an accepted ID token may be issued to: the server's client or the CLI's."""
        return tuple(a for a in (self.client_id, self.cli_client_id) if a)

    def public(self) -> dict[str, Any]:
        """What clients may know (Argo CD's ``oidcConfig`` of the settings): no secret."""
        return {
            "name": self.name,
            "issuer": self.issuer,
            "clientID": self.client_id,
            "cliClientID": self.cli_client_id,
            "scopes": list(self.requested_scopes),
            "idTokenClaims": dict(self.requested_id_token_claims),
        }


def parse_config(cm: Mapping[str, str], secret: Mapping[str, bytes]) -> OidcConfig | None:
    """``oidc.config`` of ``argocd-cm`` with its ``$key`` references resolved from
    ``argocd-secret``; None when SSO is not configured."""
    text = cm.get(CONFIG_KEY, "")
    if not text.strip():
        return None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise OidcConfigError(f"argocd-cm {CONFIG_KEY} is not valid YAML{line}") from None
    if not isinstance(raw, dict):
        raise OidcConfigError(f"argocd-cm {CONFIG_KEY} must be a mapping")

    def text_field(key: str, *, required: bool = False) -> str:
        value = raw.get(key, "")
        if not isinstance(value, str):
            raise OidcConfigError(f"argocd-cm {CONFIG_KEY} {key} must be a string")
        value = _resolve(value, secret, key)
        if required and not value:
            raise OidcConfigError(f"argocd-cm {CONFIG_KEY} needs {key}")
        return value

    issuer = text_field("issuer", required=True)
    parsed = urllib.parse.urlsplit(issuer)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise OidcConfigError(f"argocd-cm {CONFIG_KEY} issuer must be an http(s) URL")
    scopes = raw.get("requestedScopes", list(DEFAULT_SCOPES))
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise OidcConfigError(f"argocd-cm {CONFIG_KEY} requestedScopes must be a list of names")
    if "openid" not in scopes:
        scopes = ["openid", *scopes]
    claims = raw.get("requestedIDTokenClaims") or {}
    if not isinstance(claims, dict):
        raise OidcConfigError(f"argocd-cm {CONFIG_KEY} requestedIDTokenClaims must be a mapping")
    return OidcConfig(
        name=text_field("name") or "SSO",
        issuer=issuer,
        client_id=text_field("clientID", required=True),
        client_secret=text_field("clientSecret"),
        cli_client_id=text_field("cliClientID"),
        requested_scopes=tuple(scopes),
        requested_id_token_claims=claims,
        logout_url=text_field("logoutURL"),
    )


def _resolve(value: str, secret: Mapping[str, bytes], field: str) -> str:
    """``$key`` → that key of ``argocd-secret``; other values as they are."""
    if not value.startswith("$"):
        return value
    key = value[1:]
    if ":" in key:
        raise OidcConfigError(
            f"argocd-cm {CONFIG_KEY} {field}: references to other Secrets ({value.split(':')[0]}:"
            "...) are not supported; put the value in argocd-secret and write $<key>"
        )
    if key not in secret:
        raise OidcConfigError(
            f"argocd-cm {CONFIG_KEY} {field} refers to ${key}, which argocd-secret lacks"
        )
    return secret[key].decode()


@dataclasses.dataclass(frozen=True)
class Login:
    """One authorisation-code login under way."""

    state: str
    nonce: str
    verifier: str = dataclasses.field(repr=False)
    redirect_uri: str
    return_url: str
    expires: float

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def new_login(*, redirect_uri: str, return_url: str, now: float) -> Login:
    return Login(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        redirect_uri=redirect_uri,
        return_url=return_url,
        expires=now + LOGIN_LIFETIME,
    )


def authorize_url(
    endpoint: str, *, client_id: str, scopes: Sequence[str], login: Login, claims: Mapping[str, Any]
) -> str:
    """The provider's authorisation URL for ``login`` (code flow, PKCE S256)."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": login.redirect_uri,
        "scope": " ".join(scopes),
        "state": login.state,
        "nonce": login.nonce,
        "code_challenge": login.challenge,
        "code_challenge_method": "S256",
    }
    if claims:
        params["claims"] = json.dumps({"id_token": dict(claims)}, separators=(",", ":"))
    sep = "&" if "?" in endpoint else "?"
    return endpoint + sep + urllib.parse.urlencode(params)


class PendingLogins:
    """Logins under way by ``state``; each is taken at most once, and only before it expires."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self._logins: dict[str, Login] = {}
        self._limit = limit

    def put(self, login: Login, *, now: float) -> None:
        self._drop_expired(now)
        if len(self._logins) >= self._limit:  # a flood of unfinished logins: drop the oldest
            del self._logins[next(iter(self._logins))]
        self._logins[login.state] = login

    def take(self, state: str, *, now: float) -> Login:
        login = self._logins.pop(state, None)
        if login is None:
            raise IdTokenError("unknown or already used login state")
        if login.expires <= now:
            raise IdTokenError("the login took too long (its state expired); log in again")
        return login

    def _drop_expired(self, now: float) -> None:
        for state in [s for s, login in self._logins.items() if login.expires <= now]:
            del self._logins[state]


class SeenNonces:
    """Nonces of the ID tokens already accepted at a callback, kept until those tokens expire:
    a token carrying one of them again is a replay."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    def use(self, nonce: str, *, until: float, now: float) -> None:
        for old in [n for n, t in self._seen.items() if t <= now]:
            del self._seen[old]
        if nonce in self._seen:
            raise IdTokenError("the ID token's nonce was already used (a replayed login)")
        self._seen[nonce] = until


@dataclasses.dataclass(frozen=True)
class IdClaims:
    subject: str
    email: str
    expires: int
    claims: Mapping[str, Any] = dataclasses.field(repr=False)

    @property
    def name(self) -> str:
        """Who, for people: the email when there is one, else the subject."""
        return self.email or self.subject


def key_id(token: str) -> str:
    """The ``kid`` of a token's header ("" when it names none)."""
    return str(_header(token).get("kid") or "")


def unverified_issuer(token: str) -> str:
    """The ``iss`` a token claims, before any check (to pick who verifies it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return ""
    return str(claims.get("iss") or "") if isinstance(claims, dict) else ""


def _header(token: str) -> dict[str, Any]:
    try:
        return dict(jwt.get_unverified_header(token))
    except jwt.PyJWTError:
        raise IdTokenError("malformed token") from None


def verify_id_token(
    token: str,
    *,
    jwks: Mapping[str, Any],
    issuer: str,
    audiences: Sequence[str],
    now: float,
    nonce: str | None = None,
) -> IdClaims:
    """The claims of a valid ID token, or IdTokenError naming the reason."""
    header = _header(token)
    alg = str(header.get("alg") or "")
    if alg not in ALGORITHMS:
        raise IdTokenError(f"unsupported signing algorithm {alg[:20]!r}")
    keys = [k for k in jwks.get("keys") or [] if isinstance(k, dict)]
    kid = str(header.get("kid") or "")
    candidates = [k for k in keys if not kid or k.get("kid") == kid]
    if not candidates:
        raise UnknownKeyError("the token is signed with a key the provider does not publish")
    claims: dict[str, Any] | None = None
    for jwk in candidates:
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
        except (jwt.PyJWTError, ValueError, KeyError):
            continue
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                options={
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise IdTokenError(f"invalid ID token: {type(exc).__name__}") from None
    if claims is None:
        raise IdTokenError("ID token signature is invalid")
    return _check_claims(claims, issuer=issuer, audiences=audiences, now=now, nonce=nonce)


def _check_claims(
    claims: dict[str, Any],
    *,
    issuer: str,
    audiences: Sequence[str],
    now: float,
    nonce: str | None,
) -> IdClaims:
    if claims.get("iss") != issuer:
        raise IdTokenError("ID token has an unexpected issuer")
    aud = claims.get("aud")
    auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(a in audiences for a in auds):
        raise IdTokenError("ID token is not issued to this server (audience)")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise IdTokenError("ID token has no expiry")
    if exp + LEEWAY <= now:
        raise IdTokenError("ID token is expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + LEEWAY:
        raise IdTokenError("ID token is not valid yet")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise IdTokenError("ID token has no subject")
    if nonce is not None and not secrets.compare_digest(
        str(claims.get("nonce") or "").encode(), nonce.encode()
    ):
        raise IdTokenError("ID token nonce does not match the login")
    email = claims.get("email")
    return IdClaims(subject, email if isinstance(email, str) else "", int(exp), claims)


def groups_of(claims: Mapping[str, Any], scopes: Sequence[str]) -> tuple[str, ...]:
    """The values of every claim named in ``scopes`` (a string or a list of strings)."""
    found: list[str] = []
    for scope in scopes:
        value = claims.get(scope)
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        found.extend(v for v in values if isinstance(v, str) and v and v not in found)
    return tuple(found)


def logout_url(template: str, *, token: str, redirect: str) -> str:
    """``logoutURL`` with Argo CD's placeholders filled in."""
    return template.replace("{{token}}", urllib.parse.quote(token, safe="")).replace(
        "{{logoutRedirectURL}}", urllib.parse.quote(redirect, safe="")
    )


def safe_return_url(value: str) -> str:
    """A return path on this server only (no open redirect): ``/...`` but not ``//host``."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/applications"
