"""Every ``tidegate appset`` subcommand through a real ``tidegate server`` after ``tidegate
login``, and directly (``--core``): the same output and exit codes either way (writes on twin
sets, one per mode, compared with the names swapped)."""

from __future__ import annotations

import secrets

import pytest
from tests.api import cli_modes
from tests.api.cli_modes import Both

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e
TAG = secrets.token_hex(3)
A, B = f"sa-{TAG}", f"sb-{TAG}"
APPSET = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: {name}
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
      source: {{repoURL: 'https://git.example/apps.git', targetRevision: main, path: '{{{{env}}}}'}}
      destination: {{server: 'https://kubernetes.default.svc', namespace: '{{{{env}}}}'}}
"""
BROKEN = """apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: {name}
spec:
  generators:
  - list:
      elements: [{{env: dev}}]
  template:
    metadata:
      name: '{{{{.missing.field}}}}'
    spec:
      project: default
      source: {{repoURL: 'https://git.example/apps.git', path: x}}
      destination: {{server: 'https://kubernetes.default.svc', namespace: x}}
  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
"""


@pytest.fixture(scope="module")
def appset(
    server: serverproc.ServerProcess,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Both:
    return cli_modes.both(server, testbed_handle, control_namespace, tmp_path_factory, "appset")


def test_appset_commands_the_same_either_way(appset: Both) -> None:
    made = appset.twins(["create", "-f", "-"], A, B, stdin=APPSET)
    assert made.returncode == 0, made.stderr
    assert made.stdout == f"applicationset.argoproj.io/{A} created\n"
    again = appset.twins(["create", "-f", "-"], A, B, stdin=APPSET)
    assert again.stdout == f"applicationset.argoproj.io/{A} unchanged\n"
    changed = APPSET.replace("env: prod", "env: stage")
    refused = appset.twins(["create", "-f", "-"], A, B, stdin=changed)
    assert refused.returncode == 1 and "use --upsert" in refused.stderr
    upserted = appset.twins(["create", "-f", "-", "--upsert"], A, B, stdin=changed)
    assert upserted.stdout == f"applicationset.argoproj.io/{A} updated\n", upserted.stderr

    for fmt in ("table", "wide", "yaml", "json"):
        shown = appset.same("get", A, "-o", fmt)
        assert shown.returncode == 0 and A in shown.stdout
        listed = appset.same("list", "-o", fmt)
        assert A in listed.stdout and B in listed.stdout
    missing = appset.same("get", f"nope-{TAG}")
    assert missing.returncode == 1 and f"ApplicationSet 'nope-{TAG}' not found" in missing.stderr

    generated = appset.twins(["generate", "-"], A, B, stdin=APPSET)
    assert generated.returncode == 0, generated.stderr
    assert f"dev-{A}" in generated.stdout and f"prod-{A}" in generated.stdout
    as_yaml = appset.twins(["generate", "-", "-o", "yaml"], A, B, stdin=APPSET)
    assert "path: prod\n" in as_yaml.stdout
    broken = appset.twins(["generate", "-"], A, B, stdin=BROKEN)
    assert broken.returncode == 1 and A in broken.stderr, broken.stderr

    deleted = appset.twins(["delete", "{name}", "--yes"], A, B)
    assert deleted.stdout == f"applicationset.argoproj.io/{A} deleted\n", deleted.stderr
    gone = appset.twins(["delete", "{name}", "--yes"], A, B)
    assert gone.returncode == 1 and "not found" in gone.stderr
