"""argocd-cm Lua customizations with the real controller: a Lua health check turns a custom
resource Degraded; scripts that loop forever or reach for ``os.execute`` leave their resources
Unknown with a message naming the key, without stalling other apps or changing what is applied;
an app of apps is Healthy while a child is Degraded, and follows its children once
``resource.customizations.health.argoproj.io_Application`` opts in; ``knownTypeFields`` makes a
custom resource's embedded pod spec compare its resource quantities canonically."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import constants
from tidegate.testenv import scenario

pytestmark = pytest.mark.e2e

GROUP = f"lua{secrets.token_hex(3)}.example.com"
HEALTH = "resource.customizations.health."
PWNED = Path(f"/tmp/tidegate-lua-pwned-{secrets.token_hex(4)}")

WIDGET_HEALTH = """
local hs = {status = "Progressing", message = "waiting for the widget controller"}
if obj.status ~= nil and obj.status.phase ~= nil then
  if obj.status.phase == "Failed" then
    hs.status = "Degraded"
    hs.message = "widget failed: " .. (obj.status.message or "no reason")
  elseif obj.status.phase == "Ready" then
    hs.status = "Healthy"
    hs.message = "widget ready"
  end
end
return hs
"""
LOOPING = "local n = 0\nwhile true do n = n + 1 end\n"
ESCAPING = f"os.execute('touch {PWNED}')\nreturn {{status = 'Healthy'}}\n"
# The opt-in Application check, written from Argo CD's documented behaviour.
APPLICATION_HEALTH = """
hs = {status = "Progressing", message = ""}
if obj.status ~= nil and obj.status.health ~= nil then
  hs.status = obj.status.health.status
  if obj.status.health.message ~= nil then hs.message = obj.status.health.message end
