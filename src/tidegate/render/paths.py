"""Keep every path a render touches inside the repository tree.

Paths from specs (source path, Helm value files) are resolved first (``..`` collapsed, symlinks
followed) and then checked against the resolved repository root; absolute paths are refused.
Tree walks never descend into symlinked directories, and refuse any symlink whose target lies
outside the root, whatever it points to (file, directory, or nothing).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from tidegate.model import errors

SKIPPED_DIRS = frozenset({".git"})


def resolve_inside(root: Path, relative: str, *, what: str, base: Path | None = None) -> Path:
    """``(base or root) / relative``, resolved, or :class:`PathEscapeError` if it leaves
    ``root``. ``root`` must already be resolved. ``""`` and ``"."`` mean ``base`` itself."""
    if "\x00" in relative:
        raise errors.PathEscapeError(f"{what} {relative!r} contains a NUL byte")
    if PurePosixPath(relative).is_absolute():
        raise errors.PathEscapeError(
            f"{what} {relative!r} is absolute; it must be relative to the repository"
        )
    resolved = ((base or root) / relative).resolve()
    if not resolved.is_relative_to(root):
        raise errors.PathEscapeError(f"{what} {relative!r} resolves outside the repository")
    return resolved


def display(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` for messages (never leaks the checkout location)."""
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return path.name


def _check_link(root: Path, entry: os.DirEntry[str]) -> Path:
    target = Path(entry.path).resolve()
    if not target.is_relative_to(root):
        raise errors.PathEscapeError(
            f"symlink {display(root, Path(entry.path))!r} points outside the repository"
        )
    return target


@dataclasses.dataclass(frozen=True)
class WalkedFile:
    path: Path  # where to read it (inside the tree)
    relative: str  # relative to the walked directory, '/'-separated


def walk_files(root: Path, top: Path, *, recurse: bool) -> Iterator[WalkedFile]:
    """Files under ``top`` in lexical order, depth first (the order ``filepath.Walk`` uses).

    Symlinked files inside the root are yielded; symlinked directories are not descended;
    symlinks leaving the root raise :class:`PathEscapeError`."""
    yield from _walk(root, top, "", recurse=recurse)


def _walk(root: Path, directory: Path, prefix: str, *, recurse: bool) -> Iterator[WalkedFile]:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        raise errors.RenderError(
            f"cannot list {display(root, directory)!r}: {exc.strerror}"
        ) from exc
    for entry in entries:
        relative = prefix + entry.name
        if entry.is_symlink():
            target = _check_link(root, entry)
            if target.is_file():
                yield WalkedFile(Path(entry.path), relative)
            continue
        if entry.is_dir(follow_symlinks=False):
            if recurse and entry.name not in SKIPPED_DIRS:
                yield from _walk(root, Path(entry.path), relative + "/", recurse=recurse)
            continue
        if entry.is_file(follow_symlinks=False):
            yield WalkedFile(Path(entry.path), relative)


def check_symlinks(root: Path, top: Path) -> None:
    """Refuse the tree under ``top`` if any symlink in it points outside ``root``."""
    stack = [top]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as scan:
            for entry in scan:
                if entry.is_symlink():
                    _check_link(root, entry)
                elif entry.is_dir(follow_symlinks=False) and entry.name not in SKIPPED_DIRS:
                    stack.append(Path(entry.path))
