"""Webhook parsing, signatures and matching, table-driven over testdata/webhooks/*.yaml."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.controller import webhook
from tidegate.model import errors
from tidegate.sources import urls

TESTDATA = Path(__file__).parent / "testdata" / "webhooks"
TABLES = {"normalize.yaml", "paths.yaml", "matching.yaml"}
DELIVERIES = sorted(p.stem for p in TESTDATA.glob("*.yaml") if p.name not in TABLES)


def load(name: str) -> Any:
    return yaml.safe_load((TESTDATA / name).read_text())


def delivery(name: str) -> tuple[dict[str, str], bytes, dict[str, Any]]:
    """(headers, body, fixture) of a delivery fixture."""
    fixture = load(f"{name}.yaml")
    if "raw_body" in fixture:
        body = fixture["raw_body"].encode()
    elif "raw_body_hex" in fixture:
        body = bytes.fromhex(fixture["raw_body_hex"])
    else:
        body = json.dumps(fixture["payload"], indent=2).encode()
    return dict(fixture["headers"]), body, fixture


def test_every_provider_has_a_push_fixture() -> None:
    providers = {load(f"{n}.yaml").get("expect", {}).get("provider") for n in DELIVERIES}
    assert {p.value for p in webhook.Provider} <= providers


@pytest.mark.parametrize("name", DELIVERIES)
def test_parse(name: str) -> None:
    headers, body, fixture = delivery(name)
    if "expect_error" in fixture:
        want = fixture["expect_error"]
        with pytest.raises(errors.WebhookError) as caught:
            webhook.parse(headers, body, webhook.WebhookSecrets())
        assert caught.value.status == want["status"]
        assert str(caught.value) == want["message"]
        return
    event = webhook.parse(headers, body, webhook.WebhookSecrets())
    want = fixture["expect"]
    if "ping" in want:
        assert event == webhook.Ping(webhook.Provider(want["ping"]), delivery=want["delivery"])
        return
    assert isinstance(event, webhook.PushEvent)
    got = dataclasses.asdict(event)
    got["provider"] = event.provider.value
    expected = {field: want.get(field, "") for field in got}
    for field in ("repo_urls", "refs", "changed_files"):
        expected[field] = tuple(want[field])
    assert got == expected


# provider fixture, configured secrets, signature header, how the provider computes its value
def _hmac(prefix: str) -> Callable[[str, bytes], str]:
    return lambda secret, body: prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _token(secret: str, body: bytes) -> str:
    return secret


SECRET = "s3cr3t-hook-value"
SIGNATURES = [
    ("github-push-branch", {"github": SECRET}, "X-Hub-Signature-256", _hmac("sha256=")),
    ("github-ping", {"github": SECRET}, "X-Hub-Signature-256", _hmac("sha256=")),
    ("gitlab-push", {"gitlab": SECRET}, "X-Gitlab-Token", _token),
    ("bitbucket-push", {"bitbucket_uuid": SECRET}, "X-Hook-UUID", _token),
    ("bitbucket-push", {"bitbucket_secret": SECRET}, "X-Hub-Signature", _hmac("sha256=")),
    (
        "bitbucketserver-refs-changed",
        {"bitbucketserver": SECRET},
        "X-Hub-Signature",
        _hmac("sha256="),
    ),
    ("bitbucketserver-ping", {"bitbucketserver": SECRET}, "X-Hub-Signature", _hmac("sha256=")),
    ("gitea-push", {"gitea": SECRET}, "X-Gitea-Signature", _hmac("")),
    ("gitea-push", {"gogs": SECRET}, "X-Gitea-Signature", _hmac("")),  # Argo CD's key for Gitea
    ("gogs-push", {"gogs": SECRET}, "X-Gogs-Signature", _hmac("")),
]
SIGNATURE_IDS = [f"{case[0]}-{case[2]}-{next(iter(case[1]))}" for case in SIGNATURES]


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != name.lower()}


@pytest.mark.parametrize(("name", "configured", "header", "sign"), SIGNATURES, ids=SIGNATURE_IDS)
def test_signature_valid(
    name: str, configured: dict[str, str], header: str, sign: Callable[[str, bytes], str]
) -> None:
    headers, body, _ = delivery(name)
    headers = _without(headers, header) | {header: sign(SECRET, body)}
    event = webhook.parse(headers, body, webhook.WebhookSecrets(**configured))
    assert event.provider.value in name


@pytest.mark.parametrize(("name", "configured", "header", "sign"), SIGNATURES, ids=SIGNATURE_IDS)
def test_signature_wrong(
    name: str, configured: dict[str, str], header: str, sign: Callable[[str, bytes], str]
) -> None:
    headers, body, _ = delivery(name)
    headers = _without(headers, header) | {header: sign("another-secret", body)}
    with pytest.raises(errors.WebhookSignatureError) as caught:
        webhook.parse(headers, body, webhook.WebhookSecrets(**configured))
    assert caught.value.status == 401
    assert header in str(caught.value)
    assert "does not match" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert sign(SECRET, body) not in str(caught.value)


@pytest.mark.parametrize(("name", "configured", "header", "sign"), SIGNATURES, ids=SIGNATURE_IDS)
def test_signature_missing(
    name: str, configured: dict[str, str], header: str, sign: Callable[[str, bytes], str]
) -> None:
    headers, body, _ = delivery(name)
    with pytest.raises(errors.WebhookSignatureError) as caught:
        webhook.parse(_without(headers, header), body, webhook.WebhookSecrets(**configured))
    assert caught.value.status == 401
    assert f"has no {header} header, but a webhook secret is configured" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "configured", "header", "sign"),
    [case for case in SIGNATURES if case[3] is not _token],
    ids=[i for i, case in zip(SIGNATURE_IDS, SIGNATURES, strict=True) if case[3] is not _token],
)
def test_signature_of_another_body(
    name: str, configured: dict[str, str], header: str, sign: Callable[[str, bytes], str]
) -> None:
    headers, body, _ = delivery(name)
    headers = _without(headers, header) | {header: sign(SECRET, body)}
    tampered = body + b" "  # still the same JSON, but not the signed bytes
    with pytest.raises(errors.WebhookSignatureError):
        webhook.parse(headers, tampered, webhook.WebhookSecrets(**configured))


def test_signature_hex_case_is_ignored() -> None:
    headers, body, _ = delivery("github-push-branch")
    value = _hmac("sha256=")(SECRET, body).upper().replace("SHA256=", "sha256=")
    event = webhook.parse(
        headers | {"X-Hub-Signature-256": value}, body, webhook.WebhookSecrets(github=SECRET)
    )
    assert isinstance(event, webhook.PushEvent)


def test_secret_of_another_provider_does_not_apply() -> None:
    headers, body, _ = delivery("github-push-branch")
    event = webhook.parse(headers, body, webhook.WebhookSecrets(gitlab=SECRET))
    assert isinstance(event, webhook.PushEvent)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secrets_from_argocd_secret() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "argocd-secret", "namespace": "argocd"},
        "data": {
            "webhook.github.secret": _b64("gh-secret"),
            "webhook.gitlab.secret": _b64("gl-secret"),
            "webhook.bitbucket.uuid": _b64("{0d5e2c7a-9b14}"),
            "webhook.bitbucketserver.secret": _b64("bbs-secret"),
            "webhook.gitea.secret": _b64("gitea-secret"),
            "webhook.gogs.secret": _b64("gogs-secret"),
            "admin.password": _b64("$2a$10$not-a-webhook-key"),
            "server.secretkey": "%%% not base64, not ours %%%",
        },
        "stringData": {"webhook.gitlab.secret": "gl-override"},
    }
    got = webhook.WebhookSecrets.from_secret(secret)
    assert got == webhook.WebhookSecrets(
        github="gh-secret",
        gitlab="gl-override",
        bitbucket_uuid="{0d5e2c7a-9b14}",
        bitbucketserver="bbs-secret",
        gitea="gitea-secret",
        gogs="gogs-secret",
    )
    text = repr(got) + str(got)
    assert "secret'" not in text and "gh-secret" not in text and "0d5e2c7a" not in text
    assert "github" in text and "bitbucket_secret" not in text


def test_secrets_from_empty_secret() -> None:
    assert webhook.WebhookSecrets.from_secret({"metadata": {"name": "argocd-secret"}}) == (
        webhook.WebhookSecrets()
    )


def test_secrets_bad_base64_names_the_key_not_the_value() -> None:
    secret = {
        "metadata": {"name": "argocd-secret"},
        "data": {"webhook.github.secret": "plain!text"},
    }
    with pytest.raises(errors.ConfigError) as caught:
        webhook.WebhookSecrets.from_secret(secret)
    assert str(caught.value) == (
        "Secret argocd-secret: data.webhook.github.secret is not valid base64 text"
    )
    assert "plain!text" not in str(caught.value)


@pytest.mark.parametrize(("url", "expected"), load("normalize.yaml"))
def test_normalize_repo_url(url: str, expected: str) -> None:
    assert urls.repo_key(url) == expected


PATHS = load("paths.yaml")


@pytest.mark.parametrize("case", PATHS, ids=[c["name"] for c in PATHS])
def test_paths_match(case: dict[str, Any]) -> None:
    got = webhook.paths_match(case["annotation"], case["path"], case["files"])
    assert got is case["expect"]


MATCHING = load("matching.yaml")


def _event(overrides: dict[str, Any]) -> webhook.PushEvent:
    fields = MATCHING["defaults"]["event"] | overrides
    refs = tuple(fields["refs"])
    return webhook.PushEvent(
        provider=webhook.Provider.GITHUB,
        repo_urls=tuple(fields["repo_urls"]),
        revision=webhook.short_ref(refs[0]),
        before="",
        after="",
        changed_files=tuple(fields["changed_files"]),
        refs=refs,
        default_branch=fields["default_branch"],
    )


def _app(case: dict[str, Any]) -> dict[str, Any]:
    annotations = {}
    if "annotation" in case:
        annotations["argocd.argoproj.io/manifest-generate-paths"] = case["annotation"]
    spec: dict[str, Any] = {"destination": {"server": "https://kubernetes.default.svc"}}
    if "sources" in case:
        spec["sources"] = case["sources"]
    else:
        spec["source"] = {"repoURL": case["repo"], "targetRevision": case["revision"]}
        if "path" in case:
            spec["source"]["path"] = case["path"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "guestbook", "namespace": "argocd", "annotations": annotations},
        "spec": spec,
    }


@pytest.mark.parametrize("case", MATCHING["cases"], ids=[c["name"] for c in MATCHING["cases"]])
def test_application_matches(case: dict[str, Any]) -> None:
    event = _event(case.get("event", {}))
    got = webhook.application_matches(
        _app(case), event, resolved_head_branch=case.get("resolved_head")
    )
    assert got is case["expect"]


def test_matches_single_source() -> None:
    _, body, _ = delivery("github-push-branch")
    event = webhook.parse({"X-GitHub-Event": "push"}, body, webhook.WebhookSecrets())
    assert isinstance(event, webhook.PushEvent)
    url = "git@github.com:acme/deploy-config"
    assert webhook.matches(url, "HEAD", event)
    assert webhook.matches(url, "main", event, source_path="shared", generate_paths=".")
    assert not webhook.matches(url, "main", event, source_path="apps/x", generate_paths=".")
    assert not webhook.matches(url, "v1", event)


def test_event_revisions_and_branches() -> None:
    event = _event({"refs": ["refs/heads/main", "refs/tags/v1", "refs/pull/7/head"]})
    assert event.revisions == ("main", "v1", "refs/pull/7/head")
    assert event.branches == ("main", "refs/pull/7/head")
