"""Pure parts of sources: URL handling, credentials_for, error mapping and scrubbing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import errors
from tidegate.sources import RepoCredentials, credentials_for, gitcmd, urls

TESTDATA = Path(__file__).parent / "testdata"


def _load(name: str) -> Any:
    return yaml.safe_load((TESTDATA / name).read_text())


URL_CASES = _load("urls.yaml")
CRED_DATA = _load("credentials.yaml")
CLASSIFY_CASES = _load("classify.yaml")


@pytest.mark.parametrize("case", URL_CASES, ids=[c["url"] for c in URL_CASES])
def test_urls(case: dict[str, Any]) -> None:
    assert urls.normalise(case["url"]) == case["normalised"]
    assert urls.display(case["url"]) == case["display"]
    assert urls.is_ssh(case["url"]) is case["ssh"]
    name = urls.cache_dir_name(case["url"])
    assert "/" not in name and name == urls.cache_dir_name(case["normalised"])


def test_redact_strips_userinfo_everywhere() -> None:
    text = "fetching https://bob:tok3n@h/r.git and http://x@y/z failed"
    assert urls.redact(text) == "fetching https://h/r.git and http://y/z failed"


@pytest.mark.parametrize("case", CRED_DATA["cases"], ids=[c["name"] for c in CRED_DATA["cases"]])
def test_credentials_for(case: dict[str, Any]) -> None:
    found = credentials_for(
        case["url"],
        CRED_DATA["secrets"],
        project=case.get("project"),
        tls_certs=case.get("tls_certs"),
        known_hosts=case.get("known_hosts", ""),
    )
    if case["expect"] is None:
        assert found is None
        return
    assert found == RepoCredentials(**case["expect"])


def test_credentials_repr_hides_secrets() -> None:
    creds = RepoCredentials(
        username="alice",
        password="pa55-word-xyz",
        bearer_token="bearer-token-xyz",
        ssh_private_key="-----BEGIN KEY-----\nsecretkeymaterial\n-----END KEY-----",
        tls_client_key="client-key-xyz",
        source="argocd/repo",
    )
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        for secret in ("pa55-word-xyz", "bearer-token-xyz", "secretkeymaterial", "client-key-xyz"):
            assert secret not in text
    assert "alice" in repr(creds) and "password=<redacted>" in repr(creds)


@pytest.mark.parametrize("case", CLASSIFY_CASES, ids=[c["error"] for c in CLASSIFY_CASES])
def test_classify(case: dict[str, Any]) -> None:
    error = gitcmd.classify(case["stderr"], what="repository https://h/r")
    assert type(error) is getattr(errors, case["error"])
    assert str(error).startswith("repository https://h/r: ")
    if "summary" in case:
        assert str(error).startswith(f"repository https://h/r: {case['summary']}: ")


def test_scrub_removes_every_secret_form() -> None:
    creds = RepoCredentials(
        username="bot",
        password="hunter2-password",
        ssh_private_key="line-one-of-key\nline-two-of-key",
    )
    basic = "Ym90Omh1bnRlcjItcGFzc3dvcmQ="  # base64("bot:hunter2-password")
    text = (
        "auth hunter2-password for https://bot:hunter2-password@h/r header Basic "
        f"{basic} key line-two-of-key"
    )
    scrubbed = gitcmd.scrub(text, creds.secret_values())
    for secret in ("hunter2-password", basic, "line-two-of-key"):
        assert secret not in scrubbed
    assert "https://h/r" in scrubbed
