"""``app sync --server-side/--replace -o json|yaml`` and ``app rollback -o``, with the real
controller syncing to the test bed's dev cluster."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.cli.appcli import Cli, register_repo, unique

from tidegate.testenv import handle

pytestmark = pytest.mark.e2e


def test_sync_options_and_output_formats(
    controlled: tuple[Cli, subprocess.Popen[bytes]],
    source_dir: Path,
    git_remote: handle.GitRemote,
    testbed_handle: handle.TestBed,
    namespace: str,
    tmp_path: Path,
) -> None:
    cli, _ = controlled
    repo = git_remote.create_repo(from_dir=source_dir)
    register_repo(testbed_handle, cli.ns, git_remote, repo.http_url)
    name = unique("opts")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo.http_url, "--path", "app", "--dest-server", server]
    assert cli("create", name, *flags, "--dest-namespace", namespace).exit_code == 0

    tree = cli("sync", name, "-o", "tree")
    assert tree.exit_code == 2 and "'tree' is not one of wide, json, yaml" in tree.stderr
    assert "operation" not in cli.app(name)  # nothing was requested

    synced = cli.popen("sync", name, "--server-side", "-o", "json", "--timeout", "120")
    code, out, err = synced.finish(within=150)
    log = (tmp_path / "controller.log").read_text()[-3000:]
    assert code == 0, f"{out}\n{err}\n{log}"
    app = json.loads(out)  # only the application: no progress lines, no table
    state = app["status"]["operationState"]
    assert state["phase"] == "Succeeded"
    assert state["operation"]["sync"]["syncOptions"] == ["ServerSideApply=true"]

    replaced = cli.popen("sync", name, "--replace", "-o", "yaml", "--timeout", "120")
    code, out, err = replaced.finish(within=150)
    assert code == 0, f"{out}\n{err}"
    state = yaml.safe_load(out)["status"]["operationState"]
    assert state["phase"] == "Succeeded"
    assert state["operation"]["sync"]["syncOptions"] == ["Replace=true"]
    with testbed_handle.admin_client("dev") as dev:
        cm = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/web-config")
    assert cm.status_code == 200 and cm.json()["data"] == {"color": "blue"}

    rolled = cli.popen("rollback", name, "1", "-o", "json", "--timeout", "120")
    code, out, err = rolled.finish(within=150)
    assert code == 0, f"{out}\n{err}"
    assert json.loads(out)["status"]["operationState"]["phase"] == "Succeeded"


def test_sync_revisions_of_chosen_sources(
    controlled: tuple[Cli, subprocess.Popen[bytes]],
    source_dir: Path,
    git_remote: handle.GitRemote,
    testbed_handle: handle.TestBed,
    namespace: str,
    tmp_path: Path,
) -> None:
    """argocd's ``--revisions`` with ``--source-positions``/``--source-names``: the chosen
    source syncs to the given commit, the other to its target revision."""
    from tidegate.testenv import gitrepos

    cli, _ = controlled
    repo = git_remote.create_repo(from_dir=source_dir)
    register_repo(testbed_handle, cli.ns, git_remote, repo.http_url)
    work = gitrepos.WorkingCopy.clone(repo.http_url, tmp_path / "work", env=git_remote.client_env())
    first = work.head()
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {v: one}\n"
    work.commit({"other/cm.yaml": other,
                 "app/config.yaml": (source_dir / "app/config.yaml").read_text()
                 .replace("blue", "green")}, "green")  # fmt: skip
    name = unique("revs")
    server = testbed_handle.clusters["dev"].server
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "sources": [
                {"repoURL": repo.http_url, "path": "app", "targetRevision": "main"},
                {
                    "repoURL": repo.http_url,
                    "path": "other",
                    "targetRevision": "main",
                    "name": "extra",
                },
            ],
            "destination": {"server": server, "namespace": namespace},
        },
    }
    manifest = tmp_path / "app.yaml"
    manifest.write_text(yaml.safe_dump(app))
    assert cli("create", "-f", str(manifest)).exit_code == 0

    refused = cli("sync", name, "--revisions", first, "--source-positions", "3")
    assert refused.exit_code == 2 and "not a source position (1-2)" in refused.stderr
    assert "operation" not in cli.app(name)  # nothing was requested

    synced = cli.popen("sync", name, "--revisions", first, "--source-positions", "1",
                       "-o", "json", "--timeout", "120")  # fmt: skip
    code, out, err = synced.finish(within=150)
    assert code == 0, f"{out}\n{err}"
    state = json.loads(out)["status"]["operationState"]
    assert state["operation"]["sync"]["revisions"] == [first, "main"]

    def color() -> str:
        with testbed_handle.admin_client("dev") as dev:
            path = f"/api/v1/namespaces/{namespace}/configmaps/web-config"
            return str(dev.get(path).json()["data"]["color"])

    assert color() == "blue"  # the first commit's, not main's green
    # diff and manifests render the chosen source at the given revision too (nothing written)
    pinned = ["--revisions", first, "--source-positions", "1"]
    assert cli("diff", name, *pinned).exit_code == 0  # live is the first commit's
    assert cli("diff", name).exit_code == 1  # main differs (green)
    assert "color: blue" in cli("manifests", name, *pinned).stdout
    assert "color: green" in cli("manifests", name, "--source-names", "extra",
                                 "--revisions", "main").stdout  # fmt: skip
    mismatch = cli("diff", name, "--revisions", first)
    assert mismatch.exit_code == 2 and "one --revisions per" in mismatch.stderr
    head = work.head()
    by_name = cli.popen("sync", name, "--revisions", head, "--source-names", "extra",
                        "-o", "json", "--timeout", "120")  # fmt: skip
    code, out, err = by_name.finish(within=150)
    assert code == 0, f"{out}\n{err}"
    state = json.loads(out)["status"]["operationState"]
    assert state["operation"]["sync"]["revisions"] == ["main", head]
    assert color() == "green"  # the first source back at its target revision, main
