"""Run a renderer binary (helm, kustomize) with a deadline and bounded output.

The child gets its own process group; on timeout, output overflow or cancellation the whole
group is killed and reaped before the error is raised. A failure carries the tail of stderr,
with known directories replaced by placeholders so messages do not depend on where the checkout
or temp dir happened to be.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tidegate.model import errors

_CHUNK = 64 * 1024
_STDERR_TAIL_CHARS = 2000
_REAP_SECONDS = 10.0


async def _read_limited(
    stream: asyncio.StreamReader, limit: int, on_overflow: Callable[[], None]
) -> bytes | None:
    """Read to EOF; past ``limit`` bytes call ``on_overflow`` once, keep draining, and return
    None (the pipe must reach EOF: asyncio only reports the exit once its pipes are closed)."""
    chunks: list[bytes] = []
    total = 0
    overflowed = False
    while chunk := await stream.read(_CHUNK):
        if overflowed:
            continue
        total += len(chunk)
        if total > limit:
            overflowed = True
            chunks.clear()
            on_overflow()
            continue
        chunks.append(chunk)
    return None if overflowed else b"".join(chunks)


async def _read_tail(stream: asyncio.StreamReader, limit: int) -> bytes:
    """Read to EOF keeping only the last ``limit`` bytes (stderr must not block the child)."""
    kept = b""
    while chunk := await stream.read(_CHUNK):
        kept = (kept + chunk)[-limit:]
    return kept


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(_CHUNK):
        pass


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Kill the process group, drain both pipes and wait for the exit (bounded: a grandchild
    that left the group could hold a pipe open)."""
    _kill_group(process)
    assert process.stdout is not None and process.stderr is not None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_REAP_SECONDS):
            await asyncio.gather(_discard(process.stdout), _discard(process.stderr), process.wait())


def stderr_message(stderr: bytes, replacements: Mapping[str, str]) -> str:
    text = stderr.decode("utf-8", errors="replace").strip()
    for old, new in replacements.items():
        if old:
            text = text.replace(old, new)
    if len(text) > _STDERR_TAIL_CHARS:
        text = "..." + text[-_STDERR_TAIL_CHARS:]
    return text or "(no error output)"


async def run(
    argv: Sequence[str],
    *,
    what: str,
    time_limit: float,
    max_stdout: int,
    max_stderr: int,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    replacements: Mapping[str, str] | None = None,
) -> bytes:
    """Stdout of ``argv`` if it exits 0 within ``time_limit`` seconds; else a RenderError."""
    replacements = replacements or {}
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
        )
    except OSError as exc:
        raise errors.RenderError(f"{what}: cannot start {argv[0]!r}: {exc.strerror}") from exc
    assert process.stdout is not None and process.stderr is not None
    finished = False
    try:
        async with asyncio.timeout(time_limit):
            stdout, stderr, code = await asyncio.gather(
                _read_limited(process.stdout, max_stdout, lambda: _kill_group(process)),
                _read_tail(process.stderr, max_stderr),
                process.wait(),
            )
        finished = True
    except TimeoutError:
        raise errors.RenderTimeoutError(f"{what}: did not finish within {time_limit:g}s") from None
    finally:
        if not finished:
            await asyncio.shield(_reap(process))
    if stdout is None:
        raise errors.ManifestError(f"{what}: output exceeds the limit of {max_stdout} bytes")
    if code != 0:
        raise errors.RenderError(
            f"{what}: failed with exit code {code}: {stderr_message(stderr, replacements)}"
        )
    return stdout
