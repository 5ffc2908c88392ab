"""``tidegate notifications-controller`` in its own process, the application controller
started with ``--no-notifications``: one notification per event, from the standalone one."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tidegate.testenv import procs, scenario, wait
from tidegate.testenv.receiver import Recorder
from tidegate.testenv.scenario import GitOps, application, synced_healthy

pytestmark = pytest.mark.e2e


def CONTROLLER_ARGS(workdir: Path) -> list[str]:
    return ["--no-notifications", "--metrics-port=-1"]


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: blue\n"


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    try:
        yield rec
    finally:
        rec.close()


def test_standalone_notifications_controller(
    gitops: GitOps, recorder: Recorder, tmp_path: Path
) -> None:
    ns = gitops.namespace
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "argocd-notifications-cm", "namespace": ns},
        "data": {
            "service.webhook.hook": yaml.safe_dump({"url": f"{recorder.url}/hook"}),
            "template.app-sync-succeeded": yaml.safe_dump(
                {"webhook": {"hook": {"method": "POST", "body": "{{.app.metadata.name}}"}}}
            ),
        },
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [cm])
    log = tmp_path / "notifications.log"
    pid = procs.spawn(
        [sys.executable, "-m", "tidegate", "notifications-controller",
         f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}", "-n", ns, "--logformat=text"],
        log=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        asyncio.run(
            wait.eventually(lambda: "notifications controller ready" in log.read_text(), within=60)
        )
        repo, work = gitops.repo({"apps/s/configmap.yaml": CONFIGMAP})
        app = application(
            "standalone", repo_url=repo.http_url, path="apps/s",
            server=gitops.bed.clusters["dev"].server, namespace=f"s-{ns}",
        )  # fmt: skip
        app["metadata"]["annotations"] = {
            "notifications.argoproj.io/subscribe.on-sync-succeeded.hook": ""
        }
        gitops.create_app(app)
        gitops.wait_app("standalone", lambda a: synced_healthy(a, work.head()), timeout=90)
        asyncio.run(wait.eventually(lambda: recorder.at("/hook"), within=30))
        notified = asyncio.run(
            wait.eventually(
                lambda: (gitops.get_app("standalone")["metadata"].get("annotations") or {}).get(
                    "notified.notifications.argoproj.io"
                ),
                within=30,
            )
        )
        assert any(":on-sync-succeeded:" in key for key in json.loads(notified))
        assert [r["body"] for r in recorder.at("/hook")] == ["standalone"]
        assert "notifications controller ready" not in gitops.controller.log.read_text()
    finally:
        procs.stop([pid], marker=None, timeout=10)
