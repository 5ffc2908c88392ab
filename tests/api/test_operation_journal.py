"""Every operation the real controller runs is told: Kubernetes Events on the Application in
Argo CD's reasons and messages naming the actor, and audit entries (the controller and the
server share one audit log), exported as JSON lines by the API and the CLI."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
AUDIT_LIST = [sys.executable, "-m", "tidegate", "audit", "list"]
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: journal\ndata:\n  k: v\n"


@pytest.fixture(scope="module")
def audit_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"--audit-db=sqlite:///{tmp_path_factory.mktemp('audit') / 'audit.db'}"


@pytest.fixture(scope="module")
def server_extra(audit_db: str) -> list[str]:
    return [audit_db]


@pytest.fixture(scope="module")
def controller_extra(audit_db: str) -> list[str]:
    return [audit_db]  # the controller writes to the server's audit log


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files={"app/cm.yaml": CONFIGMAP}).http_url


def _events(bed: handle.TestBed, namespace: str, app: str) -> list[dict[str, Any]]:
    with bed.admin_client("mgmt") as mgmt:
        resp = mgmt.get(
            f"/api/v1/namespaces/{namespace}/events",
            params={"fieldSelector": f"involvedObject.name={app}"},
        )
        resp.raise_for_status()
        items: list[dict[str, Any]] = resp.json()["items"]
        return items


def _succeeded(api: httpx.Client, name: str) -> bool:
    got = api.get(f"/api/v1/applications/{name}").json()
    state = (got.get("status") or {}).get("operationState") or {}
    return state.get("phase") == "Succeeded" and not got.get("operation")


def _app(name: str, repo_url: str, bed: handle.TestBed, dest: str, automated: bool) -> Any:
    return scenario.application(
        name,
        repo_url=repo_url,
        path="app",
        server=bed.clusters["dev"].server,
        namespace=dest,
        automated=automated,
    )


def test_requested_and_automated_syncs_are_told_with_their_actor(
    server: serverproc.ServerProcess,
    token: str,
    controller: scenario.ControllerProcess,
    repo_url: str,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    namespace: str,
    tmp_path: Path,
) -> None:
    manual, auto = f"manual-{secrets.token_hex(3)}", f"auto-{secrets.token_hex(3)}"
    with server.client(token=token) as api:
        body = _app(manual, repo_url, testbed_handle, namespace, automated=False)
        assert api.post("/api/v1/applications", content=json.dumps(body), headers=JSON).is_success
        until(
            lambda: (
                api.get(f"/api/v1/applications/{manual}", params={"refresh": "normal"})
                .json()
                .get("status", {})
                .get("sync", {})
                .get("status")
                == "OutOfSync"
            ),
            within=60,
        )
        synced = api.post(
            f"/api/v1/applications/{manual}/sync", content=json.dumps({}), headers=JSON
        )
        assert synced.is_success, synced.text
        until(lambda: _succeeded(api, manual), within=90)
        body = _app(auto, repo_url, testbed_handle, namespace, automated=True)
        assert api.post("/api/v1/applications", content=json.dumps(body), headers=JSON).is_success
        until(lambda: _succeeded(api, auto), within=90)
        revision = api.get(f"/api/v1/applications/{auto}").json()["status"]["sync"]["revision"]

    def told(app: str) -> dict[str, dict[str, Any]] | None:
        found = {e["reason"]: e for e in _events(testbed_handle, control_namespace, app)}
        return found if {"OperationStarted", "OperationCompleted"} <= set(found) else None

    manual_events = until(lambda: told(manual), within=30)
    created = manual_events["ResourceCreated"]
    assert created["message"] == "admin created application"
    assert created["source"]["component"] == "tidegate-server"
    assert created["metadata"]["annotations"]["user"] == "admin"
    started = manual_events["OperationStarted"]
    assert started["message"] == "admin initiated sync to main"
    assert started["type"] == "Normal" and started["metadata"]["annotations"]["user"] == "admin"
    assert started["involvedObject"]["kind"] == "Application"
    assert started["metadata"]["annotations"]["dest-namespace"] == namespace
    done = manual_events["OperationCompleted"]
    assert done["message"] == f"Sync operation to {revision} succeeded"
    assert done["source"]["component"] == "tidegate-application-controller"

    auto_events = until(lambda: told(auto), within=30)
    assert auto_events["OperationStarted"]["message"] == (
        f"Initiated automated sync to '{revision}'"
    )
    assert (
        auto_events["OperationStarted"]["metadata"]["annotations"]["user"] == "tidegate-controller"
    )

    with server.client(token=token) as api:

        def entries(app: str) -> list[dict[str, Any]]:
            params = {"app": app, "action": "sync"}
            items: list[dict[str, Any]] = api.get("/api/v1/audit", params=params).json()["items"]
            return items

        manual_log = until(
            lambda: entries(manual) if len(entries(manual)) == 2 else None, within=30
        )
        by_client = {e["client"]: e for e in manual_log}
        ran = by_client["tidegate-application-controller"]
        assert ran["actor"] == "admin" and ran["result"] == "succeeded"
        assert ran["reason"].startswith(f"Sync operation to {revision} succeeded")
        assert ran["object"] == {
            "kind": "Application",
            "project": "default",
            "name": manual,
            "namespace": control_namespace,
        }
        [requested] = [e for e in manual_log if e is not ran]
        assert requested["actor"] == "admin"  # the request itself, recorded by the server
        [auto_entry] = until(lambda: entries(auto), within=30)
        assert auto_entry["actor"] == "tidegate-controller" and auto_entry["result"] == "succeeded"

        exported = api.get("/api/v1/audit/export", params={"action": "sync", "app": manual})
        assert exported.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in exported.text.splitlines()]
        assert lines == manual_log  # the same entries, newest first, one a line

    with server.client(token=token) as api:
        gone = api.request("DELETE", f"/api/v1/applications/{auto}", headers=JSON)
        assert gone.is_success, gone.text

    def deleted() -> dict[str, Any] | None:
        found = {e["reason"]: e for e in _events(testbed_handle, control_namespace, auto)}
        return found.get("ResourceDeleted")

    assert until(deleted, within=30)["message"] == "admin deleted application"

    config = tmp_path / "config"
    address = server.url.removeprefix("https://")
    login = [sys.executable, "-m", "tidegate", "login", address, "--insecure"]
    login += ["--username=admin", f"--password={server.admin_password()}", f"--config={config}"]
    assert subprocess.run(login, capture_output=True, timeout=120, check=False).returncode == 0
    listed = subprocess.run(
        [*AUDIT_LIST, f"--app={auto}", "-o", "jsonl", f"--config={config}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {(r["actor"], r["action"], r["result"]) for r in rows} >= {
        ("tidegate-controller", "sync", "succeeded")
    }
