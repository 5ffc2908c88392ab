"""Reading a commit's tree with pygit2: listings, file contents, missing blobs, materialising.

The cache fetches with ``--filter=blob:none``, so blobs may be absent locally until asked for;
:func:`missing_blobs` lists what a read needs so the caller can fetch it in one round trip.
Materialising writes a read-only copy of the tree with symlinks kept as symlinks (the renderer
decides whether their targets stay inside the repository) and executable bits preserved.
Submodules (gitlinks) become empty directories.

Every entry name is checked as it is read (:func:`check_name`), so a tree crafted to escape the
checkout is refused before anything is written, and before any listing reaches a caller:
empty names, ``.``, ``..``, names containing ``/``, ``\\`` or NUL, and ``.git`` in every
spelling git itself refuses on some filesystem (any case; NTFS trailing dots/spaces, ``:``
streams and the ``git~1`` short name; HFS+ ignorable code points).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

import pygit2

from tidegate.model import errors

_LINK = 0o120000
_EXECUTABLE = 0o100755
_GITLINK = 0o160000
_TREE = 0o040000


# Code points HFS+ ignores when comparing names (git's is_hfs_dotgit list).
_HFS_IGNORED = dict.fromkeys(
    [0x200C, 0x200D, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF]
)
# NTFS: ".git" or its 8.3 short name "git~1", then only dots/spaces, or a ':' stream suffix.
_NTFS_DOTGIT = re.compile(r"(?:\.git|git~1)[. ]*(?::.*)?", re.IGNORECASE | re.DOTALL)


def unsafe_name(raw: bytes) -> str | None:
    """Why a tree entry name may not be written to disk, or None when it is safe."""
    if raw in (b"", b".", b".."):
        return "an empty, '.' or '..' name"
    if b"/" in raw or b"\\" in raw or b"\0" in raw:
        return "a name containing '/', '\\' or NUL"
    name = raw.decode("utf-8", errors="replace")
    if _NTFS_DOTGIT.fullmatch(name):
        return "a '.git' name (as NTFS reads it)"
    if name.translate(_HFS_IGNORED).casefold() == ".git":
        return "a '.git' name (as HFS+ reads it)"
    return None


def check_name(raw: bytes, parent: str) -> str:
    """The entry name as text, or :class:`UnsafeRepositoryError` naming the entry."""
    problem = unsafe_name(raw)
    if problem is not None:
        shown = raw.decode("utf-8", errors="backslashreplace").replace("\0", "\\0")
        raise errors.UnsafeRepositoryError(
            f"tree entry {parent}{shown!r} is refused ({problem}): it could write outside the "
            "checkout or into git's own files; nothing was written"
        )
    return raw.decode("utf-8", errors="surrogateescape")


def commit_tree(repo: pygit2.Repository, sha: str) -> pygit2.Tree:
    commit = repo.get(sha)
    if not isinstance(commit, pygit2.Commit):
        raise errors.RevisionNotFoundError(f"commit {sha} is not in the local repository")
    return commit.tree


def walk(tree: pygit2.Tree, prefix: str = "") -> Iterator[tuple[str, int, str]]:
    """(path, filemode, object id) for every entry under ``tree``, depth first; an unsafe
    entry name raises :class:`UnsafeRepositoryError` (see :func:`check_name`)."""
    pending: list[tuple[pygit2.Tree, str]] = [(tree, prefix)]
    while pending:
        current, base = pending.pop()
        for entry in current:
            path = f"{base}{check_name(entry.raw_name or b'', base)}"
            yield path, entry.filemode, str(entry.id)
            if isinstance(entry, pygit2.Tree):
                pending.append((entry, f"{path}/"))


def list_paths(repo: pygit2.Repository, sha: str, *, directories: bool) -> list[str]:
    """Sorted paths of files (blobs and symlinks) or of directories at commit ``sha``."""
    tree = commit_tree(repo, sha)
    if directories:
        return sorted(path for path, mode, _ in walk(tree) if mode == _TREE)
    return sorted(path for path, mode, _ in walk(tree) if mode not in (_TREE, _GITLINK))


def blob_ids(repo: pygit2.Repository, sha: str, paths: Iterable[str] | None) -> dict[str, str]:
    """Path -> blob id for ``paths`` (all files when None); absent paths are left out."""
    tree = commit_tree(repo, sha)
    if paths is None:
        return {path: oid for path, mode, oid in walk(tree) if mode not in (_TREE, _GITLINK)}
    found: dict[str, str] = {}
    for path in paths:
        parts = path.strip("/").split("/")
        if any(unsafe_name(part.encode("utf-8", "surrogateescape")) for part in parts):
            continue  # no such file can be written: '..', '.git'... never name one
        try:
            entry = tree[path.strip("/")]
        except KeyError:
            continue
        if entry.filemode not in (_TREE, _GITLINK):
            found[path] = str(entry.id)
    return found


def missing_blobs(repo: pygit2.Repository, oids: Iterable[str]) -> list[str]:
    """The blob ids among ``oids`` not present in the local object store (deduplicated)."""
    return sorted({oid for oid in oids if oid not in repo})


def read_blob(repo: pygit2.Repository, oid: str) -> bytes:
    blob = repo.get(oid)
    if not isinstance(blob, pygit2.Blob):
        raise errors.SourceError(f"blob {oid} is missing from the local repository")
    return bytes(blob.data)


def materialise(repo_path: Path, sha: str, destination: Path) -> int:
    """Write the tree of commit ``sha`` into the new directory ``destination``, read-only.

    Returns the number of files written. Opens its own repository handle (thread-safe).
    """
    repo = pygit2.Repository(str(repo_path))
    tree = commit_tree(repo, sha)
    destination.mkdir()
    directories = [destination]
    count = 0
    for path, mode, oid in walk(tree):  # names checked by walk(): no '..', '/', '.git'
        target = destination / path
        if not os.path.normpath(target).startswith(str(destination) + os.sep):
            raise errors.UnsafeRepositoryError(f"tree entry {path!r} leaves the checkout")
        if mode in (_TREE, _GITLINK):
            target.mkdir()
            directories.append(target)
            continue
        data = read_blob(repo, oid)
        if mode == _LINK:
            os.symlink(os.fsdecode(data), target)
        else:
            target.write_bytes(data)
            target.chmod(0o555 if mode == _EXECUTABLE else 0o444)
        count += 1
    for directory in reversed(directories):
        directory.chmod(0o555)
    return count


def make_writable(root: Path) -> None:
    """Undo the read-only modes under ``root`` so it can be deleted."""
    if not root.exists():
        return
    root.chmod(0o700)
    for base, names, _ in os.walk(root):
        for name in names:
            path = Path(base) / name
            if not path.is_symlink():
                path.chmod(stat.S_IRWXU)
