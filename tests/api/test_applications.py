"""Applications through a real ``tidegate server``, with a real controller running the syncs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
"""


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files={"app/configmap.yaml": CONFIGMAP}).http_url


@pytest.fixture
def api(server: serverproc.ServerProcess, token: str) -> Iterator[httpx.Client]:
    with server.client(token=token) as client:
        yield client


def _app(name: str, repo_url: str, bed: handle.TestBed, dest_ns: str, **kw: Any) -> dict[str, Any]:
    app = scenario.application(
        name,
        repo_url=repo_url,
        path="app",
        server=bed.clusters["dev"].server,
        namespace=dest_ns,
        **kw,
    )
    app["metadata"]["labels"] = {"team": "api-tests"}
    return app


def _post(api: httpx.Client, path: str, body: Any, **params: Any) -> httpx.Response:
    return api.post(path, content=json.dumps(body), headers=JSON, params=params)


def _error(resp: httpx.Response, status: int, text: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "code", "message", "details"}, body
    assert text in body["message"], body


def test_crud(api: httpx.Client, repo_url: str, testbed_handle: handle.TestBed) -> None:
    name = f"crud-{secrets.token_hex(3)}"
    app = _app(name, repo_url, testbed_handle, "crud-dest", automated=False)
    created = _post(api, "/api/v1/applications", app)
    assert created.status_code == 200, created.text
    assert created.json()["metadata"]["name"] == name
    assert "status" not in created.json() or not created.json()["status"].get("sync")

    again = _post(api, "/api/v1/applications", app)  # same spec: returns the existing one
    assert again.status_code == 200
    changed = json.loads(json.dumps(app))
    changed["spec"]["source"]["path"] = "other"
    _error(_post(api, "/api/v1/applications", changed), 400, "use upsert flag")
    upserted = _post(api, "/api/v1/applications", changed, upsert="true")
    assert upserted.json()["spec"]["source"]["path"] == "other"

    got = api.get(f"/api/v1/applications/{name}").json()
    assert got["kind"] == "Application" and got["spec"]["source"]["path"] == "other"

    got["spec"]["source"]["path"] = "app"
    got["metadata"]["labels"]["extra"] = "yes"
    got["status"] = {"sync": {"status": "Synced"}}  # the server never writes status
    updated = api.put(f"/api/v1/applications/{name}", content=json.dumps(got), headers=JSON)
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"]["labels"]["extra"] == "yes"
    sync_status = (updated.json().get("status") or {}).get("sync", {}).get("status")
    assert sync_status != "Synced"  # the status in the body was not written

    spec = dict(updated.json()["spec"], project="default")
    spec["destination"] = {**spec["destination"], "namespace": "crud-dest-2"}
    put_spec = api.put(f"/api/v1/applications/{name}/spec", content=json.dumps(spec), headers=JSON)
    assert put_spec.json()["destination"]["namespace"] == "crud-dest-2"

    patch = [{"op": "replace", "path": "/spec/source/targetRevision", "value": "HEAD"}]
    patched = api.patch(
        f"/api/v1/applications/{name}",
        content=json.dumps({"patch": json.dumps(patch), "patchType": "json"}),
        headers=JSON,
    )
    assert patched.json()["spec"]["source"]["targetRevision"] == "HEAD", patched.text
    merge = {"metadata": {"annotations": {"note": "merged"}}}
    merged = api.patch(
        f"/api/v1/applications/{name}",
        content=json.dumps({"patch": json.dumps(merge), "patchType": "merge"}),
        headers=JSON,
    )
    assert merged.json()["metadata"]["annotations"]["note"] == "merged"
    bad_patch = [{"op": "remove", "path": "/spec/nothing"}]
    _error(
        api.patch(
            f"/api/v1/applications/{name}",
            content=json.dumps({"patch": json.dumps(bad_patch)}),
            headers=JSON,
        ),
        400,
        "does not exist",
    )

    def listed() -> list[str]:
        body = api.get("/api/v1/applications", params={"selector": "team=api-tests"}).json()
        return [a["metadata"]["name"] for a in body["items"]]

    until(lambda: name in listed(), within=20)
    only = api.get(
        "/api/v1/applications",
        params={"name": name, "fields": "items.metadata.name,metadata.resourceVersion"},
    ).json()
    assert only["items"] == [{"metadata": {"name": name}}]
    assert only["metadata"]["resourceVersion"]
    none = api.get("/api/v1/applications", params={"projects": "no-such-project"}).json()
    assert none["items"] == []

    deleted = api.request(
        "DELETE", f"/api/v1/applications/{name}", params={"cascade": "false"}, headers=JSON
    )
    assert deleted.status_code == 200 and deleted.json() == {}
    until(lambda: api.get(f"/api/v1/applications/{name}").status_code == 404, within=20)
    _error(api.get(f"/api/v1/applications/{name}"), 404, "not found")


