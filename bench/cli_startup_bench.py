"""Benchmark: CLI start-up of the hot commands (issue 19: ``tidegate --help`` < 0.15 s,
``tidegate app list`` < 0.33 s; issue 17: ``tidegate seal`` of one Secret < 0.5 s), each a
fresh process as a user runs it (the venv's console script), start-up included.

Per command: median wall time over N runs (min-max) and its ratio to the target, and the
median user+sys CPU time of the process (read with ``os.wait4``: less sensitive to other load
on a shared machine than wall time). The ``python -c pass`` floor and the load average before
and after are printed too.

1. ``tidegate --help``.
2. ``tidegate app list --core`` against an empty control namespace created on ``mgmt`` of the
   test bed in ``$TIDEGATE_TESTENV_DIR`` (deleted after); skipped when that is not set (this
   benchmark never starts a test bed of its own).
3. ``tidegate app list`` through a ``tidegate server`` process (started by the benchmark on
   that bed, over a control namespace of its own with Tidegate installed, stopped and deleted
   after) and a ``tidegate login`` session in a config file of its own (``TIDEGATE_CONFIG``;
   ``KUBECONFIG`` points nowhere, so a command that went direct would fail). Same condition.
4. ``tidegate seal --cert C < secret.yaml`` with a freshly generated RSA-4096 certificate.

Run: .venv/bin/python bench/cli_startup_bench.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import common

SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: bench-secret
  namespace: default
stringData:
  password: not-a-real-password
"""


def _command() -> list[str]:
    script = Path(sys.executable).with_name("tidegate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tidegate"]


def _run_once(
    argv: Sequence[str], stdin: bytes | None, env: Mapping[str, str] | None = None
) -> tuple[float, float]:
    """(wall seconds, user+sys CPU seconds) of one run of ``argv``; a non-zero exit fails."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=None if env is None else {**os.environ, **env},
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def _measure(
    label: str,
    argv: Sequence[str],
    runs: int,
    target: float | None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    _run_once(argv, stdin, env)  # warm the page cache and the bytecode
    samples = [_run_once(argv, stdin, env) for _ in range(runs)]
    walls = [w for w, _ in samples]
    cpus = [c for _, c in samples]
    wall = statistics.median(walls)
    text = f"{common.spread(walls)}; CPU median {statistics.median(cpus):.3f} s"
    if target is not None:
        text += f"; {wall / target:.2f}x target {target} s ({common.verdict(wall, target)})"
    common.row(label, text)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _app_list(runs: int) -> None:
    reuse = os.environ.get(common.REUSE_ENV)
    if not reuse:
        common.row("tidegate app list --core", f"skipped (set {common.REUSE_ENV})")
        return
    from tidegate.testenv import handle

    bed = handle.TestBed.open(Path(reuse))
    kubeconfig = bed.clusters["mgmt"].kubeconfig
    control = f"bench-startup-{secrets.token_hex(3)}"
    common.kubectl(kubeconfig, "create", "namespace", control)
    try:
        argv = [*_command(), "app", "list", "--core", f"--kubeconfig={kubeconfig}", "-n", control]
        _measure("tidegate app list --core (empty namespace)", argv, runs, 0.33)
    finally:
        common.kubectl(kubeconfig, "delete", "namespace", control, "--wait=false")


def _app_list_server(runs: int) -> None:
    reuse = os.environ.get(common.REUSE_ENV)
    if not reuse:
        common.row("tidegate app list (server)", f"skipped (set {common.REUSE_ENV})")
        return
    from tidegate.testenv import handle, scenario, serverproc

    bed = handle.TestBed.open(Path(reuse))
    kubeconfig = bed.clusters["mgmt"].kubeconfig
    control = f"bench-startup-{secrets.token_hex(3)}"
    scenario.install(bed, control)
    with tempfile.TemporaryDirectory() as tmp:
        server = serverproc.ServerProcess(bed, control, log=Path(tmp) / "server.log")
        try:
            server.start()
            config = Path(tmp) / "config"
            login = [
                *_command(),
                "login",
                server.url.removeprefix("https://"),
                "--username=admin",
                f"--password={server.admin_password()}",
                "--insecure",
                f"--config={config}",
            ]
            subprocess.run(login, capture_output=True, check=True, timeout=120)
            env = {"TIDEGATE_CONFIG": str(config), "KUBECONFIG": "/nonexistent/kubeconfig"}
            argv = [*_command(), "app", "list", "-n", control]
            _measure("tidegate app list (server, no apps)", argv, runs, 0.33, env=env)
        finally:
            server.stop()
            common.kubectl(kubeconfig, "delete", "namespace", control, "--wait=false")


def _seal(runs: int) -> None:
    from tidegate.sealedsecrets import keys

    with tempfile.TemporaryDirectory() as tmp:
        cert = Path(tmp) / "cert.pem"
        key = keys.generate_private_key(4096)
        cert.write_bytes(keys.certificate_pem(keys.self_signed_certificate(key)))
        argv = [*_command(), "seal", "--cert", str(cert)]
        _measure("tidegate seal --cert C < secret.yaml", argv, runs, 0.5, SECRET.encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    common.header(f"CLI start-up, {args.runs} runs each (load average {_load()})")
    _measure("python -c pass (floor)", [sys.executable, "-c", "pass"], args.runs, None)
    _measure("tidegate --help", [*_command(), "--help"], args.runs, 0.15)
    _app_list(args.runs)
    _app_list_server(args.runs)
    _seal(args.runs)
    print(f"  load average after: {_load()}", flush=True)


if __name__ == "__main__":
    main()
