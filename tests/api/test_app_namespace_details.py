"""The per-app calls beyond get/sync for an Application outside the control namespace (apps in
any namespace), through a real ``tidegate server --application-namespaces`` and a real
controller that syncs the app onto the test bed's dev cluster: the resource tree (and its
stream), managed resources, manifests, events, sync windows, one resource (get, patch), resource
actions (list, run), logs; each found with ``appNamespace`` by the resolver the other calls use,
and refused the same way: a namespace the server does not serve (400 naming it), a project whose
``sourceNamespaces`` does not list it (403 naming the project), RBAC on
``<project>/<namespace>/<name>``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from tests.api import cli_modes, far_apps
from tests.api.access_helpers import JSON, api_error, rbac_cm
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
FAR = far_apps.Far(secrets.token_hex(3))
TEAM, OTHER, UNSERVED = FAR.team, FAR.other, FAR.unserved
PROJECT, APP, DEST, WINDOW = FAR.project, FAR.app, FAR.dest, FAR.window
DEPLOY = {"group": "apps", "kind": "Deployment", "resourceName": "web", "version": "v1",
          "namespace": DEST}  # fmt: skip
SETTINGS = {"kind": "ConfigMap", "resourceName": "settings", "version": "v1", "namespace": DEST}


@pytest.fixture(scope="module")
def server_extra() -> list[str]:
    return ["--application-namespaces", FAR.glob]


@pytest.fixture(scope="module")
def controller_extra() -> list[str]:
    return ["--application-namespaces", FAR.glob]


@pytest.fixture(scope="module")
def namespaces(testbed_handle: handle.TestBed) -> Iterator[None]:
    with far_apps.namespaces(testbed_handle, FAR):
        yield


@pytest.fixture(scope="module")
def repo_url(testbed_handle: handle.TestBed, tmp_path_factory: pytest.TempPathFactory) -> str:
    return far_apps.repo(testbed_handle, tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def far_app(
    api: httpx.Client,
    namespaces: None,
    repo_url: str,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
) -> str:
    return far_apps.deploy(api, testbed_handle, FAR, repo_url)


def call(api: httpx.Client, path: str, **params: str) -> httpx.Response:
    """GET ``/api/v1/applications/{APP}{path}`` with ``params``."""
    return api.get(f"/api/v1/applications/{APP}{path}", params=params)


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_tree_managed_resources_and_manifests(api: httpx.Client, far_app: str) -> None:
    def kinds() -> set[str]:
        nodes = ok(call(api, "/resource-tree", appNamespace=TEAM))["nodes"]
        return {n["kind"] for n in nodes if n["namespace"] == DEST}

    # The managed resources and the live children kwok's Pod and the ReplicaSet add.
    until(lambda: {"Deployment", "ConfigMap", "ReplicaSet", "Pod"} <= kinds(), within=60)

    with api.stream(
        "GET",
        f"/api/v1/stream/applications/{APP}/resource-tree",
        params={"appNamespace": TEAM},
        timeout=httpx.Timeout(30.0),
    ) as stream:
        assert stream.status_code == 200
        first = json.loads(next(line for line in stream.iter_lines() if line.strip()))
    assert {"Deployment", "ConfigMap"} <= {n["kind"] for n in first["result"]["nodes"]}

    items = ok(call(api, "/managed-resources", appNamespace=TEAM))["items"]
    assert {(i["kind"], i["namespace"], i["name"]) for i in items} == {
        ("Deployment", DEST, "web"), ("ConfigMap", DEST, "settings")}  # fmt: skip
    manifests = ok(call(api, "/manifests", appNamespace=TEAM))
    assert manifests["namespace"] == DEST
    assert sorted(json.loads(m)["kind"] for m in manifests["manifests"]) == [
        "ConfigMap", "Deployment"]  # fmt: skip

    # The same name without appNamespace is the control namespace's: there is none.
    for path in ("/resource-tree", "/managed-resources", "/manifests"):
        api_error(call(api, path), 404, APP)


def test_events_and_sync_windows(api: httpx.Client, far_app: str) -> None:
    def reasons() -> set[str]:
        items = ok(call(api, "/events", appNamespace=TEAM))["items"]
        assert all(e["involvedObject"]["namespace"] == TEAM for e in items)
        return {e["reason"] for e in items}

    # The server's (created) and the controller's (the sync) events, in the app's namespace.
    until(lambda: {"ResourceCreated", "OperationCompleted"} <= reasons(), within=60)
    windows = ok(call(api, "/syncwindows", appNamespace=TEAM))
    assert windows["assignedWindows"] == [WINDOW] and windows["canSync"] is True
    api_error(call(api, "/events"), 404, APP)


def test_one_resource_read_and_patched(
    api: httpx.Client, far_app: str, testbed_handle: handle.TestBed
) -> None:
    got = ok(call(api, "/resource", appNamespace=TEAM, **SETTINGS))
    assert json.loads(got["manifest"])["data"] == {"color": "blue"}
    patched = api.post(
        f"/api/v1/applications/{APP}/resource",
        params={**SETTINGS, "appNamespace": TEAM, "patchType": "application/merge-patch+json"},
        content=json.dumps(json.dumps({"data": {"color": "green"}})),
        headers=JSON,
    )
    assert json.loads(ok(patched)["manifest"])["data"] == {"color": "green"}
    live = scenario.kubectl(testbed_handle, "dev", "-n", DEST, "get", "cm/settings", "-o", "json")
    assert json.loads(live)["data"] == {"color": "green"}
    api_error(call(api, "/resource", **SETTINGS), 404, APP)


def test_resource_actions_listed_and_run(
    api: httpx.Client, far_app: str, testbed_handle: handle.TestBed
) -> None:
    path = f"/api/v1/applications/{APP}/resource/actions"
    offered = ok(api.get(path, params={**DEPLOY, "appNamespace": TEAM}))["actions"]
    assert {a["name"] for a in offered} == {"pause", "restart"}
    ran = api.post(path, params={**DEPLOY, "appNamespace": TEAM}, content=json.dumps("restart"),
                   headers=JSON)  # fmt: skip
    assert ok(ran) == {}
    body = {**DEPLOY, "action": "pause", "appNamespace": TEAM}
    assert ok(api.post(path + "/v2", content=json.dumps(body), headers=JSON)) == {}
    live = json.loads(scenario.kubectl(testbed_handle, "dev", "-n", DEST, "get",
                                       "deployment/web", "-o", "json"))  # fmt: skip
    assert live["spec"]["paused"] is True
    assert "kubectl.kubernetes.io/restartedAt" in live["spec"]["template"]["metadata"][
        "annotations"]  # fmt: skip
    resumed = api.post(path + "/v2", content=json.dumps({**body, "action": "resume"}),
                       headers=JSON)  # fmt: skip
    assert ok(resumed) == {}
    api_error(api.get(path, params=DEPLOY), 404, APP)


def pod_of(bed: handle.TestBed) -> str:
    with bed.admin_client("dev") as dev:
        items = dev.get(f"/api/v1/namespaces/{DEST}/pods").json().get("items") or []
    return str(items[0]["metadata"]["name"]) if items else ""


def test_logs_pick_the_apps_pod_and_report_the_refusal(
    api: httpx.Client, far_app: str, testbed_handle: handle.TestBed
) -> None:
    """kwok's nodes serve no logs: the API server refuses every ``pods/log``. The app's pod is
    chosen, and the refusal names it; a kind without pods ends the stream at once."""
    pod = until(lambda: pod_of(testbed_handle), within=60)
    lines = call(api, "/logs", appNamespace=TEAM, kind="Deployment", tailLines="10")
    assert lines.status_code == 200, lines.text
    messages = [json.loads(line) for line in lines.text.splitlines() if line.strip()]
    errors = [m["error"]["message"] for m in messages if "error" in m]
    assert errors and f"logs of pod {DEST}/{pod}" in errors[0], messages
    assert messages[-1]["result"]["last"] is True
    none = call(api, "/logs", appNamespace=TEAM, kind="ConfigMap")
    assert [json.loads(line) for line in none.text.splitlines() if line.strip()] == [
        {"result": {"content": "", "timeStampStr": "", "podName": "", "last": True}}]  # fmt: skip
    one = call(api, f"/pods/{pod}/logs", appNamespace=TEAM, namespace=DEST)
    assert one.status_code >= 400 and pod in one.json()["message"], one.text
    api_error(call(api, "/logs", kind="Deployment"), 404, APP)


ENDPOINTS = ["/resource-tree", "/managed-resources", "/manifests", "/events", "/syncwindows",
             "/logs", "/resource/actions"]  # fmt: skip


def test_a_namespace_not_served_or_not_allowed_is_refused(
    api: httpx.Client, far_app: str, repo_url: str, testbed_handle: handle.TestBed
) -> None:
    for path in ENDPOINTS:
        api_error(call(api, path, appNamespace=UNSERVED, **DEPLOY), 400,
                  f"namespace '{UNSERVED}' is not permitted")  # fmt: skip
    refused = api.post(f"/api/v1/applications/{APP}/resource/actions/v2", headers=JSON,
                       content=json.dumps({**DEPLOY, "action": "restart",
                                           "appNamespace": UNSERVED}))  # fmt: skip
    api_error(refused, 400, f"namespace '{UNSERVED}' is not permitted")

    # Written straight to the cluster in a namespace its project does not list: served, but
    # every call on it is refused, as the controller refuses to reconcile it.
    name = f"stray-{FAR.tag}"
    scenario.apply_manifests(
        testbed_handle, "mgmt", [far_apps.app_manifest(testbed_handle, FAR, repo_url, name, OTHER)]
    )
    for path in [*ENDPOINTS, "/resource"]:
        resp = api.get(f"/api/v1/applications/{name}{path}",
                       params={"appNamespace": OTHER, **SETTINGS})  # fmt: skip
        api_error(resp, 403, f"in namespace '{OTHER}' is not allowed to use project '{PROJECT}'")
    patch = api.post(f"/api/v1/applications/{name}/resource", headers=JSON,
                     params={**SETTINGS, "appNamespace": OTHER},
                     content=json.dumps(json.dumps({"data": {"color": "red"}})))  # fmt: skip
    api_error(patch, 403, f"project '{PROJECT}'")
    live = scenario.kubectl(testbed_handle, "dev", "-n", DEST, "get", "cm/settings", "-o", "json")
    assert json.loads(live)["data"]["color"] != "red"


def test_rbac_judges_project_namespace_name(
    api: httpx.Client, far_app: str, control_namespace: str, testbed_handle: handle.TestBed
) -> None:
    obj = f"{PROJECT}/{TEAM}/{APP}"
    policy = (
        f"p, admin, applications, get, {PROJECT}/{TEAM}/*, deny\n"
        f"p, admin, logs, get, {PROJECT}/{TEAM}/*, deny\n"
        f"p, admin, applications, action/apps/Deployment/restart, {PROJECT}/{TEAM}/*, deny\n"
    )
    scenario.apply_manifests(
        testbed_handle, "mgmt", [rbac_cm(control_namespace, **{"policy.csv": policy})]
    )
    try:
        until(lambda: call(api, "/resource-tree", appNamespace=TEAM).status_code == 403, within=30)
        for path in ("/resource-tree", "/managed-resources", "/manifests", "/events",
                     "/syncwindows", "/resource/actions"):  # fmt: skip
            resp = call(api, path, appNamespace=TEAM, **DEPLOY)
            api_error(resp, 403, f"permission denied: applications, get, {obj}")
        api_error(call(api, "/logs", appNamespace=TEAM), 403, f"logs, get, {obj}")
        ran = api.post(f"/api/v1/applications/{APP}/resource/actions", headers=JSON,
                       params={**DEPLOY, "appNamespace": TEAM},
                       content=json.dumps("restart"))  # fmt: skip
        api_error(ran, 403, f"applications, action/apps/Deployment/restart, {obj}")
    finally:
        scenario.apply_manifests(testbed_handle, "mgmt", [rbac_cm(control_namespace)])
    until(lambda: call(api, "/resource-tree", appNamespace=TEAM).status_code == 200, within=30)


def test_the_cli_reads_the_far_app_both_ways(
    server: serverproc.ServerProcess,
    far_app: str,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """``NS/NAME`` (or ``-N``) over the API sends ``appNamespace``; ``--core`` reads the app in
    its namespace and the projects, Secrets and argocd-cm in the control namespace."""
    cli = cli_modes.both(server, testbed_handle, control_namespace, tmp_path_factory, "app")
    far = f"{TEAM}/{APP}"
    table = cli.same("resources", far)
    assert table.returncode == 0 and "settings" in table.stdout and "web" in table.stdout

    shown = [cli.api("manifests", far), cli.direct("manifests", "-N", TEAM, APP)]
    for done in shown:
        assert done.returncode == 0, done.stderr
    docs = [sorted((d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(s.stdout))
            for s in shown]  # fmt: skip
    assert docs[0] == docs[1] == [("ConfigMap", "settings"), ("Deployment", "web")]
    live = cli.api("manifests", far, "--source", "live")
    assert live.returncode == 0, live.stderr
    assert {d["metadata"]["namespace"] for d in yaml.safe_load_all(live.stdout)} == {DEST}

    for run in (cli.api, cli.direct):
        events = run("events", far, "-o", "json")
        assert events.returncode == 0, events.stderr
        assert "ResourceCreated" in {e["reason"] for e in json.loads(events.stdout)}
        logs = run("logs", far, "--kind", "Deployment", "--tail", "10")
        assert logs.returncode == 1 and f"logs of pod {DEST}/" in logs.stderr, logs
        refused = run("resources", f"{UNSERVED}/{APP}")
        assert refused.returncode == 1, refused
    assert (
        f"namespace '{UNSERVED}' is not permitted" in cli.api("events", f"{UNSERVED}/{APP}").stderr
    )

    # Resource actions and a live resource: over the API with appNamespace; directly, the app
    # in its namespace, argocd-cm and the cluster Secrets in the control namespace.
    offered = cli.same("actions", "list", far, "--kind", "Deployment", "-o", "json")
    assert offered.returncode == 0, offered.stderr
    assert {r["action"]["name"] for r in json.loads(offered.stdout)} == {"pause", "restart"}
    # Run over the API: appNamespace in the query (deprecated form) and in the v2 body (with
    # parameters, which the built-in restart ignores).
    for extra in ([], ["--resource-action-parameters", "reason=test"]):
        ran = cli.api("actions", "run", far, "restart", "--kind", "Deployment", *extra)
        assert ran.returncode == 0, ran.stderr
        # unchanged when two restarts fall in the same second (restartedAt is to the second)
        assert ran.stdout in ("Deployment/web patched\n", "Deployment/web unchanged\n")
    text = scenario.kubectl(testbed_handle, "dev", "-n", DEST, "get", "deploy/web", "-o", "json")
    template = json.loads(text)["spec"]["template"]["metadata"]
    assert "kubectl.kubernetes.io/restartedAt" in template["annotations"]
    got = cli.same("get-resource", APP, "-N", TEAM, "--kind", "ConfigMap", "-o", "json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["metadata"]["name"] == "settings"

    merge = json.dumps({"data": {"color": "yellow"}})
    patched = cli.same("patch-resource", far, "--kind", "ConfigMap", "--patch", merge)
    assert patched.returncode == 0 and patched.stdout == "ConfigMap/settings patched\n", patched
    live = scenario.kubectl(testbed_handle, "dev", "-n", DEST, "get", "cm/settings", "-o", "json")
    assert json.loads(live)["data"] == {"color": "yellow"}

    deleted = cli.api("delete-resource", far, "--kind", "ConfigMap")
    assert deleted.returncode == 0 and deleted.stdout == "ConfigMap/settings deleted\n", deleted

    def gone() -> bool:
        with testbed_handle.admin_client("dev") as dev:
            return dev.get(f"/api/v1/namespaces/{DEST}/configmaps/settings").status_code == 404

    until(gone, within=30)
    again = cli.same("delete-resource", far, "--kind", "ConfigMap")
    assert again.returncode == 1 and f"no ConfigMap of application {far} matches" in again.stderr
