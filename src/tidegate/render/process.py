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
from collections.abc import Mapping, Sequence
from pathlib import Path

from tidegate.model import errors

_CHUNK = 64 * 1024
_STDERR_TAIL_CHARS = 2000


class _Overflow(Exception):
    pass


async def _read_limited(stream: asyncio.StreamReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while chunk := await stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise _Overflow
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_tail(stream: asyncio.StreamReader, limit: int) -> bytes:
    """Read to EOF keeping only the last ``limit`` bytes (stderr must not block the child)."""
    kept = b""
    while chunk := await stream.read(_CHUNK):
        kept = (kept + chunk)[-limit:]
    return kept


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


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
    try:
        async with asyncio.timeout(time_limit):
            stdout, stderr, code = await asyncio.gather(
                _read_limited(process.stdout, max_stdout),
                _read_tail(process.stderr, max_stderr),
                process.wait(),
            )
    except TimeoutError:
        raise errors.RenderTimeoutError(f"{what}: did not finish within {time_limit:g}s") from None
    except _Overflow:
        raise errors.ManifestError(
            f"{what}: output exceeds the limit of {max_stdout} bytes"
        ) from None
    finally:
        if process.returncode is None:
            _kill_group(process)
            with contextlib.suppress(ProcessLookupError):
                await asyncio.shield(process.wait())
    if code != 0:
        raise errors.RenderError(
            f"{what}: failed with exit code {code}: {stderr_message(stderr, replacements)}"
        )
    return stdout
