"""Secrets are compared as the API server stores them: a Secret written with ``stringData`` in
Git and tampered with on the cluster (through ``data`` or through ``stringData``) is OutOfSync,
and self-heal puts the value from Git back. No value, plain or base64, ever shows in the app's
status, the diff or the controller's log."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from typing import Any

from tidegate.testenv import scenario

VALUE = "from-git-hunter2"
TAMPERED = ("tampered-via-data", "tampered-via-stringdata")
SECRET = f"""apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: {VALUE}
"""
NEVER_SHOWN = [v for s in (VALUE, *TAMPERED) for v in (s, base64.b64encode(s.encode()).decode())]


def _password(gitops: scenario.GitOps, ns: str) -> str:
    out = scenario.kubectl(
        gitops.bed, "dev", "-n", ns, "get", "secret", "creds", "-o", "jsonpath={.data.password}"
    )
    return base64.b64decode(out).decode()


def _secret_status(app: dict[str, Any]) -> str:
    for res in (app.get("status") or {}).get("resources") or []:
        if res.get("kind") == "Secret" and res.get("name") == "creds":
            return str(res.get("status"))
    return ""


def _assert_masked(text: str, where: str) -> None:
    for secret in NEVER_SHOWN:
        assert secret not in text, f"a Secret value shows in {where}"


def _diff(gitops: scenario.GitOps, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidegate", "app", "diff", name, "--no-color",
         f"--kubeconfig={gitops.bed.clusters['mgmt'].kubeconfig}",
         f"--namespace={gitops.namespace}", f"--cache-dir={gitops.workdir / 'cli-cache'}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_secret_drift_through_data_or_string_data_is_seen_and_healed(
    gitops: scenario.GitOps,
) -> None:
    repo, work = gitops.repo({"app/secret.yaml": SECRET})
    ns = f"secret-{gitops.namespace}"
    app = scenario.application(
        "secret-drift",
        repo_url=repo.http_url,
        path="app",
        server=gitops.bed.clusters["dev"].server,
        namespace=ns,
        self_heal=False,
    )
    gitops.create_app(app)
    gitops.wait_app("secret-drift", lambda a: scenario.synced_healthy(a, work.head()), timeout=60)
    assert _password(gitops, ns) == VALUE

    # Without self-heal the drift stays, and shows: OutOfSync, and a masked diff.
    patch = {"data": {"password": base64.b64encode(TAMPERED[0].encode()).decode()}}
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "patch", "secret", "creds",
                     "--type=merge", "-p", json.dumps(patch))  # fmt: skip
    drifted = gitops.wait_app(
        "secret-drift",
        lambda a: _secret_status(a) == "OutOfSync",
        timeout=60,
        what="the tampered Secret to be OutOfSync",
    )
    assert drifted["status"]["sync"]["status"] == "OutOfSync"
    _assert_masked(json.dumps(drifted), "the app")
    diff = _diff(gitops, "secret-drift")
    assert diff.returncode == 1, diff.stderr
    assert f"===== Secret {ns}/creds ======" in diff.stdout
    assert "-  password: +" in diff.stdout and "+  password: +" in diff.stdout
    _assert_masked(diff.stdout + diff.stderr, "app diff")
    assert _password(gitops, ns) == TAMPERED[0]

    # Self-heal puts Git's value back; so it does after a change made through stringData.
    gitops.patch_app(
        "secret-drift", {"spec": {"syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}}
    )
    gitops.wait_app(
        "secret-drift",
        lambda a: scenario.synced_healthy(a) and _password(gitops, ns) == VALUE,
        timeout=90,
        what="self-heal to restore the value changed through data",
    )
    patch = {"stringData": {"password": TAMPERED[1]}}
    scenario.kubectl(gitops.bed, "dev", "-n", ns, "patch", "secret", "creds",
                     "--type=merge", "-p", json.dumps(patch))  # fmt: skip
    healed = gitops.wait_app(
        "secret-drift",
        lambda a: (
            scenario.synced_healthy(a)
            and len(a["status"].get("history") or []) >= 3
            and _password(gitops, ns) == VALUE
        ),
        timeout=90,
        what="self-heal to restore the value changed through stringData",
    )
    _assert_masked(json.dumps(healed), "the app")
    _assert_masked(gitops.controller.log.read_text(errors="replace"), "the controller log")
