"""``tidegate app sync --label`` and ``--preview-changes [--assumeYes]``, ``app wait --resource``
and ``app diff`` in both modes: through a real ``tidegate server`` after ``tidegate login`` (the
server renders and compares) and directly (``--core``: the controller's comparison run by the
CLI), with the real controller syncing."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest
from tests.api.cli_modes import Both, login_config
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
MANIFESTS = """apiVersion: v1
kind: ConfigMap
metadata:
  name: front
  labels: {tier: front}
data: {color: blue}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: back
  labels: {tier: back}
data: {color: blue}
"""


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files={"app/configmaps.yaml": MANIFESTS}).http_url


@pytest.fixture(scope="module")
def both(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    server: serverproc.ServerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Both:
    config = login_config(server, tmp_path_factory.mktemp("cli") / "config")
    return Both(testbed_handle, control_namespace, config)


def _app(server: serverproc.ServerProcess, token: str, bed: handle.TestBed, repo: str) -> str:
    name = f"preview-{secrets.token_hex(3)}"
    app = scenario.application(name, repo_url=repo, path="app",
                               server=bed.clusters["dev"].server, namespace=name,
                               automated=False)  # fmt: skip
    with bed.admin_client("dev") as dev:  # a partial sync does not create it
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        assert dev.post("/api/v1/namespaces", json=ns).status_code == 201
    with server.client(token=token) as client:
        created = client.post("/api/v1/applications", content=json.dumps(app),
                              headers={"Content-Type": "application/json"})  # fmt: skip
        assert created.status_code == 200, created.text

    def reconciled() -> bool:
        with server.client(token=token) as client:
            got: httpx.Response = client.get(f"/api/v1/applications/{name}")
        return ((got.json().get("status") or {}).get("sync") or {}).get("status") == "OutOfSync"

    until(reconciled, within=60)
    return name


def _live(bed: handle.TestBed, namespace: str, name: str) -> dict[str, str] | None:
    with bed.admin_client("dev") as dev:
        got = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}")
    return dict(got.json()["data"]) if got.status_code == 200 else None


@pytest.mark.parametrize("mode", ["api", "direct"])
def test_label_and_preview(
    mode: str,
    both: Both,
    server: serverproc.ServerProcess,
    token: str,
    repo_url: str,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
) -> None:
    run = both.api if mode == "api" else both.direct
    name = _app(server, token, testbed_handle, repo_url)

    nothing = run("sync", name, "--label", "tier=middle")
    assert nothing.returncode == 1, nothing.stdout + nothing.stderr
    assert "no resource matches the labels tier=middle" in nothing.stderr
    bad = run("sync", name, "--label", "tier")
    assert bad.returncode == 2 and "--label: 'tier' is not KEY=VALUE" in bad.stderr

    front = run("sync", name, "--label", "tier=front", "--timeout", "120")
    assert front.returncode == 0, front.stdout + front.stderr
    assert _live(testbed_handle, name, "front") == {"color": "blue"}
    assert _live(testbed_handle, name, "back") is None  # not labelled: not synced
    differs = run("diff", name)  # the server's comparison, or the CLI's: back is missing
    assert differs.returncode == 1, differs.stdout + differs.stderr
    assert "===== ConfigMap " in differs.stdout and "back" in differs.stdout
    if mode == "api":
        pinned = run("diff", name, "--revision", "HEAD")
        assert pinned.returncode == 2 and "--revision: not through the API server" in pinned.stderr
    # app wait --resource, the same way: the synced resource, not the app (still OutOfSync)
    chosen = run("wait", name, "--resource", ":ConfigMap:front", "--sync", "--timeout", "60")
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    other = run("wait", name, "--resource", ":ConfigMap:back", "--sync", "--timeout", "2")
    assert other.returncode == 1 and "ConfigMap/back: sync status OutOfSync" in other.stderr

    declined = run("sync", name, "--preview-changes", stdin="n\n")
    assert declined.returncode == 0, declined.stderr
    assert (f"====== Previewing differences between live and desired state of application"
            f" {both.namespace}/{name} ======") in declined.stdout  # fmt: skip
    assert "===== ConfigMap " in declined.stdout and "back" in declined.stdout
    assert "Do you want to continue the sync process? (y/n)" in declined.stdout
    assert _live(testbed_handle, name, "back") is None  # nothing was synced

    assumed = run("sync", name, "--preview-changes", "--assumeYes", "--timeout", "120")
    assert assumed.returncode == 0, assumed.stdout + assumed.stderr
    assert "Succeeded" in assumed.stdout
    assert _live(testbed_handle, name, "back") == {"color": "blue"}

    def in_sync() -> bool:
        done = run("sync", name, "--preview-changes", "--timeout", "30", stdin="")
        return done.returncode == 0 and "====== No Differences found ======" in done.stdout

    until(in_sync, within=60)  # nothing to sync: no question, no operation
    same = run("diff", name)
    assert same.returncode == 0 and same.stdout == "", same.stdout + same.stderr
