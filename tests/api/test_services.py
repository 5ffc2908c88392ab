"""Projects, ApplicationSets, clusters and repositories through a real ``tidegate server``."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.parse
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(server: serverproc.ServerProcess, token: str) -> Iterator[httpx.Client]:
    with server.client(token=token) as client:
        yield client


def _post(api: httpx.Client, path: str, body: Any, **params: Any) -> httpx.Response:
    return api.post(path, content=json.dumps(body), headers=JSON, params=params)


def _delete(api: httpx.Client, path: str, **params: Any) -> httpx.Response:
    return api.request("DELETE", path, headers=JSON, params=params)


def test_projects(api: httpx.Client, testbed_handle: handle.TestBed) -> None:
    name = f"proj-{secrets.token_hex(3)}"
    project = {
        "metadata": {"name": name},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
    }
    created = _post(api, "/api/v1/projects", {"project": project})
    assert created.status_code == 200, created.text
    assert created.json()["kind"] == "AppProject"
    assert name in [p["metadata"]["name"] for p in api.get("/api/v1/projects").json()["items"]]
    changed = {**project, "spec": {**project["spec"], "description": "changed"}}
    assert _post(api, "/api/v1/projects", {"project": changed}).status_code == 400
    upserted = _post(api, "/api/v1/projects", {"project": changed, "upsert": True})
    assert upserted.json()["spec"]["description"] == "changed"
    bad = {"metadata": {"name": name}, "spec": {"destinations": "nope"}}
    assert _post(api, "/api/v1/projects", {"project": bad, "upsert": True}).status_code == 400

    app = scenario.application(
        f"uses-{name}",
        repo_url="https://git.example/x.git",
        path="x",
        server=testbed_handle.clusters["dev"].server,
        namespace="x",
        automated=False,
        project=name,
    )
    assert _post(api, "/api/v1/applications", app).status_code == 200
    refused = _delete(api, f"/api/v1/projects/{name}")
    assert refused.status_code == 400 and "referenced by 1 applications" in refused.text
    _delete(api, f"/api/v1/applications/uses-{name}", cascade="false")

    def gone() -> bool:
        return _delete(api, f"/api/v1/projects/{name}").status_code == 200

    until(gone, within=20)
    assert api.get(f"/api/v1/projects/{name}").status_code == 404


def test_applicationsets(api: httpx.Client) -> None:
    name = f"set-{secrets.token_hex(3)}"
    appset = {
        "metadata": {"name": name},
        "spec": {
            "generators": [{"list": {"elements": [{"env": "dev"}]}}],
            "template": {
                "metadata": {"name": "{{env}}-" + name},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": "https://git.example/x.git", "path": "x"},
                    "destination": {"server": "https://dev", "namespace": "x"},
                },
            },
        },
    }
    preview = _post(api, "/api/v1/applicationsets", appset, dryRun="true")
    assert preview.status_code == 200, preview.text
    assert api.get(f"/api/v1/applicationsets/{name}").status_code == 404  # nothing written
    assert _post(api, "/api/v1/applicationsets", appset).status_code == 200
    listed = api.get("/api/v1/applicationsets").json()["items"]
    assert name in [s["metadata"]["name"] for s in listed]
    assert api.get(f"/api/v1/applicationsets/{name}").json()["kind"] == "ApplicationSet"
    assert _delete(api, f"/api/v1/applicationsets/{name}").json() == {}
    assert api.get(f"/api/v1/applicationsets/{name}").status_code == 404


def test_clusters_and_repositories_never_show_credentials(
    api: httpx.Client, testbed_handle: handle.TestBed, control_namespace: str
) -> None:
    assert testbed_handle.git is not None
    dev = testbed_handle.clusters["dev"].server
    key = (testbed_handle.directory / "pki" / "admin.key").read_text()
    listed = api.get("/api/v1/clusters")
    # Argo CD lists the implicit in-cluster entry too
    assert [c["name"] for c in listed.json()["items"]] == ["in-cluster", "dev"]
    one = listed.json()["items"][1]
    assert one["server"] == dev
    assert one["connectionState"]["status"] == "Successful"  # probed: no controller here
    assert one["info"]["serverVersion"].startswith("1.")
    assert one["config"]["tlsClientConfig"]["keyData"] != key
    encoded = urllib.parse.quote(dev, safe="")
    assert api.get(f"/api/v1/clusters/{encoded}").json()["name"] == "dev"
    assert api.get("/api/v1/clusters/dev", params={"id.type": "name"}).json()["server"] == dev
    assert api.get("/api/v1/clusters/nowhere", params={"id.type": "name"}).status_code == 404

    url = testbed_handle.git.info.http_base + "/private.git"
    secret = scenario.repo_secret(
        testbed_handle.git, url, namespace=control_namespace, name="repo-private"
    )
    scenario.apply_manifests(testbed_handle, "mgmt", [secret])
    repos = api.get("/api/v1/repositories")
    assert [r["repo"] for r in repos.json()["items"]] == [url]
    assert repos.json()["items"][0]["credentials"] == ["password"]
    quoted = urllib.parse.quote(url, safe="")
    assert api.get(f"/api/v1/repositories/{quoted}").json()["username"] == (
        testbed_handle.git.username
    )
    for resp in (listed, repos):
        assert testbed_handle.git.password not in resp.text
        assert key.strip().splitlines()[1] not in resp.text
    assert _delete(api, f"/api/v1/repositories/{quoted}").json() == {}
    assert api.get(f"/api/v1/repositories/{quoted}").status_code == 404


def test_settings(
    api: httpx.Client, server: serverproc.ServerProcess, control_namespace: str
) -> None:
    settings = api.get("/api/v1/settings").json()
    assert settings["controllerNamespace"] == control_namespace
    assert settings["appLabelKey"] == "app.kubernetes.io/instance"
    with server.client() as anonymous:
        assert anonymous.get("/api/v1/settings").status_code == 401


def test_sync_windows(api: httpx.Client, testbed_handle: handle.TestBed) -> None:
    name = f"win-{secrets.token_hex(3)}"
    deny = {"kind": "deny", "schedule": "* * * * *", "duration": "1h", "applications": [name]}
    allow = {"kind": "allow", "schedule": "0 0 1 1 *", "duration": "1m", "namespaces": ["other"]}
    project = {
        "metadata": {"name": name},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "syncWindows": [deny, allow],
        },
    }
    assert _post(api, "/api/v1/projects", {"project": project}).status_code == 200
    app = scenario.application(
        name,
        repo_url="https://git.example/x.git",
        path="x",
        server=testbed_handle.clusters["dev"].server,
        namespace="x",
        automated=False,
        project=name,
    )
    assert _post(api, "/api/v1/applications", app).status_code == 200
    got = api.get(f"/api/v1/applications/{name}/syncwindows").json()
    assert got == {"assignedWindows": [deny], "activeWindows": [deny], "canSync": False}
    _delete(api, f"/api/v1/applications/{name}", cascade="false")
    until(lambda: _delete(api, f"/api/v1/projects/{name}").status_code == 200, within=20)


def test_register_repository_and_cluster(
    api: httpx.Client, testbed_handle: handle.TestBed, control_namespace: str
) -> None:
    url = f"https://git.example/org/{secrets.token_hex(3)}.git"
    body = {"repo": url, "username": "bot", "password": "s3cret-value", "project": "default"}
    created = _post(api, "/api/v1/repositories", body)
    assert created.status_code == 200, created.text
    assert created.json()["repo"] == url and "s3cret-value" not in created.text
    assert _post(api, "/api/v1/repositories", body).status_code == 200  # same: kept
    changed = {**body, "password": "other"}
    refused = _post(api, "/api/v1/repositories", changed)
    assert refused.status_code == 400 and "upsert" in refused.text
    assert _post(api, "/api/v1/repositories", changed, upsert="true").status_code == 200
    assert _post(api, "/api/v1/repositories", {**body, "pasword": "x"}).status_code == 400
    with testbed_handle.admin_client("mgmt") as mgmt:
        listed = mgmt.get(
            f"/api/v1/namespaces/{control_namespace}/secrets",
            params={"labelSelector": "argocd.argoproj.io/secret-type=repository"},
        ).json()["items"]
    stored = [
        base64.b64decode(s["data"]["password"]).decode()
        for s in listed
        if base64.b64decode(s["data"]["url"]).decode() == url
    ]
    assert stored == ["other"]
    quoted = urllib.parse.quote(url, safe="")
    assert _delete(api, f"/api/v1/repositories/{quoted}").status_code == 200

    server = "https://cluster.example:6443"
    cluster = {
        "server": server,
        "name": "api-made",
        "config": {"bearerToken": "tok-value", "tlsClientConfig": {"insecure": True}},
        "labels": {"env": "test"},
    }
    made = _post(api, "/api/v1/clusters", cluster)
    assert made.status_code == 200, made.text
    assert made.json()["labels"] == {"env": "test"} and "tok-value" not in made.text
    exec_cluster = {**cluster, "config": {"execProviderConfig": {"command": "/bin/sh"}}}
    assert _post(api, "/api/v1/clusters", exec_cluster, upsert="true").status_code == 400
    assert _post(api, "/api/v1/clusters", {"server": "http://plain"}).status_code == 400
    quoted = urllib.parse.quote(server, safe="")
    assert api.get(f"/api/v1/clusters/{quoted}").json()["name"] == "api-made"
    assert _delete(api, f"/api/v1/clusters/{quoted}").status_code == 200


def test_no_credential_in_the_server_log(server: serverproc.ServerProcess) -> None:
    """Last in this module: after the registrations above, none of their secrets was logged."""
    text = server.log.read_text()
    for value in ("s3cret-value", "tok-value", server.admin_password()):
        assert value not in text
