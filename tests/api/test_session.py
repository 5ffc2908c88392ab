"""Logging in to a real ``tidegate server``, and everything it must refuse."""

from __future__ import annotations

import base64
import json
import ssl
import time
from pathlib import Path

import httpx
import jwt
import pytest

from tidegate.api import bootstrap
from tidegate.testenv import serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


def _login(server: serverproc.ServerProcess, body: object) -> tuple[int, dict[str, object]]:
    with server.client() as client:
        resp = client.post("/api/v1/session", content=json.dumps(body), headers=JSON)
        return resp.status_code, resp.json()


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": "argocd", "sub": "admin:login", "iat": now, "nbf": now, "jti": "x", **extra}


def test_open_endpoints_and_generated_secrets(server: serverproc.ServerProcess) -> None:
    assert server.url.startswith("https://")
    with server.client() as client:  # the pinned self-signed certificate verifies
        assert client.get("/healthz").text == "ok"
        version = client.get("/api/version").json()
        assert version["Version"].startswith("v")
        doc = client.get("/swagger.json").json()
        assert "/api/v1/session" in doc["paths"]
    password = server.admin_password()
    assert len(password) == 16


def test_login_returns_token_and_cookie(server: serverproc.ServerProcess) -> None:
    with server.client() as client:
        resp = client.post(
            "/api/v1/session",
            content=json.dumps({"username": "admin", "password": server.admin_password()}),
            headers=JSON,
        )
        assert resp.status_code == 200, resp.text
        token = resp.json()["token"]
        cookie = resp.headers["set-cookie"]
        assert cookie.startswith(f"argocd.token={token};")
        for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
            assert attribute in cookie
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"] == "argocd" and claims["sub"] == "admin:login"
        assert claims["exp"] - claims["iat"] == 24 * 3600
        # Bearer header, then the cookie alone, both authenticate.
        info = client.get("/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert info.json() == {"loggedIn": True, "username": "admin", "iss": "argocd", "groups": []}
        client.cookies.set("argocd.token", token)
        assert client.get("/api/v1/session/userinfo").status_code == 200
        out = client.request("DELETE", "/api/v1/session", headers=JSON)
        assert out.json() == {"token": ""}
        assert (
            'argocd.token=""' in out.headers["set-cookie"]
            or "Max-Age=0" in out.headers["set-cookie"]
        )


@pytest.mark.parametrize(
    "body",
    [
        {"username": "admin", "password": "wrong-password"},
        {"username": "nobody", "password": "wrong-password"},
        {"username": "admin", "password": ""},
        {"username": "admin", "password": "p" * 1_000_000},
        {"username": "a" * 100, "password": "x"},
    ],
    ids=["wrong-password", "unknown-user", "blank", "megabyte-password", "long-user"],
)
def test_bad_credentials_get_one_answer(server: serverproc.ServerProcess, body: object) -> None:
    status, reply = _login(server, body)
    assert status == 401
    assert reply == {
        "error": "Invalid username or password",
        "code": 16,
        "message": "Invalid username or password",
        "details": [],
    }


def test_forged_tokens_are_refused(server: serverproc.ServerProcess, token: str) -> None:
    header = token.split(".")[0]
    forged = {
        "bad-signature": jwt.encode(_claims(), b"not-the-key" * 4, algorithm="HS256"),
        "alg-none": _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims()) + ".",
        "expired": jwt.encode(_claims(exp=int(time.time()) - 10), b"x" * 32, algorithm="HS256"),
        "other-issuer": jwt.encode(_claims(iss="someone"), b"x" * 32, algorithm="HS256"),
        "tampered-subject": header + "." + _b64(_claims(sub="root:login")) + "." + "AAAA",
        "garbage": "abc.def",
    }
    with server.client() as client:
        for name, bad in forged.items():
            resp = client.get(
                "/api/v1/session/userinfo", headers={"Authorization": f"Bearer {bad}"}
            )
            assert resp.status_code == 401, name
            body = resp.json()
            assert body["code"] == 16 and body["error"].startswith("invalid session"), name
            assert bad not in resp.text
        resp = client.get("/api/v1/session/userinfo")
        assert resp.status_code == 401 and resp.json()["message"] == "no session information"


def test_writes_need_json_and_bounded_bodies(server: serverproc.ServerProcess, token: str) -> None:
    with server.client(token=token) as client:
        form = client.post(
            "/api/v1/session",
            content="username=admin",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 415 and form.json()["error"] == "Invalid content type"
        plain = client.post("/api/v1/session", content="{}", headers={"Content-Type": "text/plain"})
        assert plain.status_code == 415
        huge = client.post("/api/v1/session", content=b"{" + b" " * (2 * 1024 * 1024), headers=JSON)
        assert huge.status_code == 413 and huge.json()["code"] == 8
        broken = client.post("/api/v1/session", content=b'{"username": ', headers=JSON)
        assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
        listed = client.post("/api/v1/session", content=b"[]", headers=JSON)
        assert listed.status_code == 400


def test_no_secret_in_the_log(server: serverproc.ServerProcess, token: str) -> None:
    text = server.log.read_text()
    assert "login of user 'admin'" in text
    assert server.admin_password() not in text
    assert token not in text
    assert "$2a$" not in text


def test_argocd_server_tls_overrides_the_generated_certificate(
    server: serverproc.ServerProcess, tmp_path: Path
) -> None:
    cert, key = bootstrap.self_signed(("127.0.0.1",))
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": "argocd-server-tls", "namespace": server.namespace},
        "data": {
            "tls.crt": base64.b64encode(cert).decode(),
            "tls.key": base64.b64encode(key).decode(),
        },
    }
    with server.bed.admin_client("mgmt") as mgmt:
        created = mgmt.post(f"/api/v1/namespaces/{server.namespace}/secrets", json=secret)
        assert created.status_code == 201, created.text
    other = serverproc.ServerProcess(server.bed, server.namespace, log=tmp_path / "tls.log").start()
    try:
        pinned = ssl.create_default_context(cadata=cert.decode())
        with httpx.Client(base_url=other.url, verify=pinned) as client:
            assert client.get("/healthz").text == "ok"  # it serves the Secret's certificate
        generated = ssl.create_default_context(cadata=server._secret("argocd-secret")["tls.crt"])
        with (
            httpx.Client(base_url=other.url, verify=generated) as client,
            pytest.raises(httpx.ConnectError),
        ):
            client.get("/healthz")
    finally:
        other.stop()
        with server.bed.admin_client("mgmt") as mgmt:
            mgmt.delete(f"/api/v1/namespaces/{server.namespace}/secrets/argocd-server-tls")


def test_repeated_failures_block_the_username(server: serverproc.ServerProcess) -> None:
    """Last in this module: it leaves ``admin`` blocked on this module's server."""
    for _ in range(5):
        _login(server, {"username": "admin", "password": "still-wrong"})
    status, reply = _login(server, {"username": "admin", "password": server.admin_password()})
    assert status == 401 and reply["message"] == "Invalid username or password"
    assert "too many failures" in server.log.read_text()
