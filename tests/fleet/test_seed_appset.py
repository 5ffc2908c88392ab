"""The seed ApplicationSet, verbatim but for its repoURL and destination namespace, with the
real controllers.

The seed's template has no ``syncPolicy``, so, as with Argo CD, its Applications are generated
OutOfSync and deployed by a sync the operator asks for (``tidegate app sync``, the CLI a user
would run).

The destination namespace is unique per run instead of ``production``: the test bed is shared,
and the demo and other suites deploy their own ``prod-myapp`` into ``production`` on prod.
Tracking ids name the app but not the control namespace; the controller runs with an
installation id of its own (``scenario.ControllerProcess``), so another installation's
``prod-myapp`` objects are not counted as this app's, but a shared namespace would still make
both installations apply the same object keys."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import constants
from tidegate.testenv.scenario import synced_healthy

from .fleet import Fleet, app_state, deployment_available, deployment_yaml, eventually

pytestmark = pytest.mark.e2e

SEED = Path(__file__).parents[1] / "model" / "testdata" / "valid" / "applicationset-seed.yaml"
IMAGE = "nginx:1.27.0"


def seed_set(repo_url: str, namespace: str) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(SEED.read_text())
    spec = manifest["spec"]["template"]["spec"]
    assert spec["destination"]["namespace"] == "production"
    spec["source"]["repoURL"] = repo_url
    spec["destination"]["namespace"] = namespace
    return manifest


def app_sync(fleet: Fleet, name: str) -> None:
    """``tidegate app sync NAME`` as an operator runs it (follows the operation to its end)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "app",
            "sync",
            name,
            f"--kubeconfig={fleet.bed.clusters['mgmt'].kubeconfig}",
            f"--namespace={fleet.namespace}",
            "--timeout=120",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}\n{fleet.log_tail()}"


def compared(fleet: Fleet, name: str) -> dict[str, Any] | None:
    """The app once the Application controller has compared it (sync status known)."""
    if not fleet.app_exists(name):
        return None
    app = fleet.get_app(name)
    return app if app_state(app)[0] in ("Synced", "OutOfSync") else None


def test_seed_set_generates_deploys_and_follows_cluster_labels(fleet_env: Fleet) -> None:
    fleet = fleet_env
    # The app names are fixed by the seed; another installation's prod-myapp/staging-myapp
    # objects on the shared clusters (the demo's) carry another installation id: not ours.
    deployment = "myapp"
    repo, work = fleet.repo({"apps/myapp/deployment.yaml": deployment_yaml(deployment, IMAGE)})
    head = work.head()
    # The destination namespace exists on the clusters, as a platform team sets it up (the seed
    # has no CreateNamespace).
    production = fleet.dest_namespace("production")
    for cluster in ("prod", "staging"):
        fleet.ensure_namespace(cluster, production)

    fleet.apply_set(seed_set(repo.http_url, production))
    eventually(lambda: set(fleet.apps()) == {"prod-myapp"}, within=30, what="prod-myapp only")
    app = eventually(lambda: compared(fleet, "prod-myapp"), within=60, what="prod-myapp compared")
    assert app_state(app) == ("OutOfSync", "Missing"), app.get("status")
    assert app["spec"]["destination"] == {
        "server": fleet.bed.clusters["prod"].server,
        "namespace": production,
    }
    assert app["metadata"]["finalizers"] == [constants.FINALIZER_RESOURCES]
    resources = eventually(
        lambda: (fleet.get_set("myapp").get("status") or {}).get("resources"),
        within=30,
        what="the set's resources",
    )
    assert [r["name"] for r in resources] == ["prod-myapp"]

    app_sync(fleet, "prod-myapp")
    fleet.wait_app("prod-myapp", lambda a: synced_healthy(a, head), timeout=60, what="deployed")
    assert deployment_available(fleet.deployment("prod", production, deployment), IMAGE)
    assert fleet.deployment("staging", production, deployment) is None

    # Labelling staging 'production' adds staging-myapp within seconds, and it deploys.
    started = time.monotonic()
    fleet.label_cluster("staging", {"environment": "production"})
    eventually(
        lambda: set(fleet.apps()) == {"prod-myapp", "staging-myapp"},
        within=10,
        what="staging-myapp generated",
    )
    created = time.monotonic() - started
    eventually(lambda: compared(fleet, "staging-myapp"), within=30, what="staging-myapp compared")
    compared_after = time.monotonic() - started
    app_sync(fleet, "staging-myapp")
    fleet.wait_app("staging-myapp", lambda a: synced_healthy(a, head), timeout=60)
    healthy_after = time.monotonic() - started
    assert deployment_available(fleet.deployment("staging", production, deployment), IMAGE)
    print(
        f"\nlabel -> staging-myapp created {created:.2f}s, compared {compared_after:.2f}s, "
        f"synced+healthy (incl. manual sync) {healthy_after:.2f}s"
    )
    assert created < 5.0

    # Removing the label removes the app (policy 'sync'); its finalizer makes the Application
    # controller delete its resources on staging first.
    started = time.monotonic()
    fleet.label_cluster("staging", {"environment": "staging"})
    eventually(
        lambda: not fleet.app_exists("staging-myapp"), within=60, what="staging-myapp deleted"
    )
    assert fleet.deployment("staging", production, deployment) is None
    gone = time.monotonic() - started
    print(f"label removed -> staging-myapp and its Deployment gone {gone:.2f}s")
    assert set(fleet.apps()) == {"prod-myapp"}
    assert synced_healthy(fleet.get_app("prod-myapp"), head)
    assert deployment_available(fleet.deployment("prod", production, deployment), IMAGE)
