"""RBAC from ``argocd-rbac-cm`` through a real ``tidegate server``: enforced on reads, writes,
lists and streams, reloaded without a restart, and a broken policy keeps the old one."""

from __future__ import annotations

import json
import secrets

import pytest
from tests.api.access_helpers import listed, make_project_app, rbac_cm
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


def test_policy_enforced_reloaded_and_kept_on_error(
    server: serverproc.ServerProcess,
    token: str,
    control_namespace: str,
    testbed_handle: handle.TestBed,
) -> None:
    tag = secrets.token_hex(3)
    team_a, team_b = f"team-a-{tag}", f"team-b-{tag}"
    app_a, app_b = f"z-app-{tag}", f"a-app-{tag}"  # the hidden one sorts first in streams
    with server.client(token=token) as api:
        make_project_app(api, testbed_handle, team_a, app_a)
        make_project_app(api, testbed_handle, team_b, app_b)
        until(lambda: {app_a, app_b} <= listed(api), within=20)

        policy = (
            f"p, admin, applications, get, {team_b}/*, deny\n"
            "p, admin, applications, delete, */*, deny\n"
        )
        scenario.apply_manifests(
            testbed_handle, "mgmt", [rbac_cm(control_namespace, **{"policy.csv": policy})]
        )
        until(lambda: app_b not in listed(api), within=30)  # no restart needed
        assert app_a in listed(api)

        refused = api.get(f"/api/v1/applications/{app_b}")
        assert refused.status_code == 403
        message = f"permission denied: applications, get, {team_b}/{app_b}"
        assert refused.json() == {"error": message, "code": 7, "message": message, "details": []}
        deleted = api.request("DELETE", f"/api/v1/applications/{app_a}", headers=JSON)
        assert deleted.status_code == 403, deleted.text
        assert f"applications, delete, {team_a}/{app_a}" in deleted.json()["message"]
        assert api.get(f"/api/v1/applications/{app_a}").status_code == 200
        summary = api.get("/api/v1/applications-summary", params={"projects": [team_a, team_b]})
        assert summary.json()["total"] == 1

        seen: list[str] = []
        params = {"projects": f"{team_a},{team_b}"}
        with api.stream("GET", "/api/v1/stream/applications", params=params) as stream:
            for line in stream.iter_lines():
                if line.strip():
                    seen.append(json.loads(line)["result"]["application"]["metadata"]["name"])
                if app_a in seen:
                    break
        assert seen == [app_a]

        broken = rbac_cm(control_namespace, **{"policy.csv": "p, admin, applications\n"})
        scenario.apply_manifests(testbed_handle, "mgmt", [broken])

        def error() -> str:
            text: str = api.get("/api/v1/settings").json()["rbacPolicyError"]
            return text

        reported = until(error, within=30)
        assert "policy.csv line 1" in reported
        assert api.get(f"/api/v1/applications/{app_b}").status_code == 403  # old policy stays
        assert "argocd-rbac-cm refused" in server.log.read_text()

        scenario.apply_manifests(testbed_handle, "mgmt", [rbac_cm(control_namespace)])
        until(lambda: app_b in listed(api), within=30)
        assert error() == ""
