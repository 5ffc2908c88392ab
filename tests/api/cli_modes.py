"""Running one ``tidegate`` command in both modes: through the server of a real ``tidegate
login`` context, and directly on the management cluster (``--core``), to compare them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tidegate.testenv import handle, serverproc

Completed = subprocess.CompletedProcess[str]


def login_config(
    server: serverproc.ServerProcess, path: Path, *, username: str = "admin", password: str = ""
) -> Path:
    """A CLI config at ``path`` whose current context is a session with ``server`` (as
    ``username``; admin's password is read from the server's namespace)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tidegate",
            "login",
            server.url.removeprefix("https://"),
            f"--username={username}",
            f"--password={password or server.admin_password()}",
            "--insecure",
            f"--config={path}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return path


def both(
    server: serverproc.ServerProcess,
    bed: handle.TestBed,
    namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
    group: str,
) -> Both:
    """``tidegate <group>`` both ways, logged in to ``server`` with a config of its own."""
    config = login_config(server, tmp_path_factory.mktemp("cli") / "config")
    return Both(bed, namespace, config, group=group)


class Both:
    """Runs one ``tidegate <group>`` command over the API and directly."""

    def __init__(self, bed: handle.TestBed, namespace: str, config: Path, group: str = "app"):
        self.bed, self.namespace, self.config, self.group = bed, namespace, config, group

    def _run(self, args: list[str], env: dict[str, str], stdin: str | None) -> Completed:
        return subprocess.run(
            [sys.executable, "-m", "tidegate", *self.group.split(), *args, "-n", self.namespace],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            input=stdin,
            env={**env, "NO_COLOR": "1", "COLUMNS": "200"},
        )

    def api(self, *args: str, stdin: str | None = None, kubeconfig: str = "") -> Completed:
        """Through the server; the management cluster's kubeconfig is out of reach (a path that
        does not exist, or ``kubeconfig``: one without the management cluster, for commands
        that also work on another cluster, as ``cluster add``), so a command that went direct
        would fail."""
        env = {**os.environ, "KUBECONFIG": kubeconfig or "/nonexistent/kubeconfig"}
        return self._run(list(args), {**env, "TIDEGATE_CONFIG": str(self.config)}, stdin)

    def direct(self, *args: str, stdin: str | None = None) -> Completed:
        env = {**os.environ, "TIDEGATE_CONFIG": str(self.config)}  # logged in, but --core
        kube = ["--core", "--kubeconfig", str(self.bed.kubeconfig), "--context", "mgmt"]
        return self._run([*args, *kube], env, stdin)

    def same(self, *args: str) -> Completed:
        """Run ``args`` both ways; assert stdout, stderr and exit code are equal."""
        over_api, direct = self.api(*args), self.direct(*args)
        assert (over_api.returncode, over_api.stdout, over_api.stderr) == (
            direct.returncode,
            direct.stdout,
            direct.stderr,
        ), f"{args}:\nAPI: {over_api}\ndirect: {direct}"
        return over_api

    def twins(self, template: list[str], a: str, b: str, *, stdin: str = "") -> Completed:
        """A write: ``template`` with ``{name}`` as ``a`` over the API and as ``b`` directly;
        assert the outputs are equal once the names are swapped."""
        over_api = self.api(*[t.format(name=a) for t in template], stdin=stdin.format(name=a))
        direct = self.direct(*[t.format(name=b) for t in template], stdin=stdin.format(name=b))
        assert (over_api.returncode, over_api.stdout, over_api.stderr) == (
            direct.returncode,
            direct.stdout.replace(b, a),
            direct.stderr.replace(b, a),
        ), f"{template}:\nAPI: {over_api}\ndirect: {direct}"
        return over_api
