"""``tidegate app`` against the real test bed: a control namespace on ``mgmt`` with Tidegate's
CRDs, the ``dev`` cluster registered by a cluster Secret, a repository on the test bed's git
server registered by a repository Secret.

No controller runs here: where one would act (operations, refreshes, deletion), the test writes
what the controller writes (``status.operationState``, history...) and checks what the CLI
does with it. Polling loops have deadlines; nothing waits by sleeping a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tidegate import render
from tidegate.cli import main
from tidegate.controller import clusters
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import constants
from tidegate.sync import prepare
from tidegate.testenv import handle

pytestmark = pytest.mark.e2e

SECRET_VALUE = "s3cr3t-value-never-shown"
APPS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications"
CONTROLLER = [sys.executable, "-m", "tidegate.cli.main", "controller", "--context", "mgmt"]
INSTALL = [sys.executable, "-m", "tidegate.cli.main", "install"]
MERGE = {"Content-Type": "application/merge-patch+json"}


def _control_namespace(tb: handle.TestBed, prefix: str) -> str:
    """A fresh control namespace with the CRDs, the default project and the dev cluster."""
    ns = f"{prefix}-{secrets.token_hex(3)}"
    done = subprocess.run(
        [*INSTALL, "-n", ns, "--kubeconfig", str(tb.kubeconfig), "--context", "mgmt"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    dev = kube_config.from_kubeconfig(tb.clusters["dev"].kubeconfig)
    secret = clusters.cluster_secret(name="dev", server=dev.server, config=dev, namespace=ns)
    with tb.admin_client("mgmt") as mgmt:
        mgmt.post(f"/api/v1/namespaces/{ns}/secrets", json=secret).raise_for_status()
    return ns


def _register_repo(
    tb: handle.TestBed, ns: str, git: handle.GitRemote, url: str, *, name: str = "repo-test"
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {constants.LABEL_SECRET_TYPE: constants.SECRET_TYPE_REPOSITORY},
        },
        "stringData": {
            "type": "git",
            "url": url,
            "username": git.username,
            "password": git.password,
        },
    }
    with tb.admin_client("mgmt") as mgmt:
        mgmt.post(f"/api/v1/namespaces/{ns}/secrets", json=secret).raise_for_status()


@pytest.fixture(scope="module")
def control(testbed_handle: handle.TestBed) -> Iterator[str]:
    ns = _control_namespace(testbed_handle, "tg-app")
    yield ns
    with testbed_handle.admin_client("mgmt") as mgmt:
        mgmt.delete(f"/api/v1/namespaces/{ns}")


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src")
    (root / "app").mkdir()
    (root / "app" / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config}\ndata: {color: blue}\n"
    )
    (root / "app" / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: web-secret}\n"
        f"stringData: {{password: {SECRET_VALUE}}}\n"
    )
    return root


@pytest.fixture(scope="module")
def repo_url(
    control: str, source_dir: Path, git_remote: handle.GitRemote, testbed_handle: handle.TestBed
) -> str:
    repo = git_remote.create_repo(from_dir=source_dir)
    _register_repo(testbed_handle, control, git_remote, repo.http_url)
    return repo.http_url


class Running:
    """A command running in a subprocess; its stdout lines arrive through a queue."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for_line(self, text: str, *, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while not any(text in line for line in self.seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{text!r} not printed; got {self.seen}"
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue

    def finish(self, *, within: float = 30.0) -> tuple[int, str, str]:
        assert self.proc.stderr is not None
        try:
            code = self.proc.wait(timeout=within)
        finally:
            self.proc.kill()
        self._reader.join(timeout=5)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, "".join(self.seen), self.proc.stderr.read()


class Cli:
    """Runs ``tidegate app ...`` in-process against the control namespace."""

    def __init__(self, tb: handle.TestBed, ns: str, cache: Path) -> None:
        self.tb, self.ns, self.cache = tb, ns, cache
        self.common = ["--kubeconfig", str(tb.kubeconfig), "--context", "mgmt", "-n", ns]

    def __call__(self, *args: str) -> Any:
        extra = (
            ["--cache-dir", str(self.cache)] if args[0] in ("diff", "manifests", "create") else []
        )
        result = CliRunner().invoke(main.app, ["app", *args, *self.common, *extra])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def popen(self, *args: str) -> Running:
        return Running(
            subprocess.Popen(
                [sys.executable, "-m", "tidegate.cli.main", "app", *args, *self.common],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "NO_COLOR": "1"},
            )
        )

    def app(self, name: str) -> dict[str, Any]:
        with self.tb.admin_client("mgmt") as mgmt:
            resp = mgmt.get(f"{APPS.format(ns=self.ns)}/{name}")
            resp.raise_for_status()
            return dict(resp.json())

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        with self.tb.admin_client("mgmt") as mgmt:
            resp = mgmt.patch(f"{APPS.format(ns=self.ns)}/{name}", json=patch, headers=MERGE)
            resp.raise_for_status()
            return dict(resp.json())

    def exists(self, name: str) -> bool:
        with self.tb.admin_client("mgmt") as mgmt:
            return mgmt.get(f"{APPS.format(ns=self.ns)}/{name}").status_code == 200


@pytest.fixture(scope="module")
def cli(
    testbed_handle: handle.TestBed, control: str, tmp_path_factory: pytest.TempPathFactory
) -> Cli:
    return Cli(testbed_handle, control, tmp_path_factory.mktemp("cache"))