end
return hs
"""

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"


def _crd(kind: str) -> dict[str, Any]:
    plural = kind.lower() + "s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def _custom(kind: str, name: str, status: dict[str, Any] | None = None) -> str:
    obj: dict[str, Any] = {
        "apiVersion": f"{GROUP}/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"size": 1},
    }
    if status is not None:
        obj["status"] = status
    return yaml.safe_dump(obj, sort_keys=False)


@pytest.fixture(scope="module")
def crds(gitops: scenario.GitOps) -> Iterator[None]:
    kinds = ("Widget", "Gadget", "Gizmo", "Runner")
    scenario.apply_manifests(gitops.bed, "dev", [_crd(k) for k in kinds])
    for kind in kinds:
        scenario.kubectl(
            gitops.bed, "dev", "wait", "--for=condition=Established", "--timeout=60s",
            f"crd/{kind.lower()}s.{GROUP}",
        )  # fmt: skip
    yield
    for kind in kinds:
        scenario.kubectl(
            gitops.bed, "dev", "delete", "crd", f"{kind.lower()}s.{GROUP}", "--wait=false",
            check=False,
        )  # fmt: skip


def _set_argocd_cm(gitops: scenario.GitOps, data: dict[str, str]) -> None:
    scenario.apply_manifests(
        gitops.bed,
        "mgmt",
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-cm", "namespace": gitops.namespace},
                "data": data,
            }
        ],
    )


def _resource(app: dict[str, Any], kind: str) -> dict[str, Any]:
    for res in (app.get("status") or {}).get("resources") or []:
        if res.get("kind") == kind:
            return dict(res)
    return {}


def _health(app: dict[str, Any]) -> str:
    return str(((app.get("status") or {}).get("health") or {}).get("status"))


def _sync(app: dict[str, Any]) -> str:
    return str(((app.get("status") or {}).get("sync") or {}).get("status"))


BASE_CM = {
    HEALTH + f"{GROUP}_Widget": WIDGET_HEALTH,
    HEALTH + f"{GROUP}_Gadget": LOOPING,
    HEALTH + f"{GROUP}_Gizmo": ESCAPING,
}


def test_lua_health_check_turns_a_custom_resource_degraded(
    gitops: scenario.GitOps, crds: None
) -> None:
    _set_argocd_cm(gitops, BASE_CM)
    dev = gitops.bed.clusters["dev"].server
    repo, work = gitops.repo(
        {
            "app/widget.yaml": _custom("Widget", "w1", {"phase": "Failed", "message": "disk full"}),
            "app/cm.yaml": CONFIGMAP,
        }
    )
    ns = f"lua-w-{gitops.namespace}"
    gitops.create_app(
        scenario.application("lua-widget", repo_url=repo.http_url, path="app", server=dev,
                             namespace=ns)
    )  # fmt: skip
    app = gitops.wait_app(
        "lua-widget",
        lambda a: _health(a) == "Degraded" and _sync(a) == "Synced",
        timeout=90,
        what="the Lua health check's Degraded",
    )
    widget = _resource(app, "Widget")
    assert widget["health"] == {"status": "Degraded", "message": "widget failed: disk full"}
    assert "health" not in _resource(app, "ConfigMap")  # no check for ConfigMaps
    # The widget's operator reports success (status is not compared, as for every CRD in Argo
    # CD): the same script turns it Healthy.
    scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "patch", f"widgets.{GROUP}", "w1", "--type=merge",
        "-p", '{"status": {"phase": "Ready", "message": null}}',
    )  # fmt: skip
    app = gitops.wait_app(
        "lua-widget",
        lambda a: scenario.synced_healthy(a, work.head()),
        timeout=90,
        what="Healthy after the widget became ready",
    )
    assert _resource(app, "Widget")["health"] == {"status": "Healthy", "message": "widget ready"}


def test_looping_and_escaping_scripts_are_unknown_and_stall_nothing(
    gitops: scenario.GitOps, crds: None
) -> None:
    _set_argocd_cm(gitops, BASE_CM)
    dev = gitops.bed.clusters["dev"].server
    repo, work = gitops.repo(
        {
            "app/gadget.yaml": _custom("Gadget", "g1"),
            "app/gizmo.yaml": _custom("Gizmo", "z1"),
            "app/cm.yaml": CONFIGMAP,
        }
    )
    ns = f"lua-bad-{gitops.namespace}"
    gitops.create_app(
        scenario.application("lua-bad", repo_url=repo.http_url, path="app", server=dev,
                             namespace=ns)
    )  # fmt: skip
    fine_repo, fine_work = gitops.repo({"app/cm.yaml": CONFIGMAP})
    gitops.create_app(
        scenario.application("lua-fine", repo_url=fine_repo.http_url, path="app", server=dev,
                             namespace=f"lua-fine-{gitops.namespace}")
    )  # fmt: skip
    app = gitops.wait_app(
        "lua-bad",
        lambda a: (
            _sync(a) == "Synced"
            and "message" in (_resource(a, "Gadget").get("health") or {})
            and "message" in (_resource(a, "Gizmo").get("health") or {})
        ),
        timeout=90,
        what="the failing scripts' Unknown health",
    )
    gadget = _resource(app, "Gadget")["health"]
    gizmo = _resource(app, "Gizmo")["health"]
    assert gadget["status"] == "Unknown", gadget
    assert gadget["message"] == (
        f"Lua script {HEALTH}{GROUP}_Gadget: instruction limit exceeded (10000000 instructions)"
    )
    assert gizmo["status"] == "Unknown", gizmo
    assert gizmo["message"] == (
        f"Lua script {HEALTH}{GROUP}_Gizmo: line 1: attempt to call field 'execute' (a nil value)"
    )
    assert _health(app) == "Unknown"
    assert not PWNED.exists()
    # The app says so in a warning condition naming both scripts' keys; it blocks nothing
    # (the app synced above).
    app = gitops.wait_app(
        "lua-bad",
        lambda a: any(
            c.get("type") == "CustomHealthCheckWarning"
            for c in (a.get("status") or {}).get("conditions") or []
        ),
        timeout=60,
        what="the CustomHealthCheckWarning condition",
    )
    warning = next(
        c for c in app["status"]["conditions"] if c["type"] == "CustomHealthCheckWarning"
    )
    assert warning["message"] == (
        f"custom health check failed for 2 resource(s): Gadget {ns}/g1: {gadget['message']}; "
        f"Gizmo {ns}/z1: {gizmo['message']}"
    )
    others = [c["type"] for c in app["status"]["conditions"]]
    assert not [t for t in others if t.endswith("Error")], others
    # The other app on the same controller is judged and synced meanwhile.
    gitops.wait_app("lua-fine", lambda a: scenario.synced_healthy(a, fine_work.head()), timeout=60)
    # What the comparison says is applied, nothing more and nothing pruned: all three objects
    # exist, and the app is Synced at its head.
    for kind, name in (("configmap", "settings"), (f"gadgets.{GROUP}", "g1"),
                       (f"gizmos.{GROUP}", "z1")):  # fmt: skip
        scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", kind, name)
    assert (app["status"]["sync"] or {}).get("revision") == work.head()
    assert "controller ready" in gitops.controller.log.read_text(errors="replace")
    assert gitops.controller.alive()


def _wait_created(gitops: scenario.GitOps, names: list[str], *, parent: str) -> None:
    deadline = time.monotonic() + 90
    missing = names
    while time.monotonic() < deadline:
        with gitops.mgmt() as client:
            missing = [n for n in names if client.get(gitops.app_path(n)).status_code == 404]
        if not missing:
            return
        time.sleep(0.5)
    app = gitops.get_app(parent)
    raise AssertionError(f"the parent never created {missing}: {app.get('status')}")


def _child(name: str, repo_url: str, server: str, namespace: str, control: str) -> dict[str, Any]:
    """A child Application as Argo CD's example app of apps writes them: in the control
    namespace, with the resources finalizer (the parent's destination namespace is the same)."""
    child = scenario.application(name, repo_url=repo_url, path="app", server=server,
                                 namespace=namespace)  # fmt: skip
    child["metadata"]["namespace"] = control
    child["metadata"]["finalizers"] = [constants.FINALIZER_RESOURCES]
    return child


def test_app_of_apps_parent_is_healthy_until_the_application_check_opts_in(
    gitops: scenario.GitOps, crds: None
) -> None:
    _set_argocd_cm(gitops, BASE_CM)
    dev = gitops.bed.clusters["dev"].server
    suffix = secrets.token_hex(2)
    good_repo, _ = gitops.repo({"app/cm.yaml": CONFIGMAP})
    bad_repo, _ = gitops.repo(
        {"app/widget.yaml": _custom("Widget", "w2", {"phase": "Failed", "message": "broken"})}
    )
    control = gitops.namespace
    good = _child(f"child-good-{suffix}", good_repo.http_url, dev, f"cg-{control}", control)
    bad = _child(f"child-bad-{suffix}", bad_repo.http_url, dev, f"cb-{control}", control)
    parent_repo, _ = gitops.repo(
        {
            "apps/good.yaml": yaml.safe_dump(good, sort_keys=False),
            "apps/bad.yaml": yaml.safe_dump(bad, sort_keys=False),
        }
    )
    parent = scenario.application(
        f"parent-{suffix}",
        repo_url=parent_repo.http_url,
        path="apps",
        server=constants.IN_CLUSTER_SERVER,
        namespace=gitops.namespace,
        sync_options=(),
    )
    gitops.create_app(parent)
    eventually_created = [bad["metadata"]["name"], good["metadata"]["name"]]
    _wait_created(gitops, eventually_created, parent=f"parent-{suffix}")
    gitops.wait_app(
        bad["metadata"]["name"], lambda a: _health(a) == "Degraded", timeout=120,
        what="the Degraded child",
    )  # fmt: skip
    gitops.wait_app(good["metadata"]["name"], scenario.synced_healthy, timeout=60)
    app = gitops.wait_app(
        f"parent-{suffix}", scenario.synced_healthy, timeout=60,
        what="the parent Healthy and Synced while a child is Degraded",
    )  # fmt: skip
    children = [r for r in app["status"]["resources"] if r.get("kind") == "Application"]
    assert sorted(r["name"] for r in children) == sorted(
        [good["metadata"]["name"], bad["metadata"]["name"]]
    )
    assert all("health" not in r for r in children), children  # no health by default
    # Opting in: the parent follows its children's health.
    _set_argocd_cm(gitops, {**BASE_CM, HEALTH + "argoproj.io_Application": APPLICATION_HEALTH})
    app = gitops.wait_app(
        f"parent-{suffix}", lambda a: _health(a) == "Degraded", timeout=90,
        what="the parent following its Degraded child",
    )  # fmt: skip
    assert _sync(app) == "Synced"
    by_name = {r["name"]: r.get("health") for r in app["status"]["resources"]}
    assert by_name[bad["metadata"]["name"]]["status"] == "Degraded"
    assert by_name[good["metadata"]["name"]]["status"] == "Healthy"
    _delete_tree(gitops, f"parent-{suffix}", eventually_created)


def _delete_tree(gitops: scenario.GitOps, parent: str, children: list[str]) -> None:
    """The parent first (it would recreate its children), then the children, whose resources
    finalizer the controller honours: nothing is left to block the namespace's deletion."""
    with gitops.mgmt() as client:
        for name in (parent, *children):
            client.delete(gitops.app_path(name))
    deadline = time.monotonic() + 90
    left = children
    while left and time.monotonic() < deadline:
        with gitops.mgmt() as client:
            left = [n for n in children if client.get(gitops.app_path(n)).status_code != 404]
        time.sleep(0.5)
    assert not left, f"children {left} were not deleted"


ACTIONS = """
discovery.lua: |
  local found = {}
  found["resize"] = {displayName = "Resize"}
  found["freeze"] = {disabled = obj.spec.size > 2}
  found["escape"] = {}
  return found
definitions:
- name: resize
  action.lua: |
    obj.spec.size = tonumber(actionParams["size"])
    return obj
- name: freeze
  action.lua: |
    obj.spec.frozen = true
    return obj
- name: escape
  action.lua: |
    os.execute("true")
    return obj
"""


def _cli(gitops: scenario.GitOps, *args: str) -> subprocess.CompletedProcess[str]:
    kubeconfig = str(gitops.bed.clusters["mgmt"].kubeconfig)
    return subprocess.run(
        [sys.executable, "-m", "tidegate", "app", "actions", *args,
         f"--kubeconfig={kubeconfig}", "-n", gitops.namespace],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_cli_lists_and_runs_resource_actions(gitops: scenario.GitOps, crds: None) -> None:
    _set_argocd_cm(gitops, {**BASE_CM, f"resource.customizations.actions.{GROUP}_Widget": ACTIONS})
    dev = gitops.bed.clusters["dev"].server
    repo, work = gitops.repo({"app/widget.yaml": _custom("Widget", "w3", {"phase": "Ready"})})
    ns = f"lua-act-{gitops.namespace}"
    gitops.create_app(
        scenario.application("lua-actions", repo_url=repo.http_url, path="app", server=dev,
                             namespace=ns, automated=False)
    )  # fmt: skip
    gitops.patch_app("lua-actions", {"operation": {"sync": {"revision": "main"}}})
    gitops.wait_app("lua-actions", lambda a: scenario.synced_healthy(a, work.head()), timeout=90)

    listed = _cli(gitops, "list", "lua-actions", "--kind", "Widget", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    actions = {row["action"]["name"]: row["action"] for row in json.loads(listed.stdout)}
    assert actions == {
        "escape": {"name": "escape", "disabled": False},
        "freeze": {"name": "freeze", "disabled": False},
        "resize": {"name": "resize", "disabled": False, "displayName": "Resize"},
    }
    table = _cli(gitops, "list", "lua-actions")
    assert table.stdout.splitlines()[0].split() == ["GROUP", "KIND", "NAME", "ACTION", "DISABLED"]

    ran = _cli(gitops, "run", "lua-actions", "resize", "--kind", "Widget",
               "--resource-action-parameters", "size=3")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "Widget/w3 patched"
    live = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", f"widgets.{GROUP}", "w3",
                            "-o", "json")  # fmt: skip
    assert json.loads(live)["spec"]["size"] == 3
    # Now size > 2: discovery disables freeze, and running it is refused.
    refused = _cli(gitops, "run", "lua-actions", "freeze", "--kind", "Widget")
    assert refused.returncode == 1
    assert f"error: Widget {ns}/w3: action 'freeze' is disabled" in refused.stderr
    escaped = _cli(gitops, "run", "lua-actions", "escape", "--kind", "Widget")
    assert escaped.returncode == 1
    assert "attempt to call field 'execute' (a nil value)" in escaped.stderr
    live = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", f"widgets.{GROUP}", "w3",
                            "-o", "json")  # fmt: skip
    assert "frozen" not in json.loads(live)["spec"]  # nothing changed by the refused runs
    # The app sees the live change as drift (it is not automated: nothing reverts it).
    gitops.wait_app("lua-actions", lambda a: _sync(a) == "OutOfSync", timeout=60)


KNOWN_TYPES = f"resource.customizations.knownTypeFields.{GROUP}_Runner"


def _runner(cpu: str) -> str:
    container = {"name": "app", "image": "nginx", "resources": {"limits": {"cpu": cpu}}}
    obj = {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Runner",
        "metadata": {"name": "r1"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }
    return yaml.safe_dump(obj, sort_keys=False)


def test_known_type_fields_compare_embedded_quantities_canonically(
    gitops: scenario.GitOps, crds: None
) -> None:
    _set_argocd_cm(gitops, BASE_CM)
    dev = gitops.bed.clusters["dev"].server
    repo, work = gitops.repo({"app/runner.yaml": _runner("1000m")})
    ns = f"ktf-{gitops.namespace}"
    gitops.create_app(
        scenario.application("ktf-runner", repo_url=repo.http_url, path="app", server=dev,
                             namespace=ns, automated=False)
    )  # fmt: skip
    gitops.patch_app("ktf-runner", {"operation": {"sync": {"revision": "main"}}})
    gitops.wait_app("ktf-runner", lambda a: _sync(a) == "Synced", timeout=90)
    # Someone writes the same quantity another way: the CRD keeps strings as they are, so
    # without knownTypeFields this is a difference.
    scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "patch", f"runners.{GROUP}", "r1", "--type=json", "-p",
        '[{"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/cpu",'
        ' "value": "1"}]',
    )  # fmt: skip
    gitops.wait_app(
        "ktf-runner", lambda a: _sync(a) == "OutOfSync", timeout=90,
        what="OutOfSync on cpu 1000m (Git) vs 1 (live)",
    )  # fmt: skip
    _set_argocd_cm(
        gitops, {**BASE_CM, KNOWN_TYPES: "- field: spec.template.spec\n  type: core/v1/PodSpec\n"}
    )
    app = gitops.wait_app(
        "ktf-runner", lambda a: _sync(a) == "Synced", timeout=90,
        what="Synced once the pod spec is compared as core/v1/PodSpec",
    )  # fmt: skip
    assert (app["status"]["sync"] or {}).get("revision") == work.head()
    live = scenario.kubectl(gitops.bed, "dev", "-n", ns, "get", f"runners.{GROUP}", "r1",
                            "-o", "json")  # fmt: skip
    limits = json.loads(live)["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "1"}  # nothing was applied: the app is simply in sync
    # A quantity that really differs is still a difference.
    scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "patch", f"runners.{GROUP}", "r1", "--type=json", "-p",
        '[{"op": "replace", "path": "/spec/template/spec/containers/0/resources/limits/cpu",'
        ' "value": "1500m"}]',
    )  # fmt: skip
    gitops.wait_app("ktf-runner", lambda a: _sync(a) == "OutOfSync", timeout=90)
