"""``tidegate app resources [--orphaned|--no-orphaned]`` against the test bed: objects of the app's
destination namespace on ``dev`` that no app tracks, by the rules of the project's
``orphanedResources`` (ignore list included), read from the real API server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.appcli import Cli, apply_rendered, unique

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e
PROJECTS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/appprojects"


def _project(tb: handle.TestBed, ns: str, name: str, orphaned: dict[str, object] | None) -> None:
    spec: dict[str, object] = {
        "sourceRepos": ["*"],
        "destinations": [{"server": "*", "namespace": "*"}],
    }
    if orphaned is not None:
        spec["orphanedResources"] = orphaned
    project = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
               "metadata": {"name": name, "namespace": ns}, "spec": spec}  # fmt: skip
    with tb.admin_client("mgmt") as mgmt:
        assert mgmt.post(PROJECTS.format(ns=ns), json=project).status_code == 201


def _configmap(tb: handle.TestBed, namespace: str, name: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}
    with tb.admin_client("dev") as dev:
        assert dev.post(f"/api/v1/namespaces/{namespace}/configmaps", json=cm).status_code == 201


def test_orphaned_resources(
    cli: Cli,
    repo_url: str,
    source_dir: Path,
    namespace: str,
    testbed_handle: handle.TestBed,
) -> None:
    watching, blind = unique("orph"), unique("blind")
    ignore = [{"kind": "ConfigMap", "name": "ignored-*"}]
    _project(testbed_handle, cli.ns, watching, {"warn": False, "ignore": ignore})
    _project(testbed_handle, cli.ns, blind, None)
    name = unique("orph")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo_url, "--path", "app", "--dest-server", server,
             "--dest-namespace", namespace, "--project", watching]  # fmt: skip
    assert cli("create", name, *flags).exit_code == 0
    apply_rendered(testbed_handle, source_dir, name, namespace)  # tracked by the app
    _configmap(testbed_handle, namespace, "stray")
    _configmap(testbed_handle, namespace, "ignored-1")
    managed = [{"version": "v1", "kind": "ConfigMap", "namespace": namespace,
                "name": "web-config", "status": "Synced"}]  # fmt: skip
    cli.patch(name, {"status": {"resources": managed}})

    only = cli("resources", name, "--orphaned")
    assert only.exit_code == 0, only.output
    rows = [ln.split() for ln in only.stdout.splitlines()]
    # not web-config/web-secret (tracked), not ignored-1 (ignore list), not kube-root-ca.crt
    # nor the default ServiceAccount (Kubernetes makes them everywhere)
    assert rows == [["GROUP", "KIND", "NAMESPACE", "NAME", "ORPHANED"],
                    ["ConfigMap", namespace, "stray", "Yes"]]  # fmt: skip

    both = [ln.split() for ln in cli("resources", name).stdout.splitlines()]
    assert both[1:] == [["ConfigMap", namespace, "web-config", "No"],
                        ["ConfigMap", namespace, "stray", "Yes"]]  # fmt: skip
    as_json = json.loads(cli("resources", name, "-o", "json").stdout)
    assert [(r["name"], bool(r.get("orphaned"))) for r in as_json] == [
        ("web-config", False), ("stray", True)]  # fmt: skip
    managed_only = cli("resources", name, "--no-orphaned")
    assert [ln.split()[-2] for ln in managed_only.stdout.splitlines()[1:]] == ["web-config"]

    assert cli("set", name, "--project", blind).exit_code == 0
    unmonitored = cli("resources", name, "--orphaned")
    assert unmonitored.exit_code == 0
    assert unmonitored.stdout.splitlines()[1:] == []
    assert f"project '{blind}' does not monitor orphaned resources" in unmonitored.stderr
