"""Session tokens and passwords: what is accepted and what is refused (pure)."""

from __future__ import annotations

import base64
import datetime
import json

import jwt
import pytest

from tidegate.auth import access, passwords, tokens

KEY = b"k" * 32
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_issued_token_has_argo_claims_and_verifies() -> None:
    token = tokens.issue("admin", KEY, now=NOW)
    claims = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert claims["iss"] == "argocd"
    assert claims["sub"] == "admin:login"
    assert claims["iat"] == claims["nbf"] == int(NOW.timestamp())
    assert claims["exp"] == claims["iat"] + 24 * 3600
    assert len(claims["jti"]) == 36
    verified = tokens.verify(token, KEY, now=NOW)
    assert (verified.username, verified.capability) == ("admin", "login")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: tokens.issue("admin", b"x" * 32, now=NOW), "signature is invalid"),
        (
            lambda: tokens.issue("admin", KEY, now=NOW - datetime.timedelta(hours=25)),
            "expired",
        ),
        (
            lambda: jwt.encode(
                {"iss": "dex", "sub": "admin:login", "iat": int(NOW.timestamp())},
                KEY,
                algorithm="HS256",
            ),
            "unexpected issuer",
        ),
        (
            lambda: (
                _b64({"alg": "none", "typ": "JWT"})
                + "."
                + _b64({"iss": "argocd", "sub": "admin:login", "iat": int(NOW.timestamp())})
                + "."
            ),
            "unsupported signing algorithm 'none'",
        ),
        (
            lambda: jwt.encode(
                {"iss": "argocd", "sub": "admin:login", "iat": int(NOW.timestamp())},
                KEY,
                algorithm="HS512",
            ),
            "unsupported signing algorithm 'HS512'",
        ),
        (lambda: "not-a-token", "malformed"),
    ],
)
def test_bad_tokens_are_refused_with_the_reason(make: object, reason: str) -> None:
    with pytest.raises(tokens.TokenError, match=reason):
        tokens.verify(make(), KEY, now=NOW)  # type: ignore[operator]


def test_token_issued_before_the_password_changed_is_refused() -> None:
    token = tokens.issue("admin", KEY, now=NOW)
    later = NOW + datetime.timedelta(seconds=1)
    with pytest.raises(tokens.TokenError, match="before the account's password changed"):
        tokens.verify(token, KEY, now=later, password_mtime=later)


def test_passwords_hash_as_argo_cd_and_verify_timing_safely() -> None:
    password = passwords.generate_password()
    assert len(password) == 16
    assert set(password) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
    hashed = passwords.hash_password(password)
    assert hashed.startswith("$2a$10$")
    assert passwords.verify_password(password, hashed)
    assert not passwords.verify_password(password + "x", hashed)
    assert not passwords.verify_password(password, None)  # unknown user: never matches
    assert not passwords.verify_password("", hashed)
    assert not passwords.verify_password("p" * 1_000_000, hashed)  # refused before hashing
    with pytest.raises(ValueError, match="1 to 72 bytes"):
        passwords.hash_password("p" * 73)


def test_authorize_needs_a_subject_and_known_vocabulary() -> None:
    admin = access.Subject("admin", "admin:login")
    access.authorize(admin, "applications", "get", "default/guestbook")
    with pytest.raises(access.PermissionDeniedError):
        access.authorize(None, "applications", "get", "default/guestbook")
    with pytest.raises(ValueError, match="unknown RBAC"):
        access.authorize(admin, "aplications", "get", "x")


def test_failed_logins_block_a_username_for_the_window() -> None:
    counter = passwords.FailureCounter(max_failures=3, window=300, max_names=2)
    for i in range(3):
        assert not counter.blocked("admin", 10.0 + i)
        counter.failed("admin", 10.0 + i)
    assert counter.blocked("admin", 20.0)
    assert not counter.blocked("other", 20.0)
    assert not counter.blocked("admin", 311.0)  # the window has passed
    counter.failed("a", 1.0)
    counter.failed("b", 1.0)
    counter.failed("c", 1.0)
    assert len(counter._failures) == 2  # bounded
    counter.succeeded("c")
    assert not counter.blocked("c", 2.0)