def eventually(probe: Any, *, within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


BASIC = ["--repo", "https://git.example.com/r.git", "--path", "apps/web"]
BASIC += ["--dest-server", constants.IN_CLUSTER_SERVER, "--dest-namespace", "web"]
BASIC += ["--validate=false"]  # the repository does not exist: skip the source check


# -- create / get / list / set / refresh ---------------------------------------------------------


def test_create_get_list_and_upsert(cli: Cli) -> None:
    name = _unique("web")
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
    name = _unique("bad")
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
    first["metadata"] |= {"name": _unique("seed"), "namespace": cli.ns}
    second = yaml.safe_load(seed.read_text())
    second["metadata"] = {"name": _unique("seed")}  # no namespace: the control namespace
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

    no_path = cli("create", _unique("nopath"), *flags, "--path", "apps/missing")
    assert no_path.exit_code == 1, no_path.output
    assert repo_url in no_path.stderr and "revision 'HEAD'" in no_path.stderr
    assert "path 'apps/missing': the path does not exist at commit" in no_path.stderr

    name = _unique("norev")
    no_rev = cli("create", name, *flags, "--path", "app", "--revision", "no-such-branch")
    assert no_rev.exit_code == 1, no_rev.output
    assert f"repository {repo_url!r}, revision 'no-such-branch'" in no_rev.stderr
    assert "the revision does not exist" in no_rev.stderr
    assert not cli.exists(name)

    # A file of several apps: one bad source and none is created.
    good, bad = _unique("good"), _unique("bad")
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
    skipped = cli("create", _unique("skip"), *flags, "--path", "nowhere", "--validate=false")
    assert skipped.exit_code == 0, skipped.output
    usage = cli("create", _unique("usage"), *flags, "--path", "app", "--validate=maybe")
    assert usage.exit_code == 2 and "--validate: expected true or false" in usage.stderr


def test_set_merges_spec(cli: Cli) -> None:
    name = _unique("set")
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
    assert cli("set", _unique("missing"), "--path", "x").exit_code == 1


def test_refresh_writes_the_annotation(cli: Cli) -> None:
    name = _unique("refresh")
    assert cli("create", name, *BASIC).exit_code == 0
    assert cli("refresh", name, "--hard").exit_code == 0
    annotations = cli.app(name)["metadata"]["annotations"]
    assert annotations[constants.ANNOTATION_REFRESH] == "hard"
    # No controller handles it: waiting for the refresh times out with exit 1.
    waited = cli("get", name, "--refresh", "--timeout", "1")
    assert waited.exit_code == 1
    assert "refresh not handled within 1s" in waited.stderr


# -- diff / manifests against the dev cluster ----------------------------------------------------


def _apply_rendered(tb: handle.TestBed, source_dir: Path, app: str, namespace: str) -> None:
    """Apply what the app renders to, with Tidegate's field manager (as a sync would)."""

    async def go() -> None:
        request = render.RenderRequest(
            root=source_dir, path="app", commit="", app_name=app, namespace=namespace
        )
        result = await render.render(request)
        cfg = kube_config.from_kubeconfig(tb.clusters["dev"].kubeconfig)
        async with kube_client.client_for(cfg) as client:
            targets = await prepare.prepare_targets(
                result.objects, client=client, destination_namespace=namespace
            )
            for obj in targets.values():
                tracked = prepare.with_tracking(obj, app_name=app, method="annotation")
                await client.apply(tracked)

    asyncio.run(go())


def test_diff_and_manifests(
    cli: Cli, repo_url: str, namespace: str, source_dir: Path, testbed_handle: handle.TestBed
) -> None:
    name = _unique("diff")
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

    _apply_rendered(testbed_handle, source_dir, name, namespace)
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
    name = _unique("nocluster")
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
    name = _unique("sync")
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
    name = _unique("fail")
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
    name = _unique("term")
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
    name = _unique("wait")
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
    name = _unique("hist")
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
    kept = _unique("keep")
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

    orphan = _unique("orphan")
    assert cli("create", orphan, *BASIC, "--set-finalizer").exit_code == 0
    gone = cli("delete", orphan, "-y", "--no-cascade", "--timeout", "20")
    assert gone.exit_code == 0, gone.output
    assert not cli.exists(orphan)
    assert cli("delete", orphan, "-y").exit_code == 1


# -- with the real controller ---------------------------------------------------------------------


@pytest.fixture
def controlled(
    testbed_handle: handle.TestBed, tmp_path: Path
) -> Iterator[tuple[Cli, subprocess.Popen[bytes]]]:
    """A control namespace of its own with ``tidegate controller`` running on it."""
    ns = _control_namespace(testbed_handle, "tg-ctl")
    log = (tmp_path / "controller.log").open("wb")
    proc = subprocess.Popen(
        [
            *CONTROLLER,
            "-n",
            ns,
            "--kubeconfig",
            str(testbed_handle.kubeconfig),
            "--app-resync",
            "5",
            # Its own installation id: other suites' same-named apps on dev are not its own.
            "--installation-id",
            ns,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")},
    )
    try:
        yield Cli(testbed_handle, ns, tmp_path / "cli-cache"), proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        with testbed_handle.admin_client("mgmt") as mgmt:
            mgmt.delete(f"/api/v1/namespaces/{ns}")


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
    _register_repo(testbed_handle, cli.ns, git_remote, repo.http_url)
    name = _unique("e2e")
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
