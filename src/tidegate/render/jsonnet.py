"""Jsonnet in directory sources (``spec.source.directory.jsonnet``), as Argo CD renders it.

Every ``.jsonnet`` file the directory walk selects is evaluated with the source's top-level
arguments (``tlas``), external variables (``extVars``; ``code: true`` passes Jsonnet code rather
than a string) and library paths (``libs``, relative to the repository root, searched after the
importing file's directory). A file's output is one object, or an array of objects; ``List``
objects are expanded by the caller like any manifest.

Evaluation runs in one worker process per render (:mod:`tidegate.render.jsonnet_worker`) so that
it is bounded: killed at the render's timeout, its memory capped, its output size capped, and its
imports confined to the repository (``/etc/passwd`` or another tenant's tree cannot be read).
Blocking: the caller runs it in a worker thread.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from tidegate.model import errors
from tidegate.render import paths, request

MAX_MEMORY_BYTES: Final = 1024 * 1024 * 1024


def _vars(entries: Sequence[request.JsonnetVar], *, code: bool) -> dict[str, str]:
    return {v.name: v.value for v in entries if v.code is code}


def evaluate(
    root: Path,
    files: Sequence[Path],
    *,
    options: request.JsonnetOptions,
    limits: request.RenderLimits,
) -> list[tuple[Path, str]]:
    """The JSON text each of ``files`` evaluates to, in order."""
    if not files:
        return []
    jpaths = [paths.resolve_inside(root, lib, what="jsonnet library path") for lib in options.libs]
    job = {
        "root": str(root),
        "files": [str(f) for f in files],
        "jpaths": [str(p) for p in jpaths],
        "tla_vars": _vars(options.tlas, code=False),
        "tla_codes": _vars(options.tlas, code=True),
        "ext_vars": _vars(options.ext_vars, code=False),
        "ext_codes": _vars(options.ext_vars, code=True),
        "max_memory_bytes": MAX_MEMORY_BYTES,
        "max_output_bytes": limits.max_total_bytes,
    }
    where = ", ".join(paths.display(root, f) for f in files)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tidegate.render.jsonnet_worker"],
            input=json.dumps(job).encode(),
            capture_output=True,
            timeout=limits.timeout_seconds,
            check=False,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        )
    except subprocess.TimeoutExpired:
        raise errors.RenderError(
            f"{where}: Jsonnet evaluation did not finish within {limits.timeout_seconds:g} s"
        ) from None
    try:
        reply: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:  # the worker died (a crash prints bytes that need not be UTF-8)
        stderr = proc.stderr.decode("utf-8", errors="replace")
        detail = stderr.strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        raise errors.RenderError(f"{where}: Jsonnet evaluation failed: {detail[0]}") from None
    if "error" in reply:
        raise errors.RenderError(f"{where}: Jsonnet: {reply['error']}")
    return list(zip(files, reply["outputs"], strict=True))
