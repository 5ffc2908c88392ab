"""An in-memory LRU of render results, bounded by entry count and by bytes.

Keyed by :meth:`RenderRequest.cache_key` (commit, path and every render parameter; not the
checkout location). A hit returns the very same :class:`RenderResult`: no copy, so a repeat
render costs a dictionary lookup. Results are shared, hence read-only by contract.

Concurrent renders of one key share a single run (the first caller renders, the others await
it). Also remembers which (tree, commit) pairs passed the whole-tree symlink check.

With a :class:`~tidegate.render.persist.RenderStore` (``disk``), a result missing from memory
is looked up on disk before rendering, and every new result is written there: a restarted
controller renders only what changed while it was down.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from pathlib import Path

from tidegate.render import persist, request


class RenderCache:
    def __init__(
        self,
        *,
        max_entries: int = 20_000,  # as many as the RenderStore keeps (persist.py)
        max_bytes: int = 512 * 1024 * 1024,
        disk: persist.RenderStore | None = None,
    ) -> None:
        self.max_entries = max_entries
        self.disk = disk
        self.max_bytes = max_bytes
        self._entries: collections.OrderedDict[str, request.RenderResult] = (
            collections.OrderedDict()
        )
        self._bytes = 0
        self._inflight: dict[str, asyncio.Future[request.RenderResult]] = {}
        self._checked_trees: collections.OrderedDict[tuple[str, str], None] = (
            collections.OrderedDict()
        )
        self.hits = 0
        self.misses = 0  # not in memory: restored from disk or rendered
        self.restored = 0  # of the misses, those read back from disk

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: str) -> request.RenderResult | None:
        result = self._entries.get(key)
        if result is not None:
            self._entries.move_to_end(key)
        return result

    def put(self, key: str, result: request.RenderResult) -> None:
        if result.size_bytes > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old.size_bytes
        self._entries[key] = result
        self._bytes += result.size_bytes
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size_bytes

    def discard(self, key: str, result: request.RenderResult) -> None:
        """Forget ``key`` if it still holds ``result`` (a newer result stays), on disk too."""
        if self._entries.get(key) is result:
            del self._entries[key]
            self._bytes -= result.size_bytes
        if self.disk is not None:
            self.disk.forget(key)

    def forget(self, key: str) -> None:
        """Forget ``key`` in memory and on disk: its next render runs (a hard refresh)."""
        result = self._entries.get(key)
        if result is not None:
            self.discard(key, result)
        elif self.disk is not None:
            self.disk.forget(key)

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0
        self._checked_trees.clear()

    async def get_or_render(
        self, key: str, render: Callable[[], Awaitable[request.RenderResult]]
    ) -> request.RenderResult:
        """The cached result for ``key``, else the result of ``render()`` (run once even when
        several callers ask at the same time). Failures are not cached."""
        while True:
            cached = self.get(key)
            if cached is not None:
                self.hits += 1
                return cached
            pending = self._inflight.get(key)
            if pending is None:
                break
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if pending.cancelled() and task is not None and not task.cancelling():
                    continue  # the rendering caller was cancelled, not us: render ourselves
                raise
        self.misses += 1
        future: asyncio.Future[request.RenderResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._restore_or_render(key, render)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no warning when nobody else was waiting
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._inflight[key]
        future.set_result(result)
        self.put(key, result)
        return result

    async def _restore_or_render(
        self, key: str, render: Callable[[], Awaitable[request.RenderResult]]
    ) -> request.RenderResult:
        if self.disk is None:
            return await render()
        restored = await asyncio.to_thread(self.disk.load, key)
        if restored is not None:
            self.restored += 1
            return restored
        result = await render()
        await asyncio.to_thread(self.disk.save, key, result)
        return result

    def tree_checked(self, root: Path, commit: str) -> bool:
        return bool(commit) and (str(root), commit) in self._checked_trees

    def mark_tree_checked(self, root: Path, commit: str) -> None:
        if not commit:
            return
        self._checked_trees[(str(root), commit)] = None
        while len(self._checked_trees) > self.max_entries:
            self._checked_trees.popitem(last=False)
