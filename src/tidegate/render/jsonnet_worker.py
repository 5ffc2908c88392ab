"""The Jsonnet evaluator process: ``python -m tidegate.render.jsonnet_worker``.

Reads one JSON job on stdin, evaluates its files with go-jsonnet (``gojsonnet``, the evaluator
Argo CD embeds, so programs behave as there, and 10x+ faster than the C++ one), and writes one
JSON reply on stdout. It runs as a separate process so that the caller can bound it: a
never-ending program is killed at the timeout, and the process caps its own address space before
evaluating (``RLIMIT_DATA``), so a program that asks for gigabytes fails here, not in the
controller. Imports go through :func:`_importer`, which only opens files inside the repository.

Job: ``{"root", "files": [paths], "jpaths": [dirs], "tla_vars", "tla_codes", "ext_vars",
"ext_codes", "max_memory_bytes", "max_output_bytes"}``. Reply: ``{"outputs": [json text per
file]}`` or ``{"error": "message"}``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _inside(root: Path, path: Path) -> bool:
    return path == root or root in path.parents


# What a refused import evaluates to. The refusal itself is recorded in the worker and reported
# instead of the evaluation's result: an exception raised in the callback crosses the Go/C
# bridge, which was seen to garble its message now and then.
_REFUSED = b'error "import refused"'


def _importer(
    root: Path, jpaths: list[Path], refused: list[str]
) -> Callable[[str, str], tuple[str, bytes]]:
    """Resolve ``import``/``importstr`` relative to the importing file, then the library paths,
    as jsonnet's own file importer does; refuse anything that resolves outside ``root`` (the
    refusal is appended to ``refused``)."""

    def load(base: str, rel: str) -> tuple[str, bytes]:
        if os.path.isabs(rel):
            candidates = [Path(rel)]
        else:
            candidates = [Path(base) / rel, *(lib / rel for lib in jpaths)]
        for candidate in candidates:
            resolved = Path(os.path.realpath(candidate))
            if not _inside(root, resolved):
                refused.append(f"import {rel!r} resolves outside the repository and is refused")
                return f"/refused/{len(refused)}", _REFUSED
            if resolved.is_file():
                return str(resolved), resolved.read_bytes()
        raise RuntimeError(f"import {rel!r} not found")

    return load


def evaluate(job: dict[str, Any]) -> dict[str, Any]:
    import _gojsonnet  # go-jsonnet, the evaluator Argo CD embeds; imported only here

    root = Path(os.path.realpath(job["root"]))
    jpaths = [Path(os.path.realpath(p)) for p in job["jpaths"]]
    refused: list[str] = []
    importer = _importer(root, jpaths, refused)
    outputs: list[str] = []
    total = 0
    for file in job["files"]:
        try:
            text = _gojsonnet.evaluate_file(
                file,
                import_callback=importer,
                tla_vars=job["tla_vars"],
                tla_codes=job["tla_codes"],
                ext_vars=job["ext_vars"],
                ext_codes=job["ext_codes"],
            )
        except (RuntimeError, UnicodeDecodeError):
            if refused:
                return {"error": refused[0]}
            raise
        if refused:  # an importstr of a refused file evaluates; its output must not be used
            return {"error": refused[0]}
        total += len(text)
        if total > job["max_output_bytes"]:
            return {"error": f"output is over the limit of {job['max_output_bytes']} bytes"}
        outputs.append(text)
    return {"outputs": outputs}


def main() -> None:
    job = json.loads(sys.stdin.read())
    limit = int(job["max_memory_bytes"])
    # RLIMIT_DATA, not RLIMIT_AS: the Go runtime reserves far more address space than it uses.
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        reply = evaluate(job)
    except MemoryError:
        reply = {"error": f"evaluation needs more than {limit // (1024 * 1024)} MiB of memory"}
    except RuntimeError as exc:  # jsonnet's errors (syntax, runtime, imports) are RuntimeErrors
        reply = {"error": str(exc).strip()}
    except UnicodeDecodeError:
        reply = {"error": "the program or an imported file is not UTF-8 text"}
    sys.stdout.write(json.dumps(reply))


if __name__ == "__main__":
    main()
