"""The promotion pipeline stream of a real ``tidegate server`` on the test bed's management
cluster: refused as the project's GET is refused (no token, a role without ``promotions,
get``, a project that does not exist), and a message once the watches have listed, then one
after a Stage's status is patched through the real API server."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.api.access_helpers import JSON, patch_configmap
from tests.api.access_helpers import login as api_login
from tests.api.polling import until

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e
KARGO = "/apis/kargo.akuity.io/v1alpha1"
SSE = {"Accept": "text/event-stream"}
OUTSIDER = "outsider"
PASSWORD = "outsider-pass-1"
WITHIN = 60.0


@pytest.fixture(scope="module")
def server_extra() -> list[str]:
    return ["--stream-keepalive=0.5"]  # the reader below checks its deadline on each line


@pytest.fixture(scope="module")
def project(testbed_handle: handle.TestBed) -> Iterator[str]:
    """A Kargo Project, its namespace and a Stage ``dev`` (no promotion controller needed)."""
    name = f"pstream-{secrets.token_hex(3)}"
    with testbed_handle.admin_client("mgmt") as kube:
        created = kube.post(
            f"{KARGO}/projects",
            json={"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project",
                  "metadata": {"name": name}},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        namespace = kube.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        assert namespace.status_code in (201, 409), namespace.text  # 409: a controller made it
        stage = {
            "apiVersion": "kargo.akuity.io/v1alpha1",
            "kind": "Stage",
            "metadata": {"name": "dev"},
            "spec": {"requestedFreight": []},
        }
        assert kube.post(f"{KARGO}/namespaces/{name}/stages", json=stage).status_code == 201
    try:
        yield name
    finally:
        with testbed_handle.admin_client("mgmt") as kube:
            kube.delete(f"{KARGO}/projects/{name}")
            kube.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture(scope="module")
def outsider(server: serverproc.ServerProcess, token: str, testbed_handle: handle.TestBed) -> str:
    """A local account whose role may read applications, not promotion pipelines."""
    ns = server.namespace
    patch_configmap(testbed_handle, ns, "argocd-cm", {f"accounts.{OUTSIDER}": "login"})
    policy = f"p, role:apps, applications, get, */*, allow\ng, {OUTSIDER}, role:apps\n"
    patch_configmap(testbed_handle, ns, "argocd-rbac-cm", {"policy.csv": policy})
    body = {"name": OUTSIDER, "currentPassword": server.admin_password(), "newPassword": PASSWORD}
    with server.client(token=token) as admin:

        def password_set() -> bool:
            put = admin.put("/api/v1/account/password", content=json.dumps(body), headers=JSON)
            return put.status_code == 200

        until(password_set, within=20)
    until(lambda: api_login(server, OUTSIDER, PASSWORD).status_code == 200, within=20)
    return str(api_login(server, OUTSIDER, PASSWORD).json()["token"])


def _path(project: str) -> str:
    return f"/api/v1/promotion/projects/{project}"


def test_the_stream_is_refused_as_the_project_read_is(
    server: serverproc.ServerProcess, token: str, project: str, outsider: str
) -> None:
    with server.client() as anonymous:
        refused = anonymous.get(_path(project) + "/stream", headers=SSE)
        assert refused.status_code == 401, refused.text
    with server.client(token=outsider) as client:
        read = client.get(_path(project))
        streamed = client.get(_path(project) + "/stream", headers=SSE)
        assert read.status_code == streamed.status_code == 403, streamed.text
        assert streamed.json() == read.json()
        assert f"promotions, get, {project}/*" in streamed.json()["message"]
    with server.client(token=token) as admin:
        missing = "nope-" + secrets.token_hex(3)
        read = admin.get(_path(missing))
        streamed = admin.get(_path(missing) + "/stream", headers=SSE)
        assert read.status_code == streamed.status_code == 404, streamed.text
        assert streamed.json() == read.json()


def _messages(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The stream's results; fails once WITHIN seconds passed (keepalives keep lines coming)."""
    deadline = time.monotonic() + WITHIN
    for line in lines:
        assert time.monotonic() < deadline, "no such message in the stream"
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])["result"]
    raise AssertionError("stream ended")


def test_a_stage_status_patched_reaches_the_stream(
    server: serverproc.ServerProcess,
    token: str,
    project: str,
    testbed_handle: handle.TestBed,
) -> None:
    with (
        server.client(token=token) as api,
        api.stream("GET", _path(project) + "/stream", headers=SSE) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        messages = _messages(resp.iter_lines())
        assert next(messages) == {"type": "LISTED", "project": project}
        patch = {"status": {"health": {"status": "Degraded", "message": "stream test"}}}
        with testbed_handle.admin_client("mgmt") as kube:
            patched = kube.patch(
                f"{KARGO}/namespaces/{project}/stages/dev/status",
                content=json.dumps(patch),
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert patched.status_code == 200, patched.text
        changed = next(messages)
        assert changed["type"] == "CHANGED" and changed["project"] == project
        assert "Stage" in changed["kinds"] and changed["changes"] >= 1
