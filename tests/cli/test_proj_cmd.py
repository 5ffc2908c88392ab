"""``tidegate proj`` against the real test bed: AppProjects in a control namespace of its own on
``mgmt`` (Tidegate's CRDs installed by ``tidegate install``), each subcommand as a user runs it.

Every refusal is checked to leave the object untouched (same ``resourceVersion``).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tidegate.cli import main, proj_access, projedit, projspec
from tidegate.model import constants
from tidegate.testenv import handle

pytestmark = pytest.mark.e2e

PROJECTS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/appprojects"
APPS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications"


@pytest.fixture(scope="module")
def control(testbed_handle: handle.TestBed) -> Iterator[str]:
    """A fresh control namespace with Tidegate's CRDs and its default project."""
    ns = f"tg-proj-{secrets.token_hex(3)}"
    done = subprocess.run(
        [sys.executable, "-m", "tidegate.cli.main", "install", "-n", ns],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "KUBECONFIG": str(testbed_handle.kubeconfig)},
    )
    assert done.returncode == 0, done.stderr
    yield ns
    with testbed_handle.admin_client("mgmt") as mgmt:
        mgmt.delete(f"/api/v1/namespaces/{ns}")


class Proj:
    """Runs ``tidegate proj ...`` in-process, with the test bed's kubeconfig and ``-n``."""

    def __init__(self, tb: handle.TestBed, ns: str) -> None:
        self.tb, self.ns = tb, ns

    def __call__(self, *args: str, stdin: str | None = None) -> Any:
        result = CliRunner().invoke(
            main.app,
            ["proj", *args, "--context", "mgmt", "-n", self.ns],
            env={"KUBECONFIG": str(self.tb.kubeconfig)},
            input=stdin,
        )
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, result.stderr
        return str(result.stdout)

    def get(self, name: str) -> dict[str, Any]:
        with self.tb.admin_client("mgmt") as mgmt:
            resp = mgmt.get(f"{PROJECTS.format(ns=self.ns)}/{name}")
            resp.raise_for_status()
            return dict(resp.json())

    def spec(self, name: str) -> dict[str, Any]:
        return dict(self.get(name).get("spec") or {})

    def refused(self, name: str, *args: str, code: int, error: str) -> None:
        """The command exits ``code`` with ``error`` on stderr, and the project is untouched."""
        before = self.get(name)["metadata"]["resourceVersion"]
        result = self(*args)
        assert result.exit_code == code, (result.stdout, result.stderr)
        assert error in result.stderr
        assert result.stdout == ""
        assert self.get(name)["metadata"]["resourceVersion"] == before


@pytest.fixture(scope="module")
def proj(testbed_handle: handle.TestBed, control: str) -> Proj:
    return Proj(testbed_handle, control)


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def test_create_from_flags_then_unchanged_refused_and_upsert(proj: Proj) -> None:
    name = _name("team")
    out = proj.ok(
        "create", name,
        "-d", "https://dev.example:6443,team-a",
        "--dest", "*,team-a-*",
        "-s", "https://git.example/team-a.git",
        "--description", "team a",
        "--source-namespaces", "team-a-apps,team-a-ci",
        "--allow-cluster-resource", "Namespace",
        "--deny-namespaced-resource", "/ResourceQuota",
        "--signature-keys", "abcdef0123456789",
        "--orphaned-resources-warn",
    )  # fmt: skip
    assert out.strip() == f"project '{name}' created"
    assert proj.spec(name) == {
        "description": "team a",
        "sourceRepos": ["https://git.example/team-a.git"],
        "sourceNamespaces": ["team-a-apps", "team-a-ci"],
        "destinations": [
            {"server": "https://dev.example:6443", "namespace": "team-a"},
            {"server": "*", "namespace": "team-a-*"},
        ],
        "signatureKeys": [{"keyID": "ABCDEF0123456789"}],
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
        "orphanedResources": {"warn": True},
    }
    same = proj.ok(
        "create", name,
        "-d", "https://dev.example:6443,team-a",
        "--dest", "*,team-a-*",
        "-s", "https://git.example/team-a.git",
        "--description", "team a",
        "--source-namespaces", "team-a-apps", "--source-namespaces", "team-a-ci",
        "--allow-cluster-resource", "/Namespace",
        "--deny-namespaced-resource", "ResourceQuota",
        "--signature-keys", "ABCDEF0123456789",
        "--orphaned-resources-warn",
    )  # fmt: skip
    assert same.strip() == f"project '{name}' unchanged"
    proj.refused(
        name,
        "create",
        name,
        "--description",
        "other",
        code=1,
        error=f"project '{name}' already exists in namespace '{proj.ns}' with a different spec;"
        " use --upsert",
    )
    assert proj.ok("create", name, "--description", "other", "--upsert").strip() == (
        f"project '{name}' updated"
    )
    assert proj.spec(name) == {"description": "other"}


