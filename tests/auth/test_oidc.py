"""The pure OIDC logic: oidc.config, PKCE, the one-use state, nonce replay, ID token checks.
Keys are made here; the provider itself is exercised end to end in tests/web/test_sso.py."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tidegate.auth import oidc

ISSUER = "https://idp.example/"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwk(key: Any, kid: str, alg: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key))
    return {**found, "kid": kid, "alg": alg, "use": "sig"}


JWKS = {"keys": [_jwk(KEY.public_key(), "k1", "RS256"), _jwk(EC_KEY.public_key(), "e1", "ES256")]}


def _claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "u1",
        "aud": ["tidegate"],
        "exp": now + 600,
        "iat": now,
        "nonce": "n1",
        "email": "a@x",
        "groups": ["devs", "ops"],
    }
    return {**base, **extra}


def _token(claims: dict[str, Any], key: Any = KEY, kid: str = "k1", alg: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid})


def _verify(token: str, nonce: str | None = None) -> oidc.IdClaims:
    return oidc.verify_id_token(
        token,
        jwks=JWKS,
        issuer=ISSUER,
        audiences=("tidegate", "tidegate-cli"),
        now=time.time(),
        nonce=nonce,
    )


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_good_token_gives_subject_email_and_groups() -> None:
    claims = _verify(_token(_claims()), nonce="n1")
    assert (claims.subject, claims.name) == ("u1", "a@x")
    assert oidc.groups_of(claims.claims, ("groups",)) == ("devs", "ops")
    assert _verify(_token(_claims(aud="tidegate-cli"))).subject == "u1"  # the CLI's client
    assert _verify(_token(_claims(), EC_KEY, "e1", "ES256")).subject == "u1"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: _token(_claims(), OTHER), "signature is invalid"),
        (lambda: _token(_claims(iss="https://evil.example/")), "unexpected issuer"),
        (lambda: _token(_claims(aud=["someone-else"])), "audience"),
        (lambda: _token(_claims(exp=int(time.time()) - 60)), "expired"),
        (lambda: _token({k: v for k, v in _claims().items() if k != "exp"}), "no expiry"),
        (lambda: _token(_claims(nbf=int(time.time()) + 3600)), "not valid yet"),
        (lambda: _token(_claims(sub="")), "no subject"),
        (lambda: _b64({"alg": "none", "kid": "k1"}) + "." + _b64(_claims()) + ".", "'none'"),
        (
            lambda: jwt.encode(_claims(), b"k" * 32, algorithm="HS256", headers={"kid": "k1"}),
            "'HS256'",
        ),
        (lambda: "not.a.token", "malformed"),
    ],
    ids=[
        "forged",
        "wrong-issuer",
        "wrong-audience",
        "expired",
        "no-exp",
        "not-yet",
        "no-sub",
        "alg-none",
        "hmac",
        "garbage",
    ],
)
def test_bad_tokens_are_refused_with_the_reason(make: Callable[[], str], reason: str) -> None:
    token = make()  # made now, not at collection: a long suite must not expire the good claims
    with pytest.raises(oidc.IdTokenError, match=reason) as caught:
        _verify(token)
    assert token not in str(caught.value)


def test_an_unknown_key_asks_for_a_new_jwks() -> None:
    with pytest.raises(oidc.UnknownKeyError):
        _verify(_token(_claims(), OTHER, kid="rotated"))


def test_the_nonce_must_match_the_login() -> None:
    with pytest.raises(oidc.IdTokenError, match="nonce does not match"):
        _verify(_token(_claims(nonce="other")), nonce="n1")
    with pytest.raises(oidc.IdTokenError, match="nonce does not match"):
        _verify(_token({k: v for k, v in _claims().items() if k != "nonce"}), nonce="n1")


def test_a_used_nonce_is_a_replay_until_its_token_expires() -> None:
    seen = oidc.SeenNonces()
    seen.use("n1", until=100.0, now=10.0)
    with pytest.raises(oidc.IdTokenError, match="already used"):
        seen.use("n1", until=100.0, now=20.0)
    seen.use("n1", until=300.0, now=150.0)  # forgotten once its token could no longer be used


def test_a_state_is_taken_once_and_expires() -> None:
    pending = oidc.PendingLogins()
    login = oidc.new_login(redirect_uri="https://s/auth/callback", return_url="/x", now=0.0)
    pending.put(login, now=0.0)
    assert pending.take(login.state, now=1.0) == login
    with pytest.raises(oidc.IdTokenError, match="unknown or already used"):
        pending.take(login.state, now=2.0)
    late = oidc.new_login(redirect_uri="https://s/auth/callback", return_url="/x", now=0.0)
    pending.put(late, now=0.0)
    with pytest.raises(oidc.IdTokenError, match="expired"):
        pending.take(late.state, now=oidc.LOGIN_LIFETIME + 1)


def test_a_flood_of_unfinished_logins_stays_bounded() -> None:
    pending = oidc.PendingLogins(limit=3)
    logins = [oidc.new_login(redirect_uri="r", return_url="/", now=0.0) for _ in range(5)]
    for login in logins:
        pending.put(login, now=0.0)
    assert pending.take(logins[-1].state, now=1.0) == logins[-1]
    with pytest.raises(oidc.IdTokenError):
        pending.take(logins[0].state, now=1.0)


def test_authorize_url_carries_pkce_state_nonce_and_claims() -> None:
    login = oidc.new_login(redirect_uri="https://s/auth/callback", return_url="/", now=0.0)
    url = oidc.authorize_url(
        "https://idp.example/auth",
        client_id="tidegate",
        scopes=("openid", "groups"),
        login=login,
        claims={"acr": {"essential": True}},
    )
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert query["state"] == login.state and query["nonce"] == login.nonce
    digest = hashlib.sha256(login.verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["code_challenge_method"] == "S256" and query["scope"] == "openid groups"
    assert json.loads(query["claims"]) == {"id_token": {"acr": {"essential": True}}}
    assert login.verifier not in url


CONFIG = """
name: Corp
issuer: https://idp.example/
clientID: tidegate
clientSecret: $oidc.corp.clientSecret
cliClientID: tidegate-cli
requestedScopes: [profile, email, groups]
requestedIDTokenClaims: {groups: {essential: true}}
logoutURL: https://idp.example/logout?id_token_hint={{token}}&post_logout_redirect_uri={{logoutRedirectURL}}
"""


def test_config_resolves_the_secret_and_keeps_it_out_of_repr_and_public() -> None:
    config = oidc.parse_config({"oidc.config": CONFIG}, {"oidc.corp.clientSecret": b"s3cr3t"})
    assert config is not None
    assert config.client_secret == "s3cr3t" and "s3cr3t" not in repr(config)
    assert "s3cr3t" not in json.dumps(config.public())
    assert config.requested_scopes == ("openid", "profile", "email", "groups")
    assert config.audiences == ("tidegate", "tidegate-cli")
    url = oidc.logout_url(config.logout_url, token="t.k.n", redirect="https://s/login")
    assert url.endswith("id_token_hint=t.k.n&post_logout_redirect_uri=https%3A%2F%2Fs%2Flogin")
    assert oidc.parse_config({}, {}) is None


@pytest.mark.parametrize(
    ("text", "secret", "reason"),
    [
        ("issuer: [", {}, "not valid YAML at line 1"),
        ("- a", {}, "must be a mapping"),
        ("clientID: x", {}, "needs issuer"),
        ("issuer: ftp://x\nclientID: x", {}, "http\\(s\\) URL"),
        ("issuer: https://x\n", {}, "needs clientID"),
        ("issuer: https://x\nclientID: x\nclientSecret: $missing", {}, "argocd-secret lacks"),
        ("issuer: https://x\nclientID: x\nclientSecret: $other:key", {}, "other Secrets"),
        ("issuer: https://x\nclientID: x\nrequestedScopes: openid", {}, "list of names"),
    ],
)
def test_bad_config_is_named(text: str, secret: dict[str, bytes], reason: str) -> None:
    with pytest.raises(oidc.OidcConfigError, match=reason):
        oidc.parse_config({"oidc.config": text}, secret)


def test_groups_claims_may_be_strings_or_lists_and_return_urls_stay_local() -> None:
    claims = {"groups": ["a", "b", 3], "email": "x@y", "team": "a"}
    assert oidc.groups_of(claims, ("groups", "team", "missing")) == ("a", "b")
    assert oidc.groups_of(claims, ("email",)) == ("x@y",)
    assert oidc.safe_return_url("/applications/x") == "/applications/x"
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        assert oidc.safe_return_url(evil) == "/applications"
