"""Render results kept on disk, so that a restarted controller does not render its fleet again.

The in-memory :class:`~tidegate.render.cache.RenderCache` dies with the process; a restart then
renders every app once more before any status is right (a Helm or Kustomize source costs a
child process each). A :class:`RenderStore` keeps each result in one file of the controller's
cache directory (``<cache dir>/renders``: a restarted pod keeps its volume), named by a hash of

    <format> | <salt: Tidegate's version, the renderer binaries> | <RenderRequest.cache_key()>

The request's key already holds everything a render depends on: the commit (never a branch),
the source path and options, the app instance name, tracking method and installation id, the
plugin definitions, the cluster's capabilities for Helm and plugins. A Git change made while the
controller was down resolves to another commit, hence another key: a stale file is never used
for it. The file repeats the full key, so that a hash collision or a file copied under another
name is not used either.

Faults: a file that cannot be read, is not JSON or has not the expected shape is ignored (one
log line), removed, and the source renders again. Files are written to a temporary name and
renamed (a crash never leaves half a file under a real name; a temporary file left by a crash
is removed when the directory is next scanned), readable by the owner only
(rendered Secrets stay as private as the checked-out repositories next to them). The directory
is bounded in entries and bytes: the least recently used files go first.

Blocking file I/O: call from a thread (``asyncio.to_thread``), as the render cache does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import tidegate
from tidegate.render import request, tools

log = logging.getLogger("tidegate.render")

FORMAT = "r1"  # bump when the file layout or the meaning of a key changes
SUFFIX = ".json"
TEMP_PREFIX = ".tmp-"
TEMP_MAX_AGE_NS = 600 * 10**9  # a temporary file this old is no write in progress


def stale(mtime_ns: int) -> bool:
    return time.time_ns() - mtime_ns > TEMP_MAX_AGE_NS


def salt(binaries: Iterable[str | None]) -> str:
    """What a result depends on besides its request: Tidegate's version and each renderer
    binary (path, size, modification time): an upgraded helm renders everything again."""
    parts = [tidegate.__version__]
    for binary in binaries:
        if not binary:
            parts.append("-")
            continue
        try:
            st = os.stat(binary)
            parts.append(f"{binary}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{binary}:?")
    return ",".join(parts)


def _encode(key: str, result: request.RenderResult) -> bytes:
    doc = {
        "format": FORMAT,
        "key": key,
        "sourceType": str(result.source_type),
        "sizeBytes": result.size_bytes,
        "remotePins": [list(p) for p in result.remote_pins],
        "objects": list(result.objects),
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _decode(key: str, data: bytes) -> request.RenderResult:
    """The result held by ``data`` for ``key``; ValueError when it is not one."""
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not a render file of this format")
    if doc.get("key") != key:
        raise ValueError("written for another render request")
    objects = doc.get("objects")
    pins = doc.get("remotePins")
    size = doc.get("sizeBytes")
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise ValueError("objects are not a list of objects")
    if not isinstance(pins, list) or not all(
        isinstance(p, list) and len(p) == 3 and all(isinstance(s, str) for s in p) for p in pins
    ):
        raise ValueError("remote pins are malformed")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValueError("size is malformed")
    source_type = request.SourceType(str(doc.get("sourceType")))
    remote_pins = tuple((p[0], p[1], p[2]) for p in pins)
    return request.RenderResult(tuple(objects), source_type, size, remote_pins)


class RenderStore:
    """Render results on disk under ``root``, bounded by entry count and by bytes."""

    def __init__(
        self,
        root: Path,
        *,
        salt: str = "",
        max_entries: int = 20_000,
        max_bytes: int = 512 * 1024 * 1024,
    ) -> None:
        self.root = root
        self.salt = salt
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._index: OrderedDict[str, int] | None = None  # file name -> bytes, oldest first
        self._bytes = 0
        self.loaded = 0
        self.rejected = 0

    @classmethod
    def at(cls, root: Path) -> RenderStore:
        """A store under ``root`` salted with the renderer binaries this process would run."""
        found = tools.discover()
        binaries = [
            found.kustomize_build[0] if found.kustomize_build else None,
            found.helm[0] if found.helm else None,
        ]
        return cls(root, salt=salt(binaries))

    def file_name(self, key: str) -> str:
        digest = hashlib.sha256(f"{FORMAT}\0{self.salt}\0{key}".encode()).hexdigest()
        return digest + SUFFIX

    def _full_key(self, key: str) -> str:
        return f"{self.salt}\0{key}"

    def _scan(self) -> OrderedDict[str, int]:
        """The index of the files already there (at first use), least recently used first."""
        if self._index is None:
            found: list[tuple[int, str, int]] = []
            try:
                with os.scandir(self.root) as entries:
                    for entry in entries:
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        st = entry.stat(follow_symlinks=False)
                        if entry.name.endswith(SUFFIX):
                            found.append((st.st_mtime_ns, entry.name, st.st_size))
                        elif entry.name.startswith(TEMP_PREFIX) and stale(st.st_mtime_ns):
                            with contextlib.suppress(OSError):  # a write cut short by a crash
                                os.unlink(entry.path)
            except OSError:  # absent or unreadable: nothing to reuse, nothing to bound yet
                found = []
            self._index = OrderedDict((name, size) for _, name, size in sorted(found))
            self._bytes = sum(self._index.values())
        return self._index

    def load(self, key: str) -> request.RenderResult | None:
        """The stored result for ``key``, or None (absent; unusable: logged and removed)."""
        name = self.file_name(key)
        path = self.root / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("render store: cannot read %s (%s); rendering again", path, exc)
            self.rejected += 1
            self._remove(name)
            return None
        try:
            result = _decode(self._full_key(key), data)
        except (ValueError, TypeError) as exc:  # JSON errors are ValueErrors
            log.warning("render store: ignoring %s (%s); rendering again", path, exc)
            self.rejected += 1
            self._remove(name)
            return None
        with self._lock:
            index = self._scan()
            if name in index:
                index.move_to_end(name)
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: evicted last, also after the next restart
        self.loaded += 1
        return result

    def save(self, key: str, result: request.RenderResult) -> None:
        """Keep ``result`` (written whole or not at all); a failure is logged, not raised."""
        name = self.file_name(key)
        data = _encode(self._full_key(key), result)
        if len(data) > self.max_bytes:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out:  # mkstemp: mode 0600
                    out.write(data)
                os.replace(tmp, self.root / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("render store: cannot write %s (%s)", self.root / name, exc)
            return
        with self._lock:
            index = self._scan()
            self._bytes -= index.pop(name, 0)
            index[name] = len(data)
            self._bytes += len(data)
            evicted = self._over_bounds(index)
        for old in evicted:
            (self.root / old).unlink(missing_ok=True)

    def forget(self, key: str) -> None:
        """Remove the result for ``key`` (a remote reference it read has moved)."""
        self._remove(self.file_name(key))

    def _remove(self, name: str) -> None:
        with self._lock:
            index = self._scan()
            self._bytes -= index.pop(name, 0)
        try:
            (self.root / name).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("render store: cannot remove %s (%s)", self.root / name, exc)

    def _over_bounds(self, index: OrderedDict[str, int]) -> list[str]:
        evicted = []
        while index and (len(index) > self.max_entries or self._bytes > self.max_bytes):
            old, size = index.popitem(last=False)
            self._bytes -= size
            evicted.append(old)
        return evicted

    def __len__(self) -> int:
        with self._lock:
            return len(self._scan())

    @property
    def size_bytes(self) -> int:
        with self._lock:
            self._scan()
            return self._bytes