def test_create_refuses_bad_input_and_writes_nothing(proj: Proj) -> None:
    name = _name("bad")
    cases = [
        (["-d", "https://dev.example:6443"], 2, "--dest: 'https://dev.example:6443' is not"),
        (["-d", "https://a,x", "-d", "https://a,x"], 1, f"project '{name}': destination"),
        (["-s", "a", "-s", "a"], 1, "source repository 'a' is listed twice"),
        (["--signature-keys", "nothex"], 2, "'nothex' is not a valid GnuPG key ID"),
    ]
    for args, code, error in cases:
        result = proj("create", name, *args)
        assert (result.exit_code, result.stdout) == (code, ""), result.stderr
        assert error in result.stderr
    with proj.tb.admin_client("mgmt") as mgmt:
        assert mgmt.get(f"{PROJECTS.format(ns=proj.ns)}/{name}").status_code == 404


def test_create_from_file_and_stdin(proj: Proj, tmp_path: Path) -> None:
    name = _name("file")
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "labels": {"team": "b"}},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"name": "dev", "namespace": "b"}],
            "syncWindows": [
                {"kind": "deny", "schedule": "0 22 * * *", "duration": "1h", "clusters": ["*"]}
            ],
        },
    }
    path = tmp_path / "proj.yaml"
    path.write_text(yaml.safe_dump(manifest))
    assert proj.ok("create", "-f", str(path), "--description", "from a file").strip() == (
        f"project '{name}' created"
    )
    stored = proj.get(name)
    assert stored["metadata"]["labels"] == {"team": "b"}
    assert stored["spec"] == {**manifest["spec"], "description": "from a file"}
    again = proj(
        "create", "-f", "-", "--description", "from a file", stdin=yaml.safe_dump(manifest)
    )
    assert (again.exit_code, again.stdout.strip()) == (0, f"project '{name}' unchanged")
    proj.refused(
        name,
        "create",
        "other-name",
        "-f",
        str(path),
        code=2,
        error=f"project name 'other-name' does not match the file's metadata.name '{name}'",
    )
    bad_window = {**manifest, "spec": {"syncWindows": [{"kind": "deny", "schedule": "x"}]}}
    path.write_text(yaml.safe_dump(bad_window))
    proj.refused(
        name,
        "create",
        "-f",
        str(path),
        "--upsert",
        code=2,
        error=f"AppProject {proj.ns}/{name}: spec.syncWindows[0].schedule: 'x' is not a cron",
    )


