"""``tidegate app sync --local DIR`` with the real controller syncing to the test bed's dev
cluster: the local render is what gets applied, no commit; the refusals change nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.cli.appcli import Cli, register_repo, unique

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


def test_sync_local_directory(
    controlled: tuple[Cli, subprocess.Popen[bytes]],
    source_dir: Path,
    git_remote: handle.GitRemote,
    testbed_handle: handle.TestBed,
    namespace: str,
    tmp_path: Path,
) -> None:
    cli, _ = controlled
    repo = git_remote.create_repo(from_dir=source_dir)
    name = unique("slocal")
    register_repo(testbed_handle, cli.ns, git_remote, repo.http_url, name=f"repo-{name}")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo.http_url, "--path", "app", "--dest-server", server,
             "--dest-namespace", namespace, "--sync-policy", "automated"]  # fmt: skip
    assert cli("create", name, *flags).exit_code == 0

    local = tmp_path / "repo" / "app"
    local.mkdir(parents=True)
    config = (source_dir / "app" / "config.yaml").read_text().replace("blue", "green")
    (local / "config.yaml").write_text(config)

    refused = cli("sync", name, "--local", str(local))
    assert refused.exit_code == 1
    assert "--local cannot sync while automated sync is on" in refused.stderr
    assert cli("set", name, "--sync-policy", "none").exit_code == 0

    with_secret = tmp_path / "with-secret"
    shutil.copytree(source_dir / "app", with_secret)
    leaky = cli("sync", name, "--local", str(with_secret))
    assert leaky.exit_code == 1 and "--local renders Secret web-secret" in leaky.stderr
    assert "s3cr3t" not in leaky.output
    assert (cli.app(name).get("operation") or {}).get("sync", {}).get("manifests") is None

    synced = cli.popen("sync", name, "--local", str(local), "--local-repo-root",
                       str(local.parent), "-o", "json", "--timeout", "120")  # fmt: skip
    code, out, err = synced.finish(within=150)
    log = (tmp_path / "controller.log").read_text()[-3000:]
    assert code == 0, f"{out}\n{err}\n{log}"
    state = json.loads(out)["status"]["operationState"]
    assert state["phase"] == "Succeeded"
    sent = [json.loads(m) for m in state["operation"]["sync"]["manifests"]]
    assert [(m["kind"], m["metadata"]["name"]) for m in sent] == [("ConfigMap", "web-config")]
    with testbed_handle.admin_client("dev") as dev:
        cm = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/web-config")
        secret = dev.get(f"/api/v1/namespaces/{namespace}/secrets/web-secret")
    assert cm.status_code == 200 and cm.json()["data"] == {"color": "green"}
    assert secret.status_code == 404  # only what the local directory renders was synced

    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = cli("sync", name, "--local", str(empty))
    assert nothing.exit_code == 1 and "renders no object" in nothing.stderr
