"""An app's resources through a real ``tidegate server``: managed-resources, manifests, resource
get/patch/delete and pod logs, with a real controller syncing the app onto the test bed."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.polling import until

from tidegate.testenv import handle, podlogs, scenario, serverproc

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
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
"""


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files={"app/all.yaml": MANIFESTS}).http_url


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
    assert set(items) == {("ConfigMap", "settings"), ("Secret", "creds"), ("Deployment", "web")}
    assert items[("Deployment", "web")]["group"] == "apps"
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
    assert kinds == ["ConfigMap", "Deployment", "Secret"]
    _error(
        api.get(f"/api/v1/applications/{name}/manifests", params={"revision": "no-such-branch"}),
        400,
        "no-such-branch",
    )
    _error(api.get("/api/v1/applications/no-such-app/manifests"), 404, "not found")
    _error(api.get("/api/v1/applications/no-such-app/managed-resources"), 404, "not found")


def _resource(name: str, kind: str, dest: str, **extra: str) -> dict[str, str]:
    return {"namespace": dest, "resourceName": name, "kind": kind, "version": "v1", **extra}


def _live(bed: handle.TestBed, path: str) -> dict[str, Any] | None:
    with bed.admin_client("dev") as client:
        resp = client.get(path)
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    found: dict[str, Any] = resp.json()
    return found


def test_resource_get_patch_delete(
    api: httpx.Client,
    synced_app: tuple[str, str],
    testbed_handle: handle.TestBed,
    server: serverproc.ServerProcess,
) -> None:
    name, dest = synced_app
    path = f"/api/v1/applications/{name}/resource"
    got = api.get(path, params=_resource("settings", "ConfigMap", dest))
    assert got.status_code == 200, got.text
    assert json.loads(got.json()["manifest"])["data"] == {"color": "blue"}
    secret = api.get(path, params=_resource("creds", "Secret", dest))
    assert secret.status_code == 200, secret.text
    _secret_absent(secret.text)
    assert set(json.loads(secret.json()["manifest"])["data"]["password"]) == {"+"}
    deployment = api.get(path, params=_resource("web", "Deployment", dest, group="apps"))
    assert json.loads(deployment.json()["manifest"])["kind"] == "Deployment"

    # Not the app's: refused, nothing read or written.
    outsider = _resource("kube-root-ca.crt", "ConfigMap", dest)
    assert _live(testbed_handle, f"/api/v1/namespaces/{dest}/configmaps/kube-root-ca.crt")
    _error(api.get(path, params=outsider), 400, f"not found as part of application {name}")
    merge = json.dumps({"metadata": {"annotations": {"note": "patched"}}})
    _error(
        api.post(path, params=outsider, content=json.dumps(merge), headers=JSON),
        400,
        "not found as part of application",
    )
    _error(api.request("DELETE", path, params=outsider, headers=JSON), 400, "not found as part")
    kept = _live(testbed_handle, f"/api/v1/namespaces/{dest}/configmaps/kube-root-ca.crt")
    assert kept is not None and "note" not in (kept["metadata"].get("annotations") or {})
    _error(api.get(path, params={"kind": "ConfigMap"}), 400, "resourceName and kind")

    # Bad patches: refused before anything is sent.
    settings = _resource("settings", "ConfigMap", dest)
    bad = api.post(path, params=settings, content=json.dumps("{not json"), headers=JSON)
    _error(bad, 400, "patch is not JSON")
    wrong_shape = dict(settings, patchType="application/json-patch+json")
    _error(api.post(path, params=wrong_shape, content=json.dumps(merge), headers=JSON), 400, "")
    unknown_type = dict(settings, patchType="text/plain")
    _error(api.post(path, params=unknown_type, content=json.dumps(merge), headers=JSON), 400, "")
    cm_path = f"/api/v1/namespaces/{dest}/configmaps/settings"
    live = _live(testbed_handle, cm_path)
    assert live is not None and "note" not in (live["metadata"].get("annotations") or {})

    patched = api.post(path, params=settings, content=json.dumps(merge), headers=JSON)
    assert patched.status_code == 200, patched.text
    assert json.loads(patched.json()["manifest"])["metadata"]["annotations"]["note"] == "patched"
    live = _live(testbed_handle, cm_path)
    assert live is not None and live["metadata"]["annotations"]["note"] == "patched"

    uid = live["metadata"]["uid"]
    deleted = api.request("DELETE", path, params=settings, headers=JSON)
    assert deleted.status_code == 200 and deleted.json() == {}, deleted.text

    def replaced_or_gone() -> bool:
        now = _live(testbed_handle, cm_path)
        return now is None or now["metadata"]["uid"] != uid

    until(replaced_or_gone, within=30)
    _secret_absent(server.log.read_text())


def test_pod_logs(
    api: httpx.Client, synced_app: tuple[str, str], testbed_handle: handle.TestBed, tmp_path: Path
) -> None:
    name, dest = synced_app

    def app_pod() -> str | None:
        with testbed_handle.admin_client("dev") as client:
            pods = client.get(
                f"/api/v1/namespaces/{dest}/pods", params={"labelSelector": "app=web"}
            )
        items = pods.json().get("items") or []
        return str(items[0]["metadata"]["name"]) if items else None

    pod = until(app_pod, within=60)
    logs = f"/api/v1/applications/{name}/pods/{pod}/logs"
    # kwok serves no log for a pod no ClusterLogs names: the API server's 400, answered by
    # the server in its error shape before any stream starts.
    _error(api.get(logs, params={"container": "web", "tailLines": 10}), 400, "no logs found")
    web_log = tmp_path / "web.log"
    with testbed_handle.admin_client("dev") as client:
        served = podlogs.serve(client, dest, {"web": web_log})
    try:
        podlogs.append(web_log, "first line", "second line")

        def entries() -> list[dict[str, Any]]:
            resp = api.get(logs, params={"container": "web", "tailLines": 1})
            if resp.status_code != 200:
                return []
            return [json.loads(line)["result"] for line in resp.text.splitlines() if line]

        got = until(entries, within=60)
        assert [e["content"] for e in got] == ["second line", ""]
        assert got[0]["podName"] == pod and got[0]["timeStampStr"].startswith("20")
        assert got[-1]["last"] is True
    finally:
        with testbed_handle.admin_client("dev") as client:
            podlogs.stop(client, served)

    stranger = f"stranger-{secrets.token_hex(3)}"
    with testbed_handle.admin_client("dev") as client:
        created = client.post(
            f"/api/v1/namespaces/{dest}/pods",
            json={
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": stranger},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        )
        assert created.status_code == 201, created.text
    _error(
        api.get(f"/api/v1/applications/{name}/pods/{stranger}/logs"),
        400,
        f"Pod {dest}/{stranger} not found as part of application {name}",
    )
    _error(api.get(f"/api/v1/applications/{name}/pods/no-such-pod/logs"), 400, "not found as")
    _error(api.get(f"/api/v1/applications/{name}/pods/..%2Fx/logs"), 400, "")
