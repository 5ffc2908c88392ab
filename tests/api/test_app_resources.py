"""An app's resources through a real ``tidegate server``: managed-resources, manifests, resource
get/patch/delete and pod logs, with a real controller syncing the app onto the test bed."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
SECRET_VALUE = f"hunter2-{secrets.token_hex(8)}"
MANIFESTS = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
data:
  password: {base64.b64encode(SECRET_VALUE.encode()).decode()}
"""


@pytest.fixture(scope="module")
def repo_url(testbed_handle: handle.TestBed, tmp_path_factory: pytest.TempPathFactory) -> str:
    assert testbed_handle.git is not None
    src = tmp_path_factory.mktemp("repo")
    (src / "app").mkdir()
    (src / "app" / "all.yaml").write_text(MANIFESTS)
    return testbed_handle.git.create_repo(from_dir=src).http_url


@pytest.fixture(scope="module")
def api(server: serverproc.ServerProcess, token: str) -> Iterator[httpx.Client]:
    with server.client(token=token) as client:
        yield client


@pytest.fixture(scope="module")
def synced_app(
    api: httpx.Client,
    repo_url: str,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
) -> Iterator[tuple[str, str]]:
    """An automated app the controller synced: (app name, destination namespace)."""
    name = f"res-{secrets.token_hex(3)}"
    dest = f"res-dest-{secrets.token_hex(3)}"
    app = scenario.application(
        name,
        repo_url=repo_url,
        path="app",
        server=testbed_handle.clusters["dev"].server,
        namespace=dest,
    )
    created = api.post("/api/v1/applications", content=json.dumps(app), headers=JSON)
    assert created.status_code == 200, created.text

    def synced() -> bool:
        status = api.get(f"/api/v1/applications/{name}").json().get("status") or {}
        return (status.get("sync") or {}).get("status") == "Synced"

    until(synced, within=90)
    yield name, dest
    api.request("DELETE", f"/api/v1/applications/{name}", headers=JSON)


def _secret_absent(text: str) -> None:
    encoded = base64.b64encode(SECRET_VALUE.encode()).decode()
    assert SECRET_VALUE not in text and encoded not in text


def _error(resp: httpx.Response, status: int, text: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"error", "code", "message", "details"}, body
    assert text in body["message"], body
    return body


def test_managed_resources_mask_secrets(
    api: httpx.Client, synced_app: tuple[str, str], server: serverproc.ServerProcess
) -> None:
    name, dest = synced_app
    resp = api.get(f"/api/v1/applications/{name}/managed-resources")
    assert resp.status_code == 200, resp.text
    _secret_absent(resp.text)
    items = {(i["kind"], i["name"]): i for i in resp.json()["items"]}
    assert set(items) == {("ConfigMap", "settings"), ("Secret", "creds")}
    config = items[("ConfigMap", "settings")]
    assert config["namespace"] == dest and config["group"] == ""
    for field in ("targetState", "liveState", "normalizedLiveState", "predictedLiveState"):
        assert json.loads(config[field])["data"] == {"color": "blue"}, field
    assert config["modified"] is False and config["resourceVersion"]
    secret = items[("Secret", "creds")]
    live = json.loads(secret["liveState"])
    target = json.loads(secret["targetState"])
    assert set(live["data"]) == {"password"} and set(live["data"]["password"]) == {"+"}
    assert live["data"] == target["data"]  # one value, one mask
    assert "managedFields" not in live["metadata"]
    _secret_absent(server.log.read_text())


def test_manifests(api: httpx.Client, synced_app: tuple[str, str]) -> None:
    name, dest = synced_app
    resp = api.get(f"/api/v1/applications/{name}/manifests", params={"revision": "main"})
    assert resp.status_code == 200, resp.text
    _secret_absent(resp.text)
    body = resp.json()
    assert body["namespace"] == dest and body["sourceType"] == "Directory"
    assert len(body["revision"]) == 40
    kinds = sorted(json.loads(m)["kind"] for m in body["manifests"])
    assert kinds == ["ConfigMap", "Secret"]
    _error(
        api.get(f"/api/v1/applications/{name}/manifests", params={"revision": "no-such-branch"}),
        400,
        "no-such-branch",
    )
    _error(api.get("/api/v1/applications/no-such-app/manifests"), 404, "not found")
    _error(api.get("/api/v1/applications/no-such-app/managed-resources"), 404, "not found")
