"""Unpacking a chart archive (``.tgz``) safely: every member checked before anything is written.

Refused, with the member named: paths that are absolute or climb out of the destination
(``..``), symbolic and hard links, devices and FIFOs, more than ``max_members`` entries, and a
total unpacked size over ``max_bytes`` (a gzip bomb is caught by counting the bytes actually
written, not the sizes the headers claim). The archive is unpacked into a scratch directory
that is renamed into place only when everything succeeded: a failure leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from tidegate.model import errors


@dataclasses.dataclass(frozen=True)
class ArchiveLimits:
    max_bytes: int = 256 * 1024 * 1024
    max_members: int = 20_000


def _member_path(member: tarfile.TarInfo, what: str) -> PurePosixPath:
    name = member.name
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise errors.SourceError(f"{what}: entry {name!r} has an absolute path")
    if ".." in path.parts:
        raise errors.SourceError(f"{what}: entry {name!r} escapes the archive's root")
    if member.issym() or member.islnk():
        kind = "symbolic link" if member.issym() else "hard link"
        raise errors.SourceError(
            f"{what}: entry {name!r} is a {kind} (to {member.linkname!r}); links are refused"
        )
    if not (member.isfile() or member.isdir()):
        raise errors.SourceError(f"{what}: entry {name!r} is not a regular file or directory")
    return path


def extract(archive: Path, dest: Path, *, what: str, limits: ArchiveLimits) -> None:
    """Unpack ``archive`` (gzip'd tar) into the new directory ``dest`` (atomically)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest.parent))
    try:
        _extract_into(archive, scratch, what=what, limits=limits)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(scratch, dest)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def _extract_into(archive: Path, root: Path, *, what: str, limits: ArchiveLimits) -> None:
    written = 0
    count = 0
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                count += 1
                if count > limits.max_members:
                    raise errors.SourceError(
                        f"{what}: more than {limits.max_members} entries in the archive"
                    )
                path = _member_path(member, what)
                target = root.joinpath(*path.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    continue
                with source, target.open("wb") as sink:
                    while block := source.read(1024 * 1024):
                        written += len(block)
                        if written > limits.max_bytes:
                            raise errors.SourceError(
                                f"{what}: unpacks to more than {limits.max_bytes} bytes"
                            )
                        sink.write(block)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise errors.SourceError(f"{what}: not a readable chart archive: {exc}") from exc
