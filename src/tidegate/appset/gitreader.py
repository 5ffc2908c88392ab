"""A synchronous :class:`GitReader` for the pure generators, backed by the async ``RepoCache``.

Generation runs in a worker thread (``asyncio.to_thread``); each read is sent to the event loop
that owns the cache and awaited from the thread. So templated ``repoURL``/``revision`` values in
nested generators work without knowing them in advance, and a set without git generators never
touches git. Revisions are resolved once per reader (one reconcile) with the controller's
refresh ``generation``: the cache fetches a repository at most once per generation.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from tidegate.appset import paths
from tidegate.model import errors
from tidegate.sources import RepoCache, RepoCredentials, urls

T = TypeVar("T")
CredentialsLookup = Callable[[str], Awaitable[RepoCredentials | None]]


class CacheGitReader:
    """One reconcile's view of git; records which repositories it read (for webhooks)."""

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        cache: RepoCache,
        credentials: CredentialsLookup,
        generation: int,
        timeout: float = 300.0,
    ) -> None:
        self._loop = loop
        self._cache = cache
        self._credentials = credentials
        self._generation = generation
        self._timeout = timeout
        self._resolved: dict[tuple[str, str], str] = {}
        self.repos: set[str] = set()  # normalised URLs

    def _call(self, coro: Coroutine[Any, Any, T], what: str) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise errors.RepoUnreachableError(
                f"{what}: no answer within {self._timeout:.0f} s"
            ) from None

    async def _resolve(self, repo: str, revision: str) -> tuple[str, RepoCredentials | None]:
        creds = await self._credentials(repo)
        key = (urls.normalise(repo), revision)
        sha = self._resolved.get(key)
        if sha is None:
            sha = await self._cache.resolve(
                repo, revision, creds=creds, generation=self._generation
            )
            self._resolved[key] = sha
        return sha, creds

    async def resolve(self, repo: str, revision: str) -> str:
        """The commit ``revision`` names (on the event loop; cached for this reader)."""
        sha, _ = await self._resolve(repo, revision)
        return sha

    async def _list_dirs(self, repo: str, revision: str) -> list[str]:
        sha, creds = await self._resolve(repo, revision)
        return await self._cache.list_directories(repo, sha, creds=creds)

    async def _read_files(self, repo: str, revision: str, glob: str) -> dict[str, bytes]:
        sha, creds = await self._resolve(repo, revision)
        files = await self._cache.list_files(repo, sha, creds=creds)
        wanted = [p for p in files if paths.glob_match(glob, p)]
        if not wanted:
            return {}
        return await self._cache.read_files(repo, sha, wanted, creds=creds)

    def list_dirs(self, repo: str, revision: str) -> list[str]:
        self.repos.add(urls.normalise(repo))
        return self._call(self._list_dirs(repo, revision), f"repository {urls.display(repo)}")

    def read_files(self, repo: str, revision: str, glob: str) -> dict[str, bytes]:
        self.repos.add(urls.normalise(repo))
        return self._call(
            self._read_files(repo, revision, glob), f"repository {urls.display(repo)}"
        )

    @property
    def resolved(self) -> dict[tuple[str, str], str]:
        """(normalised repo URL, revision) -> commit, for what this reader resolved."""
        return dict(self._resolved)
