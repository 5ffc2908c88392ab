"""Resource actions through a real ``tidegate server`` (Argo CD's paths and bodies): listing,
the deprecated run (body: the action name) and v2 (parameters), built-in actions and
argocd-cm's Lua actions, RBAC ``action/<group>/<kind>/<action>``, and the refusals that change
nothing. A real controller syncs the app onto the test bed's dev cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.api import far_apps, synced_apps
from tests.api.access_helpers import JSON, api_error, local_account, login, patch_configmap
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
DEPLOYMENT, CONFIGMAP = far_apps.DEPLOYMENT, far_apps.CONFIGMAP  # the same workload
SCALE = """discovery.lua: |
  return {scale = {params = {{name = "replicas"}}}}
definitions:
- name: scale
  action.lua: |
    obj.spec.replicas = tonumber(actionParams["replicas"])
    return obj
mergeBuiltinActions: true
"""
PASSWORD = "ops-pass-1"
ACTIONS_KEY = "resource.customizations.actions.apps_Deployment"


@pytest.fixture(scope="module")
def synced_app(
    api: httpx.Client,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """A manual app the controller synced: (app name, destination namespace)."""
    src = tmp_path_factory.mktemp("repo")
    with synced_apps.synced(api, testbed_handle, [DEPLOYMENT, CONFIGMAP], src, "act") as found:
        yield found


DEPLOY_QUERY = {"group": "apps", "kind": "Deployment", "resourceName": "web", "version": "v1"}


def _query(dest: str, **extra: str) -> dict[str, str]:
    return {**DEPLOY_QUERY, "namespace": dest, **extra}


def _live(bed: handle.TestBed, ns: str) -> dict[str, Any]:
    text = scenario.kubectl(bed, "dev", "-n", ns, "get", "deployment/web", "-o", "json")
    return dict(json.loads(text))


def _actions(api: httpx.Client, name: str, dest: str) -> dict[str, dict[str, Any]]:
    resp = api.get(f"/api/v1/applications/{name}/resource/actions", params=_query(dest))
    assert resp.status_code == 200, resp.text
    assert set(resp.json()) == {"actions"}
    return {a["name"]: a for a in resp.json()["actions"]}


def test_builtin_actions_listed_and_run(
    api: httpx.Client, synced_app: tuple[str, str], testbed_handle: handle.TestBed
) -> None:
    name, dest = synced_app
    offered = _actions(api, name, dest)
    assert {n: a["disabled"] for n, a in offered.items()} == {"pause": False, "restart": False}
    assert offered["restart"]["displayName"] == "Restart"  # ResourceAction's JSON
    path = f"/api/v1/applications/{name}/resource/actions"
    ran = api.post(path, params=_query(dest), content=json.dumps("restart"), headers=JSON)
    assert ran.status_code == 200, ran.text
    assert ran.json() == {}
    template = _live(testbed_handle, dest)["spec"]["template"]["metadata"]
    assert RESTARTED_AT in template["annotations"]

    body = {"namespace": dest, "resourceName": "web", "group": "apps", "kind": "Deployment",
            "version": "v1", "action": "pause", "appNamespace": "", "project": ""}  # fmt: skip
    paused = api.post(path + "/v2", content=json.dumps(body), headers=JSON)
    assert paused.status_code == 200, paused.text
    assert _live(testbed_handle, dest)["spec"]["paused"] is True
    assert set(_actions(api, name, dest)) == {"restart", "resume"}
    body["action"] = "resume"
    assert api.post(path + "/v2", content=json.dumps(body), headers=JSON).status_code == 200
    assert "paused" not in _live(testbed_handle, dest)["spec"]


def test_argocd_cm_lua_action_with_parameters(
    api: httpx.Client,
    synced_app: tuple[str, str],
    testbed_handle: handle.TestBed,
    control_namespace: str,
) -> None:
    name, dest = synced_app
    patch_configmap(testbed_handle, control_namespace, "argocd-cm", {ACTIONS_KEY: SCALE})
    try:
        offered = _actions(api, name, dest)
        assert offered["scale"] == {"name": "scale", "disabled": False,
                                    "params": [{"name": "replicas"}]}  # fmt: skip
        assert {"pause", "restart"} <= set(offered)  # mergeBuiltinActions
        body = {"namespace": dest, "resourceName": "web", "group": "apps", "kind": "Deployment",
                "version": "v1", "action": "scale",
                "resourceActionParameters": [{"name": "replicas", "value": "3"}]}  # fmt: skip
        path = f"/api/v1/applications/{name}/resource/actions/v2"
        ran = api.post(path, content=json.dumps(body), headers=JSON)
        assert ran.status_code == 200, ran.text
        assert _live(testbed_handle, dest)["spec"]["replicas"] == 3
    finally:
        patch_configmap(testbed_handle, control_namespace, "argocd-cm", {ACTIONS_KEY: None})


def test_refusals_change_nothing(
    api: httpx.Client, synced_app: tuple[str, str], testbed_handle: handle.TestBed
) -> None:
    name, dest = synced_app
    before = _live(testbed_handle, dest)
    path = f"/api/v1/applications/{name}/resource/actions"
    post = {"params": _query(dest), "headers": JSON}
    api_error(api.post(path, content=json.dumps("explode"), **post), 400,
           "action 'explode' is not available")  # fmt: skip
    api_error(api.post(path, content=json.dumps({"x": 1}), **post), 400, "the action name")
    api_error(api.post(path, content=json.dumps(""), **post), 400, "action name is required")
    outside = _query(dest, resourceName="not-ours")
    api_error(api.get(path, params=outside), 400,
           f"apps/Deployment {dest}/not-ours not found as part of application {name}")  # fmt: skip
    api_error(api.post(path, params=outside, content=json.dumps("restart"), headers=JSON), 400,
           "not found as part of application")  # fmt: skip
    body = {**_query(dest), "action": "restart", "force": True}
    api_error(api.post(path + "/v2", content=json.dumps(body), headers=JSON), 400,
           "unknown field(s) in request: force")  # fmt: skip
    body = {**_query(dest), "action": "restart", "resourceActionParameters": "replicas=3"}
    api_error(api.post(path + "/v2", content=json.dumps(body), headers=JSON), 400,
           "resourceActionParameters must be a list")  # fmt: skip
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    api_error(api.post(path, params=_query(dest), content="restart", headers=form), 415,
           "Invalid content type")  # fmt: skip
    api_error(api.post("/api/v1/applications/no-such-app/resource/actions", **post,
                    content=json.dumps("restart")), 404, "no-such-app")  # fmt: skip
    after = _live(testbed_handle, dest)
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]


def test_rbac_action_permission(
    server: serverproc.ServerProcess,
    api: httpx.Client,
    synced_app: tuple[str, str],
    testbed_handle: handle.TestBed,
    control_namespace: str,
) -> None:
    name, dest = synced_app
    local_account(server, api, "ops", PASSWORD, (
        "p, role:ops, applications, get, */*, allow\n"
        "p, role:ops, applications, action/apps/Deployment/restart, */*, allow\n"
        "g, ops, role:ops\n"))  # fmt: skip
    resp = login(server, "ops", PASSWORD)
    assert resp.status_code == 200, resp.text
    path = f"/api/v1/applications/{name}/resource/actions"
    with server.client(token=resp.json()["token"]) as ops:
        until(lambda: ops.get(path, params=_query(dest)).status_code == 200, within=20)
        restarted = ops.post(path, params=_query(dest), content=json.dumps("restart"), headers=JSON)
        assert restarted.status_code == 200, restarted.text
        refused = ops.post(path, params=_query(dest), content=json.dumps("pause"), headers=JSON)
        api_error(refused, 403, f"action/apps/Deployment/pause, default/{name}")
    assert "paused" not in _live(testbed_handle, dest)["spec"]
