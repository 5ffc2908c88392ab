"""Which files of ``--local DIR`` are rendered: argocd's ``--local-include`` (``app diff``).

argocd's ``--server-side-generate`` sends the files of ``--local`` whose *file name* matches one
of the ``--local-include`` globs (default ``*.yaml``, ``*.yml``, ``*.json``) to its repository
server, which renders them with the app's settings. Tidegate's CLI renders with the
controller's own render code in process, so the difference it keeps is the file selection:
:func:`staged` copies the matching files of the repository root (``--local-repo-root``, default
DIR) into a temporary tree, keeping their paths, and the render reads that tree. Without
``--server-side-generate`` every file is read, as argocd's local render does, and
``--local-include`` is refused (exit 2) instead of being silently ignored.

Only typer and the standard library at import time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

import typer

from tidegate.cli import output

DEFAULT_INCLUDE = ("*.yaml", "*.yml", "*.json")
LocalInclude = Annotated[
    list[str] | None,
    typer.Option(
        "--local-include",
        help="With --server-side-generate: file-name globs of --local to render "
        "(repeat; default *.yaml, *.yml, *.json).",
    ),
]


def check_include(
    local: Path | None, include: Sequence[str] | None, *, server_side_generate: bool
) -> tuple[str, ...] | None:
    """The globs to select with (None: every file); usage errors (exit 2) for the flags
    given without what they go with."""
    if server_side_generate and local is None:
        raise output.fail("--server-side-generate goes with --local DIR", 2)
    if include and not server_side_generate:
        raise output.fail(
            "--local-include selects the files --server-side-generate renders: give both", 2
        )
    if not server_side_generate:
        return None
    globs = tuple(include or DEFAULT_INCLUDE)
    if any(not g.strip() for g in globs):
        raise output.fail("--local-include: an empty glob matches no file", 2)
    return globs


def selected(names: Sequence[str], globs: Sequence[str]) -> list[str]:
    """The relative paths among ``names`` whose file name matches one of ``globs``. Pure."""
    from tidegate.model import globs as glob_match

    return [n for n in names if any(glob_match.matches(g, Path(n).name) for g in globs)]


@contextlib.contextmanager
def staged(
    local: Path | None, repo_root: Path | None, include: Sequence[str] | None
) -> Iterator[tuple[Path | None, Path | None]]:
    """``(local, repo_root)`` to render from: unchanged without ``include``, else the same
    two inside a temporary copy holding only the selected files (removed afterwards)."""
    if local is None or include is None:
        yield local, repo_root
        return
    import shutil
    import tempfile

    from tidegate.cli import app_diff_local

    root, inside = app_diff_local.local_path(local, repo_root)
    files = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    )
    with tempfile.TemporaryDirectory(prefix="tidegate-local-") as tmp:
        copy = Path(tmp)
        for name in selected(files, include):
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, target)
        (copy / inside).mkdir(parents=True, exist_ok=True)
        yield copy / inside, copy