def test_get_and_list(proj: Proj) -> None:
    name = _name("show")
    proj.ok("create", name, "-d", "https://dev.example:6443,web", "-s", "https://git.example/w")
    lines = proj.ok("get", name).splitlines()
    assert lines[0] == f"Name:                        {name}"
    assert "Destinations:                https://dev.example:6443,web" in lines
    assert "Repositories:                https://git.example/w" in lines
    assert "Orphaned Resources:          disabled" in lines
    as_json = json.loads(proj.ok("get", name, "-o", "json"))
    assert as_json["kind"] == "AppProject" and as_json["spec"] == proj.spec(name)
    assert "managedFields" not in as_json["metadata"]
    assert yaml.safe_load(proj.ok("get", name, "-o", "yaml"))["spec"] == as_json["spec"]

    table = proj.ok("list").splitlines()
    assert table[0].split() == [
        "NAME",
        "DESCRIPTION",
        "DESTINATIONS",
        "SOURCES",
        "CLUSTER-RESOURCE-WHITELIST",
        "NAMESPACE-RESOURCE-BLACKLIST",
        "SIGNATURE-KEYS",
        "ORPHANED-RESOURCES",
    ]
    assert any(
        line.split()[:3] == [name, "https://dev.example:6443,web", "https://git.example/w"]
        for line in table
    )
    names = proj.ok("list", "-o", "name").split()
    assert "default" in names and name in names
    listed = json.loads(proj.ok("list", "-o", "json"))
    assert {p["metadata"]["name"] for p in listed} == set(names)
    assert all(p["kind"] == "AppProject" for p in listed)

    for args in (["get", "nope"], ["add-source", "nope", "https://x"], ["windows", "list", "nope"]):
        missing = proj(*args)
        assert missing.exit_code == 1
        assert f"project 'nope' not found in namespace '{proj.ns}'" in missing.stderr


def test_destinations(proj: Proj) -> None:
    name = _name("dest")
    proj.ok("create", name)
    out = proj.ok("add-destination", name, "https://dev.example:6443", "web")
    assert out.strip() == (
        f"project '{name}': destination server 'https://dev.example:6443' namespace 'web' added"
    )
    proj.ok("add-destination", name, "dev", "web-*", "--name")
    assert proj.spec(name)["destinations"] == [
        {"server": "https://dev.example:6443", "namespace": "web"},
        {"name": "dev", "namespace": "web-*"},
    ]
    proj.refused(
        name,
        "add-destination",
        name,
        "https://dev.example:6443",
        "web",
        code=1,
        error=f"project '{name}': destination server 'https://dev.example:6443' namespace 'web'"
        " is already defined",
    )
    proj.ok("remove-destination", name, "dev", "web-*")
    proj.refused(
        name,
        "remove-destination",
        name,
        "https://dev.example:6443",
        "other",
        code=1,
        error="destination 'https://dev.example:6443' namespace 'other' does not exist",
    )
    proj.ok("remove-destination", name, "https://dev.example:6443", "web")
    assert "destinations" not in proj.spec(name)

    proj.ok("add-destination-service-account", name, "*", "web", "deployer")
    proj.ok(
        "add-destination-service-account", name, "*", "api", "d", "--service-account-namespace", "t"
    )
    assert proj.spec(name)["destinationServiceAccounts"] == [
        {"server": "*", "namespace": "web", "defaultServiceAccount": "deployer"},
        {"server": "*", "namespace": "api", "defaultServiceAccount": "t:d"},
    ]
    proj.refused(
        name,
        "add-destination-service-account",
        name,
        "*",
        "web",
        "other",
        code=1,
        error="destination service account '*/web' is listed twice",
    )
    proj.ok("remove-destination-service-account", name, "*", "api", "t:d")
    proj.refused(
        name,
        "remove-destination-service-account",
        name,
        "*",
        "api",
        "t:d",
        code=1,
        error="does not exist",
    )


def test_sources_and_source_namespaces(proj: Proj) -> None:
    name = _name("src")
    proj.ok("create", name, "-s", "https://git.example/a.git")
    assert proj.ok("add-source", name, "https://git.example/b.git").strip() == (
        f"project '{name}': source repository 'https://git.example/b.git' added"
    )
    before = proj.get(name)["metadata"]["resourceVersion"]
    noop = proj.ok("add-source", name, "https://git.example/a")  # same repository
    assert "already allowed" in noop
    assert (
        proj.ok("remove-source", name, "https://git.example/zzz.git")
        .strip()
        .endswith(
            f"source repository 'https://git.example/zzz.git' does not exist in project '{name}'"
        )
    )
    assert proj.get(name)["metadata"]["resourceVersion"] == before  # no-ops write nothing
    proj.ok("remove-source", name, "https://git.example/a.git")
    assert proj.spec(name)["sourceRepos"] == ["https://git.example/b.git"]

    proj.ok("add-source-namespace", name, "team-a")
    assert "already allowed" in proj.ok("add-source-namespace", name, "team-a")
    proj.ok("add-source-namespace", name, "team-b")
    proj.ok("remove-source-namespace", name, "team-a")
    assert proj.spec(name)["sourceNamespaces"] == ["team-b"]
    assert "cannot be removed" in proj.ok("remove-source-namespace", name, "team-a")


