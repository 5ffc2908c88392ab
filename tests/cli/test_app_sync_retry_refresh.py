"""``tidegate app sync --retry-refresh`` with the real controller: a sync that fails on a bad
commit is retried; with ``--retry-refresh`` the retry renders the branch anew, so a fix pushed
meanwhile is what the retry syncs (argocd's ``retry.refresh``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.cli.appcli import Cli, eventually, register_repo, unique

from tidegate.testenv import gitrepos, handle

pytestmark = pytest.mark.e2e
BAD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {count: 1}\n"  # not a string
GOOD = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {count: '1'}\n"


def test_retry_takes_the_newest_revision(
    controlled: tuple[Cli, subprocess.Popen[bytes]],
    git_remote: handle.GitRemote,
    testbed_handle: handle.TestBed,
    namespace: str,
    tmp_path: Path,
) -> None:
    cli, _ = controlled
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / "cfg.yaml").write_text(BAD)
    repo = git_remote.create_repo(from_dir=src)
    name = unique("rref")
    register_repo(testbed_handle, cli.ns, git_remote, repo.http_url, name=f"repo-{name}")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo.http_url, "--path", "app", "--dest-server", server,
             "--dest-namespace", namespace]  # fmt: skip
    assert cli("create", name, *flags).exit_code == 0

    alone = cli("sync", name, "--retry-refresh", "--async")
    assert alone.exit_code == 2 and "--retry-refresh: needs a retry" in alone.stderr
    assert "operation" not in cli.app(name)

    synced = cli.popen("sync", name, "--retry-limit", "20", "--retry-backoff-duration", "2s",
                       "--retry-backoff-factor", "1", "--retry-refresh", "-o", "json",
                       "--timeout", "150")  # fmt: skip

    def retrying() -> bool:
        state = (cli.app(name).get("status") or {}).get("operationState") or {}
        return int(state.get("retryCount") or 0) >= 1 or "Retrying" in str(state.get("message"))

    eventually(retrying, within=90)
    work = gitrepos.WorkingCopy.clone(repo.http_url, tmp_path / "work", env=git_remote.client_env())
    work.commit({"app/cfg.yaml": GOOD}, "fix the data")
    fixed = work.head()
    code, out, err = synced.finish(within=180)
    log = (tmp_path / "controller.log").read_text()[-3000:]
    assert code == 0, f"{out}\n{err}\n{log}"
    state = json.loads(out)["status"]["operationState"]
    assert state["phase"] == "Succeeded"
    assert state["operation"]["retry"]["refresh"] is True
    assert state["syncResult"]["revision"] == fixed
    with testbed_handle.admin_client("dev") as dev:
        cm = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/cfg")
    assert cm.status_code == 200 and cm.json()["data"] == {"count": "1"}
