"""argocd's ``appset`` flags through a real ``tidegate server`` after ``tidegate login`` and
directly (``--core``), with a real controller generating the sets' Applications:
``create --dry-run/-o/--wait``, ``delete --wait``, ``get --show-params``, ``list -p/-l`` and
``--appset-namespace``."""

from __future__ import annotations

import json
import secrets

import pytest
from tests.api import cli_modes
from tests.api.cli_modes import Both

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
TAG = secrets.token_hex(3)
A, B = f"fa-{TAG}", f"fb-{TAG}"
APPSET = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: {name}
  labels: {{team: t-{name}}}
spec:
  generators:
  - list:
      elements:
      - env: dev
      - env: prod
  template:
    metadata:
      name: '{{{{env}}}}-{name}'
    spec:
      project: default
      source:
        repoURL: 'https://git.example/apps.git'
        targetRevision: main
        path: '{{{{env}}}}'
        helm:
          parameters: [{{name: image.tag, value: v1}}]
      destination: {{server: 'https://kubernetes.default.svc', namespace: '{{{{env}}}}'}}
"""


@pytest.fixture(scope="module")
def appset(
    server: serverproc.ServerProcess,
    controller: scenario.ControllerProcess,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Both:
    return cli_modes.both(server, testbed_handle, control_namespace, tmp_path_factory, "appset")


def test_dry_run_writes_nothing_and_previews_the_applications(appset: Both) -> None:
    preview = appset.twins(["create", "-f", "-", "--dry-run"], A, B, stdin=APPSET)
    assert preview.returncode == 0, preview.stderr
    lines = preview.stdout.splitlines()
    assert lines[0] == f"applicationset.argoproj.io/{A} created (dry run)"
    assert lines[1].split()[:2] == ["NAME", "CLUSTER"]
    assert {ln.split()[0].rpartition("/")[2] for ln in lines[2:]} == {f"dev-{A}", f"prod-{A}"}
    as_json = appset.twins(["create", "-f", "-", "--dry-run", "-o", "json"], A, B, stdin=APPSET)
    body = json.loads(as_json.stdout)
    assert sorted(r["name"] for r in body["status"]["resources"]) == [f"dev-{A}", f"prod-{A}"]
    assert {r["kind"] for r in body["status"]["resources"]} == {"Application"}
    missing = appset.twins(["get", "{name}"], A, B)  # nothing was written
    assert missing.returncode == 1 and "not found" in missing.stderr


def test_appset_namespace_other_than_the_control_namespace_is_refused(appset: Both) -> None:
    for args in (["list"], ["get", A], ["delete", A, "--yes"]):
        refused = appset.same(*args, "--appset-namespace", f"elsewhere-{TAG}")
        assert refused.returncode == 1
        assert f"--appset-namespace 'elsewhere-{TAG}': ApplicationSets are served" in (
            refused.stderr
        )
    created = appset.twins(["create", "-f", "-", "-N", f"elsewhere-{TAG}"], A, B, stdin=APPSET)
    assert created.returncode == 1 and "nothing was read or written" in created.stderr
    own = appset.same("list", "-N", appset.namespace, "-o", "json")
    assert own.returncode == 0, own.stderr


def test_create_wait_list_filters_show_params_and_delete_wait(appset: Both) -> None:
    wait = ["create", "-f", "-", "--wait", "-o", "json"]
    for made in (  # each as stored: uids and times differ, so each mode on its own
        appset.api(*wait, stdin=APPSET.format(name=A)),
        appset.direct(*wait, stdin=APPSET.format(name=B)),
    ):
        assert made.returncode == 0, made.stderr
        conditions = json.loads(made.stdout)["status"]["conditions"]
        up_to_date = next(c for c in conditions if c["type"] == "ResourcesUpToDate")
        assert up_to_date["status"] == "True"
    for name, shown in (
        (A, appset.api("get", A, "--show-params")),
        (B, appset.direct("get", B, "--show-params")),
    ):
        assert shown.returncode == 0, shown.stderr
        # Up to date on return: its Applications are listed at once, then the parameters.
        assert f"dev-{name}" in shown.stdout and f"prod-{name}" in shown.stdout
        assert shown.stdout.rstrip().splitlines()[-2:] == ["NAME        VALUE", "image.tag   v1"]

    labelled = appset.same("list", "-l", f"team=t-{A}", "-o", "json")
    assert [s["metadata"]["name"] for s in json.loads(labelled.stdout)] == [A]
    by_project = appset.same("list", "-p", "default", "-o", "json")
    assert {A, B} <= {s["metadata"]["name"] for s in json.loads(by_project.stdout)}
    other = appset.same("list", "-p", f"nope-{TAG}", "-o", "json")
    assert json.loads(other.stdout) == []

    deleted = appset.twins(["delete", "{name}", "--yes", "--wait"], A, B)
    assert deleted.stdout == f"applicationset.argoproj.io/{A} deleted\n", deleted.stderr
    gone = appset.twins(["get", "{name}"], A, B)  # gone on return, no polling
    assert gone.returncode == 1 and "not found" in gone.stderr
