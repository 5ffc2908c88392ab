"""``syncOverrun``: a sync already running when a deny window starts goes on if the window
allows it, and is stopped if it does not. Two apps sync at once, each waiting on a wave that
never turns healthy (a PersistentVolumeClaim no provisioner binds), and one deny window of each
kind starts while they run: the window without overrun terminates its app's sync, the other
app's sync is still running after that."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

from tidegate.model import constants
from tidegate.testenv import scenario

WAITING = """apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  annotations: {"argocd.argoproj.io/sync-wave": "0"}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: no-such-class
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: after
  annotations: {"argocd.argoproj.io/sync-wave": "1"}
data: {k: v}
"""


def _operation(app: dict[str, Any]) -> dict[str, Any]:
    return dict((app.get("status") or {}).get("operationState") or {})


def test_deny_window_stops_a_running_sync_unless_it_overruns(gitops: scenario.GitOps) -> None:
    now = dt.datetime.now(dt.UTC)
    # Both windows start at the same minute, 60-120 s from now: the syncs are running by then.
    start = (now + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    window = {"kind": "deny", "schedule": f"{start.minute} {start.hour} * * *", "duration": "1h",
              "timeZone": "UTC"}  # fmt: skip
    project = {
        "apiVersion": constants.API_VERSION,
        "kind": "AppProject",
        "metadata": {"name": "overrun", "namespace": gitops.namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "syncWindows": [
                {**window, "applications": ["overrun-*"], "syncOverrun": True},
                {**window, "applications": ["stopped-*"]},
            ],
        },
    }
    scenario.apply_manifests(gitops.bed, "mgmt", [project])
    repo, _ = gitops.repo({"app/all.yaml": WAITING})
    names = {"overrun": "overrun-app", "stopped": "stopped-app"}
    for name in names.values():
        gitops.create_app(
            scenario.application(
                name,
                repo_url=repo.http_url,
                path="app",
                server=gitops.bed.clusters["dev"].server,
                namespace=f"{name}-{gitops.namespace}",
                project="overrun",
                automated=False,
            )
        )
    for name in names.values():
        started = subprocess.run(
            [sys.executable, "-m", "tidegate", "app", "sync", name, "--async",
             f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
             f"--namespace={gitops.namespace}"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert started.returncode == 0, started.stdout + started.stderr
    for name in names.values():
        app = gitops.wait_app(
            name,
            lambda a: _operation(a).get("phase") == "Running",
            timeout=60,
            what="the sync to run (waiting on the claim)",
        )
        began = dt.datetime.fromisoformat(_operation(app)["startedAt"].replace("Z", "+00:00"))
        assert began < start, f"{name}'s sync began at {began}, after the windows ({start})"

    stopped = gitops.wait_app(
        names["stopped"],
        lambda a: _operation(a).get("phase") in ("Failed", "Error", "Succeeded"),
        timeout=240,
        what="the deny window without overrun to stop the running sync",
    )
    assert _operation(stopped)["phase"] == "Failed"
    assert "terminated: sync blocked by an active sync window" in _operation(stopped)["message"]
    assert dt.datetime.now(dt.UTC) >= start
    # Checked at the same pace as the stopped one, the overrunning sync is still running.
    assert _operation(gitops.get_app(names["overrun"]))["phase"] == "Running"
