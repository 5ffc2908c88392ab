"""``tidegate app logs`` in both modes against the test bed: through a real ``tidegate server``
(``GET /api/v1/applications/{name}/logs``) and directly (``--core``), with the real controller
syncing a Deployment whose pods kwok runs on ``dev``.

kwok on the bed serves no container logs (its nodes publish no kubelet endpoint), so the API
server refuses every ``pods/log``: both modes must pick the same pod of the Deployment and
report that refusal naming it (exit 1); a selection without pods is a note and exit 0.
"""

from __future__ import annotations

import json
import secrets

import pytest
from tests.api.cli_modes import Both, login_config
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: main, image: reg/app:1.0}]}
"""


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files={"app/deploy.yaml": DEPLOYMENT}).http_url


def test_logs_both_ways(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    server: serverproc.ServerProcess,
    token: str,
    repo_url: str,
    controller: scenario.ControllerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    both = Both(testbed_handle, control_namespace,
                login_config(server, tmp_path_factory.mktemp("cli") / "config"))  # fmt: skip
    name = f"logs-{secrets.token_hex(3)}"
    app = scenario.application(name, repo_url=repo_url, path="app",
                               server=testbed_handle.clusters["dev"].server, namespace=name,
                               automated=True)  # fmt: skip
    app["spec"]["syncPolicy"]["syncOptions"] = ["CreateNamespace=true"]
    with server.client(token=token) as client:
        created = client.post("/api/v1/applications", content=json.dumps(app),
                              headers={"Content-Type": "application/json"})  # fmt: skip
        assert created.status_code == 200, created.text

    def pod() -> str:
        with testbed_handle.admin_client("dev") as dev:
            items = dev.get(f"/api/v1/namespaces/{name}/pods").json().get("items") or []
        return str(items[0]["metadata"]["name"]) if items else ""

    web_pod = until(pod, within=120)
    over_api = both.api("logs", name, "--kind", "Deployment", "--tail", "10")
    direct = both.direct("logs", name, "--kind", "Deployment", "--tail", "10")
    for done in (over_api, direct):
        assert done.returncode == 1, done
        assert f"logs of pod {name}/{web_pod}" in done.stderr, done.stderr

    for run in (both.api, both.direct):
        none = run("logs", name, "--kind", "ConfigMap")
        assert none.returncode == 0 and none.stdout == "", none
        assert "no" in none.stderr and "pod matches" in none.stderr
        bad = run("logs", name, "--until-time", "yesterday")
        assert bad.returncode == 2 and "not an RFC 3339 time" in bad.stderr
