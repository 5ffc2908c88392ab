"""The whole-pass memo (controller/passmemo.py) with the real controller, repository and
cluster: right after a refresh that reused the last pass, a drift of the live object, a change
of the app's spec, a new commit and a refresh someone asks for are all seen.

The controller polls Git only every 600 s here. A refresh that changes nothing is caused by a
webhook push naming the commit already deployed (the repository is fetched, the app
refreshed), repeated until the controller's ``tidegate_app_refresh_reused_total`` says a pass
was reused: the memo then holds the app exactly as it is, so each change below is the only
difference the next pass sees. Each input alone: tests/controller/test_passmemo.py."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from tidegate.model import constants
from tidegate.testenv import faultfleet, gitrepos, procs, wait
from tidegate.testenv.scenario import GitOps, application, kubectl, synced_healthy

pytestmark = pytest.mark.e2e

APP_RESYNC = 600  # no Git poll during the test
METRICS_PORT = procs.free_port()


def CONTROLLER_ARGS(workdir: Path) -> list[str]:
    return [f"--metrics-port={METRICS_PORT}"]


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: {}\n"


def _reused(namespace: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=5).text
    found = re.findall(
        rf'^tidegate_app_refresh_reused_total\{{namespace="{re.escape(namespace)}"\}} (\S+)$',
        text,
        flags=re.MULTILINE,
    )
    return sum(float(v) for v in found)


def _push(gitops: GitOps, repo: gitrepos.RepoInfo, sha: str = "0" * 40) -> None:
    """A GitHub push delivery for ``main``; without ``sha`` it names no commit, so the
    controller does not drop it as a repeat of a delivery it already fetched."""
    resp = httpx.post(
        f"http://127.0.0.1:{gitops.webhook_port}/api/webhook",
        content=faultfleet.push_webhook(repo, sha),
        headers={"X-GitHub-Event": "push", "Content-Type": "application/json"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text


def _until_a_pass_is_reused(gitops: GitOps, repo: gitrepos.RepoInfo) -> None:
    before = _reused(gitops.namespace)

    def reused() -> bool:
        _push(gitops, repo)  # fetch, then refresh: nothing changed
        return _reused(gitops.namespace) > before

    wait.eventually_blocking(reused, within=30, every=0.5, what="a reused pass")


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

    # Drift of the live object: OutOfSync (selfHeal is off, so it stays).
    _until_a_pass_is_reused(gitops, repo)
    kubectl(gitops.bed, "dev", "-n", dest, "patch", "configmap", "settings", "--type=merge",
            "-p", '{"data": {"mode": "green"}}')  # fmt: skip
    gitops.wait_app(
        "web",
        lambda a: (a.get("status") or {}).get("sync", {}).get("status") == "OutOfSync",
        timeout=30,
        what="OutOfSync after the drift",
    )

    # The app's ignoreDifferences now hides the drifted field: Synced again.
    _until_a_pass_is_reused(gitops, repo)
    gitops.patch_app(
        "web",
        {"spec": {"ignoreDifferences": [{"kind": "ConfigMap", "jsonPointers": ["/data/mode"]}]}},
    )
    gitops.wait_app(
        "web", lambda a: synced_healthy(a, first), timeout=30, what="Synced, drift ignored"
    )

    # A new commit, pushed with its webhook: compared (and synced) at once.
    _until_a_pass_is_reused(gitops, repo)
    second = work.commit({"apps/web/configmap.yaml": CONFIGMAP.format("red")}, "red")
    _push(gitops, repo, second)
    gitops.wait_app(
        "web", lambda a: synced_healthy(a, second), timeout=60, what="Synced at the new commit"
    )

    # A commit nobody told the controller about (the poll is 600 s away): a refresh someone
    # asks for resolves the branch at the server, whatever the memo remembers. (Not proof
    # that the ask bypasses the memo: a nudge's trailing fetch, up to a second after the
    # last one, may fetch the commit too. The bypass: refresh.evaluate, hard or latest.)
    _until_a_pass_is_reused(gitops, repo)
    third = work.commit({"apps/web/configmap.yaml": CONFIGMAP.format("blue")}, "blue")
    gitops.patch_app("web", {"metadata": {"annotations": {constants.ANNOTATION_REFRESH: "normal"}}})
    gitops.wait_app(
        "web", lambda a: synced_healthy(a, third), timeout=60, what="Synced after the ask"
    )
