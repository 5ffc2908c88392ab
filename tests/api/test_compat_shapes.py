"""Compatibility: every endpoint issue 11 lists, replayed against a real ``tidegate server``
(with a real controller syncing an app onto the test bed), its reply checked against the shape
Argo CD's API gives (docs: ../shared/reference/argo-ecosystem.md, sections 1.1-1.4).

The shapes are data (:data:`SHAPES`: the fields a client reads and their JSON types), the
requests a table (:data:`CALLS`), in the order a script would make them (writes last, the
delete at the end). Streams are checked in both framings: newline-delimited ``{"result": ...}``
and SSE ``data: {...} \\n\\n``."""

from __future__ import annotations

import json
import secrets
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
import yaml
from tests.api.access_helpers import JSON
from tests.api.polling import until

from tidegate.testenv import handle, scenario

pytestmark = pytest.mark.e2e
TAG = secrets.token_hex(3)
APP, PROJECT, APPSET = f"compat-{TAG}", f"compat-p-{TAG}", f"compat-s-{TAG}"
DEST = f"compat-dest-{TAG}"

# Argo CD's messages: field -> JSON type(s). A list shape names the shape of its items.
S, N, B, L, D = str, int, bool, list, dict
SHAPES: dict[str, dict[str, Any]] = {
    "Error": {"error": S, "code": N, "message": S, "details": L},
    "Empty": {},
    "Version": {"Version": S, "BuildDate": S, "GitCommit": S, "GoVersion": S, "Platform": S},
    "SessionResponse": {"token": S},
    "GetUserInfoResponse": {"loggedIn": B, "username": S, "iss": S, "groups": L},
    "Settings": {
        "url": S,
        "appLabelKey": S,
        "trackingMethod": S,
        "controllerNamespace": S,
        "passwordPattern": S,
        "statusBadgeEnabled": B,
        "userLoginsDisabled": B,
        "execEnabled": B,
        "appsInAnyNamespaceEnabled": B,
    },
    "Application": {"apiVersion": S, "kind": S, "metadata": D, "spec": D},
    "ApplicationList": {"items": ("Application",), "metadata": D},
    "ApplicationSpec": {"destination": D, "project": S, "source": D},
    "ApplicationTree": {"nodes": ("ResourceNode",)},
    "ResourceNode": {"group": S, "version": S, "kind": S, "namespace": S, "name": S},
    "ManagedResourcesResponse": {"items": ("ResourceDiff",)},
    "ResourceDiff": {
        "group": S,
        "kind": S,
        "namespace": S,
        "name": S,
        "targetState": S,
        "liveState": S,
        "normalizedLiveState": S,
        "predictedLiveState": S,
        "modified": B,
        "hook": B,
    },
    "ManifestResponse": {
        "manifests": L,
        "namespace": S,
        "server": S,
        "revision": S,
        "sourceType": S,
    },
    "EventList": {"items": L, "metadata": D},
    "ApplicationResourceResponse": {"manifest": S},
    "ApplicationSyncWindowsResponse": {"assignedWindows": L, "activeWindows": L, "canSync": B},
    "ResourceActionsListResponse": {"actions": ("ResourceAction",)},
    "ResourceAction": {"name": S, "disabled": B},
    "ApplicationSet": {"apiVersion": S, "kind": S, "metadata": D, "spec": D},
    "ApplicationSetList": {"items": ("ApplicationSet",), "metadata": D},
    "ApplicationSetGenerateResponse": {"applications": ("Application",)},
    "Cluster": {"server": S, "name": S, "config": D, "connectionState": D, "info": D},
    "ClusterList": {"items": ("Cluster",), "metadata": D},
    "Repository": {"repo": S, "type": S, "connectionState": D},
    "RepositoryList": {"items": ("Repository",), "metadata": D},
    "RepoCreds": {"url": S},
    "RepoCredsList": {"items": ("RepoCreds",), "metadata": D},
    "AppProject": {"apiVersion": S, "kind": S, "metadata": D, "spec": D},
    "AppProjectList": {"items": ("AppProject",), "metadata": D},
    "LogEntry": {"content": S, "timeStampStr": S, "podName": S, "last": B},
    "ApplicationWatchEvent": {"type": S, "application": "Application"},
    "ApplicationSetWatchEvent": {"type": S, "applicationSet": "ApplicationSet"},
}


