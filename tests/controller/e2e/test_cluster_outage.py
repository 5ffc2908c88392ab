"""A workload cluster's API server dies and comes back: its apps are Unknown, with the condition,
for every sample of the outage (no flapping), no operation starts against it, and every app
converges once it answers again.

Destructive for a moment: it kills the ``dev`` API server of the session's test bed and
restarts it in place (``testenv up``, same port and data). In CI, and in any run that starts its
own bed, that bed is private to the run, so the test always runs there. A bed shared between
sessions (TIDEGATE_TESTENV_DIR) is only used when TIDEGATE_OUTAGE_BED names it too, as consent.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tidegate.testenv import faults, procs, scenario, testbed

APP_RESYNC = 3
OUTAGE_SAMPLES = 30  # every 0.5 s: 15 s of outage observed after the first Unknown

_SHARED = os.environ.get("TIDEGATE_TESTENV_DIR")
pytestmark = pytest.mark.skipif(
    bool(_SHARED) and os.environ.get("TIDEGATE_OUTAGE_BED") != _SHARED,
    reason="kills an API server of a bed shared between sessions: set TIDEGATE_OUTAGE_BED to it "
    "to consent (never the case in CI, where the bed is the run's own)",
)

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: {mode}
"""


def _sync_health(app: dict[str, Any]) -> tuple[str, str]:
    status = app.get("status") or {}
    return (
        str((status.get("sync") or {}).get("status") or ""),
        str((status.get("health") or {}).get("status") or ""),
    )


def _started_at(app: dict[str, Any]) -> str:
    return str(((app.get("status") or {}).get("operationState") or {}).get("startedAt") or "")


def _up(directory: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "tidegate", "testenv", "up", f"--dir={directory}",
         "--clusters=mgmt,dev"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip


def test_an_unreachable_cluster_is_unknown_without_flapping_and_recovers(
    gitops: scenario.GitOps,
) -> None:
    directory = gitops.bed.directory
    server = gitops.bed.clusters["dev"].server
    suffix = secrets.token_hex(3)
    names = [f"outage-{index}-{suffix}" for index in range(3)]
    works = []
    for name in names:
        repo, work = gitops.repo({"app/cm.yaml": CM.format(mode="one")})
        works.append(work)
        gitops.create_app(
            scenario.application(name, repo_url=repo.http_url, path="app", server=server,
                                 namespace=name)
        )  # fmt: skip
    for name in names:
        gitops.wait_app(name, scenario.synced_healthy, timeout=90, what="first sync")
    started = {name: _started_at(gitops.get_app(name)) for name in names}

    state = testbed.State.load(directory)
    assert state is not None
    apiserver = state.clusters["dev"].pids["kube-apiserver"]
    os.kill(apiserver, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while procs.alive(apiserver):  # SIGKILL is delivered at once; the reaping is polled
        assert time.monotonic() < deadline, "the API server did not die"
        time.sleep(0.1)
    # A new commit while the cluster is down: an automated sync would want it, and must wait.
    latest = works[0].commit({"app/cm.yaml": CM.format(mode="two")}, "during the outage")
    try:
        for name in names:
            gitops.wait_app(
                name,
                lambda a: _sync_health(a) == ("Unknown", "Unknown"),
                timeout=60,
                what="Unknown while the cluster is down",
            )
        samples: list[tuple[str, tuple[str, str], str, bool]] = []
        for _ in range(OUTAGE_SAMPLES):
            for name in names:
                app = gitops.get_app(name)
                conditions = (app.get("status") or {}).get("conditions") or []
                named = any(
                    c.get("type") == "ComparisonError" and "dev" in str(c.get("message"))
                    for c in conditions
                )
                samples.append((name, _sync_health(app), _started_at(app), named))
            time.sleep(0.5)  # the sampling period, not a synchronisation
    finally:
        _up(directory)  # the same API server, restarted in place
    flapped = [s for s in samples if s[1] != ("Unknown", "Unknown") or not s[3]]
    assert not flapped, flapped[:5]
    operations = [s for s in samples if s[2] != started[s[0]]]
    assert not operations, f"operations started against the dead cluster: {operations[:3]}"

    gitops.wait_app(
        names[0],
        lambda a: scenario.synced_healthy(a, latest),
        timeout=90,
        what="the commit made during the outage, synced after it",
    )
    for name in names[1:]:
        app = gitops.wait_app(name, scenario.synced_healthy, timeout=90, what="recovery")
        assert not [
            c for c in app["status"].get("conditions") or [] if c["type"] == "ComparisonError"
        ]


def test_a_hung_cluster_with_nothing_to_do_is_noticed_and_recovers(
    gitops: scenario.GitOps,
) -> None:
    """A server that accepts connections and never answers (SIGSTOP), while its apps have
    nothing to sync and their refreshes are answered from the live cache: the heartbeat marks
    the cluster down within a minute (the watches alone would wait for their read timeout, over
    five minutes), the apps turn Unknown with the condition, and come back once it answers."""
    server = gitops.bed.clusters["dev"].server
    name = f"hung-{secrets.token_hex(3)}"
    repo, _ = gitops.repo({"app/cm.yaml": CM.format(mode="idle")})
    gitops.create_app(
        scenario.application(name, repo_url=repo.http_url, path="app", server=server,
                             namespace=name)
    )  # fmt: skip
    gitops.wait_app(name, scenario.synced_healthy, timeout=90, what="first sync")
    bed_faults = faults.BedFaults(gitops.bed.directory)
    bed_faults.hang("kube-apiserver", "dev")
    try:
        app = gitops.wait_app(
            name,
            lambda a: _sync_health(a) == ("Unknown", "Unknown"),
            timeout=90,
            what="Unknown while the cluster hangs",
        )
        messages = [str(c.get("message")) for c in app["status"].get("conditions") or []]
        assert any("dev" in m for m in messages), messages
    finally:
        bed_faults.resume("kube-apiserver", "dev")
    gitops.wait_app(name, scenario.synced_healthy, timeout=90, what="recovery after the hang")
