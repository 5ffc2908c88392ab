"""Local accounts, API tokens and RBAC end to end: a real ``tidegate server`` (its login
lock-out window shortened through Argo CD's environment variables), real ConfigMaps and
Secrets on the test bed, and the real CLI."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api.access_helpers import JSON, login, make_project_app, patch_configmap
from tests.api.polling import until

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e
PASSWORD = "s3cret-pass"
TAG = secrets.token_hex(3)
TEAM_A, TEAM_B = f"team-a-{TAG}", f"team-b-{TAG}"
APP_A, APP_B, FROZEN = f"web-{TAG}", f"api-{TAG}", f"frozen-{TAG}"
RBAC = {
    "policy.csv": f"""
g, viewer, role:readonly
p, role:deploy-a, applications, get, {TEAM_A}/*, allow
p, role:deploy-a, applications, sync, {TEAM_A}/*, allow
g, alice, role:deploy-a
p, alice, applications, sync, {TEAM_A}/{FROZEN}, deny
p, ci, accounts, get, ci, allow
"""
}
ACCOUNTS = {
    "accounts.alice": "login",
    "accounts.viewer": "login",
    "accounts.ci": "apiKey",
    "accounts.off": "login",
    "accounts.off.enabled": "false",
}


@pytest.fixture(scope="module")
def server(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[serverproc.ServerProcess]:
    workdir = tmp_path_factory.mktemp("server")
    log = workdir / "server.log"
    audit_db = f"--audit-db=sqlite:///{workdir / 'audit.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ARGOCD_SESSION_FAILURE_MAX_FAIL_COUNT", "3")
        env.setenv("ARGOCD_SESSION_FAILURE_WINDOW_SECONDS", "4")
        proc = serverproc.ServerProcess(
            testbed_handle, control_namespace, log=log, extra=[audit_db]
        ).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def admin(server: serverproc.ServerProcess, token: str) -> Iterator[httpx.Client]:
    with server.client(token=token) as client:
        yield client


@pytest.fixture(scope="module")
def setup(
    server: serverproc.ServerProcess,
    admin: httpx.Client,
    control_namespace: str,
    testbed_handle: handle.TestBed,
) -> None:
    patch_configmap(testbed_handle, control_namespace, "argocd-cm", ACCOUNTS)
    patch_configmap(testbed_handle, control_namespace, "argocd-rbac-cm", RBAC)
    make_project_app(admin, testbed_handle, TEAM_A, APP_A)
    make_project_app(admin, testbed_handle, TEAM_A, FROZEN)
    make_project_app(admin, testbed_handle, TEAM_B, APP_B)
    for name in ("alice", "viewer", "off"):
        body = {"name": name, "currentPassword": server.admin_password(), "newPassword": PASSWORD}

        def changed(body: dict[str, str] = body) -> bool:
            put = admin.put("/api/v1/account/password", content=json.dumps(body), headers=JSON)
            return put.status_code == 200

        until(changed, within=20)
    # the policy is in force once alice may sync in team-a
    until(lambda: login(server, "alice", PASSWORD).status_code == 200, within=20)


def _as(server: serverproc.ServerProcess, name: str) -> httpx.Client:
    resp = login(server, name, PASSWORD)
    assert resp.status_code == 200, resp.text
    return server.client(token=resp.json()["token"])


def _sync(api: httpx.Client, app: str) -> httpx.Response:
    return api.post(f"/api/v1/applications/{app}/sync", content="{}", headers=JSON)


def test_readonly_user_sees_apps_but_may_not_sync_or_delete(
    server: serverproc.ServerProcess, setup: None
) -> None:
    with _as(server, "viewer") as viewer:

        def listed() -> set[str]:
            items = viewer.get("/api/v1/applications").json()["items"]
            return {a["metadata"]["name"] for a in items}

        # The list is served from the server's watch: the apps the setup just created reach it
        # a moment later.
        until(lambda: {APP_A, APP_B, FROZEN} <= listed(), within=20)
        refused = _sync(viewer, APP_A)
        assert refused.status_code == 403
        assert refused.json()["message"] == (
            f"permission denied: applications, sync, {TEAM_A}/{APP_A}"
        )
        deleted = viewer.request("DELETE", f"/api/v1/applications/{APP_B}", headers=JSON)
        assert deleted.status_code == 403
        assert viewer.get(f"/api/v1/applications/{APP_B}").status_code == 200


def test_deployer_syncs_own_project_only_and_deny_wins(
    server: serverproc.ServerProcess, setup: None
) -> None:
    with _as(server, "alice") as alice:

        def listed() -> set[str]:
            items = alice.get("/api/v1/applications").json()["items"]
            return {a["metadata"]["name"] for a in items}

        names = until(lambda: (found := listed()) and APP_A in found and found, within=20)
        assert APP_B not in names  # list filtered by 'get'
        ok = _sync(alice, APP_A)
        assert ok.status_code == 200, ok.text
        assert ok.json()["operation"]["initiatedBy"]["username"] == "alice"
        assert _sync(alice, APP_B).status_code == 403
        frozen = _sync(alice, FROZEN)
        assert frozen.status_code == 403  # deny line beats the role's allow
        assert FROZEN in frozen.json()["message"]


def test_disabled_account_and_lockout_window(server: serverproc.ServerProcess, setup: None) -> None:
    assert login(server, "off", PASSWORD).status_code == 401
    for _ in range(3):
        assert login(server, "viewer", "wrong-password").status_code == 401
    locked = login(server, "viewer", PASSWORD)
    assert locked.status_code == 401
    assert locked.json()["message"] == "Invalid username or password"
    until(lambda: login(server, "viewer", PASSWORD).status_code == 200, within=20)


def test_api_token_works_until_deleted(
    admin: httpx.Client, server: serverproc.ServerProcess, setup: None
) -> None:
    made = admin.post(
        "/api/v1/account/ci/token",
        content=json.dumps({"id": "deploy-bot", "expiresIn": 3600}),
        headers=JSON,
    )
    assert made.status_code == 200, made.text
    token = made.json()["token"]
    info = admin.get("/api/v1/account/ci").json()
    assert [t["id"] for t in info["tokens"]] == ["deploy-bot"]
    assert info["tokens"][0]["expiresAt"] - info["tokens"][0]["issuedAt"] == 3600
    assert token not in json.dumps(info)
    with server.client(token=token) as ci:
        assert ci.get("/api/v1/account/ci").status_code == 200
        assert ci.get("/api/v1/account/alice").status_code == 403
        assert ci.get("/api/v1/session/userinfo").json()["username"] == "ci"
        gone = admin.request("DELETE", "/api/v1/account/ci/token/deploy-bot", headers=JSON)
        assert gone.status_code == 200
        refused = ci.get("/api/v1/account/ci")
        assert refused.status_code == 401
        assert "revoked" in refused.json()["message"]
    # alice has no apiKey capability: no token for her
    assert admin.post("/api/v1/account/alice/token", content="{}", headers=JSON).status_code == 400
    assert token not in server.log.read_text()


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args, f"--config={config}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_account_commands(
    server: serverproc.ServerProcess, setup: None, tmp_path: Path
) -> None:
    address = server.url.removeprefix("https://")
    alice_cfg, admin_cfg = tmp_path / "alice", tmp_path / "admin"
    assert (
        _cli(
            alice_cfg, "login", address, "--username=alice", f"--password={PASSWORD}", "--insecure"
        ).returncode
        == 0
    )
    admin_pw = server.admin_password()
    assert (
        _cli(
            admin_cfg, "login", address, "--username=admin", f"--password={admin_pw}", "--insecure"
        ).returncode
        == 0
    )

    assert (
        _cli(alice_cfg, "account", "can-i", "sync", "applications", f"{TEAM_A}/{APP_A}").stdout
        == "yes\n"
    )
    assert (
        _cli(alice_cfg, "account", "can-i", "sync", "applications", f"{TEAM_B}/{APP_B}").stdout
        == "no\n"
    )
    assert (
        _cli(alice_cfg, "account", "can-i", "sync", "applications", f"{TEAM_A}/{FROZEN}").stdout
        == "no\n"
    )
    info = _cli(alice_cfg, "account", "get-user-info")
    assert "Username: alice" in info.stdout
    denied = _cli(alice_cfg, "account", "get", "--account", "viewer")
    assert denied.returncode == 1 and "permission denied: accounts, get, viewer" in denied.stderr

    listed = _cli(admin_cfg, "account", "list")
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[1:]}
    assert rows["alice"] == "true" and rows["off"] == "false" and "admin" in rows
    made = _cli(
        admin_cfg,
        "account",
        "generate-token",
        "--account",
        "ci",
        "--expires-in",
        "1h",
        "--id",
        "cli-1",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    shown = json.loads(_cli(admin_cfg, "account", "get", "--account", "ci", "-o", "json").stdout)
    assert [t["id"] for t in shown["tokens"]] == ["cli-1"]
    with server.client(token=token) as ci:
        assert ci.get("/api/v1/account/ci").status_code == 200
        assert (
            _cli(admin_cfg, "account", "delete-token", "cli-1", "--account", "ci").returncode == 0
        )
        assert ci.get("/api/v1/account/ci").status_code == 401

    changed = _cli(
        alice_cfg,
        "account",
        "update-password",
        "--current-password",
        PASSWORD,
        "--new-password",
        "n3w-password!",
    )
    assert changed.returncode == 0, changed.stderr
    assert login(server, "alice", "n3w-password!").status_code == 200
    assert _cli(alice_cfg, "account", "get-user-info").returncode == 1  # old session refused


def test_audit_log_names_actor_object_and_result(
    admin: httpx.Client, server: serverproc.ServerProcess, setup: None, tmp_path: Path
) -> None:
    """Runs after the tests above (file order): their requests are in the log."""

    def entries(**params: str) -> list[dict[str, Any]]:
        resp = admin.get("/api/v1/audit", params=params)
        assert resp.status_code == 200, resp.text
        items: list[dict[str, Any]] = resp.json()["items"]
        return items

    def seen(actor: str, action: str, result: str, name: str = "") -> dict[str, Any]:
        found = [
            e
            for e in entries(actor=actor, action=action, result=result)
            if not name or e["object"]["name"] == name
        ]
        assert found, (actor, action, result, name)
        return found[0]

    viewer_sync = seen("viewer", "sync", "denied", APP_A)
    assert viewer_sync["object"] == {
        "kind": "Application",
        "project": TEAM_A,
        "name": APP_A,
        "namespace": "",
    }
    assert viewer_sync["reason"] == f"permission denied: applications, sync, {TEAM_A}/{APP_A}"
    assert viewer_sync["client"] == "127.0.0.1"
    assert seen("viewer", "delete", "denied", APP_B)["object"]["project"] == TEAM_B
    assert seen("alice", "sync", "succeeded", APP_A)["object"]["project"] == TEAM_A
    assert seen("alice", "sync", "denied", APP_B)["object"]["project"] == TEAM_B
    assert seen("alice", "sync", "denied", FROZEN)["object"]["project"] == TEAM_A
    locked = [e for e in entries(actor="viewer", action="login", result="denied")]
    assert any(e["reason"] == "locked out after too many failed logins" for e in locked)
    assert any(e["reason"] == "Invalid username or password" for e in locked)
    assert seen("viewer", "login", "succeeded")
    revoked = seen("ci", "get", "denied")
    assert "revoked" in revoked["reason"]
    assert seen("admin", "delete-token", "succeeded", "ci")
    assert seen("admin", "create-token", "succeeded", "ci")

    # SQL-looking filters are plain values; a bad time is a 400; paging is stable
    assert entries(actor="alice' OR '1'='1") == []
    assert admin.get("/api/v1/audit", params={"since": "yesterday"}).status_code == 400
    first = admin.get("/api/v1/audit", params={"limit": 2}).json()
    after = admin.get(
        "/api/v1/audit", params={"limit": 2, "continue": first["metadata"]["continue"]}
    )
    assert first["items"][-1]["id"] > after.json()["items"][0]["id"]
    with _as(server, "viewer") as viewer:  # audit is admin's, not role:readonly's
        assert viewer.get("/api/v1/audit").status_code == 403

    config = tmp_path / "admin"
    address = server.url.removeprefix("https://")
    password = server.admin_password()
    assert (
        _cli(
            config, "login", address, "--username=admin", f"--password={password}", "--insecure"
        ).returncode
        == 0
    )
    listed = _cli(
        config, "audit", "list", "--actor", "alice", "--app", FROZEN, "--since", "1h", "-o", "json"
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows and {(r["actor"], r["object"]["name"]) for r in rows} == {("alice", FROZEN)}
    table = _cli(config, "audit", "list", "--actor", "viewer", "--result", "denied")
    assert table.stdout.splitlines()[0].split()[:3] == ["TIME", "ACTOR", "ACTION"]
    assert PASSWORD not in json.dumps(entries())
