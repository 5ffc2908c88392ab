"""GitHub App installation tokens: the JWT GitHub asks for, the exchange request, the cache and
its expiry on a fake clock, and errors that name the status but never the key or a token.

The HTTP side is httpx's MockTransport here (pure logic); the e2e test in
tests/controller/e2e/test_github_app_repo.py exchanges against a local HTTP server."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable

import httpx
import jwt
import pytest

from tidegate.model import errors
from tidegate.sources import RepoCredentials, githubapp
from tidegate.testenv import githubapi


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return githubapi.app_key_pair()


def _creds(private: str, **extra: str) -> RepoCredentials:
    fields = {"github_app_id": "4242", "github_app_installation_id": "77", **extra}
    return dataclasses.replace(RepoCredentials(github_app_private_key=private), **fields)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _iso(stamp: float) -> str:
    return datetime.datetime.fromtimestamp(stamp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _github(
    seen: list[httpx.Request], clock: Clock, *, lifetime: float = 3600.0
) -> Callable[[httpx.Request], httpx.Response]:
    """GitHub's token endpoint: a new token per call, expiring ``lifetime`` s after ``clock``."""

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"token": f"ghs_token{len(seen)}", "expires_at": _iso(clock.now + lifetime)}
        return httpx.Response(201, json=body)

    return handle


def test_claims_follow_githubs_rules() -> None:
    found = githubapp.claims("4242", 1_700_000_000.7)
    assert found == {"iat": 1_699_999_940, "exp": 1_700_000_540, "iss": "4242"}
    assert found["exp"] - 1_700_000_000 <= 600  # at most ten minutes ahead


def test_the_jwt_is_rs256_signed_by_the_apps_key(key_pair: tuple[str, str]) -> None:
    private, public = key_pair
    now = 1_700_000_000.0
    token = githubapp.app_jwt(_creds(private), now, what="repository r")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    decoded = jwt.decode(
        token, public, algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert decoded == githubapp.claims("4242", now)


def test_an_unusable_key_is_named_never_shown() -> None:
    with pytest.raises(errors.AuthenticationError, match="repository r: the GitHub App") as info:
        githubapp.app_jwt(_creds("not-a-pem-secret-text"), 0.0, what="repository r")
    assert "not-a-pem-secret-text" not in str(info.value)


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("", "https://api.github.com/app/installations/77/access_tokens"),
        (
            "https://ghe.example.com/api/v3/",
            "https://ghe.example.com/api/v3/app/installations/77/access_tokens",
        ),
    ],
)
def test_token_url(base: str, url: str) -> None:
    assert githubapp.token_url(_creds("k", github_app_enterprise_base_url=base)) == url


async def test_exchange_request_and_git_credentials(key_pair: tuple[str, str]) -> None:
    private, public = key_pair
    clock = Clock(1_700_000_000.0)
    seen: list[httpx.Request] = []
    tokens = githubapp.TokenCache(clock=clock, transport=httpx.MockTransport(_github(seen, clock)))
    creds = await tokens.git_credentials(_creds(private), what="repository r")

    assert (creds.username, creds.password) == ("x-access-token", "ghs_token1")
    assert private not in repr(creds) and "ghs_token1" not in repr(creds)
    assert "ghs_token1" in creds.secret_values()  # scrubbed from git's output
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.github.com/app/installations/77/access_tokens"
    scheme, _, bearer = request.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    assert jwt.decode(bearer, public, algorithms=["RS256"], options={"verify_exp": False})[
        "iss"
    ] == ("4242")


async def test_a_token_is_reused_until_shortly_before_it_expires(key_pair: tuple[str, str]) -> None:
    clock = Clock(1_700_000_000.0)
    seen: list[httpx.Request] = []
    tokens = githubapp.TokenCache(clock=clock, transport=httpx.MockTransport(_github(seen, clock)))
    creds = _creds(key_pair[0])

    assert await tokens.token(creds, what="r") == "ghs_token1"
    clock.now += 3600 - githubapp.REFRESH_MARGIN - 1  # still valid long enough
    assert await tokens.token(creds, what="r") == "ghs_token1"
    clock.now += 2  # inside the margin: exchanged again
    assert await tokens.token(creds, what="r") == "ghs_token2"
    assert tokens.exchanges == 2

    # Another installation is another token; a refused one is forgotten.
    other = _creds(key_pair[0], github_app_installation_id="78")
    assert await tokens.token(other, what="r") == "ghs_token3"
    tokens.forget(creds)
    assert await tokens.token(creds, what="r") == "ghs_token4"


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, errors.AuthenticationError),
        (404, errors.AuthenticationError),
        (503, errors.RepoUnreachableError),
    ],
)
async def test_a_refused_exchange_names_repo_and_status(
    key_pair: tuple[str, str], status: int, kind: type[errors.SourceError]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"message": "A JSON web token could not be decoded"})

    tokens = githubapp.TokenCache(transport=httpx.MockTransport(refuse))
    with pytest.raises(kind) as info:
        await tokens.token(_creds(key_pair[0]), what="repository https://github.com/o/r")
    text = str(info.value)
    assert text.startswith("repository https://github.com/o/r: the GitHub App token exchange")
    assert f"HTTP {status}: A JSON web token could not be decoded" in text
    assert key_pair[0].splitlines()[1] not in text
    assert tokens.exchanges == 1


async def test_a_reply_without_token_is_an_error(key_pair: tuple[str, str]) -> None:
    def odd(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=json.dumps({"expires_at": "soon"}).encode())

    tokens = githubapp.TokenCache(transport=httpx.MockTransport(odd))
    with pytest.raises(errors.AuthenticationError, match="HTTP 201 without a token"):
        await tokens.token(_creds(key_pair[0]), what="repository r")


def test_credentials_for_reads_the_app_fields_and_depth_from_a_template() -> None:
    from tidegate.sources import credentials_for

    def secret(kind: str, data: dict[str, str]) -> dict[str, object]:
        return {
            "metadata": {
                "name": kind,
                "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": kind},
            },
            "stringData": data,
        }

    template = secret(
        "repo-creds",
        {
            "url": "https://github.com/org/",
            "githubAppID": "4242",
            "githubAppInstallationID": "77",
            "githubAppPrivateKey": "PEM",
            "githubAppEnterpriseBaseUrl": "https://ghe.example.com/api/v3",
        },
    )
    repository = secret("repository", {"url": "https://github.com/org/app", "depth": "3"})
    found = credentials_for("https://github.com/org/app.git", [template, repository])
    assert found is not None
    assert githubapp.uses_app(found)
    assert (found.github_app_id, found.github_app_installation_id, found.depth) == ("4242", "77", 3)
    assert found.github_app_enterprise_base_url == "https://ghe.example.com/api/v3"
    assert "PEM" not in repr(found)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"depth": "two"}, "repository Secret argocd/repository: depth 'two' is not a whole"),
        ({"depth": "-1"}, "depth '-1' is not a whole number"),
        ({"githubAppID": "1", "githubAppPrivateKey": "PEM"}, "githubAppInstallationID missing"),
    ],
)
def test_a_bad_depth_or_an_incomplete_app_names_the_secret(
    data: dict[str, str], error: str
) -> None:
    from tidegate.sources import credentials_for

    secret = {
        "metadata": {
            "name": "repository",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repository"},
        },
        "stringData": {"url": "https://github.com/org/app", **data},
    }
    with pytest.raises(errors.ConfigError, match=error) as info:
        credentials_for("https://github.com/org/app", [secret])
    assert "PEM" not in str(info.value)
