"""Running one git (or gpg) process with a deadline that kills its whole process group.

The child starts in a new session, so ssh, remote helpers and gpg it spawns share its process
group. On the deadline, or when the awaiting task is cancelled, the group is killed with SIGKILL
and the child reaped (bounded) before control returns: nothing keeps running, and no slot or
lock held by the caller outlives the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_REAP_SECONDS = 10.0


@dataclass(frozen=True)
class Completed:
    code: int
    stdout: bytes
    stderr: bytes


class DeadlineExceeded(Exception):
    """The process ran past its deadline; its group was killed."""

    def __init__(self, time_limit: float) -> None:
        super().__init__(f"did not finish within {time_limit:g}s")
        self.time_limit = time_limit


async def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    time_limit: float,
    cwd: Path | None = None,
    stdin: bytes | None = None,
) -> Completed:
    """Run ``argv`` to completion within ``time_limit`` seconds.

    Raises :class:`DeadlineExceeded` after killing the group on expiry; ``OSError`` when the
    program cannot be started. The exit code is the caller's to judge.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    finished = False
    try:
        async with asyncio.timeout(time_limit):
            out, err = await process.communicate(stdin)
        finished = True
    except TimeoutError:
        raise DeadlineExceeded(time_limit) from None
    finally:
        if not finished:
            await asyncio.shield(_reap(process))
    return Completed(process.returncode or 0, out, err)


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _reap(process: asyncio.subprocess.Process) -> None:
    kill_group(process.pid)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_REAP_SECONDS):
            await process.wait()
