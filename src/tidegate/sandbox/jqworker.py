"""The jq worker process: ``python -m tidegate.sandbox.jqworker PROGRESS_FD MEMORY_BYTES``.

Reads requests on stdin and answers on stdout, one at a time, until stdin closes. Imports only the
standard library and jq, so a new worker starts in about a tenth of a second.

Framing (both ways): a 4-byte big-endian length, then that many bytes.

- request: a JSON header ``{"timeout": seconds, "jobs": [[doc, expression], ...],
  "sizes": [bytes of each doc]}`` framed, followed by one frame holding the documents' JSON
  texts concatenated (sliced by ``sizes``);
- answer: a JSON object ``{"results": [...]}``, one entry per job: the list of paths jq found for
  ``[path((EXPR)?)]``, or ``{"error": message}`` when the expression is not a path expression.

Bounds: before each job the worker writes the job's index (8 bytes, little-endian) at offset 0 of
``PROGRESS_FD`` and arms a real-time timer of ``timeout`` seconds whose signal (SIGALRM, default
action) terminates the process, wherever it is, C code included. The address space is limited to
``MEMORY_BYTES``: jq aborts when an allocation fails. Either way the parent sees the worker die,
reads which job it was running, and reports that expression.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import signal
import struct
import sys
from typing import IO, Any

import jq

_LENGTH = struct.Struct(">I")
_INDEX = struct.Struct("<q")


@functools.lru_cache(maxsize=1024)
def _compiled(expression: str) -> Any:
    return jq.compile(f"[path(({expression})?)]")


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return body


def _write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(_LENGTH.pack(len(body)) + body)
    stream.flush()


def _evaluate(expression: str, text: str) -> Any:
    try:
        return _compiled(expression).input_text(text).first() or []
    except ValueError as exc:  # compile errors are caught before a job is sent; this is runtime
        return {"error": str(exc).splitlines()[0] if str(exc) else "jq error"}


def serve(stdin: IO[bytes], stdout: IO[bytes], progress_fd: int) -> None:
    while True:
        header_raw = _read_frame(stdin)
        docs_raw = _read_frame(stdin) if header_raw is not None else None
        if header_raw is None or docs_raw is None:
            return
        header = json.loads(header_raw)
        timeout = float(header["timeout"])
        texts: list[str] = []
        offset = 0
        for size in header["sizes"]:
            texts.append(docs_raw[offset : offset + size].decode())
            offset += size
        results: list[Any] = []
        for index, (doc, expression) in enumerate(header["jobs"]):
            os.pwrite(progress_fd, _INDEX.pack(index), 0)
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                results.append(_evaluate(str(expression), texts[int(doc)]))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        os.pwrite(progress_fd, _INDEX.pack(-1), 0)
        _write_frame(stdout, json.dumps({"results": results}).encode())


def main(argv: list[str]) -> None:
    progress_fd, memory = int(argv[1]), int(argv[2])
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # an expired timer ends the process
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    serve(sys.stdin.buffer, sys.stdout.buffer, progress_fd)


if __name__ == "__main__":
    main(sys.argv)
