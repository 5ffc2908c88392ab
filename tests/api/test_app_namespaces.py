"""Applications in any namespace through a real ``tidegate server --application-namespaces``:
created, listed, read, synced and deleted in another namespace (``appNamespace``), refused in a
namespace the server does not serve or the project's ``sourceNamespaces`` does not list, RBAC
judged on ``<project>/<namespace>/<name>``, and the CLI's ``NS/NAME`` and ``-N`` over the API."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.api import cli_modes
from tests.api.access_helpers import api_error, rbac_cm
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}
TAG = secrets.token_hex(3)
TEAM = f"tga-{TAG}-team"  # served, listed by the project
OTHER = f"tga-{TAG}-other"  # served, not listed by the project
UNSERVED = f"tgx-{TAG}"  # not served
PROJECT = f"teams-{TAG}"


@pytest.fixture(scope="module")
def server_extra() -> list[str]:
    return ["--application-namespaces", f"tga-{TAG}-*"]


@pytest.fixture(scope="module")
def namespaces(testbed_handle: handle.TestBed) -> Iterator[None]:
    with testbed_handle.admin_client("mgmt") as client:
        for ns in (TEAM, OTHER, UNSERVED):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            client.post("/api/v1/namespaces", content=json.dumps(body), headers=JSON)
    try:
        yield
    finally:
        with testbed_handle.admin_client("mgmt") as client:
            for ns in (TEAM, OTHER, UNSERVED):
                client.delete(f"/api/v1/namespaces/{ns}")


@pytest.fixture(scope="module")
def project(api: httpx.Client, namespaces: None) -> str:
    body = {
        "project": {
            "metadata": {"name": PROJECT},
            "spec": {
                "sourceRepos": ["*"],
                "destinations": [{"server": "*", "namespace": "*"}],
                "sourceNamespaces": [TEAM],
            },
        }
    }
    made = api.post("/api/v1/projects", content=json.dumps(body), headers=JSON)
    assert made.status_code == 200, made.text
    return PROJECT


def manifest(bed: handle.TestBed, name: str, namespace: str, project: str) -> dict[str, Any]:
    app = scenario.application(
        name,
        repo_url="https://git.example/x.git",
        path="x",
        server=bed.clusters["dev"].server,
        namespace="x",
        automated=False,
        project=project,
    )
    app["metadata"]["namespace"] = namespace
    return app


def names(api: httpx.Client, **params: str) -> set[str]:
    items = api.get("/api/v1/applications", params=params).json()["items"]
    return {f"{a['metadata']['namespace']}/{a['metadata']['name']}" for a in items}


def test_an_app_in_another_namespace_through_the_api(
    api: httpx.Client, project: str, testbed_handle: handle.TestBed, control_namespace: str
) -> None:
    name = f"ns-app-{TAG}"
    made = api.post(
        "/api/v1/applications",
        content=json.dumps(manifest(testbed_handle, name, TEAM, project)),
        headers=JSON,
    )
    assert made.status_code == 200, made.text
    assert made.json()["metadata"]["namespace"] == TEAM
    # The same name in the control namespace is another app.
    twin = manifest(testbed_handle, name, control_namespace, project)
    assert api.post("/api/v1/applications", content=json.dumps(twin), headers=JSON).is_success

    until(lambda: {f"{TEAM}/{name}", f"{control_namespace}/{name}"} <= names(api), within=20)
    assert names(api, appNamespace=TEAM) == {f"{TEAM}/{name}"}

    got = api.get(f"/api/v1/applications/{name}", params={"appNamespace": TEAM})
    assert got.status_code == 200 and got.json()["metadata"]["namespace"] == TEAM
    plain = api.get(f"/api/v1/applications/{name}")
    assert plain.json()["metadata"]["namespace"] == control_namespace

    synced = api.post(
        f"/api/v1/applications/{name}/sync",
        content=json.dumps({"appNamespace": TEAM, "prune": True}),
        headers=JSON,
    )
    assert synced.status_code == 200, synced.text
    assert synced.json()["metadata"]["namespace"] == TEAM
    assert synced.json()["operation"]["sync"]["prune"] is True
    stored = api.get(f"/api/v1/applications/{name}", params={"appNamespace": TEAM}).json()
    assert stored["operation"]["sync"]["prune"] is True
    assert "operation" not in api.get(f"/api/v1/applications/{name}").json()

    spec = {**stored["spec"], "destination": {**stored["spec"]["destination"], "namespace": "y"}}
    updated = api.put(
        f"/api/v1/applications/{name}/spec",
        params={"appNamespace": TEAM},
        content=json.dumps(spec),
        headers=JSON,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["destination"]["namespace"] == "y"

    deleted = api.request(
        "DELETE",
        f"/api/v1/applications/{name}",
        params={"appNamespace": TEAM, "cascade": "false"},
        headers=JSON,
    )
    assert deleted.status_code == 200, deleted.text
    until(lambda: f"{TEAM}/{name}" not in names(api), within=20)
    assert f"{control_namespace}/{name}" in names(api)


def test_namespaces_not_served_or_not_allowed_are_refused(
    api: httpx.Client, project: str, testbed_handle: handle.TestBed
) -> None:
    name = f"refused-{TAG}"
    unserved = api.post(
        "/api/v1/applications",
        content=json.dumps(manifest(testbed_handle, name, UNSERVED, project)),
        headers=JSON,
    )
    api_error(unserved, 400, f"namespace '{UNSERVED}' is not permitted")
    not_listed = api.post(
        "/api/v1/applications",
        content=json.dumps(manifest(testbed_handle, name, OTHER, project)),
        headers=JSON,
    )
    api_error(
        not_listed,
        403,
        f"application '{name}' in namespace '{OTHER}' is not allowed to use project '{project}'",
    )
    read = api.get(f"/api/v1/applications/{name}", params={"appNamespace": UNSERVED})
    api_error(read, 400, f"namespace '{UNSERVED}' is not permitted")
    listed = api.get("/api/v1/applications", params={"appNamespace": UNSERVED})
    api_error(listed, 400, f"namespace '{UNSERVED}' is not permitted")
    with testbed_handle.admin_client("mgmt") as client:  # nothing was written anywhere
        for ns in (UNSERVED, OTHER):
            found = client.get(f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}")
            assert found.status_code == 404

    # An app written straight to the cluster in a namespace its project does not list: served,
    # but every call on it is refused, as the controller refuses to reconcile it.
    scenario.apply_manifests(
        testbed_handle, "mgmt", [manifest(testbed_handle, name, OTHER, project)]
    )
    synced = api.post(
        f"/api/v1/applications/{name}/sync",
        content=json.dumps({"appNamespace": OTHER}),
        headers=JSON,
    )
    api_error(synced, 403, f"in namespace '{OTHER}' is not allowed to use project '{project}'")


def test_rbac_judges_the_namespaced_object(
    api: httpx.Client,
    project: str,
    testbed_handle: handle.TestBed,
    control_namespace: str,
) -> None:
    name = f"rbac-{TAG}"
    for ns in (TEAM, control_namespace):
        body = json.dumps(manifest(testbed_handle, name, ns, project))
        assert api.post("/api/v1/applications", content=body, headers=JSON).is_success
    policy = f"p, admin, applications, get, {project}/{TEAM}/*, deny\n"
    scenario.apply_manifests(
        testbed_handle, "mgmt", [rbac_cm(control_namespace, **{"policy.csv": policy})]
    )
    try:
        until(lambda: f"{TEAM}/{name}" not in names(api), within=30)
        assert f"{control_namespace}/{name}" in names(api)  # its object is <project>/<name>
        refused = api.get(f"/api/v1/applications/{name}", params={"appNamespace": TEAM})
        api_error(refused, 403, f"permission denied: applications, get, {project}/{TEAM}/{name}")
        assert api.get(f"/api/v1/applications/{name}").status_code == 200
    finally:
        scenario.apply_manifests(testbed_handle, "mgmt", [rbac_cm(control_namespace)])
    until(lambda: f"{TEAM}/{name}" in names(api), within=30)


def test_the_cli_names_apps_of_other_namespaces_over_the_api(
    server: serverproc.ServerProcess,
    api: httpx.Client,
    project: str,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    name = f"cli-{TAG}"
    body = json.dumps(manifest(testbed_handle, name, TEAM, project))
    assert api.post("/api/v1/applications", content=body, headers=JSON).is_success
    cli = cli_modes.both(server, testbed_handle, control_namespace, tmp_path_factory, "app")

    shown = cli.api("get", f"{TEAM}/{name}", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["metadata"]["namespace"] == TEAM
    assert cli.api("get", name, "-N", TEAM, "-o", "json").returncode == 0
    missing = cli.api("get", name, "-o", "json")  # not in the control namespace
    assert missing.returncode == 1 and f"application '{name}' not found" in missing.stderr

    listed = cli.api("list", "-N", TEAM, "-o", "json")
    assert listed.returncode == 0, listed.stderr
    shown_apps = {
        (a["metadata"]["namespace"], a["metadata"]["name"]) for a in json.loads(listed.stdout)
    }
    assert (TEAM, name) in shown_apps and {ns for ns, _ in shown_apps} == {TEAM}
    table = cli.api("list")  # every namespace the server serves, NAMESPACE/NAME
    assert f"{TEAM}/{name}" in table.stdout.split(), table.stdout

    refused = cli.api("get", f"{UNSERVED}/{name}")
    assert refused.returncode == 1
    assert f"namespace '{UNSERVED}' is not permitted" in refused.stderr

    synced = cli.api("sync", f"{TEAM}/{name}", "--async")
    assert synced.returncode == 0, synced.stderr
    stored = api.get(f"/api/v1/applications/{name}", params={"appNamespace": TEAM}).json()
    assert "sync" in stored["operation"]
