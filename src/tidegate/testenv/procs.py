"""Detached processes of the test bed: start, check, stop. Every PID is checked against its
command line before it is signalled, so a recycled PID is never killed by mistake."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def spawn(
    cmd: list[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> int:
    """Start ``cmd`` in its own session (it outlives the caller); output goes to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    _children.append(proc)
    return proc.pid


# Popen objects of processes this interpreter started, so they are reaped (no zombies) while a
# long-lived caller such as a pytest session keeps running.
_children: list[subprocess.Popen[bytes]] = []


def _reap() -> None:
    for proc in list(_children):
        if proc.poll() is not None:
            _children.remove(proc)


def alive(pid: int, marker: str | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie) and, if given, its command line contains ``marker``."""
    _reap()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X"):
        return False
    return marker is None or marker in cmdline


def stop(pids: Iterable[int], *, marker: str | None, timeout: float = 15.0) -> None:
    """SIGTERM ``pids`` (their process groups), then SIGKILL what is left after ``timeout``."""
    targets = [p for p in pids if alive(p, marker)]
    for pid in targets:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in targets):
        time.sleep(0.05)
    for pid in targets:
        if alive(pid):
            signal_group(pid, signal.SIGKILL)
    wait_gone(targets, timeout=5)


def wait_gone(pids: Iterable[int], *, timeout: float) -> None:
    """Return once none of ``pids`` is alive, or after ``timeout`` seconds."""
    targets = list(pids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in targets):
        time.sleep(0.05)


def signal_group(pid: int, sig: signal.Signals) -> None:
    """``sig`` to the process group ``pid`` leads (each process is started in its own
    session), or to ``pid`` alone when it leads none."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])
