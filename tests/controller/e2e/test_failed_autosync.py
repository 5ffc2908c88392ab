"""An automated sync that fails shows Argo CD's SyncError ("Failed sync attempt to <revision>:
...") and, with selfHeal, is attempted again after the back-off until it succeeds."""

from __future__ import annotations

import secrets
from typing import Any

from tidegate.testenv import scenario

APP_RESYNC = 3

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: {namespace}
data:
  mode: one
"""


def _sync_error(app: dict[str, Any]) -> str:
    for cond in (app.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "SyncError":
            return str(cond.get("message") or "")
    return ""


def _started_at(app: dict[str, Any]) -> str:
    return str(((app.get("status") or {}).get("operationState") or {}).get("startedAt") or "")


def test_a_failed_automated_sync_is_reported_and_retried_with_self_heal(
    gitops: scenario.GitOps,
) -> None:
    server = gitops.bed.clusters["dev"].server
    missing = f"missing-{secrets.token_hex(3)}"  # no CreateNamespace: the sync fails
    repo, work = gitops.repo({"app/cm.yaml": CM.format(namespace=missing)})
    name = f"fails-{secrets.token_hex(3)}"
    gitops.create_app(
        scenario.application(
            name, repo_url=repo.http_url, path="app", server=server, namespace=missing,
            sync_options=(),
        )
    )  # fmt: skip
    head = work.head()
    failed = gitops.wait_app(
        name,
        lambda a: _sync_error(a).startswith(f"Failed sync attempt to {head}: "),
        timeout=90,
        what="SyncError",
    )
    assert failed["status"]["sync"]["status"] == "OutOfSync"
    first = _started_at(failed)
    # selfHeal: another attempt once the back-off is over
    gitops.wait_app(
        name,
        lambda a: _started_at(a) not in ("", first),
        timeout=90,
        what="a retry",
    )
    scenario.kubectl(gitops.bed, "dev", "create", "namespace", missing)
    try:
        done = gitops.wait_app(
            name,
            lambda a: scenario.synced_healthy(a, head) and not _sync_error(a),
            timeout=240,
            what="a retry that succeeds",
        )
        assert done["status"]["operationState"]["phase"] == "Succeeded"
    finally:
        scenario.kubectl(gitops.bed, "dev", "delete", "namespace", missing, "--wait=false")
