"""A small pool of jq worker processes: path expressions evaluated with a timeout, off the loop.

:meth:`JqPool.paths` sends a batch (documents plus ``(document, expression)`` jobs) to one idle
worker and awaits its answer without blocking the event loop. Each expression gets ``timeout``
seconds (argocd-cm ``ignore.normalizer.jq.timeout``); a worker also may not use more than
:data:`MEMORY_BYTES`. A worker that exceeds either dies (see :mod:`tidegate.sandbox.jqworker`) and
is replaced by a fresh one on the next call; the call raises :class:`JqLimitError` naming the job.

Costs (measured, docs/diff.md): a batch round trip is a few hundred microseconds plus ~20 µs per
expression evaluation; programs stay compiled in each worker. Callers batch every expression of a
comparison into one call and call only when some rule has jq expressions.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import struct
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from tidegate.model import errors

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 1.0  # seconds per expression, Argo CD's default
DEFAULT_WORKERS = 2
MEMORY_BYTES = 512 * 1024 * 1024  # address space of one worker (jq aborts beyond it)
_SLACK = 5.0  # seconds the parent waits beyond the workers' own timers before killing one
_LENGTH = struct.Struct(">I")
_INDEX = struct.Struct("<q")

RawPath = list[str | int]


class JqLimitError(errors.LimitExceededError):
    """A job ran past the timeout or the memory limit. ``job`` is its index in the batch (-1:
    unknown), ``reason`` says which limit, in words ready for a message."""

    def __init__(self, message: str, *, job: int, reason: str, lost: bool = False) -> None:
        super().__init__(message)
        self.job = job
        self.reason = reason
        self.lost = lost  # the worker died of something other than the time or memory limit


@dataclasses.dataclass
class _Worker:
    proc: asyncio.subprocess.Process
    progress_fd: int

    def job_in_progress(self) -> int:
        with contextlib.suppress(OSError, struct.error):
            (index,) = _INDEX.unpack(os.pread(self.progress_fd, _INDEX.size, 0))
            return int(index)
        return -1

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            await self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.progress_fd)


class JqPool:
    """Up to ``workers`` jq processes, started on first use, replaced when one exceeds a limit."""

    def __init__(
        self,
        *,
        workers: int = DEFAULT_WORKERS,
        timeout: float = DEFAULT_TIMEOUT,
        memory_bytes: int = MEMORY_BYTES,
    ) -> None:
        self.size = max(1, workers)
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self._idle: list[_Worker] = []
        self._slots = asyncio.Semaphore(self.size)
        self.calls = 0
        self.replaced = 0  # workers lost to a limit (for metrics and tests)

    async def paths(
        self, docs: Sequence[Any], jobs: Sequence[tuple[int, str]]
    ) -> list[list[RawPath] | str]:
        """For each ``(doc index, expression)`` job: the paths jq finds in that document for
        ``[path((EXPR)?)]`` (not checked to exist), or a string (jq's runtime error). Raises
        :class:`JqLimitError` when a job exceeds the timeout or the memory limit."""
        if not jobs:
            return []
        texts = [json.dumps(doc, separators=(",", ":")).encode() for doc in docs]
        header = json.dumps(
            {"timeout": self.timeout, "jobs": list(jobs), "sizes": [len(t) for t in texts]}
        ).encode()
        payload = b"".join(texts)
        async with self._slots:
            self.calls += 1
            reused = bool(self._idle)
            worker = self._idle.pop() if reused else await self._spawn()
            try:
                answer = await self._call(worker, header, payload, jobs)
            except JqLimitError as exc:
                if not (reused and exc.job < 0 and exc.lost):
                    raise
                # An idle worker that had died (killed from outside) before taking the batch:
                # the batch is not at fault, so it gets one fresh worker.
                worker = await self._spawn()
                answer = await self._call(worker, header, payload, jobs)
            self._idle.append(worker)
        results: list[list[RawPath] | str] = []
        for item in answer:
            if isinstance(item, dict):
                results.append(str(item.get("error") or "jq error"))
            else:
                results.append([[*p] for p in item if isinstance(p, list)])
        return results

    async def _call(
        self, worker: _Worker, header: bytes, payload: bytes, jobs: Sequence[tuple[int, str]]
    ) -> list[Any]:
        """One exchange; a worker that fails it is discarded (JqLimitError says why)."""
        try:
            return await asyncio.wait_for(
                self._exchange(worker, header, payload), self.timeout * len(jobs) + _SLACK
            )
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as exc:
            with contextlib.suppress(ProcessLookupError):
                if isinstance(exc, TimeoutError):
                    worker.proc.kill()
            await worker.proc.wait()
            error = self._limit_error(worker, jobs, exc)
            await self._discard(worker)
            raise error from None
        except BaseException:
            await self._discard(worker)  # cancelled mid-exchange: its pipe state is unknown
            raise

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for worker in idle:
            await worker.stop()

    # -- workers ---------------------------------------------------------------------------------

    async def _discard(self, worker: _Worker) -> None:
        self.replaced += 1
        await worker.stop()

    async def _spawn(self) -> _Worker:
        handle, path = tempfile.mkstemp(prefix="tidegate-jq-")
        os.unlink(path)  # only the worker and this process hold it, through the descriptor
        os.pwrite(handle, _INDEX.pack(-1), 0)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tidegate.sandbox.jqworker",
                str(handle),
                str(self.memory_bytes),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                pass_fds=(handle,),
            )
        except BaseException:
            os.close(handle)
            raise
        return _Worker(proc, handle)

    @staticmethod
    async def _exchange(worker: _Worker, header: bytes, docs: bytes) -> list[Any]:
        stdin, stdout = worker.proc.stdin, worker.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(_LENGTH.pack(len(header)) + header + _LENGTH.pack(len(docs)) + docs)
        await stdin.drain()
        (size,) = _LENGTH.unpack(await stdout.readexactly(_LENGTH.size))
        answer = json.loads(await stdout.readexactly(size))
        results: list[Any] = answer["results"]
        return results

    def _limit_error(
        self, worker: _Worker, jobs: Sequence[tuple[int, str]], exc: BaseException
    ) -> JqLimitError:
        job = worker.job_in_progress()
        code = worker.proc.returncode
        lost = False
        if isinstance(exc, TimeoutError) or code == -signal.SIGALRM:
            reason = f"did not finish within the timeout of {self.timeout:g}s"
        elif code == -signal.SIGABRT or code == 1:
            reason = f"ran out of the memory limit of {self.memory_bytes // (1024 * 1024)} MiB"
        else:
            reason = f"stopped its worker process (exit status {code})"
            lost = True
        expression = jobs[job][1] if 0 <= job < len(jobs) else ""
        shown = f"jq expression {expression!r}" if expression else "a jq batch"
        log.warning("%s %s; worker replaced", shown, reason)
        return JqLimitError(f"{shown} {reason}", job=job, reason=reason, lost=lost)
