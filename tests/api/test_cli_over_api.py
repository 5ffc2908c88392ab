"""``tidegate app list|get|sync`` through a real ``tidegate server`` after ``tidegate login``, and
the same commands directly (``--core``): the same output and exit codes either way."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import httpx
import pytest
from tests.api.cli_modes import Both, login_config
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: over-api
data:
  color: blue
"""


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files={"app/configmap.yaml": CONFIGMAP}).http_url


@pytest.fixture(scope="module")
def config(server: serverproc.ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CLI config whose current context is a session with the server."""
    return login_config(server, tmp_path_factory.mktemp("cli") / "config")


@pytest.fixture(scope="module")
def both(testbed_handle: handle.TestBed, control_namespace: str, config: Path) -> Both:
    return Both(testbed_handle, control_namespace, config)


def _same(a: subprocess.CompletedProcess[str], b: subprocess.CompletedProcess[str]) -> bool:
    return (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr)


def test_list_get_sync_the_same_either_way(
    both: Both,
    server: serverproc.ServerProcess,
    token: str,
    repo_url: str,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
) -> None:
    team = f"t{secrets.token_hex(3)}"
    name = f"over-api-{team}"
    app = scenario.application(
        name,
        repo_url=repo_url,
        path="app",
        server=testbed_handle.clusters["dev"].server,
        namespace=f"over-api-{team}",
        automated=False,
    )
    app["metadata"]["labels"] = {"team": team}
    with server.client(token=token) as client:
        created = client.post(
            "/api/v1/applications",
            content=json.dumps(app),
            headers={"Content-Type": "application/json"},
        )
        assert created.status_code == 200, created.text

    def reconciled() -> bool:
        with server.client(token=token) as client:
            got: httpx.Response = client.get(f"/api/v1/applications/{name}")
        return ((got.json().get("status") or {}).get("sync") or {}).get("status") == "OutOfSync"

    until(reconciled, within=60)

    listed = both.api("list", "-l", f"team={team}")
    assert listed.returncode == 0, listed.stderr
    assert name in listed.stdout
    until(
        lambda: _same(
            both.api("list", "-l", f"team={team}"), both.direct("list", "-l", f"team={team}")
        ),
        within=30,
    )
    as_json = json.loads(both.api("list", "-l", f"team={team}", "-o", "json").stdout)
    assert [a["metadata"]["name"] for a in as_json] == [name]
    until(lambda: _same(both.api("get", name), both.direct("get", name)), within=30)
    shown = both.api("get", name)
    assert shown.returncode == 0 and name in shown.stdout and "OutOfSync" in shown.stdout

    missing_api, missing_direct = both.api("get", "no-such-app"), both.direct("get", "no-such-app")
    assert missing_api.returncode == missing_direct.returncode == 1
    assert missing_api.stderr == missing_direct.stderr
    assert "application 'no-such-app' not found" in missing_api.stderr

    bad_api = both.api("sync", name, "--resource", "*:Secret:*")  # matches nothing of the app
    bad_direct = both.direct("sync", name, "--resource", "*:Secret:*")
    assert bad_api.returncode == bad_direct.returncode == 2, bad_api.stderr
    assert bad_api.stderr == bad_direct.stderr
    # A literal resource the app does not manage: the server refuses it (the direct mode sends
    # literal filters unchecked, see docs/server.md).
    outsider = both.api("sync", name, "--resource", "apps:Deployment:nope")
    assert outsider.returncode == 1
    assert "apps/Deployment//nope is not managed by application" in outsider.stderr

    synced = both.api("sync", name, "--timeout", "120")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "Succeeded" in synced.stdout
    again = both.direct("sync", name, "--timeout", "120")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Succeeded" in again.stdout
    until(lambda: _same(both.api("get", name), both.direct("get", name)), within=30)
    got = both.api("get", name, "--refresh")
    assert got.returncode == 0 and "Synced" in got.stdout, got.stderr
