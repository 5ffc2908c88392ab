"""Session tokens: JWTs as Argo CD issues them (HS256 with ``server.secretkey``). Pure.

Claims: ``iss: "argocd"``, ``sub`` (``<user>:login`` for a UI/CLI session), ``iat``, ``nbf``
(= ``iat``), ``exp`` (``iat`` + lifetime; absent when the lifetime is 0) and ``jti`` (a uuid4).
:func:`verify` accepts only HS256 (so ``alg: none`` and RSA/ECDSA tokens fail), only issuer
``argocd``, and refuses a token issued before the account's password last changed.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid

import jwt

from tidegate.model import errors

ISSUER = "argocd"
ALGORITHM = "HS256"
SESSION_LIFETIME = datetime.timedelta(hours=24)
LOGIN_CAPABILITY = "login"
API_KEY_CAPABILITY = "apiKey"


class TokenError(errors.PermanentError):
    """A token that cannot be accepted; the message says why without echoing the token."""


@dataclasses.dataclass(frozen=True)
class Claims:
    """The verified claims of a token."""

    subject: str
    issued_at: int
    expires_at: int | None
    token_id: str

    @property
    def username(self) -> str:
        """The account: ``sub`` without its ``:login`` / ``:apiKey`` capability suffix."""
        return self.subject.partition(":")[0]

    @property
    def capability(self) -> str:
        _, sep, cap = self.subject.partition(":")
        return cap if sep else API_KEY_CAPABILITY


def issue(
    username: str,
    key: bytes,
    *,
    now: datetime.datetime,
    lifetime: datetime.timedelta = SESSION_LIFETIME,
    capability: str = LOGIN_CAPABILITY,
    token_id: str = "",
) -> str:
    """A signed session token for ``username``."""
    iat = int(now.timestamp())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": f"{username}:{capability}",
        "iat": iat,
        "nbf": iat,
        "jti": token_id or str(uuid.uuid4()),
    }
    if lifetime.total_seconds() > 0:
        claims["exp"] = iat + int(lifetime.total_seconds())
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(
    token: str,
    key: bytes,
    *,
    now: datetime.datetime,
    password_mtime: datetime.datetime | None = None,
) -> Claims:
    """The claims of a valid token; TokenError (naming the reason) for anything else."""
    if not key:
        raise TokenError("the server has no signing key")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenError("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise TokenError(f"unsupported signing algorithm {str(header.get('alg'))[:20]!r}")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "require": ["iss", "sub", "iat"],
                "verify_iat": False,
                "verify_exp": False,  # checked below against ``now``
                "verify_nbf": False,
            },
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token is expired") from None
    except jwt.InvalidIssuerError:
        raise TokenError("token has an unexpected issuer") from None
    except jwt.InvalidSignatureError:
        raise TokenError("token signature is invalid") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {type(exc).__name__}") from None
    iat = claims.get("iat")
    exp = claims.get("exp")
    subject = claims.get("sub")
    if not isinstance(iat, int) or not isinstance(subject, str) or not subject:
        raise TokenError("token lacks a subject or an issue time")
    if exp is not None and (not isinstance(exp, int) or exp <= now.timestamp()):
        raise TokenError("token is expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int) and nbf > now.timestamp() + 60:
        raise TokenError("token is not valid yet")
    if password_mtime is not None and iat < int(password_mtime.timestamp()):
        raise TokenError("token was issued before the account's password changed")
    return Claims(subject, iat, exp if isinstance(exp, int) else None, str(claims.get("jti") or ""))
