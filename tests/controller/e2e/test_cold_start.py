"""Cold sync and cold start (issue 18), on a real controller process and the test bed.

Dry runs are counted with the controller's own ``argocd_app_k8s_request_total{dry_run="true"}``
(per app, since the process started), so each number below is what the API server received.

- Cold sync: an automated app whose objects do not exist is synced with one validating dry run
  per object (the sync's), none from its refreshes; a bad manifest still fails the whole sync
  before anything is applied.
- Cold start: rendered manifests survive a restart (render/persist.py), keyed by commit: an app
  whose Git changed while the controller was down renders its new commit and shows OutOfSync.
- Cold start: after a restart, objects whose recorded prediction still holds are not dry-run
  again; one changed while the controller was down is, and its app shows OutOfSync (never a
  false Synced); a tampered record and one copied from another app are not trusted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidegate.testenv import gitrepos, procs, scenario, wait

pytestmark = pytest.mark.e2e

METRICS_PORT = procs.free_port()


def CONTROLLER_ARGS(workdir: Path) -> list[str]:
    return [f"--metrics-port={METRICS_PORT}"]


def _configmap(name: str, value: str = "v") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: {value}\n"


BAD = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata: {k: v}\nspecc: {x: 1}\n"
LINE = re.compile(r"^argocd_app_k8s_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")


def dry_runs(namespace: str, app: str) -> int:
    """Dry-run requests the running controller sent for ``app`` since it started."""
    text = httpx.get(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        found = LINE.match(line)
        if not found:
            continue
        labels = found["labels"]
        if (f'name="{app}"' in labels and f'namespace="{namespace}"' in labels
                and 'dry_run="true"' in labels):  # fmt: skip
            total += float(found["value"])
    return int(total)


def _predictions(app: dict[str, Any]) -> list[str]:
    return list(((app.get("status") or {}).get("tidegate") or {}).get("predictions") or [])


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def destination(gitops: scenario.GitOps) -> Iterator[str]:
    ns = f"cold-{secrets.token_hex(3)}-{gitops.namespace}"
    scenario.kubectl(gitops.bed, "dev", "create", "namespace", ns)
    yield ns
    scenario.kubectl(gitops.bed, "dev", "delete", "namespace", ns, "--wait=false", check=False)


def _app(
    gitops: scenario.GitOps, name: str, files: dict[str, str], namespace: str
) -> gitrepos.WorkingCopy:
    repo, work = gitops.repo({f"app/{path}": text for path, text in files.items()})
    gitops.create_app(
        scenario.application(
            name,
            repo_url=repo.http_url,
            path="app",
            server=gitops.bed.clusters["dev"].server,
            namespace=namespace,
            self_heal=False,  # drift stays visible as OutOfSync
            sync_options=(),  # the namespace exists: nothing but the ConfigMaps is created
        )
    )
    return work


def test_cold_sync_creates_missing_objects_with_only_the_syncs_validation(
    gitops: scenario.GitOps, destination: str
) -> None:
    files = {f"{n}.yaml": _configmap(f"fresh-{n}") for n in ("a", "b", "c")}
    _app(gitops, "fresh", files, destination)
    gitops.wait_app("fresh", scenario.synced_healthy, timeout=90, what="Synced and Healthy")
    # Settled: the record of the three no-op predictions is written after the sync.
    gitops.wait_app("fresh", lambda a: len(_predictions(a)) == 3, timeout=60, what="a record")
    # One dry run per object: the sync's validation. Its refreshes sent none (the missing
    # objects were left to the sync; the sync's own apply answers were the predictions after).
    assert dry_runs(gitops.namespace, "fresh") == 3


def test_cold_sync_still_refuses_a_bad_manifest_without_applying_its_neighbours(
    gitops: scenario.GitOps, destination: str
) -> None:
    files = {"good-1.yaml": _configmap("good-1"), "good-2.yaml": _configmap("good-2"),
             "bad.yaml": BAD}  # fmt: skip
    _app(gitops, "badbatch", files, destination)
    app = gitops.wait_app(
        "badbatch",
        lambda a: ((a.get("status") or {}).get("operationState") or {}).get("phase") == "Failed",
        timeout=90,
        what="the automated sync to fail its validation",
    )
    message = app["status"]["operationState"]["message"]
    lines = message.splitlines()
    assert lines[0] == "one or more objects failed to apply (dry run), nothing was applied:"
    assert len(lines) == 2 and lines[1].startswith(f"- ConfigMap {destination}/bad: "), message
    assert "specc" in message
    for name in ("good-1", "good-2", "bad"):
        out = scenario.kubectl(gitops.bed, "dev", "-n", destination, "get", "configmap", name,
                               check=False)  # fmt: skip
        assert "NotFound" in out, out


def test_restart_dry_runs_only_changed_objects_and_trusts_no_foreign_record(
    gitops: scenario.GitOps, destination: str
) -> None:
    names = ("steady", "drifted", "tampered", "foreign")
    for name in names:
        files = {f"{n}.yaml": _configmap(f"{name}-{n}") for n in ("a", "b", "c")}
        _app(gitops, name, files, destination)
    for name in names:
        gitops.wait_app(name, scenario.synced_healthy, timeout=120, what="Synced and Healthy")
        gitops.wait_app(name, lambda a: len(_predictions(a)) == 3, timeout=60, what="a record")

    gitops.controller.stop()
    stopped_at = _now()
    # While the controller is down: live drifts under one app; two records are tampered with.
    scenario.kubectl(gitops.bed, "dev", "-n", destination, "patch", "configmap", "drifted-b",
                     "--type=merge", "-p", '{"data":{"k":"changed by hand"}}')  # fmt: skip
    steady = _predictions(gitops.get_app("steady"))
    original = _predictions(gitops.get_app("tampered"))
    tampered = [("A" if d[0] != "A" else "B") + d[1:] for d in original]
    gitops.patch_app("tampered", {"status": {"tidegate": {"predictions": tampered}}})
    gitops.patch_app("foreign", {"status": {"tidegate": {"predictions": steady}}})
    asyncio.run(wait.eventually(lambda: _now() > stopped_at, within=5))  # reconciledAt: seconds

    # The same process handle, started again (the module's fixture stops it), with a new log.
    gitops.controller.log = gitops.workdir / "controller-restarted.log"
    gitops.controller.start().wait_log("controller ready", timeout=60)

    def refreshed(app: dict[str, Any]) -> bool:
        """Compared by the restarted controller. A refresh that finds the cluster's live state
        not loaded yet (a loaded machine) writes Unknown, never a comparison: wait past it."""
        status = app.get("status") or {}
        return (str(status.get("reconciledAt") or "") > stopped_at
                and (status.get("sync") or {}).get("status") != "Unknown")  # fmt: skip

    after = {n: gitops.wait_app(n, refreshed, timeout=60, what="a refresh after the restart")
             for n in names}  # fmt: skip
    # The first comparison the restarted controller wrote for the drifted app is OutOfSync.
    assert after["drifted"]["status"]["sync"]["status"] == "OutOfSync"
    drifted = {r["name"]: r["status"] for r in after["drifted"]["status"]["resources"]}
    assert drifted == {"drifted-a": "Synced", "drifted-b": "OutOfSync", "drifted-c": "Synced"}
    for name in ("steady", "tampered", "foreign"):
        assert after[name]["status"]["sync"]["status"] == "Synced", name
    # Recalled: nothing sent for the steady app, one dry run for the one object that changed;
    # the tampered and the copied records were not trusted: every object was dry-run.
    assert dry_runs(gitops.namespace, "steady") == 0
    assert dry_runs(gitops.namespace, "drifted") == 1
    assert dry_runs(gitops.namespace, "tampered") == 3
    assert dry_runs(gitops.namespace, "foreign") == 3
    # And the records are right again, for the next restart.
    gitops.wait_app("tampered", lambda a: _predictions(a) == original, timeout=60,
                    what="its own record back")  # fmt: skip
    gitops.wait_app("foreign", lambda a: len(_predictions(a)) == 3 and not set(_predictions(a))
                    & set(steady), timeout=60, what="a record of its own")  # fmt: skip


def test_restart_renders_again_what_git_changed_while_the_controller_was_down(
    gitops: scenario.GitOps, destination: str
) -> None:
    works = {}
    for name in ("kept", "moved"):
        files = {f"{n}.yaml": _configmap(f"{name}-{n}") for n in ("a", "b")}
        works[name] = _app(gitops, name, files, destination)
    for name in works:
        gitops.wait_app(name, scenario.synced_healthy, timeout=120, what="Synced and Healthy")
        # No automated sync from here: the new commit's OutOfSync stays to be seen (an
        # automated sync would make it Synced moments later, faster than a poll can tell).
        gitops.patch_app(name, {"spec": {"syncPolicy": {"automated": None}}})
    before = gitops.get_app("moved")["status"]["sync"]["revision"]

    gitops.controller.stop()
    stopped_at = _now()
    # While the controller is down, Git moves on for one app: its persisted render (of the old
    # commit) would say Synced; the restarted controller must render the new commit.
    sha = works["moved"].commit({"app/b.yaml": _configmap("moved-b", "new")}, "change b")
    assert sha != before
    asyncio.run(wait.eventually(lambda: _now() > stopped_at, within=5))  # reconciledAt: seconds

    gitops.controller.log = gitops.workdir / "controller-restarted-git.log"
    gitops.controller.start().wait_log("controller ready", timeout=60)

    def refreshed(app: dict[str, Any]) -> bool:
        status = app.get("status") or {}
        return (str(status.get("reconciledAt") or "") > stopped_at
                and (status.get("sync") or {}).get("status") != "Unknown")  # fmt: skip

    moved = gitops.wait_app("moved", refreshed, timeout=60, what="a refresh after the restart")
    kept = gitops.wait_app("kept", refreshed, timeout=60, what="a refresh after the restart")
    # The first comparison written after the restart is of the new commit, and OutOfSync.
    assert moved["status"]["sync"]["revision"] == sha
    assert moved["status"]["sync"]["status"] == "OutOfSync"
    resources = {r["name"]: r["status"] for r in moved["status"]["resources"]}
    assert resources == {"moved-a": "Synced", "moved-b": "OutOfSync"}
    assert kept["status"]["sync"]["status"] == "Synced"