def test_resource_lists(proj: Proj) -> None:
    name = _name("res")
    proj.ok("create", name)
    rbac = "rbac.authorization.k8s.io"
    out = proj.ok("allow-cluster-resource", name, rbac, "ClusterRole")
    assert "added to allowed cluster resources" in out
    proj.ok("allow-cluster-resource", name, "", "Namespace")
    proj.ok("deny-cluster-resource", name, rbac, "ClusterRole")
    proj.ok("deny-cluster-resource", name, "", "Node", "--list", "deny")
    proj.ok("deny-namespace-resource", name, "", "ResourceQuota")
    proj.ok("deny-namespace-resource", name, "", "LimitRange")
    proj.ok("allow-namespace-resource", name, "", "LimitRange")
    proj.ok("allow-namespace-resource", name, "apps", "Deployment", "-l", "allow")
    assert proj.spec(name) == {
        "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
        "clusterResourceBlacklist": [{"group": "", "kind": "Node"}],
        "namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}],
        "namespaceResourceWhitelist": [{"group": "apps", "kind": "Deployment"}],
    }
    assert "already present" in proj.ok("allow-cluster-resource", name, "", "Namespace")
    proj.refused(
        name,
        "deny-namespace-resource",
        name,
        "",
        "Pod",
        "--list",
        "grey",
        code=2,
        error="'grey' is not allow or deny",
    )


def test_signature_keys_and_orphaned_ignores(proj: Proj) -> None:
    name = _name("sig")
    proj.ok("create", name)
    proj.ok("add-signature-key", name, "4aee18f83afdeb23")
    proj.refused(
        name, "add-signature-key", name, "4AEE18F83AFDEB23", code=1, error="already defined"
    )
    proj.refused(name, "add-signature-key", name, "xyz", code=2, error="not a valid GnuPG key ID")
    proj.ok("add-orphaned-ignore", name, "", "ConfigMap", "--name", "kube-*")
    assert proj.spec(name) == {
        "signatureKeys": [{"keyID": "4AEE18F83AFDEB23"}],
        "orphanedResources": {"ignore": [{"kind": "ConfigMap", "name": "kube-*"}]},
    }
    proj.refused(
        name, "remove-orphaned-ignore", name, "", "ConfigMap", code=1, error="is not in the"
    )
    proj.ok("remove-orphaned-ignore", name, "", "ConfigMap", "--name", "kube-*")
    proj.ok("remove-signature-key", name, "4aee18f83afdeb23")
    assert proj.spec(name) == {"orphanedResources": {}}
    proj.refused(
        name, "remove-signature-key", name, "4aee18f83afdeb23", code=1, error="is not configured"
    )