def check(value: Any, shape: str, where: str = "") -> None:
    """``value`` has every field of ``shape`` with its JSON type (nested shapes checked)."""
    fields = SHAPES[shape]
    assert isinstance(value, dict), f"{where or shape}: not an object: {value!r:.200}"
    if shape == "Empty":
        assert value == {}, f"{where}: {value!r:.200}"
    for field, kind in fields.items():
        assert field in value, f"{where or shape}: no {field!r} in {sorted(value)}"
        got = value[field]
        if isinstance(kind, tuple):  # a list of messages
            assert isinstance(got, list), f"{where}.{field}: not a list"
            assert got, f"{where}.{field}: empty (the set-up makes at least one)"
            for i, item in enumerate(got):
                check(item, kind[0], f"{where}.{field}[{i}]")
        elif isinstance(kind, str):
            check(got, kind, f"{where}.{field}")
        else:
            assert isinstance(got, kind) and not (kind is int and isinstance(got, bool)), (
                f"{where or shape}.{field}: {type(got).__name__}, not {kind.__name__}"
            )


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@pytest.fixture(scope="module")
def setup(
    api: httpx.Client,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """A synced app (ConfigMap + Deployment), a project, an ApplicationSet, a repository."""
    assert testbed_handle.git is not None
    src = tmp_path_factory.mktemp("repo")
    (src / "app").mkdir()
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/w"}]},
            },
        },
    }
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings"},
        "data": {"color": "blue"},
    }
    (src / "app" / "all.yaml").write_text(yaml.safe_dump_all([configmap, deployment]))
    repo = testbed_handle.git.create_repo(from_dir=src).http_url
    project = {
        "metadata": {"name": PROJECT},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "syncWindows": [
                {
                    "kind": "allow",
                    "schedule": "* * * * *",
                    "duration": "1h",
                    "applications": ["*"],
                    "manualSync": True,
                }
            ],
        },
    }
    posted = api.post("/api/v1/projects", content=json.dumps({"project": project}), headers=JSON)
    assert posted.status_code == 200, posted.text
    app = scenario.application(
        APP,
        repo_url=repo,
        path="app",
        automated=False,
        project=PROJECT,
        server=testbed_handle.clusters["dev"].server,
        namespace=DEST,
    )
    assert api.post("/api/v1/applications", content=json.dumps(app), headers=JSON).is_success
    assert api.post(f"/api/v1/applications/{APP}/sync", content="{}", headers=JSON).is_success

    last: dict[str, Any] = {}

    def synced() -> bool:
        last.update(api.get(f"/api/v1/applications/{APP}").json().get("status") or {})
        phase = (last.get("operationState") or {}).get("phase")
        return phase == "Succeeded" and bool(last.get("history"))

    try:
        until(synced, within=120)
    except AssertionError:
        raise AssertionError(f"{APP} did not sync: {json.dumps(last)[:2000]}") from None
    return {"repo": repo, "dev": testbed_handle.clusters["dev"].server}


def appset_body() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": APPSET},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "a"}]}}],
            "template": {
                "metadata": {"name": f"{{{{env}}}}-{APPSET}"},
                "spec": {
                    "project": PROJECT,
                    "source": {"repoURL": "https://git.example/x.git", "path": "x"},
                    "destination": {"server": "https://kubernetes.default.svc", "namespace": "x"},
                },
            },
        },
    }


