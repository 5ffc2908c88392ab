"""API answers become typed errors naming the object; Secret values are masked."""

from __future__ import annotations

import base64
import json

import pytest

from tidegate.kube import status
from tidegate.model import errors


@pytest.mark.parametrize(
    ("code", "reason", "error_type"),
    [
        (404, "NotFound", errors.KubeNotFoundError),
        (409, "Conflict", errors.KubeConflictError),
        (422, "Invalid", errors.KubeApiError),
        (429, "TooManyRequests", errors.KubeServerError),
        (503, "ServiceUnavailable", errors.KubeServerError),
    ],
)
def test_status_codes(code: int, reason: str, error_type: type[errors.KubeApiError]) -> None:
    body = json.dumps(
        {"kind": "Status", "message": "it failed", "reason": reason, "code": code}
    ).encode()
    err = status.api_error(what="apply ConfigMap ns/x on cluster dev", code=code, body=body)
    assert type(err) is error_type
    assert str(err) == f"apply ConfigMap ns/x on cluster dev: it failed ({reason} {code})"
    assert err.code == code and err.reason == reason
    assert isinstance(err, errors.TemporaryError) == (code >= 429)


def test_non_json_body() -> None:
    err = status.api_error(what="get X", code=502, body=b"<html>bad gateway</html>")
    assert "bad gateway" in str(err) and isinstance(err, errors.KubeServerError)


def test_secret_values_masked() -> None:
    secret = {
        "kind": "Secret",
        "data": {"password": base64.b64encode(b"hunter2-pw").decode()},
        "stringData": {"token": "tok-plain"},
    }
    values = status.secret_values(secret)
    body = json.dumps(
        {
            "message": 'Secret "s" is invalid: data[password]: "hunter2-pw" / '
            + base64.b64encode(b"hunter2-pw").decode()
            + " / tok-plain",
            "code": 422,
        }
    ).encode()
    text = str(status.api_error(what="apply Secret ns/s", code=422, body=body, secrets=values))
    assert "hunter2" not in text and "tok-plain" not in text
    assert base64.b64encode(b"hunter2-pw").decode() not in text
    assert "data[password]" in text
    assert status.secret_values({"kind": "ConfigMap", "data": {"a": "b"}}) == []


def test_gone_event() -> None:
    assert status.is_gone({"kind": "Status", "code": 410, "reason": "Expired"})
    assert not status.is_gone({"kind": "Status", "code": 500})
