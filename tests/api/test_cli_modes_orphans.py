"""``tidegate app resources --orphaned`` in both modes: through a real ``tidegate server`` (the
resource tree's ``orphanedNodes``) and directly (``--core``), against the test bed's dev
cluster: the same orphaned objects, by the project's ignore list, either way."""

from __future__ import annotations

import json
import secrets

import pytest
from tests.api.cli_modes import Both, login_config

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
PROJECTS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/appprojects"


def test_orphaned_both_ways(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    server: serverproc.ServerProcess,
    token: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    both = Both(testbed_handle, control_namespace,
                login_config(server, tmp_path_factory.mktemp("cli") / "config"))  # fmt: skip
    name = f"orph-{secrets.token_hex(3)}"
    project = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
               "metadata": {"name": name, "namespace": control_namespace},
               "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                        "orphanedResources": {"ignore": [{"kind": "ConfigMap",
                                                          "name": "skip-*"}]}}}  # fmt: skip
    with testbed_handle.admin_client("mgmt") as mgmt:
        made = mgmt.post(PROJECTS.format(ns=control_namespace), json=project)
        assert made.status_code == 201, made.text
    with testbed_handle.admin_client("dev") as dev:
        ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        assert dev.post("/api/v1/namespaces", json=ns).status_code == 201
        for cm in ("stray", "skip-me"):
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": cm}}
            assert dev.post(f"/api/v1/namespaces/{name}/configmaps", json=body).status_code == 201
    app = scenario.application(name, repo_url="https://git.example.com/none.git", path="app",
                               server=testbed_handle.clusters["dev"].server, namespace=name,
                               automated=False)  # fmt: skip
    app["spec"]["project"] = name
    with server.client(token=token) as client:
        created = client.post("/api/v1/applications", content=json.dumps(app),
                              headers={"Content-Type": "application/json"})  # fmt: skip
        assert created.status_code == 200, created.text

    over_api = both.api("resources", name, "--orphaned")
    direct = both.direct("resources", name, "--orphaned")
    for done in (over_api, direct):
        assert done.returncode == 0, done
        rows = [ln.split() for ln in done.stdout.splitlines()]
        assert rows == [["GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"],
                        ["ConfigMap", name, "stray", "Yes"]], done.stdout  # fmt: skip
    assert over_api.stdout == direct.stdout
    assert json.loads(both.api("resources", name, "-o", "json").stdout) == [
        {"group": "", "kind": "ConfigMap", "namespace": name, "name": "stray", "orphaned": True}
    ]
