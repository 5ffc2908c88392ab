"""Local accounts from argocd-cm/argocd-secret and the per-request token check (pure)."""

from __future__ import annotations

import datetime

from tidegate.auth import accounts, tokens

KEY = b"k" * 32
NOW = datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)


def _claims(subject: str, token_id: str = "t1", iat: int | None = None) -> tokens.Claims:
    return tokens.Claims(subject, iat or int(NOW.timestamp()), None, token_id)


def test_accounts_capabilities_enabled_and_admin_switch() -> None:
    cm = {
        "accounts.alice": "apiKey, login",
        "accounts.bob": "login",
        "accounts.bob.enabled": "false",
        "accounts.alice.enabled": "true",
        "admin.enabled": "false",
    }
    secret = {
        "accounts.alice.tokens": accounts.encode_tokens([accounts.TokenEntry("t1", 5, 0)]),
        "admin.password": b"$2a$10$x",
    }
    found = accounts.accounts_from(cm, secret)
    assert set(found) == {"admin", "alice", "bob"}
    assert found["alice"].capabilities == ("apiKey", "login") and found["alice"].enabled
    assert not found["bob"].enabled and not found["admin"].enabled
    assert found["admin"].password_hash == "$2a$10$x"
    assert found["alice"].tokens == (accounts.TokenEntry("t1", 5, 0),)
    assert "$2a$" not in repr(found["admin"]) + str(found["admin"].api_json())


def test_check_claims_refuses_disabled_missing_capability_revoked_and_stale() -> None:
    alice = accounts.Account(
        "alice",
        True,
        ("apiKey",),
        tokens=(accounts.TokenEntry("t1", 0),),
        password_mtime=NOW,
    )
    assert accounts.check_claims(alice, _claims("alice:apiKey")) is None
    assert accounts.check_claims(alice, _claims("alice", "t1")) is None  # no suffix = apiKey
    assert "revoked" in str(accounts.check_claims(alice, _claims("alice:apiKey", "gone")))
    assert "login capability" in str(accounts.check_claims(alice, _claims("alice:login")))
    stale = _claims("alice:apiKey", iat=int(NOW.timestamp()) - 10)
    assert "password changed" in str(accounts.check_claims(alice, stale))
    assert accounts.check_claims(None, _claims("x:login")) == "account not found or disabled"
    off = accounts.Account("bob", False, ("login",))
    assert accounts.check_claims(off, _claims("bob:login")) == "account not found or disabled"


def test_corrupt_token_list_reads_as_none() -> None:
    assert accounts.parse_tokens(b"not json") == ()
    assert accounts.parse_tokens(b'[{"id": 3}, {"id": "ok", "iat": 1, "exp": 9}]') == (
        accounts.TokenEntry("ok", 1, 9),
    )