DEPLOY = {
    "namespace": DEST,
    "resourceName": "web",
    "version": "v1",
    "group": "apps",
    "kind": "Deployment",
}
# (method, path, query, body, HTTP status, shape). "{...}" in paths: the set-up's values.
CALLS: list[tuple[str, str, dict[str, Any], Any, int, str]] = [
    ("GET", "/api/version", {}, None, 200, "Version"),
    ("GET", "/api/v1/settings", {}, None, 200, "Settings"),
    ("GET", "/api/v1/session/userinfo", {}, None, 200, "GetUserInfoResponse"),
    ("GET", "/api/v1/applications", {"projects": PROJECT}, None, 200, "ApplicationList"),
    ("GET", "/api/v1/applications", {"fields": "items.metadata.name"}, None, 200, "Empty?"),
    ("GET", f"/api/v1/applications/{APP}", {}, None, 200, "Application"),
    ("GET", f"/api/v1/applications/{APP}", {"refresh": "normal"}, None, 200, "Application"),
    ("GET", "/api/v1/applications/nope-x", {}, None, 404, "Error"),
    ("GET", f"/api/v1/applications/{APP}/resource-tree", {}, None, 200, "ApplicationTree"),
    (
        "GET",
        f"/api/v1/applications/{APP}/managed-resources",
        {},
        None,
        200,
        "ManagedResourcesResponse",
    ),
    ("GET", f"/api/v1/applications/{APP}/manifests", {}, None, 200, "ManifestResponse"),
    ("GET", f"/api/v1/applications/{APP}/events", {}, None, 200, "EventList"),
    (
        "GET",
        f"/api/v1/applications/{APP}/syncwindows",
        {},
        None,
        200,
        "ApplicationSyncWindowsResponse",
    ),
    # no ClusterLogs names this pod's log for kwok: the API server's 400, in the error shape.
    (
        "GET",
        f"/api/v1/applications/{APP}/pods/{{pod}}/logs",
        {"container": "web"},
        None,
        400,
        "Error",
    ),
    (
        "GET",
        f"/api/v1/applications/{APP}/resource",
        DEPLOY,
        None,
        200,
        "ApplicationResourceResponse",
    ),
    (
        "POST",
        f"/api/v1/applications/{APP}/resource",
        {**DEPLOY, "patchType": "application/merge-patch+json"},
        json.dumps({"metadata": {"labels": {"compat": "yes"}}}),
        200,
        "ApplicationResourceResponse",
    ),
    (
        "GET",
        f"/api/v1/applications/{APP}/resource/actions",
        DEPLOY,
        None,
        200,
        "ResourceActionsListResponse",
    ),
    ("POST", f"/api/v1/applications/{APP}/resource/actions", DEPLOY, "restart", 200, "Empty"),
    (
        "POST",
        f"/api/v1/applications/{APP}/resource/actions/v2",
        {},
        {**DEPLOY, "action": "restart", "resourceActionParameters": []},
        200,
        "Empty",
    ),
    # nothing in progress: FailedPrecondition (gRPC 9), as Argo CD answers it
    ("DELETE", f"/api/v1/applications/{APP}/operation", {}, None, 400, "Error"),
    (
        "POST",
        f"/api/v1/applications/{APP}/sync",
        {},
        {"dryRun": True, "prune": False},
        200,
        "Application",
    ),
    (
        "POST",
        f"/api/v1/applications/{APP}/rollback",
        {},
        {"id": "{history}", "dryRun": True},
        200,
        "Application",
    ),
    (
        "PATCH",
        f"/api/v1/applications/{APP}",
        {},
        {"patch": json.dumps({"metadata": {"labels": {"compat": "1"}}}), "patchType": "merge"},
        200,
        "Application",
    ),
    ("PUT", f"/api/v1/applications/{APP}/spec", {}, "{spec}", 200, "ApplicationSpec"),
    ("PUT", f"/api/v1/applications/{APP}", {}, "{app}", 200, "Application"),
    ("POST", "/api/v1/applications", {"upsert": "true"}, "{app}", 200, "Application"),
    ("GET", "/api/v1/applications-summary", {}, None, 200, "Empty?"),
    ("POST", "/api/v1/applicationsets", {}, "{appset}", 200, "ApplicationSet"),
    ("GET", "/api/v1/applicationsets", {}, None, 200, "ApplicationSetList"),
    ("GET", f"/api/v1/applicationsets/{APPSET}", {}, None, 200, "ApplicationSet"),
    (
        "POST",
        "/api/v1/applicationsets/generate",
        {},
        {"applicationSet": "{appset}"},
        200,
        "ApplicationSetGenerateResponse",
    ),
    ("DELETE", f"/api/v1/applicationsets/{APPSET}", {}, None, 200, "Empty"),
    ("GET", "/api/v1/clusters", {}, None, 200, "ClusterList"),
    ("GET", "/api/v1/clusters/{dev}", {}, None, 200, "Cluster"),
    ("GET", "/api/v1/clusters/dev", {"id.type": "name"}, None, 200, "Cluster"),
    ("POST", "/api/v1/repositories", {}, {"repo": "{repo}", "type": "git"}, 200, "Repository"),
    ("GET", "/api/v1/repositories", {}, None, 200, "RepositoryList"),
    ("GET", "/api/v1/repositories/{repo}", {}, None, 200, "Repository"),
    ("POST", "/api/v1/repositories/{repo}/validate", {}, {}, 200, "Empty"),
    ("GET", "/api/v1/repocreds", {}, None, 200, "RepoCredsList"),
    ("DELETE", "/api/v1/repositories/{repo}", {}, None, 200, "Empty"),
    ("GET", "/api/v1/projects", {}, None, 200, "AppProjectList"),
    ("GET", f"/api/v1/projects/{PROJECT}", {}, None, 200, "AppProject"),
    ("PUT", f"/api/v1/projects/{PROJECT}", {}, {"project": "{project}"}, 200, "AppProject"),
    ("DELETE", f"/api/v1/projects/{PROJECT}", {}, None, 400, "Error"),  # apps still use it
    ("DELETE", f"/api/v1/applications/{APP}", {"cascade": "false"}, None, 200, "Empty?"),
]


