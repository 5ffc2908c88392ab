"""What the CLI's e2e tests share: a control namespace installed on the test bed's mgmt cluster,
a registered repository, and ``Cli``, which runs ``tidegate app ...`` in-process (or in a
subprocess, for following output) against that namespace. Fixtures built on these live in
``conftest.py``."""

from __future__ import annotations

import asyncio
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tidegate import render
from tidegate.cli import main
from tidegate.controller import clusters
from tidegate.kube import client as kube_client
from tidegate.kube import config as kube_config
from tidegate.model import constants
from tidegate.sync import prepare
from tidegate.testenv import handle
from tidegate.testenv.wait import eventually_blocking

SECRET_VALUE = "s3cr3t-value-never-shown"
APPS = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/applications"
CONTROLLER = [sys.executable, "-m", "tidegate.cli.main", "controller", "--context", "mgmt"]
CONTROLLER += ["--no-sealed-secrets"]  # the fleet-wide unsealer would touch other tests
INSTALL = [sys.executable, "-m", "tidegate.cli.main", "install"]
MERGE = {"Content-Type": "application/merge-patch+json"}


def control_namespace(tb: handle.TestBed, prefix: str) -> str:
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


def register_repo(
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


def apply_rendered(tb: handle.TestBed, source_dir: Path, app: str, namespace: str) -> None:
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


eventually = eventually_blocking


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


BASIC = ["--repo", "https://git.example.com/r.git", "--path", "apps/web"]
BASIC += ["--dest-server", constants.IN_CLUSTER_SERVER, "--dest-namespace", "web"]
BASIC += ["--validate=false"]  # the repository does not exist: skip the source check
