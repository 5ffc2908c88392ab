"""AppProject roles and their tokens through a real ``tidegate server`` and the CLI."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from tests.api.access_helpers import JSON, make_project_app
from tests.api.polling import until

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", *args, f"--config={config}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_role_token_works_for_its_project_only_until_deleted(
    server: serverproc.ServerProcess,
    token: str,
    testbed_handle: handle.TestBed,
    tmp_path: Path,
) -> None:
    tag = secrets.token_hex(3)
    mine, other = f"ci-{tag}", f"other-{tag}"
    app_mine, app_other = f"svc-{tag}", f"foreign-{tag}"
    with server.client(token=token) as admin:
        make_project_app(admin, testbed_handle, mine, app_mine)
        make_project_app(admin, testbed_handle, other, app_other)
        project = admin.get(f"/api/v1/projects/{mine}").json()
        project["spec"]["roles"] = [
            {
                "name": "deployer",
                "policies": [
                    f"p, proj:{mine}:deployer, applications, sync, {mine}/*, allow",
                    f"p, proj:{mine}:deployer, applications, get, {mine}/*, allow",
                    # a project cannot grant on another project: ignored
                    f"p, proj:{mine}:deployer, applications, sync, {other}/*, allow",
                ],
            }
        ]
        put = admin.put(
            f"/api/v1/projects/{mine}", content=json.dumps({"project": project}), headers=JSON
        )
        assert put.status_code == 200, put.text

        config = tmp_path / "admin"
        address = server.url.removeprefix("https://")
        password = server.admin_password()
        logged = _cli(
            config, "login", address, "--username=admin", f"--password={password}", "--insecure"
        )
        assert logged.returncode == 0, logged.stderr
        made = _cli(
            config, "proj", "role", "create-token", mine, "deployer", "--id", "pipeline",
            "--token-only",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        role_token = made.stdout.strip()
        status = admin.get(f"/api/v1/projects/{mine}").json()["status"]["jwtTokensByRole"]
        [entry] = status["deployer"]["items"]
        assert entry["id"] == "pipeline" and "exp" not in entry

        with server.client(token=role_token) as ci:

            def sync(app: str) -> int:
                return ci.post(
                    f"/api/v1/applications/{app}/sync", content="{}", headers=JSON
                ).status_code

            until(lambda: sync(app_mine) == 200, within=20)  # roles reach the policy within 2 s
            assert sync(app_other) == 403
            names = {a["metadata"]["name"] for a in ci.get("/api/v1/applications").json()["items"]}
            assert app_mine in names and app_other not in names
            gone = _cli(config, "proj", "role", "delete-token", mine, "deployer", str(entry["iat"]))
            assert gone.returncode == 0, gone.stderr
            refused = ci.get(f"/api/v1/applications/{app_mine}")
            assert refused.status_code == 401 and "revoked" in refused.json()["message"]
        assert (
            admin.get(f"/api/v1/projects/{mine}").json()["status"]["jwtTokensByRole"]["deployer"][
                "items"
            ]
            == []
        )
        actor = f"proj:{mine}:deployer"
        audited = admin.get("/api/v1/audit", params={"actor": actor}).json()["items"]
        results = {(e["action"], e["object"]["name"], e["result"]) for e in audited}
        assert ("sync", app_mine, "succeeded") in results
        assert ("sync", app_other, "denied") in results
        assert ("get", app_mine, "denied") in results  # the revoked token
