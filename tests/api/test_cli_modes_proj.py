"""Every ``tidegate proj`` subcommand through a real ``tidegate server`` after ``tidegate
login``, and directly (``--core``): the same output and exit codes either way. Writes run on
twin projects (one per mode) and are compared with the names swapped; reads of one project are
compared as they are."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from tests.api import cli_modes
from tests.api.cli_modes import Both

from tidegate.testenv import handle, serverproc

pytestmark = pytest.mark.e2e
TAG = secrets.token_hex(3)
A, B = f"pa-{TAG}", f"pb-{TAG}"
MANIFEST = """apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: {name}
spec:
  description: from a file
  sourceRepos: ['https://git.example/file.git']
  destinations: [{{server: 'https://file.example', namespace: files}}]
"""


@pytest.fixture(scope="module")
def proj(
    server: serverproc.ServerProcess,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Both:
    return cli_modes.both(server, testbed_handle, control_namespace, tmp_path_factory, "proj")


def test_proj_create_get_list_set_delete(proj: Both) -> None:
    made = proj.twins(["create", "{name}", "-d", "https://one.example,team-*",
                       "-s", "https://git.example/one.git", "--description", "first",
                       "--allow-cluster-resource", "rbac.authorization.k8s.io/ClusterRole",
                       "--orphaned-resources"], A, B)  # fmt: skip
    assert made.returncode == 0 and f"project '{A}' created" in made.stdout, made.stderr
    same = proj.twins(["create", "{name}", "-d", "https://one.example,team-*",
                       "-s", "https://git.example/one.git", "--description", "first",
                       "--allow-cluster-resource", "rbac.authorization.k8s.io/ClusterRole",
                       "--orphaned-resources"], A, B)  # fmt: skip
    assert "unchanged" in same.stdout
    other = proj.twins(["create", "{name}", "--description", "other"], A, B)
    assert other.returncode == 1 and "use --upsert" in other.stderr
    for fmt in ("wide", "yaml", "json"):
        assert proj.same("get", A, "-o", fmt).returncode == 0
    shown = proj.same("get", A)
    assert "https://one.example" in shown.stdout and "first" in shown.stdout
    for fmt in ("wide", "name", "yaml", "json"):
        listed = proj.same("list", "-o", fmt)
        assert listed.returncode == 0 and A in listed.stdout and B in listed.stdout
    assert proj.twins(["set", "{name}", "--description", "second"], A, B).returncode == 0
    refused = proj.twins(["set", "{name}"], A, B)
    assert refused.returncode == 2
    missing = proj.same("get", f"nope-{TAG}")
    assert missing.returncode == 1 and f"project 'nope-{TAG}' not found" in missing.stderr

    from_file = proj.twins(["create", "-f", "-", "--upsert"], A, B, stdin=MANIFEST)
    assert from_file.returncode == 0 and "updated" in from_file.stdout, from_file.stderr
    assert "from a file" in proj.same("get", A).stdout

    deleted = proj.twins(["delete", "{name}"], A, B)
    assert deleted.returncode == 0 and f"project '{A}' deleted" in deleted.stdout
    gone = proj.twins(["delete", "{name}"], A, B)
    assert gone.returncode == 1 and "not found" in gone.stderr
    default = proj.same("delete", "default")
    assert default.returncode == 1 and "default project" in default.stderr


EDITS = [
    (["add-destination", "{name}", "https://two.example", "ns2"], 0),
    (["add-destination", "{name}", "https://two.example", "ns2"], 1),
    (["add-destination", "{name}", "in-cluster", "ns3", "--name"], 0),
    (["remove-destination", "{name}", "https://two.example", "ns2"], 0),
    (["remove-destination", "{name}", "https://two.example", "ns2"], 1),
    (
        [
            "add-destination-service-account",
            "{name}",
            "https://one.example",
            "team-*",
            "deployer",
            "--service-account-namespace",
            "ops",
        ],
        0,
    ),
    (
        [
            "remove-destination-service-account",
            "{name}",
            "https://one.example",
            "team-*",
            "ops:deployer",
        ],
        0,
    ),
    (["add-source", "{name}", "https://git.example/two.git"], 0),
    (["remove-source", "{name}", "https://git.example/two.git"], 0),
    (["add-source-namespace", "{name}", "apps-*"], 0),
    (["remove-source-namespace", "{name}", "apps-*"], 0),
    (["add-signature-key", "{name}", "4AEE18F83AFDEB23"], 0),
    (["add-signature-key", "{name}", "not-a-key"], 2),
    (["remove-signature-key", "{name}", "4AEE18F83AFDEB23"], 0),
    (["add-orphaned-ignore", "{name}", "", "ConfigMap", "--name", "kube-*"], 0),
    (["remove-orphaned-ignore", "{name}", "", "ConfigMap", "--name", "kube-*"], 0),
    (["allow-cluster-resource", "{name}", "", "Namespace"], 0),
    (["deny-cluster-resource", "{name}", "", "Namespace"], 0),
    (["deny-namespace-resource", "{name}", "", "ResourceQuota"], 0),
    (["allow-namespace-resource", "{name}", "", "ResourceQuota"], 0),
    (
        [
            "windows",
            "add",
            "{name}",
            "--kind",
            "deny",
            "--schedule",
            "0 22 * * *",
            "--duration",
            "1h",
            "--applications",
            "*",
            "--manual-sync",
        ],
        0,
    ),
    (["windows", "update", "{name}", "0", "--duration", "2h"], 0),
    (["windows", "disable-manual-sync", "{name}", "0"], 0),
    (["windows", "enable-manual-sync", "{name}", "0"], 0),
    (["windows", "update", "{name}", "7", "--duration", "2h"], 1),
]


def test_proj_edits_the_same_either_way(proj: Both) -> None:
    a, b = f"ea-{TAG}", f"eb-{TAG}"
    assert (
        proj.twins(["create", "{name}", "-d", "https://one.example,team-*"], a, b).returncode == 0
    )
    for args, code in EDITS:
        done = proj.twins(args, a, b)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        if code == 0:
            assert f"project '{a}'" in done.stdout
    windows = proj.same("windows", "list", a)
    assert windows.returncode == 0 and "0 22 * * *" in windows.stdout and "2h" in windows.stdout
    assert proj.same("windows", "list", a, "-o", "yaml").returncode == 0
    assert proj.twins(["windows", "delete", "{name}", "0"], a, b).returncode == 0
    assert proj.twins(["delete", "{name}"], a, b).returncode == 0


def test_proj_over_the_api_needs_a_session(proj: Both, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(proj.config.read_text().replace("auth-token", "stale-token"))
    stale = Both(proj.bed, proj.namespace, config, group="proj").api("list")
    assert stale.returncode == 1
    assert "has no session: run 'tidegate login', or use --core" in stale.stderr