def test_paging(api: httpx.Client, repo_url: str, testbed_handle: handle.TestBed) -> None:
    prefix = f"page-{secrets.token_hex(2)}"
    names = [f"{prefix}-{i}" for i in range(5)]
    for n in names:
        app = _app(n, repo_url, testbed_handle, "paging", automated=False)
        app["metadata"]["labels"] = {"paging": prefix}
        assert _post(api, "/api/v1/applications", app, validate="false").status_code == 200
    params: dict[str, Any] = {"selector": f"paging={prefix}", "limit": 2}
    until(
        lambda: (
            len(api.get("/api/v1/applications", params={"search": prefix}).json()["items"]) == 5
        ),
        within=20,
    )
    seen: list[str] = []
    pages = 0
    while True:
        body = api.get("/api/v1/applications", params=params).json()
        seen += [a["metadata"]["name"] for a in body["items"]]
        pages += 1
        token = body["metadata"].get("continue")
        if not token:
            break
        params["continue"] = token
    assert seen == names and pages == 3
    counts = api.get("/api/v1/applications-summary", params={"search": prefix}).json()
    assert counts["total"] == 5 and sum(counts["sync"].values()) == 5
    _error(api.get("/api/v1/applications", params={"continue": "garbage"}), 400, "continue")
    _error(api.get("/api/v1/applications", params={"selector": "a in b"}), 400, "selector")
    for n in names:
        api.request(
            "DELETE", f"/api/v1/applications/{n}", params={"cascade": "false"}, headers=JSON
        )


def test_bad_requests_write_nothing(
    api: httpx.Client,
    repo_url: str,
    testbed_handle: handle.TestBed,
    server: serverproc.ServerProcess,
) -> None:
    name = f"bad-{secrets.token_hex(3)}"
    app = _app(name, repo_url, testbed_handle, "bad", automated=False)
    invalid = json.loads(json.dumps(app))
    invalid["spec"]["destination"] = "not-an-object"
    _error(_post(api, "/api/v1/applications", invalid), 400, "spec is invalid")
    other_ns = json.loads(json.dumps(app))
    other_ns["metadata"]["namespace"] = "kube-system"
    _error(_post(api, "/api/v1/applications", other_ns), 400, "not permitted")
    missing_project = json.loads(json.dumps(app))
    missing_project["spec"]["project"] = "nope"
    _error(_post(api, "/api/v1/applications", missing_project), 400, "project nope")
    wrong_type = api.post(
        "/api/v1/applications", content=json.dumps(app), headers={"Content-Type": "text/plain"}
    )
    _error(wrong_type, 415, "Invalid content type")
    _error(api.get(f"/api/v1/applications/{name}"), 404, "not found")
    for path in ("/api/v1/applications/a%2Fb", "/api/v1/applications/a%2fb/sync"):
        _error(api.get(path), 400, "must not contain '/'")
    _error(api.get("/api/v1/applications/%2E%2E"), 400, "invalid name")
    _error(api.get("/api/v1/applications/UPPER"), 400, "invalid name")
    _error(api.get("/api/v1/applications/x", params={"refresh": "soft"}), 404, "not found")
    with server.client() as anonymous:
        _error(anonymous.get("/api/v1/applications"), 401, "no session")
        _error(anonymous.get("/api/v1/stream/applications"), 401, "no session")


