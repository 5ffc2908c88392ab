"""Updating clusters and repositories, testing repository access and repo-creds templates
through a real ``tidegate server``, against the test bed's git server."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
REPO_PASSWORD = f"repo-pw-{secrets.token_hex(6)}"
CREDS_PASSWORD = f"creds-pw-{secrets.token_hex(6)}"
TOKEN = f"cluster-tok-{secrets.token_hex(6)}"
WRONG_PASSWORD = f"wrong-pw-{secrets.token_hex(6)}"


@pytest.fixture
def api(server: serverproc.ServerProcess, token: str) -> Iterator[httpx.Client]:
    with server.client(token=token) as client:
        yield client


def _send(api: httpx.Client, method: str, path: str, body: Any, **params: Any) -> httpx.Response:
    return api.request(method, path, content=json.dumps(body), headers=JSON, params=params)


def _error(resp: httpx.Response, status: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "code", "message", "details"}, body
    assert text in body["message"], body


def _stored(bed: handle.TestBed, namespace: str, kind: str) -> dict[str, dict[str, str]]:
    """The decoded data of the Secrets of ``kind``, by their ``url`` (or ``server``)."""
    with bed.admin_client("mgmt") as mgmt:
        items = mgmt.get(
            f"/api/v1/namespaces/{namespace}/secrets",
            params={"labelSelector": f"argocd.argoproj.io/secret-type={kind}"},
        ).json()["items"]
    out = {}
    for s in items:
        data = {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()}
        out[data.get("url") or data.get("server") or ""] = data
    return out


def test_update_repository_keeps_omitted_credentials(
    api: httpx.Client, testbed_handle: handle.TestBed, control_namespace: str
) -> None:
    url = f"https://git.example/org/{secrets.token_hex(3)}.git"
    quoted = urllib.parse.quote(url, safe="")
    body = {"repo": url, "username": "bot", "password": REPO_PASSWORD}
    assert _send(api, "POST", "/api/v1/repositories", body).status_code == 200
    shown = api.get(f"/api/v1/repositories/{quoted}").json()
    updated = _send(api, "PUT", f"/api/v1/repositories/{quoted}", {**shown, "name": "renamed"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "renamed" and updated.json()["credentials"] == ["password"]
    stored = _stored(testbed_handle, control_namespace, "repository")[url]
    assert stored["password"] == REPO_PASSWORD and stored["name"] == "renamed"

    other = {**shown, "repo": url + "x"}
    _error(_send(api, "PUT", f"/api/v1/repositories/{quoted}", other), 400, "cannot be changed")
    _error(_send(api, "PUT", f"/api/v1/repositories/{quoted}", {"nmae": "x"}), 400, "nmae")
    missing = urllib.parse.quote(url + ".nope", safe="")
    _error(_send(api, "PUT", f"/api/v1/repositories/{missing}", shown), 404, "not found")
    assert _stored(testbed_handle, control_namespace, "repository")[url] == stored
    for resp in (updated,):
        assert REPO_PASSWORD not in resp.text
    api.request("DELETE", f"/api/v1/repositories/{quoted}", headers=JSON)


def test_validate_repository_access(
    api: httpx.Client, testbed_handle: handle.TestBed, control_namespace: str
) -> None:
    git = testbed_handle.git
    assert git is not None
    url = git.create_repo().http_url
    quoted = urllib.parse.quote(url, safe="")
    path = f"/api/v1/repositories/{quoted}/validate"
    creds = {"username": git.username, "password": git.password}
    assert _send(api, "POST", path, creds).json() == {}
    # No credentials given: the module's repo-creds template for the git server applies.
    assert _send(api, "POST", path, {}).json() == {}
    wrong = _send(api, "POST", path, {"username": git.username, "password": WRONG_PASSWORD})
    _error(wrong, 400, "unable to connect to repository")
    assert WRONG_PASSWORD not in wrong.text
    unknown = urllib.parse.quote(git.info.http_base + "/no-such-repo.git", safe="")
    _error(_send(api, "POST", f"/api/v1/repositories/{unknown}/validate", {}), 400, "unable")
    _error(_send(api, "POST", path, {"passwrd": "x"}), 400, "passwrd")
    assert url not in _stored(testbed_handle, control_namespace, "repository")  # nothing written


def test_repo_creds(
    api: httpx.Client, testbed_handle: handle.TestBed, control_namespace: str
) -> None:
    assert testbed_handle.git is not None
    listed = api.get("/api/v1/repocreds").json()["items"]
    assert [c["url"] for c in listed] == [testbed_handle.git.info.http_base + "/"]
    assert listed[0]["credentials"] == ["password"]
    assert testbed_handle.git.password not in json.dumps(listed)

    prefix = f"https://git.example/{secrets.token_hex(3)}/"
    body = {"url": prefix, "username": "bot", "password": CREDS_PASSWORD}
    created = _send(api, "POST", "/api/v1/repocreds", body)
    assert created.status_code == 200, created.text
    assert created.json()["url"] == prefix and CREDS_PASSWORD not in created.text
    assert _send(api, "POST", "/api/v1/repocreds", body).status_code == 200  # same: kept
    _error(_send(api, "POST", "/api/v1/repocreds", {**body, "password": "x"}), 400, "upsert")
    _error(_send(api, "POST", "/api/v1/repocreds", {**body, "repo": prefix}), 400, "repo")
    stored = _stored(testbed_handle, control_namespace, "repo-creds")[prefix]
    assert stored["password"] == CREDS_PASSWORD

    quoted = urllib.parse.quote(prefix, safe="")
    put = _send(api, "PUT", f"/api/v1/repocreds/{quoted}", {"username": "robot"})
    assert put.status_code == 200, put.text
    stored = _stored(testbed_handle, control_namespace, "repo-creds")[prefix]
    assert stored["username"] == "robot" and stored["password"] == CREDS_PASSWORD

    assert api.request("DELETE", f"/api/v1/repocreds/{quoted}", headers=JSON).json() == {}
    assert prefix not in _stored(testbed_handle, control_namespace, "repo-creds")
    _error(api.request("DELETE", f"/api/v1/repocreds/{quoted}", headers=JSON), 404, "not found")


def test_update_cluster_keeps_masked_credentials(
    api: httpx.Client, testbed_handle: handle.TestBed, control_namespace: str
) -> None:
    server = f"https://{secrets.token_hex(3)}.cluster.example:6443"
    quoted = urllib.parse.quote(server, safe="")
    cluster = {
        "server": server,
        "name": "to-update",
        "config": {"bearerToken": TOKEN, "tlsClientConfig": {"insecure": True}},
    }
    assert _send(api, "POST", "/api/v1/clusters", cluster).status_code == 200
    shown = api.get(f"/api/v1/clusters/{quoted}").json()
    assert TOKEN not in json.dumps(shown)
    updated = _send(api, "PUT", f"/api/v1/clusters/{quoted}", {**shown, "labels": {"tier": "x"}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["labels"] == {"tier": "x"} and TOKEN not in updated.text
    stored = _stored(testbed_handle, control_namespace, "cluster")[server]
    assert json.loads(stored["config"])["bearerToken"] == TOKEN

    moved = {**shown, "server": "https://elsewhere.example:6443"}
    _error(_send(api, "PUT", f"/api/v1/clusters/{quoted}", moved), 400, "cannot be changed")
    bad = {**shown, "namespaces": "all"}
    _error(_send(api, "PUT", f"/api/v1/clusters/{quoted}", bad), 400, "namespaces")
    assert _stored(testbed_handle, control_namespace, "cluster")[server] == stored
    missing = urllib.parse.quote("https://nowhere.example:6443", safe="")
    _error(_send(api, "PUT", f"/api/v1/clusters/{missing}", shown), 404, "not found")
    api.request("DELETE", f"/api/v1/clusters/{quoted}", headers=JSON)


def test_no_credential_in_the_server_log(
    server: serverproc.ServerProcess, testbed_handle: handle.TestBed
) -> None:
    """Last in this module: none of the values sent above (nor the git server's password the
    connection tests used) was logged."""
    assert testbed_handle.git is not None
    text = server.log.read_text()
    values = (REPO_PASSWORD, CREDS_PASSWORD, TOKEN, WRONG_PASSWORD, testbed_handle.git.password)
    for value in (*values, server.admin_password()):
        assert value not in text
