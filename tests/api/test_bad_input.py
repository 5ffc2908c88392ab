"""Issue 11's bad-input list, the items the other API tests did not cover yet, against a real
``tidegate server``: tokens signed with the server's *own* key but expired, from another
issuer, not yet valid or with another algorithm (a forged signature is refused first, so only
the real key shows that each check holds on its own); oversized, malformed and unknown-field
bodies and non-JSON content types on every kind of write; path parameters with ``/`` or
``..``. Each is an error in Argo CD's shape, and nothing is written."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx
import jwt
import pytest
from tests.api.access_helpers import JSON, api_error

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
TAG = secrets.token_hex(3)


@pytest.fixture(scope="module")
def signing_key(server: serverproc.ServerProcess, testbed_handle: handle.TestBed) -> bytes:
    server.login()  # the key exists once the server is up
    with testbed_handle.admin_client("mgmt") as client:
        resp = client.get(f"/api/v1/namespaces/{server.namespace}/secrets/argocd-secret")
        resp.raise_for_status()
    return base64.b64decode(resp.json()["data"]["server.secretkey"])


def _claims(**extra: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "argocd",
        "sub": "admin:login",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": TAG,
    }
    return {k: v for k, v in {**claims, **extra}.items() if v is not None}


def _app(bed: handle.TestBed, name: str) -> dict[str, Any]:
    return scenario.application(
        name,
        repo_url="https://git.example/x.git",
        path="x",
        server=bed.clusters["dev"].server,
        namespace="x",
        automated=False,
    )


def _names(api: httpx.Client, what: str) -> set[str]:
    return {i["metadata"]["name"] for i in api.get(f"/api/v1/{what}").json()["items"]}


def test_tokens_with_the_real_key_and_a_bad_claim_are_refused(
    server: serverproc.ServerProcess,
    signing_key: bytes,
    api: httpx.Client,
    testbed_handle: handle.TestBed,
) -> None:
    good = jwt.encode(_claims(), signing_key, algorithm="HS256")
    with server.client(token=good) as client:  # the key is right: a sound token is accepted
        assert client.get("/api/v1/session/userinfo").json()["username"] == "admin"
    now = int(time.time())
    unsigned = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "none", "typ": "JWT"}, _claims())
        )
        + "."
    )
    refused = {
        "token is expired": jwt.encode(
            _claims(iat=now - 7200, nbf=now - 7200, exp=now - 10), signing_key, algorithm="HS256"
        ),
        "unexpected issuer": jwt.encode(_claims(iss="dex"), signing_key, algorithm="HS256"),
        "not valid yet": jwt.encode(_claims(nbf=now + 3600), signing_key, algorithm="HS256"),
        "unsupported signing algorithm 'HS512'": jwt.encode(
            _claims(), signing_key, algorithm="HS512"
        ),
        "unsupported signing algorithm 'none'": unsigned,
        "MissingRequiredClaimError": jwt.encode(_claims(sub=None), signing_key, algorithm="HS256"),
    }
    name = f"tok-{TAG}"
    for reason, token in refused.items():
        with server.client(token=token) as client:
            body = api_error(client.get("/api/v1/applications"), 401, reason)
            assert body["code"] == 16
            created = client.post(
                "/api/v1/applications", content=json.dumps(_app(testbed_handle, name)), headers=JSON
            )
            api_error(created, 401, "invalid session")
            assert token not in created.text
    assert name not in _names(api, "applications")
    assert signing_key.hex() not in server.log.read_text()


def test_bad_bodies_on_every_kind_of_write_change_nothing(
    server: serverproc.ServerProcess, api: httpx.Client, testbed_handle: handle.TestBed
) -> None:
    name = f"body-{TAG}"
    app = _app(testbed_handle, name)
    project = {"project": {"metadata": {"name": name}, "spec": {"sourceRepos": ["*"]}}}
    writes = [
        ("POST", "/api/v1/applications"),
        ("PUT", f"/api/v1/applications/{name}"),
        ("PATCH", f"/api/v1/applications/{name}"),
        ("POST", f"/api/v1/applications/{name}/sync"),
        ("POST", "/api/v1/projects"),
        ("POST", "/api/v1/applicationsets"),
        ("POST", "/api/v1/clusters"),
        ("POST", "/api/v1/repositories"),
        ("POST", "/api/v1/repocreds"),
        ("PUT", "/api/v1/account/password"),
    ]
    huge = b'{"metadata": {"name": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    for method, path in writes:
        where = f"{method} {path}"
        too_big = api.request(method, path, content=huge, headers=JSON)
        assert api_error(too_big, 413, "")["code"] == 8, where
        broken = api.request(method, path, content=b'{"metadata": {"name": ', headers=JSON)
        api_error(broken, 400, "line 1 column")
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
            form = api.request(
                method, path, content=json.dumps(app), headers={"Content-Type": ctype}
            )
            api_error(form, 415, "Invalid content type")
    for method, path in (
        ("DELETE", f"/api/v1/applications/{name}"),
        ("DELETE", f"/api/v1/projects/{name}"),
    ):
        plain = api.request(method, path, headers={"Content-Type": "text/plain"})
        api_error(plain, 415, "Invalid content type")

    # Unknown fields in Argo CD's request messages (grpc-gateway refuses them).
    api_error(
        api.post(
            "/api/v1/applications/x/rollback", content='{"id": 1, "force": true}', headers=JSON
        ),
        400,
        "unknown field",
    )
    api_error(
        api.post(
            "/api/v1/repositories",
            content=json.dumps({"repo": "https://git.example/y.git", "passwd": "hunter2"}),
            headers=JSON,
        ),
        400,
        "unknown repository field(s): passwd",
    )
    typo = json.dumps(project).replace('"spec"', '"spek"')
    api_error(
        api.post("/api/v1/projects", content=typo, headers=JSON),
        400,
        "unknown field(s) in the AppProject: spek",
    )
    extra = json.dumps({**project, "upsrt": True})
    api_error(
        api.post("/api/v1/projects", content=extra, headers=JSON),
        400,
        "unknown field(s) in request: upsrt",
    )
    typo = json.dumps(app).replace('"spec"', '"spek"')
    api_error(
        api.post("/api/v1/applications", content=typo, headers=JSON),
        400,
        "unknown field(s) in the application: spek",
    )
    assert name not in _names(api, "applications")
    assert name not in _names(api, "projects")
    assert "hunter2" not in server.log.read_text()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/applications/a%2Fb",
        "/api/v1/applications/%2E%2E",
        "/api/v1/applications/..%2F..%2Fsecrets/resource",
        "/api/v1/projects/a%2Fb",
        "/api/v1/projects/%2E%2E",
        "/api/v1/applicationsets/%2E%2E",
        "/api/v1/applicationsets/a%2Fb",
        "/api/v1/applications/a%2Fb/resource-tree",
        "/api/v1/applications/ok/pods/..%2Fx/logs",
        "/api/v1/stream/applications/a%2Fb/resource-tree",
    ],
)
def test_path_parameters_with_slash_or_dotdot_are_refused(api: httpx.Client, path: str) -> None:
    body = api_error(api.get(path), 400, "")
    assert body["code"] == 3
    assert "name" in body["message"] or "'/'" in body["message"], body
