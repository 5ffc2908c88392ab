"""Set-up shared by the access-control tests: projects with apps, the RBAC and account
ConfigMaps, logins."""

from __future__ import annotations

import json
from typing import Any

import httpx
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

JSON = {"Content-Type": "application/json"}


def rbac_cm(namespace: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-rbac-cm", "namespace": namespace},
        "data": data,
    }


def make_project_app(api: httpx.Client, bed: handle.TestBed, project: str, app: str) -> None:
    body = {
        "project": {
            "metadata": {"name": project},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
        },
        "upsert": True,
    }
    assert api.post("/api/v1/projects", content=json.dumps(body), headers=JSON).is_success
    manifest = scenario.application(
        app,
        repo_url="https://git.example/x.git",
        path="x",
        server=bed.clusters["dev"].server,
        namespace="x",
        automated=False,
        project=project,
    )
    created = api.post("/api/v1/applications", content=json.dumps(manifest), headers=JSON)
    assert created.status_code == 200, created.text


def listed(api: httpx.Client) -> set[str]:
    return {a["metadata"]["name"] for a in api.get("/api/v1/applications").json()["items"]}


def patch_configmap(bed: handle.TestBed, namespace: str, name: str, data: dict[str, Any]) -> None:
    """Merge ``data`` (None removes a key) into a ConfigMap, keeping the keys others set."""
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    with bed.admin_client("mgmt") as client:
        resp = client.patch(
            f"{path}/{name}",
            content=json.dumps({"data": data}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if resp.status_code == 404:
            body = {"metadata": {"name": name}, "data": data}
            resp = client.post(path, content=json.dumps(body), headers=JSON)
        resp.raise_for_status()


def login(server: serverproc.ServerProcess, username: str, password: str) -> httpx.Response:
    with server.client() as client:
        body = json.dumps({"username": username, "password": password})
        return client.post("/api/v1/session", content=body, headers=JSON)


def local_account(
    server: serverproc.ServerProcess, admin: httpx.Client, name: str, password: str, policy: str
) -> None:
    """A local login account ``name`` with ``password``; ``policy`` replaces argocd-rbac-cm's
    ``policy.csv``. Returns once the server accepted the password (it knows the account)."""
    bed, namespace = server.bed, server.namespace
    patch_configmap(bed, namespace, "argocd-cm", {f"accounts.{name}": "login"})
    patch_configmap(bed, namespace, "argocd-rbac-cm", {"policy.csv": policy})
    change = {"name": name, "currentPassword": server.admin_password(), "newPassword": password}
    body = json.dumps(change)
    until(lambda: admin.put("/api/v1/account/password", content=body, headers=JSON).status_code
          == 200, within=20)  # fmt: skip


def api_error(resp: httpx.Response, status: int, text: str) -> dict[str, Any]:
    """Assert ``resp`` is an error in Argo CD's shape with ``status`` and ``text`` in it."""
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert set(body) == {"error", "code", "message", "details"}, body
    assert text in body["message"], body
    return body