def test_windows(proj: Proj) -> None:
    name = _name("win")
    proj.ok("create", name)
    out = proj.ok(
        "windows", "add", name,
        "--kind", "deny", "--schedule", "0 22 * * *", "--duration", "1h",
        "--applications", "prod-*,web", "--description", "nightly freeze",
    )  # fmt: skip
    assert out.strip() == f"project '{name}': sync window 0 added"
    proj.ok(
        "windows", "add", name,
        "-k", "allow", "--schedule", "0 8 * * 1-5", "--duration", "10h",
        "--namespaces", "web", "--clusters", "dev", "--manual-sync",
        "--time-zone", "Europe/Paris", "--use-and-operator",
    )  # fmt: skip
    table = proj.ok("windows", "list", name).splitlines()
    assert table[0].split() == [
        "ID",
        "STATUS",
        "KIND",
        "SCHEDULE",
        "DURATION",
        "APPLICATIONS",
        "NAMESPACES",
        "CLUSTERS",
        "MANUALSYNC",
        "TIMEZONE",
        "USEANDOPERATOR",
    ]
    rows = [line.split() for line in table[1:]]
    assert [r[0] for r in rows] == ["0", "1"]
    assert rows[0][2:4] == ["deny", "0"] and rows[0][-4:] == ["-", "Disabled", "UTC", "Disabled"]
    assert rows[1][-3:] == ["Enabled", "Europe/Paris", "Enabled"]
    assert (
        json.loads(proj.ok("windows", "list", name, "-o", "json")) == proj.spec(name)["syncWindows"]
    )

    for args, code, error in [
        (["--kind", "deny", "--schedule", "0 25 * * *", "--duration", "1h", "--applications", "*"],
         2, f"project '{name}': sync window 2: schedule '0 25 * * *' is not a valid cron"),
        (["--kind", "deny", "--schedule", "0 1 * * *", "--duration", "1d", "--applications", "*"],
         2, "invalid duration '1d'"),
        (["--kind", "deny", "--schedule", "0 1 * * *", "--duration", "1h"],
         2, "needs one or more of --applications, --namespaces or --clusters"),
        (["--kind", "deny", "--schedule", "0 22 * * *", "--duration", "1h",
          "--applications", "prod-*,web"],
         1, f"project '{name}': sync window 2 (deny '0 22 * * *' for 1h) duplicates"),
    ]:  # fmt: skip
        proj.refused(name, "windows", "add", name, *args, code=code, error=error)

    proj.ok("windows", "update", name, "0", "--schedule", "0 23 * * *", "--clusters", "prod")
    proj.ok("windows", "enable-manual-sync", name, "0")
    proj.ok("windows", "disable-manual-sync", name, "1")
    proj.ok("windows", "enable-sync-overrun", name, "0")
    windows = proj.spec(name)["syncWindows"]
    assert windows[0]["schedule"] == "0 23 * * *" and windows[0]["clusters"] == ["prod"]
    assert windows[0]["manualSync"] is True and "manualSync" not in windows[1]
    assert windows[0]["syncOverrun"] is True and "syncOverrun" not in windows[1]
    off = proj.ok("windows", "disable-sync-overrun", name, "0")
    assert off.strip() == f"project '{name}': sync overrun disabled for sync window 0"
    assert "syncOverrun" not in proj.spec(name)["syncWindows"][0]
    proj.refused(name, "windows", "update", name, "0", "--duration", "soon", code=2, error="'soon'")
    proj.refused(
        name,
        "windows",
        "delete",
        name,
        "5",
        code=1,
        error=f"project '{name}': sync window 5 not found",
    )
    proj.refused(
        name, "windows", "enable-manual-sync", name, "7", code=1, error="not found (IDs: 0-1)"
    )
    proj.ok("windows", "delete", name, "0", "-y")
    assert [w["kind"] for w in proj.spec(name)["syncWindows"]] == ["allow"]


