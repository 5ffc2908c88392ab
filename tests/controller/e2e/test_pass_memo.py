"""The whole-pass memo (controller/passmemo.py) with the real controller, repository and
cluster: after passes that changed nothing, a refresh someone asks for, a drift of the live
object and a change of the app's spec are all seen.

The controller polls Git only every 600 s here. Refreshes are caused by touching the live
object (an unrelated label) and counted with the controller's own
``argocd_app_reconcile_count``, so the memo holds a pass of the app as it is before each step.
(A touch also rewrites the app's recorded no-op predictions, recall.py, which are part of the
memo's inputs; each input alone is tested in tests/controller/test_passmemo.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tidegate.model import constants
from tidegate.testenv import procs, wait
from tidegate.testenv.scenario import GitOps, application, kubectl, synced_healthy

pytestmark = pytest.mark.e2e

APP_RESYNC = 600  # no Git poll during the test
METRICS_PORT = procs.free_port()


def CONTROLLER_ARGS(workdir: Path) -> list[str]:
    return [f"--metrics-port={METRICS_PORT}"]


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: {}\n"


def _reconciles(namespace: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5).text
    found = re.findall(
        rf'^argocd_app_reconcile_count\{{[^}}]*namespace="{re.escape(namespace)}"[^}}]*\}} (\S+)$',
        text,
        flags=re.MULTILINE,
    )
    return sum(float(v) for v in found)


def _touch_and_wait_for_a_refresh(gitops: GitOps, dest: str, value: str) -> None:
    """A new resourceVersion of the live object, nothing Git cares about: one refresh."""
    before = _reconciles(gitops.namespace)
    kubectl(gitops.bed, "dev", "-n", dest, "label", "--overwrite", "configmap", "settings",
            f"touched={value}")  # fmt: skip
    wait.eventually_blocking(
        lambda: _reconciles(gitops.namespace) > before, within=30, what="a refresh of the app"
    )


def test_a_remembered_pass_still_sees_an_asked_refresh_a_drift_and_a_spec_change(
    gitops: GitOps,
) -> None:
    repo, work = gitops.repo({"apps/web/configmap.yaml": CONFIGMAP.format("blue")})
    dest = f"memo-{gitops.namespace}"
    app = application(
        "web",
        repo_url=repo.http_url,
        path="apps/web",
        server=gitops.bed.clusters["dev"].server,
        namespace=dest,
        self_heal=False,
    )
    gitops.create_app(app)
    first = work.head()
    gitops.wait_app("web", lambda a: synced_healthy(a, first), timeout=90, what="Synced")
    # Two refreshes that change nothing: the second is computed from the app as it is now.
    _touch_and_wait_for_a_refresh(gitops, dest, "1")
    _touch_and_wait_for_a_refresh(gitops, dest, "2")
    assert synced_healthy(gitops.get_app("web"), first)

    # A commit nobody told the controller about (the poll is 600 s away): a refresh someone
    # asks for resolves the branch at the server, whatever the memo remembers.
    second = work.commit({"apps/web/configmap.yaml": CONFIGMAP.format("red")}, "red")
    gitops.patch_app("web", {"metadata": {"annotations": {constants.ANNOTATION_REFRESH: "normal"}}})
    gitops.wait_app(
        "web", lambda a: synced_healthy(a, second), timeout=60, what="Synced at the new commit"
    )
    _touch_and_wait_for_a_refresh(gitops, dest, "3")
    _touch_and_wait_for_a_refresh(gitops, dest, "4")

    # Drift of the live object: OutOfSync (selfHeal is off, so it stays).
    kubectl(gitops.bed, "dev", "-n", dest, "patch", "configmap", "settings", "--type=merge",
            "-p", '{"data": {"mode": "green"}}')  # fmt: skip
    gitops.wait_app(
        "web",
        lambda a: (a.get("status") or {}).get("sync", {}).get("status") == "OutOfSync",
        timeout=30,
        what="OutOfSync after the drift",
    )
    _touch_and_wait_for_a_refresh(gitops, dest, "5")
    _touch_and_wait_for_a_refresh(gitops, dest, "6")

    # The app's ignoreDifferences now hides the drifted field: Synced again.
    gitops.patch_app(
        "web",
        {"spec": {"ignoreDifferences": [{"kind": "ConfigMap", "jsonPointers": ["/data/mode"]}]}},
    )
    gitops.wait_app(
        "web", lambda a: synced_healthy(a, second), timeout=30, what="Synced, drift ignored"
    )