def _fill(value: Any, known: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        key = value[1:-1]
        if key in known:
            return known[key]
    if isinstance(value, str):
        for key, found in known.items():
            if isinstance(found, str):
                value = value.replace(
                    "{" + key + "}", q(found) if key in ("dev", "repo") else found
                )
        return value
    if isinstance(value, dict):
        return {k: _fill(v, known) for k, v in value.items()}
    return value


def _phase(api: httpx.Client) -> str:
    status = api.get(f"/api/v1/applications/{APP}").json().get("status") or {}
    return str((status.get("operationState") or {}).get("phase") or "")


def _pod(bed: handle.TestBed) -> str:
    text = scenario.kubectl(bed, "dev", "-n", DEST, "get", "pods", "-o", "name")
    return text.split()[0].removeprefix("pod/") if text.split() else ""


def _ndjson_first(api: httpx.Client, path: str, params: dict[str, str]) -> dict[str, Any]:
    with api.stream("GET", path, params=params) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/json")
        for line in resp.iter_lines():
            if line.strip():
                message: dict[str, Any] = json.loads(line)
                return message
    raise AssertionError(f"{path}: no message")


def _sse_first(api: httpx.Client, path: str, params: dict[str, str]) -> dict[str, Any]:
    headers = {"Accept": "text/event-stream"}
    with api.stream("GET", path, params=params, headers=headers) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        buffer = ""
        for chunk in resp.iter_text():
            buffer += chunk
            if "\n\n" in buffer:
                frame = buffer.split("\n\n", 1)[0]
                assert frame.startswith("data: ") and frame.endswith(" "), repr(frame)
                message: dict[str, Any] = json.loads(frame.removeprefix("data: "))
                return message
    raise AssertionError(f"{path}: no frame")


# Streams first: the table below ends by deleting the app.
@pytest.mark.parametrize("framing", ["ndjson", "sse"])
def test_streams_in_both_framings(api: httpx.Client, setup: dict[str, str], framing: str) -> None:
    first = _ndjson_first if framing == "ndjson" else _sse_first
    watched = first(api, "/api/v1/stream/applications", {"name": APP})
    assert set(watched) == {"result"}
    check(watched["result"], "ApplicationWatchEvent", "stream/applications")
    assert watched["result"]["type"] == "ADDED"
    assert watched["result"]["application"]["metadata"]["name"] == APP
    tree = first(api, f"/api/v1/stream/applications/{APP}/resource-tree", {})
    check(tree["result"], "ApplicationTree", "stream/resource-tree")


def test_every_endpoint_answers_in_argo_cds_shape(
    api: httpx.Client, setup: dict[str, str], testbed_handle: handle.TestBed
) -> None:
    until(lambda: _pod(testbed_handle), within=60)
    app = api.get(f"/api/v1/applications/{APP}").json()
    project = api.get(f"/api/v1/projects/{PROJECT}").json()
    known: dict[str, Any] = {
        **setup,
        "pod": _pod(testbed_handle),
        "history": app["status"]["history"][-1]["id"],
        "spec": app["spec"],
        "app": {k: app[k] for k in ("apiVersion", "kind", "metadata", "spec")},
        "appset": appset_body(),
        "project": project,
    }
    for method, path, params, body, status, shape in CALLS:
        url = _fill(path, known)
        content = "" if body is None else json.dumps(_fill(body, known))
        resp = api.request(
            method,
            url,
            params=_fill(params, known),
            content=content if method != "GET" else None,
            headers=JSON if method != "GET" else None,
        )
        where = f"{method} {url}"
        assert resp.status_code == status, f"{where}: {resp.status_code} {resp.text[:300]}"
        assert resp.headers["content-type"].startswith("application/json"), where
        if shape.endswith("?"):  # Tidegate's own (summary) or a reply without a fixed shape
            assert isinstance(resp.json(), dict), where
        else:
            check(resp.json(), shape, where)
        if url.endswith(("/sync", "/rollback")):  # let the controller finish the operation
            until(
                lambda: (
                    not api.get(f"/api/v1/applications/{APP}").json().get("operation")
                    and _phase(api) in ("Succeeded", "Failed", "Error")
                ),
                within=120,
            )
