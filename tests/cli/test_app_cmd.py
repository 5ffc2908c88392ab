"""``tidegate app`` against the real test bed: a control namespace on ``mgmt`` with Tidegate's
CRDs, the ``dev`` cluster registered by a cluster Secret, a repository on the test bed's git
server registered by a repository Secret.

No controller runs here: where one would act (operations, refreshes, deletion), the test writes
what the controller writes (``status.operationState``, history...) and checks what the CLI
does with it. Polling loops have deadlines; nothing waits by sleeping a fixed time.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tidegate.model import constants
from tidegate.testenv import handle

from .appcli import (
    BASIC,
    MERGE,
    SECRET_VALUE,
    Cli,
    apply_rendered,
    eventually,
    register_repo,
    unique,
)

pytestmark = pytest.mark.e2e


# -- create / get / list / set / refresh ---------------------------------------------------------


def test_create_get_list_and_upsert(cli: Cli) -> None:
    name = unique("web")
    flags = [*BASIC, "--sync-policy", "automated", "--auto-prune"]
    flags += ["--sync-option", "CreateNamespace=true", "--label", "team=web"]
    created = cli("create", name, *flags)
    assert created.exit_code == 0, created.output
    assert f"application '{name}' created" in created.output
    got = json.loads(cli("get", name, "-o", "json").stdout)
    assert got["metadata"]["labels"] == {"team": "web"}
    assert "managedFields" not in got["metadata"]
    assert got["spec"] == {
        "project": "default",
        "destination": {"server": constants.IN_CLUSTER_SERVER, "namespace": "web"},
        "source": {"repoURL": "https://git.example.com/r.git", "path": "apps/web"},
        "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
    }
    table = cli("get", name).stdout
    assert f"Name:          {cli.ns}/{name}" in table
    assert "Sync Policy:   Automated (Prune)" in table

    same = cli("create", name, *flags)
    assert same.exit_code == 0 and "unchanged" in same.output
    other = cli("create", name, *BASIC, "--revision", "v2", "--label", "team=web")
    assert other.exit_code == 1
    assert "already exists with a different spec; use --upsert" in other.stderr
    upserted = cli("create", name, *BASIC, "--revision", "v2", "--upsert")
    assert upserted.exit_code == 0, upserted.output
    assert cli.app(name)["spec"]["source"]["targetRevision"] == "v2"
    assert "labels" not in cli.app(name)["metadata"]  # replaced, as argocd --upsert does

    listed = json.loads(cli("list", "-o", "json").stdout)
    assert name in [a["metadata"]["name"] for a in listed]
    assert cli("list", "-o", "json", "-p", "nope").stdout.strip() == "[]"
    table = cli("list").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "CLUSTER", "NAMESPACE", "PROJECT"]
    assert any(line.startswith(f"{cli.ns}/{name} ") for line in table)


def test_create_validates_before_sending(cli: Cli) -> None:
    name = unique("bad")
    missing = cli("create", name, "--path", "x", "--dest-server", "https://x")
    assert missing.exit_code == 2
    assert "spec.source: repoURL: is required" in missing.stderr
    both = cli("create", name, *BASIC, "--dest-name", "dev")
    assert both.exit_code == 2
    assert "spec.destination: server and name are mutually exclusive" in both.stderr
    prune = cli("create", name, *BASIC, "--auto-prune")
    assert prune.exit_code == 2
    assert "--auto-prune: the application is not configured with automated sync" in prune.stderr
    assert not cli.exists(name)


def test_create_from_file(cli: Cli, tmp_path: Path) -> None:
    seed = Path(__file__).parents[1] / "model/testdata/valid/application-seed.yaml"
    first = yaml.safe_load(seed.read_text())
    first["metadata"] |= {"name": unique("seed"), "namespace": cli.ns}
    second = yaml.safe_load(seed.read_text())
    second["metadata"] = {"name": unique("seed")}  # no namespace: the control namespace
    path = tmp_path / "apps.yaml"
    path.write_text(yaml.safe_dump_all([first, second]))
    result = cli("create", "-f", str(path), "--validate=false")
    assert result.exit_code == 0, result.output
    for doc in (first, second):
        stored = cli.app(doc["metadata"]["name"])
        assert stored["spec"] == first["spec"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**first, "spec": {"project": "default"}}))
    invalid = cli("create", "-f", str(bad))
    assert invalid.exit_code == 2
    assert "spec.destination: either server or name is required" in invalid.stderr


def test_create_checks_that_revision_and_path_exist(
    cli: Cli, repo_url: str, testbed_handle: handle.TestBed
) -> None:
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo_url, "--dest-server", server, "--dest-namespace", "web"]

    no_path = cli("create", unique("nopath"), *flags, "--path", "apps/missing")
    assert no_path.exit_code == 1, no_path.output
    assert repo_url in no_path.stderr and "revision 'HEAD'" in no_path.stderr
    assert "path 'apps/missing': the path does not exist at commit" in no_path.stderr

    name = unique("norev")
    no_rev = cli("create", name, *flags, "--path", "app", "--revision", "no-such-branch")
    assert no_rev.exit_code == 1, no_rev.output
    assert f"repository {repo_url!r}, revision 'no-such-branch'" in no_rev.stderr
    assert "the revision does not exist" in no_rev.stderr
    assert not cli.exists(name)

    # A file of several apps: one bad source and none is created.
    good, bad = unique("good"), unique("bad")
    docs = [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
         "metadata": {"name": n},
         "spec": {"project": "default", "destination": {"server": server, "namespace": "web"},
                  "source": {"repoURL": repo_url, "path": p}}}
        for n, p in ((good, "app"), (bad, "nowhere"))
    ]  # fmt: skip
    path = cli.cache / f"{good}.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    several = cli("create", "-f", str(path))
    assert several.exit_code == 1 and "path 'nowhere'" in several.stderr
    assert not cli.exists(good) and not cli.exists(bad)

    ok = cli("create", name, *flags, "--path", "./app/", "--revision", "HEAD")
    assert ok.exit_code == 0, ok.output
    skipped = cli("create", unique("skip"), *flags, "--path", "nowhere", "--validate=false")
    assert skipped.exit_code == 0, skipped.output
    usage = cli("create", unique("usage"), *flags, "--path", "app", "--validate=maybe")
    assert usage.exit_code == 2 and "--validate: expected true or false" in usage.stderr


def test_set_merges_spec(cli: Cli) -> None:
    name = unique("set")
    assert cli("create", name, *BASIC, "--sync-policy", "auto").exit_code == 0
    # A made-up repository: nothing to check the new revision against.
    changed = cli("set", name, "--revision", "v3", "--self-heal", "--helm-set", "replicas=2",
                  "--validate=false")  # fmt: skip
    assert changed.exit_code == 0, changed.output
    spec = cli.app(name)["spec"]
    assert spec["source"]["targetRevision"] == "v3"
    assert spec["source"]["helm"] == {"parameters": [{"name": "replicas", "value": "2"}]}
    assert spec["syncPolicy"]["automated"] == {"selfHeal": True}
    manual = cli("set", name, "--sync-policy", "none", "--dest-name", "dev")
    assert manual.exit_code == 0, manual.output
    spec = cli.app(name)["spec"]
    assert "syncPolicy" not in spec
    assert spec["destination"] == {"name": "dev", "namespace": "web"}
    refused = cli("set", name, "--auto-prune")
    assert refused.exit_code == 2
    assert cli("set", name).exit_code == 2  # nothing to change
    assert cli("set", unique("missing"), "--path", "x").exit_code == 1


def test_refresh_writes_the_annotation(cli: Cli) -> None:
    name = unique("refresh")
    assert cli("create", name, *BASIC).exit_code == 0
    assert cli("refresh", name, "--hard").exit_code == 0
    annotations = cli.app(name)["metadata"]["annotations"]
    assert annotations[constants.ANNOTATION_REFRESH] == "hard"
    # No controller handles it: waiting for the refresh times out with exit 1.
    waited = cli("get", name, "--refresh", "--timeout", "1")
    assert waited.exit_code == 1
    assert "refresh not handled within 1s" in waited.stderr


# -- diff / manifests against the dev cluster ----------------------------------------------------


def test_diff_and_manifests(
    cli: Cli, repo_url: str, namespace: str, source_dir: Path, testbed_handle: handle.TestBed
) -> None:
    name = unique("diff")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo_url, "--path", "app", "--dest-server", server]
    assert cli("create", name, *flags, "--dest-namespace", namespace).exit_code == 0

    out_of_sync = cli("diff", name, "--no-color")
    assert out_of_sync.exit_code == 1, out_of_sync.output
    assert f"===== ConfigMap {namespace}/web-config ======" in out_of_sync.stdout
    assert "+  color: blue" in out_of_sync.stdout
    assert f"===== Secret {namespace}/web-secret ======" in out_of_sync.stdout
    assert SECRET_VALUE not in out_of_sync.output

    rendered = list(yaml.safe_load_all(cli("manifests", name).stdout))
    assert sorted(o["kind"] for o in rendered) == ["ConfigMap", "Secret"]
    assert SECRET_VALUE not in json.dumps(rendered)
    # The manifests name each object as the diff does: namespace included, in the object and
    # in its tracking id (the diff above shows the same target).
    for obj in rendered:
        meta = obj["metadata"]
        assert meta["namespace"] == namespace
        assert meta["annotations"][constants.ANNOTATION_TRACKING_ID] == (
            f"{name}:/{obj['kind']}:{namespace}/{meta['name']}"
        )
        assert f"===== {obj['kind']} {namespace}/{meta['name']} ======" in out_of_sync.stdout
    assert cli("manifests", name, "--source", "live").stdout.strip() == ""

    apply_rendered(testbed_handle, source_dir, name, namespace)
    in_sync = cli("diff", name)
    assert in_sync.exit_code == 0, in_sync.output
    assert in_sync.stdout == ""
    live = list(yaml.safe_load_all(cli("manifests", name, "--source", "live").stdout))
    assert sorted(o["kind"] for o in live) == ["ConfigMap", "Secret"]
    tracking = constants.ANNOTATION_TRACKING_ID
    assert {o["metadata"]["annotations"][tracking] for o in live} == {
        o["metadata"]["annotations"][tracking] for o in rendered
    }
    assert all("managedFields" not in o["metadata"] for o in live)
    assert SECRET_VALUE not in json.dumps(live)

    with testbed_handle.admin_client("dev") as dev:
        path = f"/api/v1/namespaces/{namespace}/configmaps/web-config"
        dev.patch(path, json={"data": {"color": "red"}}, headers=MERGE).raise_for_status()
    drifted = cli("diff", name, "--no-color")
    assert drifted.exit_code == 1
    assert "-  color: red" in drifted.stdout and "+  color: blue" in drifted.stdout
    assert "web-secret" not in drifted.stdout

    other = cli("diff", name, "--revision", "no-such-branch")
    assert other.exit_code == 2  # an error, as argocd (a difference is 1)
    assert "no-such-branch" in other.stderr


def test_diff_unknown_cluster(cli: Cli) -> None:
    name = unique("nocluster")
    assert (
        cli("create", name, *BASIC[:4], "--dest-name", "nowhere", "--validate=false").exit_code == 0
    )
    result = cli("diff", name)
    assert result.exit_code == 2  # an error, as argocd
    assert "cluster 'nowhere' not found" in result.stderr


# -- operations, with the test playing the controller ---------------------------------------------


def _wait_operation(cli: Cli, name: str) -> dict[str, Any]:
    return dict(eventually(lambda: cli.app(name).get("operation")))


def _state(phase: str, operation: dict[str, Any], **extra: Any) -> dict[str, Any]:
    result = [
        {"group": "", "kind": "ConfigMap", "namespace": "web", "name": "web-config",
         "status": "Synced", "message": "configmap/web-config configured", "syncPhase": "Sync"},
    ]  # fmt: skip
    return {
        "phase": phase,
        "message": extra.pop("message", ""),
        "operation": operation,
        "startedAt": "2026-01-01T10:00:00Z",
        "syncResult": {"revision": "abc1234", "resources": result},
        **extra,
    }


def test_sync_follows_the_operation(cli: Cli) -> None:
    name = unique("sync")
    assert cli("create", name, *BASIC, "--revision", "main").exit_code == 0
    running = cli.popen("sync", name, "--prune", "--resource", ":ConfigMap:web/web-config")
    operation = _wait_operation(cli, name)
    assert operation["sync"]["revision"] == "main"
    assert operation["sync"]["prune"] is True
    assert operation["sync"]["resources"] == [
        {"group": "", "kind": "ConfigMap", "namespace": "web", "name": "web-config"}
    ]
    assert operation["initiatedBy"]["username"]
    # A second sync is refused while this one is requested.
    busy = cli("sync", name)
    assert busy.exit_code == 1
    assert "another operation is already in progress" in busy.stderr
    cli.patch(name, {"status": {"operationState": _state("Running", operation)}})
    running.wait_for_line("operation Running")
    done = _state("Succeeded", operation, message="successfully synced")
    cli.patch(name, {"operation": None, "status": {"operationState": done}})
    code, out, err = running.finish()
    assert code == 0, err
    assert "Phase:" in out and "Succeeded" in out
    assert "ConfigMap   web         web-config   Synced" in out


def test_sync_failure_and_timeout(cli: Cli) -> None:
    name = unique("fail")
    assert cli("create", name, *BASIC).exit_code == 0
    running = cli.popen("sync", name, "--timeout", "30")
    operation = _wait_operation(cli, name)
    failed = _state("Failed", operation, message="one or more objects failed to apply")
    cli.patch(name, {"operation": None, "status": {"operationState": failed}})
    code, _, err = running.finish()
    assert code == 1
    assert "operation Failed: one or more objects failed to apply" in err

    timed_out = cli("sync", name, "--timeout", "1")
    assert timed_out.exit_code == 1
    assert "timed out after 1s waiting for the operation" in timed_out.stderr
    cli.patch(name, {"operation": None})
    requested = cli("sync", name, "--async", "--dry-run")
    assert requested.exit_code == 0
    assert cli.app(name)["operation"]["sync"]["dryRun"] is True


def test_terminate_op(cli: Cli) -> None:
    name = unique("term")
    assert cli("create", name, *BASIC).exit_code == 0
    nothing = cli("terminate-op", name)
    assert nothing.exit_code == 1
    assert "no operation is in progress" in nothing.stderr
    operation = {"sync": {"revision": "HEAD"}, "initiatedBy": {"username": "t"}}
    cli.patch(name, {"operation": operation})
    withdrawn = cli("terminate-op", name)
    assert withdrawn.exit_code == 0 and "withdrawn" in withdrawn.output
    assert "operation" not in cli.app(name)
    running = _state("Running", operation)
    cli.patch(name, {"operation": operation, "status": {"operationState": running}})
    assert cli("terminate-op", name).exit_code == 0
    assert cli.app(name)["status"]["operationState"]["phase"] == "Terminating"


def test_wait(cli: Cli) -> None:
    name = unique("wait")
    assert cli("create", name, *BASIC).exit_code == 0
    cli.patch(name, {"status": {"sync": {"status": "OutOfSync"}, "health": {"status": "Healthy"}}})
    late = cli("wait", name, "--sync", "--timeout", "1")
    assert late.exit_code == 1
    assert "sync status OutOfSync (want: Synced)" in late.stderr
    assert cli("wait", name, "--health", "--timeout", "5").exit_code == 0
    cli.patch(name, {"status": {"sync": {"status": "Synced"}}})
    ok = cli("wait", name, "--timeout", "5")
    assert ok.exit_code == 0, ok.output
    assert "Sync Status:   Synced" in ok.stdout


def test_history_and_rollback(cli: Cli) -> None:
    name = unique("hist")
    assert cli("create", name, *BASIC, "--sync-policy", "automated").exit_code == 0
    source = {"repoURL": "https://git.example.com/r.git", "path": "apps/web"}
    history = [
        {"id": 1, "revision": "1111111111111111111111111111111111111111", "source": source,
         "deployedAt": "2026-01-01T10:00:00Z"},
        {"id": 2, "revision": "2222222222222222222222222222222222222222", "source": source,
         "deployedAt": "2026-01-02T10:00:00Z"},
    ]  # fmt: skip
    cli.patch(name, {"status": {"history": history}})
    table = cli("history", name).stdout.splitlines()
    assert table[0].split() == ["ID", "DATE", "REVISION"]
    assert table[1].split()[:2] == ["1", "2026-01-01T10:00:00Z"]
    assert "SOURCE" in cli("history", name, "-o", "wide").stdout
    assert json.loads(cli("history", name, "-o", "json").stdout) == history

    refused = cli("rollback", name, "--async")
    assert refused.exit_code == 1
    assert "rollback cannot be initiated when auto-sync is enabled" in refused.stderr
    assert "operation" not in cli.app(name)
    rolled = cli("rollback", name, "--disable-auto-sync", "--async", "--prune")
    assert rolled.exit_code == 0, rolled.output
    app = cli.app(name)
    assert app["spec"].get("syncPolicy", {}).get("automated") is None
    assert app["operation"]["sync"] == {
        "revision": history[0]["revision"],
        "source": source,
        "prune": True,
        "dryRun": False,
    }
    missing = cli("rollback", name, "9", "--async")
    assert missing.exit_code == 1  # an operation is pending, and id 9 does not exist
    assert "no deployment with history id 9" in missing.stderr


def test_delete(cli: Cli) -> None:
    kept = unique("keep")
    assert cli("create", kept, *BASIC).exit_code == 0
    requested = cli("delete", kept, "-y", "--no-wait")
    assert requested.exit_code == 0, requested.output
    app = cli.app(kept)  # the finalizer holds it until a controller deletes its resources
    assert app["metadata"]["finalizers"] == [constants.FINALIZER_RESOURCES]
    assert app["metadata"]["deletionTimestamp"]
    stuck = cli("delete", kept, "-y", "--timeout", "1")
    assert stuck.exit_code == 1
    assert "still exists after 1s" in stuck.stderr
    cli.patch(kept, {"metadata": {"finalizers": None}})
    eventually(lambda: not cli.exists(kept))

    orphan = unique("orphan")
    assert cli("create", orphan, *BASIC, "--set-finalizer").exit_code == 0
    gone = cli("delete", orphan, "-y", "--no-cascade", "--timeout", "20")
    assert gone.exit_code == 0, gone.output
    assert not cli.exists(orphan)
    assert cli("delete", orphan, "-y").exit_code == 1


# -- with the real controller ---------------------------------------------------------------------


def test_with_the_controller(
    controlled: tuple[Cli, subprocess.Popen[bytes]],
    source_dir: Path,
    git_remote: handle.GitRemote,
    testbed_handle: handle.TestBed,
    namespace: str,
    tmp_path: Path,
) -> None:
    cli, controller = controlled
    repo = git_remote.create_repo(from_dir=source_dir)
    register_repo(testbed_handle, cli.ns, git_remote, repo.http_url)
    name = unique("e2e")
    server = testbed_handle.clusters["dev"].server
    flags = ["--repo", repo.http_url, "--path", "app", "--dest-server", server]
    assert cli("create", name, *flags, "--dest-namespace", namespace).exit_code == 0

    synced = cli.popen("sync", name, "--timeout", "120")
    code, out, err = synced.finish(within=150)
    assert code == 0, f"{out}\n{err}\n{(tmp_path / 'controller.log').read_text()[-3000:]}"
    assert "Succeeded" in out
    waited = cli("wait", name, "--sync", "--health", "--timeout", "60")
    assert waited.exit_code == 0, waited.output
    assert cli("diff", name).exit_code == 0
    first = cli.app(name)["status"]["history"][-1]["revision"]

    work = git_remote.working_copy(repo, tmp_path / "work")
    (work.path / "app" / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: green}\n"
    )
    work.git("commit", "-qam", "green")
    work.git("push", "-q", "origin", "HEAD")
    refreshed = cli("get", name, "--hard-refresh", "--timeout", "60", "-o", "json")
    assert refreshed.exit_code == 0, refreshed.output
    assert cli("diff", name).exit_code == 1
    assert cli.popen("sync", name, "--timeout", "120").finish(within=150)[0] == 0
    assert len(cli.app(name)["status"]["history"]) == 2

    rolled = cli.popen("rollback", name, "--timeout", "120")
    code, out, err = rolled.finish(within=150)
    assert code == 0, f"{out}\n{err}"
    with testbed_handle.admin_client("dev") as dev:
        cm = dev.get(f"/api/v1/namespaces/{namespace}/configmaps/web-config").json()
    assert cm["data"] == {"color": "blue"}
    assert cli.app(name)["status"]["history"][-1]["revision"] == first

    deleted = cli("delete", name, "-y", "--timeout", "60")
    assert deleted.exit_code == 0, deleted.output
    with testbed_handle.admin_client("dev") as dev:
        path = f"/api/v1/namespaces/{namespace}/configmaps/web-config"
        assert dev.get(path).status_code == 404
    assert controller.poll() is None  # the controller survived all of it