def test_roles(proj: Proj) -> None:
    """argocd's `proj role` verbs: the role, its policies and groups land in spec.roles as the
    runtime policy reads them; no-ops say so and exit 0; bad input changes nothing."""
    from tidegate.auth import project_roles, rbac

    name = _name("roles")
    proj.ok("create", name)
    assert proj.ok("role", "create", name, "ci", "--description", "the pipeline").strip() == (
        f"project '{name}': role 'ci' created"
    )
    assert "already exists" in proj.ok("role", "create", name, "ci")
    proj.ok("role", "add-policy", name, "ci", "-a", "sync", "-o", "*")
    proj.ok(
        "role", "add-policy", name, "ci",
        "--action", "delete", "--object", "web", "--permission", "deny",
    )  # fmt: skip
    assert "already present" in proj.ok("role", "add-policy", name, "ci", "-a", "sync", "-o", "*")
    proj.ok("role", "add-group", name, "ci", "my-org:ci")
    roles = proj.spec(name)["roles"]
    assert roles == [
        {
            "name": "ci",
            "description": "the pipeline",
            "policies": [
                f"p, proj:{name}:ci, applications, sync, {name}/*, allow",
                f"p, proj:{name}:ci, applications, delete, {name}/web, deny",
            ],
            "groups": ["my-org:ci"],
        }
    ]
    policy = rbac.Policy(extra=project_roles.policy_lines(proj.get(name)))
    subject = f"proj:{name}:ci"
    assert policy.enforce(subject, "applications", "sync", f"{name}/web")
    assert not policy.enforce(subject, "applications", "delete", f"{name}/web")
    assert policy.allows(["someone", "my-org:ci"], "applications", "sync", f"{name}/api")

    assert proj.ok("role", "list", name).split() == [
        "ROLE-NAME", "DESCRIPTION", "ci", "the", "pipeline",
    ]  # fmt: skip
    assert json.loads(proj.ok("role", "list", name, "-o", "json")) == roles
    assert proj.ok("role", "list", name, "-o", "name").split() == ["ci"]

    # Tokens as the server lists them (status.jwtTokensByRole): get and list-tokens show them.
    with proj.tb.admin_client("mgmt") as mgmt:
        mgmt.patch(
            f"{PROJECTS.format(ns=proj.ns)}/{name}",
            json={"status": {"jwtTokensByRole": {"ci": {"items": [
                {"iat": 1700000000, "id": "build-1"},
                {"iat": 1600000000, "exp": 1900000000, "id": "old"},
            ]}}}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()  # fmt: skip
    got = proj.ok("role", "get", name, "ci").splitlines()
    assert got[:7] == [
        "Role Name:     ci",
        "Description:   the pipeline",
        "Policies:",
        f"p, proj:{name}:ci, projects, get, {name}, allow",
        f"p, proj:{name}:ci, applications, sync, {name}/*, allow",
        f"p, proj:{name}:ci, applications, delete, {name}/web, deny",
        "Groups:",
    ]
    assert got[8] == "JWT Tokens:" and got[9].split() == ["ID", "ISSUED", "AT", "EXPIRES", "AT"]
    assert [line.split() for line in got[10:]] == [
        ["old", "2020-09-13T12:26:40Z", "2030-03-17T17:46:40Z"],
        ["build-1", "2023-11-14T22:13:20Z", "Never"],
    ]
    unix = proj.ok("role", "list-tokens", name, "ci", "-u").splitlines()[1:]
    assert [line.split() for line in unix] == [
        ["old", "1600000000", "1900000000"], ["build-1", "1700000000", "0"],
    ]  # fmt: skip

    for args, code, error in [
        (["role", "create", name, "bad name!"], 2, "invalid role name 'bad name!'"),
        (["role", "add-policy", name, "ci", "-a", "get", "-o", "*", "-p", "maybe"], 2,
         "'maybe': must be 'allow' or 'deny'"),
        (["role", "add-policy", name, "ci", "-o", "*"], 2, "--action"),
        (["role", "add-policy", name, "nope", "-a", "get", "-o", "*"], 1,
         f"project '{name}': role 'nope' does not exist"),
        (["role", "add-group", name, "nope", "g"], 1, "role 'nope' does not exist"),
    ]:  # fmt: skip
        proj.refused(name, *args, code=code, error=error)
    missing = proj("role", "get", name, "nope")
    assert missing.exit_code == 1 and "role 'nope' does not exist" in missing.stderr

    proj.ok("role", "remove-policy", name, "ci", "-a", "delete", "-o", "web", "-p", "deny")
    assert "not present" in proj.ok("role", "remove-group", name, "ci", "other")
    proj.ok("role", "remove-group", name, "ci", "my-org:ci")
    assert proj.spec(name)["roles"] == [
        {"name": "ci", "description": "the pipeline",
         "policies": [f"p, proj:{name}:ci, applications, sync, {name}/*, allow"]},
    ]  # fmt: skip
    assert proj.ok("role", "delete", name, "ci").strip() == f"project '{name}': role 'ci' deleted"
    after = proj.get(name)
    assert "roles" not in after["spec"]
    assert "ci" not in (after.get("status") or {}).get("jwtTokensByRole", {})
    assert "does not exist" in proj.ok("role", "delete", name, "ci")


def test_an_edit_is_computed_again_after_a_concurrent_write(proj: Proj) -> None:
    """Another client writes between the edit's read and its write: the PUT (carrying the
    resourceVersion read) gets 409, the edit runs again on the new state, both changes stay."""
    name = _name("race")
    proj.ok("create", name, "--description", "ours")
    calls = 0

    def change(project: dict[str, Any]) -> projspec.Edit:
        nonlocal calls
        calls += 1
        if calls == 1:
            with proj.tb.admin_client("mgmt") as mgmt:
                mgmt.patch(
                    f"{PROJECTS.format(ns=proj.ns)}/{name}",
                    json={"spec": {"description": "theirs"}},
                    headers={"Content-Type": "application/merge-patch+json"},
                ).raise_for_status()
        return projedit.add_source(project, "https://git.example/ours.git")

    async def edit() -> projspec.Edit:
        async with proj_access.connect(str(proj.tb.kubeconfig), "mgmt", proj.ns) as projects:
            return await projects.edit(name, change)

    result = asyncio.run(edit())
    assert (calls, result.changed) == (2, True)
    assert proj.spec(name) == {
        "description": "theirs",
        "sourceRepos": ["https://git.example/ours.git"],
    }


def test_set(proj: Proj) -> None:
    name = _name("set")
    proj.ok("create", name, "-s", "https://git.example/a.git", "--description", "x")
    proj.ok("set", name, "--description", "y", "-d", "https://dev.example:6443,web")
    assert proj.spec(name) == {
        "description": "y",
        "sourceRepos": ["https://git.example/a.git"],
        "destinations": [{"server": "https://dev.example:6443", "namespace": "web"}],
    }
    proj.ok("set", name, "--orphaned-resources-warn")
    assert proj.spec(name)["orphanedResources"] == {"warn": True}
    proj.ok("set", name, "--no-orphaned-resources")
    assert "orphanedResources" not in proj.spec(name)
    proj.refused(name, "set", name, code=2, error="nothing to set")


def test_delete(proj: Proj) -> None:
    name = _name("del")
    proj.ok("create", name, "-s", "*", "-d", "*,*")
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"uses-{name}"},
        "spec": {
            "project": name,
            "source": {"repoURL": "https://git.example/a.git", "path": "."},
            "destination": {"name": "in-cluster", "namespace": "x"},
        },
    }
    with proj.tb.admin_client("mgmt") as mgmt:
        mgmt.post(APPS.format(ns=proj.ns), json=app).raise_for_status()
    proj.refused(
        name,
        "delete",
        name,
        code=1,
        error=f"project '{name}' is used by 1 application(s): {proj.ns}/uses-{name}",
    )
    proj.refused("default", "delete", "default", code=1, error="the default project")
    with proj.tb.admin_client("mgmt") as mgmt:
        mgmt.delete(f"{APPS.format(ns=proj.ns)}/uses-{name}").raise_for_status()
    assert proj.ok("delete", name).strip() == f"project '{name}' deleted"
    missing = proj("delete", name)
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_console_script_and_kubeconfig_list(testbed_handle: handle.TestBed, control: str) -> None:
    """The installed command, with KUBECONFIG a list of per-cluster files (dev's first, so its
    context is the current one: --context picks the management cluster)."""
    files = [str(testbed_handle.clusters[n].kubeconfig) for n in ("dev", "mgmt")]
    env = {
        **os.environ,
        "KUBECONFIG": os.pathsep.join(files),
        constants.ENV_CONTROL_NAMESPACE: control,
    }
    tidegate = Path(sys.executable).parent / "tidegate"
    name = _name("script")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(tidegate), "proj", *args, "--context", "mgmt"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    created = run("create", name, "-d", "https://dev.example:6443,web")
    assert created.returncode == 0, created.stderr
    duplicate = run("add-destination", name, "https://dev.example:6443", "web")
    assert duplicate.returncode == 1 and "already defined" in duplicate.stderr
    usage = run("windows", "add", name, "--kind", "deny")
    assert usage.returncode == 2
    assert run("delete", name).returncode == 0
