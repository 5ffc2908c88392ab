"""``tidegate app logs`` in both modes against the test bed: through a real ``tidegate server``
(``GET /api/v1/applications/{name}/logs``) and directly (``--core``), with the real controller
syncing a Deployment whose pod kwok runs on ``dev``.

kwok plays the pod's kubelet and serves its containers' logs from files this test writes
(``testenv/podlogs.py``), so the lines come through the real API server: both modes must print
the same lines for each flag (``--tail``, ``--since-seconds``, ``--filter``/``--match-case``,
``--container``, ``--previous``), follow a line appended while ``--follow`` runs, and the
server's logs API must return them as Argo CD's LogEntry messages. A selection without pods is
a note and exit 0.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.api.cli_modes import Both, login_config
from tests.api.polling import until
from tests.cli.appcli import Running

from tidegate.testenv import handle, podlogs, scenario, serverproc

pytestmark = pytest.mark.e2e
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: main, image: reg/app:1.0}
      - {name: side, image: reg/app:1.0}
"""
OLD = ["old Alpha line", "old beta line"]
NEW = ["new ALPHA line", "new gamma line"]
PREVIOUS = ["before the restart", "the last words of the previous instance"]


@pytest.fixture(scope="module")
def repo_url(git_remote: handle.GitRemote) -> str:
    return git_remote.create_repo(files={"app/deploy.yaml": DEPLOYMENT}).http_url


@pytest.fixture
def app_name(testbed_handle: handle.TestBed) -> Iterator[str]:
    """The app's name, also its destination namespace (deleted after the test)."""
    name = f"logs-{secrets.token_hex(3)}"
    yield name
    with testbed_handle.admin_client("dev") as dev:
        dev.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def log_files(
    testbed_handle: handle.TestBed, app_name: str, tmp_path: Path
) -> Iterator[dict[str, Path]]:
    """The files kwok serves the logs of the app namespace's pods from, written before the
    app exists: two old lines (an hour ago) and two new ones in ``main``, one in ``side``, and
    two in ``main``'s previous instance."""
    files = {"main": tmp_path / "main.log", "side": tmp_path / "side.log"}
    previous = {"main": tmp_path / "main.previous.log"}
    with testbed_handle.admin_client("dev") as dev:
        served = podlogs.serve(dev, app_name, files, previous)
        podlogs.append(
            previous["main"], *PREVIOUS, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        )
        podlogs.append(files["main"], *OLD, at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        podlogs.append(files["main"], *NEW)
        podlogs.append(files["side"], "side line")
        try:
            yield files
        finally:
            podlogs.stop(dev, served)


def _follow(both: Both, *args: str, api: bool) -> Running:
    """``tidegate app logs ... --follow`` running in a subprocess, as ``both`` runs it."""
    env = {**os.environ, "TIDEGATE_CONFIG": str(both.config), "NO_COLOR": "1"}
    if api:
        env["KUBECONFIG"] = "/nonexistent/kubeconfig"
        mode: list[str] = []
    else:
        mode = ["--core", "--kubeconfig", str(both.bed.kubeconfig), "--context", "mgmt"]
    cmd = [sys.executable, "-m", "tidegate", "app", "logs", *args, "-n", both.namespace, *mode]
    return Running(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, env=env))  # fmt: skip


def test_logs_both_ways(
    testbed_handle: handle.TestBed,
    control_namespace: str,
    server: serverproc.ServerProcess,
    token: str,
    repo_url: str,
    controller: scenario.ControllerProcess,
    tmp_path_factory: pytest.TempPathFactory,
    app_name: str,
    log_files: dict[str, Path],
) -> None:
    both = Both(testbed_handle, control_namespace,
                login_config(server, tmp_path_factory.mktemp("cli") / "config"))  # fmt: skip
    name = app_name
    app = scenario.application(name, repo_url=repo_url, path="app",
                               server=testbed_handle.clusters["dev"].server, namespace=name,
                               automated=True)  # fmt: skip
    app["spec"]["syncPolicy"]["syncOptions"] = ["CreateNamespace=true"]
    with server.client(token=token) as client:
        created = client.post("/api/v1/applications", content=json.dumps(app),
                              headers={"Content-Type": "application/json"})  # fmt: skip
        assert created.status_code == 200, created.text

    def served() -> str:
        """The pod, once the app's status lists its Deployment and kwok serves its log."""
        with testbed_handle.admin_client("dev") as dev:
            items = dev.get(f"/api/v1/namespaces/{name}/pods").json().get("items") or []
            if not items:
                return ""
            pod = str(items[0]["metadata"]["name"])
            got = dev.get(f"/api/v1/namespaces/{name}/pods/{pod}/log", params={"container": "main"})
        return pod if got.status_code == 200 else ""

    web_pod = until(served, within=120)
    until(lambda: both.direct("logs", name, "--kind", "Deployment").stdout, within=60)

    def lines(*flags: str) -> list[str]:
        done = both.same("logs", name, "--kind", "Deployment", *flags)
        assert done.returncode == 0, done
        return done.stdout.splitlines()

    assert lines() == OLD + NEW  # the default container is the first, main
    assert lines("--tail", "1") == NEW[-1:]
    assert lines("--since-seconds", "600") == NEW
    assert lines("--filter", "alpha") == [OLD[0], NEW[0]]
    assert lines("--filter", "ALPHA", "--match-case") == [NEW[0]]
    assert lines("--filter", "!alpha") == [OLD[1], NEW[1]]
    assert lines("--container", "side") == ["side line"]
    assert lines("--previous") == PREVIOUS  # the previous instance of main
    assert lines("-p", "--tail", "1") == PREVIOUS[-1:]

    # the server's logs API: Argo CD's LogEntry messages naming the pod, then last: true
    with server.client(token=token) as client:
        resp = client.get(f"/api/v1/applications/{name}/logs",
                          params={"kind": "Deployment", "tailLines": "2"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    entries = [json.loads(line)["result"] for line in resp.text.splitlines() if line.strip()]
    assert [e["content"] for e in entries[:-1]] == NEW
    assert {e["podName"] for e in entries[:-1]} == {web_pod}
    assert all(e["timeStampStr"].startswith("20") for e in entries[:-1])
    assert entries[-1]["last"] is True

    last = NEW[-1]
    for api in (True, False):
        marker = f"appended while following ({'api' if api else 'core'})"
        running = _follow(both, name, "--kind", "Deployment", "--tail", "1", "--follow", api=api)
        try:
            running.wait_for_line(last, within=60)
            podlogs.append(log_files["main"], marker)
            running.wait_for_line(marker, within=60)
        finally:
            running.proc.kill()
            running.proc.wait(timeout=10)
        last = marker

    for run in (both.api, both.direct):
        none = run("logs", name, "--kind", "ConfigMap")
        assert none.returncode == 0 and none.stdout == "", none
        assert "no" in none.stderr and "pod matches" in none.stderr
        bad = run("logs", name, "--until-time", "yesterday")
        assert bad.returncode == 2 and "not an RFC 3339 time" in bad.stderr
