"""Two installations, one destination: Argo CD's installation id on the real test bed.

Two ``tidegate controller`` processes, each on its own control namespace of ``mgmt`` with its own
``--installation-id``, each with an Application of the *same name* deploying different objects
into the *same* namespace on ``dev``. Tracking ids carry only the app name, so without the
installation id each would count the other's objects as its own and prune them. With it:
both sets of objects stay through both syncs and through a prune-triggering commit on each
side, every applied object carries its installation's id, and neither app lists the other's
objects; ``tidegate app diff`` / ``manifests --source live`` agree (they learn the id the
controller publishes).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import constants
from tidegate.testenv import handle, procs, scenario

pytestmark = pytest.mark.e2e

HOOK = """apiVersion: v1
kind: ConfigMap
metadata:
  generateName: pre-{side}-
  annotations:
    argocd.argoproj.io/hook: PreSync
data: {{side: {side}}}
"""


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata: {{owner: {name}}}\n"


@pytest.fixture
def installations(
    testbed_handle: handle.TestBed, tmp_path: Path
) -> Iterator[dict[str, scenario.GitOps]]:
    """Two control namespaces, each with a controller of its own installation id."""
    token = secrets.token_hex(3)
    started: dict[str, scenario.GitOps] = {}
    try:
        for side in ("a", "b"):
            namespace = f"tg-{side}-{token}"
            workdir = tmp_path / side
            workdir.mkdir()
            scenario.control_namespace(testbed_handle, namespace)
            controller = scenario.ControllerProcess(
                testbed_handle,
                namespace,
                log=workdir / "controller.log",
                app_resync=5,
                installation_id=f"{side}-{token}",
            ).start()
            started[side] = scenario.GitOps(testbed_handle, namespace, controller, workdir, 0)
        for ops in started.values():
            ops.controller.wait_log("controller ready", timeout=90)
        yield started
    finally:
        for ops in started.values():
            ops.controller.stop()
            with testbed_handle.admin_client("mgmt") as client:
                client.delete(f"/api/v1/namespaces/{ops.namespace}")


def configmaps(bed: handle.TestBed, namespace: str) -> dict[str, dict[str, Any]]:
    with bed.admin_client("dev") as client:
        resp = client.get(f"/api/v1/namespaces/{namespace}/configmaps")
        resp.raise_for_status()
        items = resp.json()["items"]
    return {o["metadata"]["name"]: o for o in items if o["metadata"]["name"] != "kube-root-ca.crt"}


def annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def resource_names(app: dict[str, Any], *, hooks: bool = False) -> set[str]:
    """Names in ``status.resources`` (hooks only when asked)."""
    resources = (app.get("status") or {}).get("resources") or []
    return {str(r["name"]) for r in resources if hooks or not r.get("hook")}


def synced_result(app: dict[str, Any]) -> set[str]:
    """Names of the resources the last sync touched (applied, pruned, hooks)."""
    state = (app.get("status") or {}).get("operationState") or {}
    resources = (state.get("syncResult") or {}).get("resources") or []
    return {str(r.get("name")) for r in resources}


def cli(ops: scenario.GitOps, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "app",
            *args,
            f"--kubeconfig={ops.bed.clusters['mgmt'].kubeconfig}",
            f"--namespace={ops.namespace}",
            f"--cache-dir={ops.workdir / 'cli-cache'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_two_installations_never_claim_or_prune_each_others_objects(
    installations: dict[str, scenario.GitOps],
) -> None:
    a, b = installations["a"], installations["b"]
    token = a.namespace.rsplit("-", 1)[-1]
    app_name, dest = f"twin-{token}", f"twin-{token}"
    ids = {"a": f"a-{token}", "b": f"b-{token}"}
    works = {}
    for side, ops in installations.items():
        repo, work = ops.repo(
            {"app/cm.yaml": configmap(f"from-{side}"), "app/hook.yaml": HOOK.format(side=side)}
        )
        works[side] = work
        server = ops.bed.clusters["dev"].server
        ops.create_app(
            scenario.application(
                app_name, repo_url=repo.http_url, path="app", server=server, namespace=dest
            )
        )
    for side, ops in installations.items():
        ops.wait_app(
            app_name,
            lambda app, s=side: scenario.synced_healthy(app, works[s].head()),
            timeout=120,
            what=f"installation {side} Synced and Healthy",
        )

    live = configmaps(a.bed, dest)
    assert {"from-a", "from-b"} <= set(live)
    hooks = {n for n in live if n.startswith("pre-")}
    assert {h.split("-")[1] for h in hooks} == {"a", "b"}, hooks
    for name, obj in live.items():
        side = "a" if name in ("from-a",) or name.startswith("pre-a-") else "b"
        notes = annotations(obj)
        assert notes[constants.ANNOTATION_INSTALLATION_ID] == ids[side], name
        assert notes[constants.ANNOTATION_TRACKING_ID] == f"{app_name}:/ConfigMap:{dest}/{name}"
    for side, ops in installations.items():
        app = ops.get_app(app_name)
        assert resource_names(app) == {f"from-{side}"}
        theirs = {n for n in resource_names(app, hooks=True) if f"-{side}" not in n}
        assert not theirs, f"installation {side} lists another installation's objects: {theirs}"

    # A prune-triggering commit on each side in turn: the sync prunes its own old object only.
    for side, ops, others in (("a", a, "from-b"), ("b", b, "next-a")):
        head = works[side].commit(
            {"app/cm2.yaml": configmap(f"next-{side}")},
            f"replace from-{side}",
            delete=["app/cm.yaml"],
        )
        app = ops.wait_app(
            app_name,
            lambda app, h=head: scenario.synced_healthy(app, h),
            timeout=90,
            what=f"installation {side} Synced after the prune",
        )
        live = configmaps(a.bed, dest)
        assert f"from-{side}" not in live, f"installation {side} did not prune from-{side}"
        assert f"next-{side}" in live
        assert others in live, f"installation {side}'s sync pruned {others}"
        assert others not in synced_result(app) | resource_names(app, hooks=True)
        assert annotations(live[f"next-{side}"])[constants.ANNOTATION_INSTALLATION_ID] == ids[side]
    live = configmaps(a.bed, dest)
    assert {"next-a", "next-b"} <= set(live) and not {"from-a", "from-b"} & set(live)

    # The CLI compares with the same installation id: in sync, only its own live objects.
    for side, ops in installations.items():
        diff = cli(ops, "diff", app_name)
        assert diff.returncode == 0, f"{side}: {diff.stdout}\n{diff.stderr}"
        shown = cli(ops, "manifests", app_name, "--source", "live")
        assert shown.returncode == 0, shown.stderr
        names = {o["metadata"]["name"] for o in yaml.safe_load_all(shown.stdout) if o}
        assert names == {f"next-{side}"}, f"{side}: {names}\n{procs.tail(ops.controller.log)}"
