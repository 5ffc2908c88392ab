"""``tidegate app actions run`` in both modes: logged in, through a real ``tidegate server``
(its RBAC ``action/<group>/<kind>/<action>`` and its audit log; the management cluster's
kubeconfig out of reach), and directly (``--core``). A real controller syncs an app of two
Deployments onto the test bed's dev cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.api import far_apps, synced_apps
from tests.api.access_helpers import local_account, patch_configmap
from tests.api.cli_modes import Both, login_config
from tests.api.polling import until

from tidegate.testenv import handle, scenario, serverproc

pytestmark = pytest.mark.e2e
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
ACTIONS_KEY = "resource.customizations.actions.apps_Deployment"
BUMP = """discovery.lua: |
  return {bump = {}}
definitions:
- name: bump
  action.lua: |
    if obj.metadata.name == "web" then
      error("web refuses to be bumped")
    end
    if obj.metadata.labels == nil then obj.metadata.labels = {} end
    obj.metadata.labels["bumped"] = "yes"
    return obj
mergeBuiltinActions: true
"""
PASSWORD = "ops-pass-1"


def _deployment(name: str) -> dict[str, Any]:
    found = json.loads(json.dumps(far_apps.DEPLOYMENT).replace('"web"', json.dumps(name)))
    assert found["metadata"]["name"] == name
    return dict(found)


@pytest.fixture(scope="module")
def server_extra(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return [f"--audit-db=sqlite:///{tmp_path_factory.mktemp('audit') / 'audit.db'}"]


@pytest.fixture(scope="module")
def synced_app(
    api: httpx.Client,
    testbed_handle: handle.TestBed,
    controller: scenario.ControllerProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str]]:
    """A manual app of Deployments ``api`` and ``web`` the controller synced: (app, its
    destination namespace)."""
    src = tmp_path_factory.mktemp("repo")
    with synced_apps.synced(
        api, testbed_handle, [_deployment("api"), _deployment("web")], src, "acts"
    ) as found:
        yield found


@pytest.fixture(scope="module")
def both(
    server: serverproc.ServerProcess,
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Both:
    """``tidegate app`` logged in as admin: over the API, or ``--core``."""
    config = login_config(server, tmp_path_factory.mktemp("cli") / "config")
    return Both(testbed_handle, control_namespace, config)


def _live(bed: handle.TestBed, ns: str, name: str) -> dict[str, Any]:
    text = scenario.kubectl(bed, "dev", "-n", ns, "get", f"deployment/{name}", "-o", "json")
    return dict(json.loads(text))


def _bumped(bed: handle.TestBed, ns: str, name: str) -> str | None:
    labels = _live(bed, ns, name)["metadata"].get("labels") or {}
    return labels.get("bumped")


def _audit(api: httpx.Client, **params: str) -> list[dict[str, Any]]:
    resp = api.get("/api/v1/audit", params=params)
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def test_restart_through_the_server_is_audited(
    both: Both, api: httpx.Client, synced_app: tuple[str, str], testbed_handle: handle.TestBed
) -> None:
    name, dest = synced_app
    done = both.api("actions", "run", name, "restart", "--kind", "Deployment",
                    "--resource-name", "web")  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "Deployment/web patched\n", "")
    template = _live(testbed_handle, dest, "web")["spec"]["template"]["metadata"]
    assert RESTARTED_AT in template["annotations"]
    other = _live(testbed_handle, dest, "api")["spec"]["template"]["metadata"]
    assert RESTARTED_AT not in (other.get("annotations") or {})
    [entry] = _audit(api, actor="admin", action="run-action", app=name)
    assert entry["result"] == "succeeded"
    assert entry["reason"] == f"restart on apps/Deployment {dest}/web"
    assert entry["object"]["kind"] == "Application"


def test_selection_refusals_are_the_same_both_ways(both: Both, synced_app: tuple[str, str]) -> None:
    name, dest = synced_app
    several = both.same("actions", "run", name, "restart", "--kind", "Deployment")
    assert several.returncode == 1
    assert several.stderr == (
        f"error: 2 resources match ({dest}/api, {dest}/web): "
        "narrow with --resource-name or use --all\n"
    )
    none = both.same("actions", "run", name, "restart", "--kind", "StatefulSet")
    assert (none.returncode, none.stderr) == (
        1,
        f"error: no StatefulSet of application {name} matches\n",
    )


def test_all_refuses_before_any_change_when_one_does_not_offer_the_action(
    both: Both, synced_app: tuple[str, str], testbed_handle: handle.TestBed
) -> None:
    name, dest = synced_app
    paused = both.api("actions", "run", name, "pause", "--kind", "Deployment",
                      "--resource-name", "web")  # fmt: skip
    assert (paused.returncode, paused.stdout) == (0, "Deployment/web patched\n"), paused.stderr
    try:
        refused = both.same("actions", "run", name, "pause", "--kind", "Deployment", "--all")
        assert (refused.returncode, refused.stdout, refused.stderr) == (
            1,
            "",
            f"error: Deployment {dest}/web: action 'pause' is not available\n",
        )
        assert "paused" not in _live(testbed_handle, dest, "api")["spec"]
    finally:
        resumed = both.api("actions", "run", name, "resume", "--kind", "Deployment",
                           "--resource-name", "web")  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
    assert "paused" not in _live(testbed_handle, dest, "web")["spec"]


def test_all_failing_midway_says_what_changed(
    both: Both,
    synced_app: tuple[str, str],
    testbed_handle: handle.TestBed,
    control_namespace: str,
) -> None:
    name, dest = synced_app
    patch_configmap(testbed_handle, control_namespace, "argocd-cm", {ACTIONS_KEY: BUMP})
    try:
        # Directly every script runs before the first change: nothing changes.
        direct = both.direct("actions", "run", name, "bump", "--kind", "Deployment", "--all")
        assert (direct.returncode, direct.stdout) == (1, ""), direct.stderr
        assert "web refuses to be bumped" in direct.stderr
        assert _bumped(testbed_handle, dest, "api") is None
        # The server runs one resource per call: api (listed first) is changed, web is not.
        over_api = both.api("actions", "run", name, "bump", "--kind", "Deployment", "--all")
        assert (over_api.returncode, over_api.stdout) == (1, "Deployment/api patched\n")
        assert over_api.stderr.startswith(
            f"error: application {name}: action 'bump' on apps/Deployment {dest}/web: "
        ), over_api.stderr
        assert "web refuses to be bumped" in over_api.stderr
        assert over_api.stderr.endswith(f"(changed: {dest}/api; not changed: {dest}/web)\n")
        assert _bumped(testbed_handle, dest, "api") == "yes"
        assert _bumped(testbed_handle, dest, "web") is None
    finally:
        patch_configmap(testbed_handle, control_namespace, "argocd-cm", {ACTIONS_KEY: None})


def test_rbac_denial_changes_nothing_and_core_goes_direct(
    server: serverproc.ServerProcess,
    api: httpx.Client,
    synced_app: tuple[str, str],
    testbed_handle: handle.TestBed,
    control_namespace: str,
    tmp_path: Path,
) -> None:
    name, dest = synced_app
    local_account(server, api, "ops", PASSWORD, (
        "p, role:ops, applications, get, */*, allow\n"
        "p, role:ops, applications, action/apps/Deployment/pause, */*, allow\n"
        "g, ops, role:ops\n"))  # fmt: skip
    config = login_config(server, tmp_path / "ops", username="ops", password=PASSWORD)
    # ops may read the app (the policy is in force) but not restart its Deployments.
    ops = Both(testbed_handle, control_namespace, config)
    until(lambda: ops.api("actions", "list", name, "--kind", "Deployment").returncode == 0,
          within=30)  # fmt: skip
    before = _live(testbed_handle, dest, "web")
    args = ("actions", "run", name, "restart", "--kind", "Deployment", "--resource-name", "web")

    # KUBECONFIG names the management cluster, but only --core (or --kubeconfig/--context on
    # the command line) leaves the server: the server refuses.
    mgmt = str(testbed_handle.kubeconfig)
    denied = ops.api(*args, kubeconfig=mgmt)
    assert (denied.returncode, denied.stdout) == (1, "")
    assert denied.stderr == (
        f"error: application {name}: action 'restart' on apps/Deployment {dest}/web: "
        f"permission denied: applications, action/apps/Deployment/restart, default/{name}\n"
    )
    after = _live(testbed_handle, dest, "web")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]
    [refusal] = _audit(api, actor="ops", action="run-action", app=name)
    assert refusal["result"] == "denied"
    assert "action/apps/Deployment/restart" in refusal["reason"]

    # --core: the CLI acts with the kubeconfig's rights, not the server's RBAC, and the
    # server hears nothing of it.
    direct = ops.api(*args, "--core", kubeconfig=mgmt)
    assert (direct.returncode, direct.stdout) == (0, "Deployment/web patched\n"), direct.stderr
    restarted = _live(testbed_handle, dest, "web")
    assert restarted["metadata"]["generation"] > before["metadata"]["generation"]
    assert RESTARTED_AT in restarted["spec"]["template"]["metadata"]["annotations"]
    assert _audit(api, actor="ops", action="run-action", app=name) == [refusal]