def test_sync_writes_the_operation_and_the_controller_runs_it(
    api: httpx.Client,
    repo_url: str,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    namespace: str,
) -> None:
    name = f"sync-{secrets.token_hex(3)}"
    app = _app(name, repo_url, testbed_handle, namespace, automated=False, sync_options=())
    assert _post(api, "/api/v1/applications", app).status_code == 200

    def refreshed() -> dict[str, Any]:
        return api.get(f"/api/v1/applications/{name}", params={"refresh": "normal"}).json()

    until(
        lambda: (refreshed().get("status") or {}).get("sync", {}).get("status") == "OutOfSync",
        within=60,
    )
    _error(_post(api, f"/api/v1/applications/{name}/sync", {"prun": True}), 400, "unknown field")
    _error(
        _post(
            api,
            f"/api/v1/applications/{name}/sync",
            {"resources": [{"group": "", "kind": "Secret", "name": "other"}]},
        ),
        400,
        "is not managed by",
    )
    assert "operation" not in api.get(f"/api/v1/applications/{name}").json()
    body = {
        "revision": "main",
        "prune": True,
        "strategy": {"apply": {"force": False}},
        "syncOptions": {"items": ["ApplyOutOfSyncOnly=true"]},
        "retryStrategy": {"limit": 2, "backoff": {"duration": "1s", "factor": 2}},
        "infos": [{"name": "reason", "value": "api-test"}],
    }
    requested = _post(api, f"/api/v1/applications/{name}/sync", body)
    assert requested.status_code == 200, requested.text
    operation = requested.json()["operation"]
    assert operation["initiatedBy"] == {"username": "admin"}
    assert operation["sync"]["revision"] == "main" and operation["sync"]["prune"] is True
    assert operation["sync"]["syncStrategy"] == {"apply": {"force": False}}
    assert operation["sync"]["syncOptions"] == ["ApplyOutOfSyncOnly=true"]
    assert operation["retry"] == {"limit": 2, "backoff": {"duration": "1s", "factor": 2}}
    assert operation["info"] == [{"name": "reason", "value": "api-test"}]

    def done() -> bool:
        got = api.get(f"/api/v1/applications/{name}").json()
        state = (got.get("status") or {}).get("operationState") or {}
        return state.get("phase") == "Succeeded" and not got.get("operation")

    until(done, within=90)
    with testbed_handle.admin_client("dev") as dev:
        cm = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/settings")
        assert cm.status_code == 200 and cm.json()["data"] == {"color": "blue"}
    tree = api.get(f"/api/v1/applications/{name}/resource-tree").json()
    assert {"kind": "ConfigMap", "name": "settings", "namespace": namespace}.items() <= (
        tree["nodes"][0].items()
    )
    _error(
        api.request("DELETE", f"/api/v1/applications/{name}/operation", headers=JSON),
        400,
        "no operation is in progress",
    )
    _error(_post(api, f"/api/v1/applications/{name}/rollback", {"id": 99}), 400, "history id 99")
    events = api.get(f"/api/v1/applications/{name}/events").json()
    assert isinstance(events["items"], list)
    api.request("DELETE", f"/api/v1/applications/{name}", headers=JSON)  # cascade
    with testbed_handle.admin_client("dev") as dev:
        until(
            lambda: (
                dev.get(f"/api/v1/namespaces/{namespace}/configmaps/settings").status_code == 404
            ),
            within=60,
        )


OPEN_ROUTES = {
    ("post", "/api/v1/session"),
    ("get", "/api/version"),
    ("get", "/api/v1/settings/oidc"),  # what `login --sso` needs before it has a session
}


def test_every_route_but_the_open_ones_needs_a_session(server: serverproc.ServerProcess) -> None:
    with server.client() as client:
        doc = client.get("/swagger.json").json()
        for path, methods in doc["paths"].items():
            concrete = path.replace("{name}", "x")
            for method in methods:
                if (method, path) in OPEN_ROUTES:
                    continue
                resp = client.request(method.upper(), concrete, headers=JSON)
                assert resp.status_code == 401, (method, path, resp.status_code)


def test_no_secret_in_responses_or_log(
    api: httpx.Client, server: serverproc.ServerProcess, token: str, tmp_path: Path
) -> None:
    password = server.admin_password()
    for path in ("/api/v1/applications", "/api/version", "/swagger.json"):
        assert password not in api.get(path).text
    log = server.log.read_text()
    assert password not in log and token not in log and "server.secretkey" not in log
