"""The repository cache: one partial bare clone per repository, fetched at most once per refresh.

Layout under ``root``::

    .state/askpass.sh            reads credentials from the environment of one git command
    repos/<name>-<hash>/git/     bare repository (fetched with --filter=blob:none)
    repos/<name>-<hash>/trees/<sha>/   read-only checkouts, written once (temp dir + rename)

Freshness: a caller passes either a ``generation`` (an int the controller increments per refresh
cycle; data fetched for generation N serves every request for N or lower) or relies on
``max_age`` seconds. Concurrent callers of the same repository share one in-flight fetch, and
share its failure too, so a hundred Applications on one repository cause one fetch.

Isolation: every git command runs under the timeouts of :class:`gitcmd.GitLimits`, one at a
time per repository (``_Repo.net_lock``, taken before one of the ``max_processes`` overall
slots, so a hung repository holds at most one slot), and nothing else is held across it:
resolving, listing and reading what is already fetched (pygit2) never waits for a git command.
Each repository has a :class:`repohealth.RepoHealth` record; :meth:`RepoCache.resolve_or_last`
answers from the last successful fetch, flagged stale, while its server cannot be reached.

One ``RepoCache`` per process and cache directory: it coordinates with itself, not with other
processes writing the same directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

import pygit2

from tidegate.model import errors
from tidegate.sources import credentials as creds_mod
from tidegate.sources import gitcmd, refs, repohealth, trees, urls

log = logging.getLogger(__name__)

_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
_HEAD_REFSPEC = f"+HEAD:{refs.REMOTE_HEAD}"
_STALE_TEMP_SECONDS = 3600.0
# Fetching objects by id (a commit no ref reaches, or the blobs a read needs).
_FETCH_OBJECTS = (
    "fetch",
    "--quiet",
    "--no-tags",
    "--no-write-fetch-head",
    "--no-recurse-submodules",
    "--filter=blob:none",
)


@dataclass(frozen=True)
class Resolution:
    """What :meth:`RepoCache.resolve_or_last` found. ``stale``: the server could not be reached
    (``error`` says why, a TemporaryError) and ``commit`` is what the last successful fetch saw
    for the revision."""

    commit: str
    stale: bool = False
    error: errors.SourceError | None = None


@dataclass(eq=False)
class _Repo:
    """Cache state of one repository (only touched from the event loop's thread)."""

    url: str
    shown: str
    root: Path
    creds: creds_mod.RepoCredentials | None
    handle: pygit2.Repository | None = None
    fetches: int = 0
    last_fetch_started: float | None = None
    generation: int = -1
    inflight: asyncio.Task[None] | None = None
    checkouts: dict[str, asyncio.Task[Path]] = field(default_factory=dict)
    blob_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    net_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one git command at a time
    health: repohealth.RepoHealth = field(init=False)
    last_error: errors.SourceError | None = None

    def __post_init__(self) -> None:
        self.health = repohealth.RepoHealth(repo=self.shown)

    @property
    def git_dir(self) -> Path:
        return self.root / "git"

    @property
    def trees_dir(self) -> Path:
        return self.root / "trees"

    def reopen(self) -> pygit2.Repository:
        self.handle = pygit2.Repository(str(self.git_dir))
        return self.handle


class RepoCache:
    """Git repositories cached under ``root``; see the module docstring."""

    def __init__(
        self,
        root: Path,
        *,
        max_age: float = 180.0,
        limits: gitcmd.GitLimits | None = None,
        timeout: float | None = None,
        git: str = "git",
        allow_local: bool = False,
    ) -> None:
        """``limits``: timeouts and concurrency of git commands (``timeout``, when given,
        replaces ``limits.deadline``). ``allow_local`` admits local paths and ``file://`` URLs
        as repositories (the CLI, on the user's own files); a controller never does: a tenant
        could name another tenant's cached repository."""
        self.root = root
        self.max_age = max_age
        self._runner = gitcmd.GitRunner(
            state_dir=root / ".state",
            limits=limits,
            timeout=timeout,
            git=git,
            allow_local=allow_local,
        )
        self.limits = self._runner.limits
        self._slots = asyncio.Semaphore(self.limits.max_processes)
        self._repos: dict[str, _Repo] = {}

    # -- public API -------------------------------------------------------------------------

    async def resolve(
        self,
        repo_url: str,
        revision: str,
        *,
        creds: creds_mod.RepoCredentials | None = None,
        generation: int | None = None,
        max_age: float | None = None,
    ) -> str:
        """The commit id ``revision`` (branch, tag, full/short id, ``HEAD``) names."""
        repo = self._repo(repo_url, creds)
        revision = revision.strip()
        wanted_sha = revision.lower() if refs.FULL_SHA.match(revision.lower()) else None
        if _present(wanted_sha, repo):
            return wanted_sha  # commits are immutable: no need to ask the server
        await self._ensure_fresh(repo, generation=generation, max_age=max_age)
        assert repo.handle is not None
        found = refs.resolve_local(repo.handle, revision)
        if found is None and wanted_sha:
            found = await self._fetch_commit(repo, wanted_sha)
        if found is None:
            depth = _depth(repo)
            shallow = (
                f"; the repository is fetched with depth {depth}, so a commit older than that"
                " is found by its full id only"
                if depth and not wanted_sha
                else ""
            )
            raise errors.RevisionNotFoundError(
                f"repository {repo.shown}: revision {revision or 'HEAD'!r} not found"
                f" (no such branch, tag or commit{shallow})"
            )
        return found

    async def resolve_or_last(
        self,
        repo_url: str,
        revision: str,
        *,
        creds: creds_mod.RepoCredentials | None = None,
        generation: int | None = None,
        max_age: float | None = None,
    ) -> Resolution:
        """:meth:`resolve`, but while the server cannot be reached (a TemporaryError: refused,
        timed out, stalled) the commit the last successful fetch saw for ``revision`` (refs are
        only updated by a fetch that succeeds), flagged stale; it raises only when nothing was
        ever fetched for it, or for permanent errors (authentication, unknown revision).

        A repository already failing is not waited for: the answer comes from the last fetch
        at once, and a retry starts in the background when its back-off
        (:func:`repohealth.retry_delay`) is over.
        """
        repo = self._repo(repo_url, creds)
        fresh = self._freshness(repo, generation=generation, max_age=max_age)
        pinned = revision.strip().lower()
        if isinstance(repo.last_error, errors.RepoUnreachableError) and not (
            fresh() or (refs.FULL_SHA.match(pinned) and _present(pinned, repo))
        ):
            last = self._last_known(repo, revision)
            if last is not None:
                self._retry_in_background(repo, generation)
                return Resolution(last, stale=True, error=repo.last_error)
        try:
            commit = await self.resolve(
                repo_url, revision, creds=creds, generation=generation, max_age=max_age
            )
        except errors.RepoUnreachableError as exc:
            last = self._last_known(repo, revision)
            if last is None:
                raise
            return Resolution(last, stale=True, error=exc)
        return Resolution(commit)

    def health(self, repo_url: str) -> repohealth.RepoHealth:
        """The health record of ``repo_url`` (an empty one for a repository never used)."""
        repo = self._repos.get(urls.normalise(repo_url))
        return repo.health if repo else repohealth.RepoHealth(repo=urls.display(repo_url))

    def healths(self) -> list[repohealth.RepoHealth]:
        """The records of every repository this cache has used, by display URL."""
        return sorted((repo.health for repo in self._repos.values()), key=lambda h: h.repo)

    async def refresh(
        self, repo_url: str, *, creds: creds_mod.RepoCredentials | None = None
    ) -> None:
        """Fetch now (a hard refresh); joins a fetch only if it starts after this call."""
        repo = self._repo(repo_url, creds)
        await self._ensure_fresh(repo, generation=None, max_age=0.0)

    async def checkout(
        self, repo_url: str, commit: str, *, creds: creds_mod.RepoCredentials | None = None
    ) -> Path:
        """A read-only directory holding the tree of ``commit``; made once, reused after."""
        repo = self._repo(repo_url, creds)
        sha = await self._commit_id(repo, commit)
        final = repo.trees_dir / sha
        if final.is_dir():
            return final
        task = repo.checkouts.get(sha)
        if task is None:
            task = asyncio.create_task(self._materialise(repo, sha, final))
            repo.checkouts[sha] = task
            task.add_done_callback(lambda _: repo.checkouts.pop(sha, None))
        return await asyncio.shield(task)

    async def list_files(
        self, repo_url: str, commit: str, *, creds: creds_mod.RepoCredentials | None = None
    ) -> list[str]:
        """Paths of all files (symlinks included) at ``commit``, sorted; no blob is fetched."""
        repo = self._repo(repo_url, creds)
        sha = await self._commit_id(repo, commit)
        assert repo.handle is not None
        return trees.list_paths(repo.handle, sha, directories=False)

    async def list_directories(
        self, repo_url: str, commit: str, *, creds: creds_mod.RepoCredentials | None = None
    ) -> list[str]:
        """Paths of all directories at ``commit``, sorted."""
        repo = self._repo(repo_url, creds)
        sha = await self._commit_id(repo, commit)
        assert repo.handle is not None
        return trees.list_paths(repo.handle, sha, directories=True)

    async def read_files(
        self,
        repo_url: str,
        commit: str,
        paths: Iterable[str],
        *,
        creds: creds_mod.RepoCredentials | None = None,
    ) -> dict[str, bytes]:
        """Contents of those ``paths`` that exist as files at ``commit`` (one fetch at most)."""
        repo = self._repo(repo_url, creds)
        sha = await self._commit_id(repo, commit)
        assert repo.handle is not None
        ids = trees.blob_ids(repo.handle, sha, list(paths))
        await self._ensure_blobs(repo, ids.values())
        assert repo.handle is not None
        return {path: trees.read_blob(repo.handle, oid) for path, oid in ids.items()}

    async def read_file(
        self,
        repo_url: str,
        commit: str,
        path: str,
        *,
        creds: creds_mod.RepoCredentials | None = None,
    ) -> bytes:
        """The content of file ``path`` at ``commit``; PathNotFoundError when absent."""
        found = await self.read_files(repo_url, commit, [path], creds=creds)
        if path not in found:
            shown = urls.display(repo_url)
            raise errors.PathNotFoundError(f"repository {shown} at {commit[:12]}: no file {path!r}")
        return found[path]

    def git_dir(self, repo_url: str) -> Path:
        """The cached bare repository of ``repo_url``, for read-only git commands run beside
        the cache (signature verification). Resolve a revision first: it fetches."""
        return self._repo(repo_url, None).git_dir

    def annotated_tag(self, repo_url: str, revision: str) -> str | None:
        """The annotated tag object ``revision`` names in the cached repository, or None."""
        repo = self._repo(repo_url, None)
        handle = repo.handle if repo.handle is not None else repo.reopen()
        return refs.annotated_tag(handle, revision)

    def fetch_count(self, repo_url: str) -> int:
        """How many ref fetches this cache made for ``repo_url`` (for metrics and tests)."""
        repo = self._repos.get(urls.normalise(repo_url))
        return repo.fetches if repo else 0

    # -- repositories and fetching ------------------------------------------------------------

    def _repo(self, repo_url: str, creds: creds_mod.RepoCredentials | None) -> _Repo:
        key = urls.normalise(repo_url)
        url, username, password = urls.split_userinfo(repo_url)
        if creds is None and (username or password):
            creds = creds_mod.RepoCredentials(username=username or "", password=password or "")
        repo = self._repos.get(key)
        if repo is None:
            root = self.root / "repos" / urls.cache_dir_name(repo_url)
            repo = _Repo(url=url, shown=urls.display(repo_url), root=root, creds=creds)
            self._repos[key] = repo
            _remove_stale_temps(repo.trees_dir)
            with contextlib.suppress(pygit2.GitError, OSError):
                if repo.git_dir.is_dir():
                    repo.reopen()  # left by an earlier process: fetched again before use
        elif creds is not None:
            repo.creds = creds
        return repo

    def _init(self, repo: _Repo) -> None:
        if repo.git_dir.is_dir():
            return
        repo.root.mkdir(parents=True, exist_ok=True)
        scratch = repo.root / f".init-{secrets.token_hex(4)}"
        created = pygit2.init_repository(str(scratch), bare=True)
        config = created.config
        config["remote.origin.url"] = repo.url
        config["remote.origin.promisor"] = True
        config["remote.origin.partialclonefilter"] = "blob:none"
        config["extensions.partialclone"] = "origin"  # honoured by git in format-0 repositories
        config["core.logAllRefUpdates"] = False
        config["gc.auto"] = 0  # no background gc racing our reads; the cache owns housekeeping
        scratch.rename(repo.git_dir)

    def _freshness(
        self, repo: _Repo, *, generation: int | None, max_age: float | None
    ) -> Callable[[], bool]:
        """Whether what is fetched is fresh enough for a call made now: the fetch that produced
        it started no earlier than max_age seconds before (so max_age=0 means "a fetch started
        after this call"), or it was made for ``generation`` or a later one."""
        oldest = time.monotonic() - (self.max_age if max_age is None else max_age)

        def fresh() -> bool:
            if repo.last_fetch_started is None or repo.handle is None:
                return False
            if generation is not None:
                return repo.generation >= generation
            return repo.last_fetch_started >= oldest

        return fresh

    async def _ensure_fresh(
        self, repo: _Repo, *, generation: int | None, max_age: float | None
    ) -> None:
        fresh = self._freshness(repo, generation=generation, max_age=max_age)
        await self._fetch_until(repo, fresh, generation=generation)

    async def _fetch_until(
        self, repo: _Repo, fresh: Callable[[], bool], *, generation: int | None = None
    ) -> None:
        """Fetch (or join the fetch in flight) until ``fresh()``; a failed fetch raises to all
        its waiters at once instead of being retried by each of them."""
        while not fresh():
            task = repo.inflight
            if task is None or task.done():
                task = asyncio.create_task(self._fetch(repo, generation))
                repo.inflight = task
                task.add_done_callback(lambda done: _forget(repo, done))
            await asyncio.shield(task)

    def _last_known(self, repo: _Repo, revision: str) -> str | None:
        """``revision`` resolved in what is already fetched (no network), or None."""
        if repo.handle is None:
            return None
        with contextlib.suppress(pygit2.GitError, ValueError, KeyError):
            return refs.resolve_local(repo.handle, revision.strip())
        return None

    def _retry_in_background(self, repo: _Repo, generation: int | None) -> None:
        """Start a fetch of a failing repository unless one runs or its back-off is not over;
        its outcome lands in the health record (and ``_forget`` retrieves its error)."""
        if repo.inflight is not None and not repo.inflight.done():
            return
        if not repohealth.retry_due(repo.health, time.monotonic()):
            return
        task = asyncio.create_task(self._fetch(repo, generation))
        repo.inflight = task
        task.add_done_callback(lambda done: _forget(repo, done))

    async def _fetch(self, repo: _Repo, generation: int | None) -> None:
        started = time.monotonic()
        self._init(repo)
        args = ["fetch", "--quiet", "--prune", "--no-tags", "--no-write-fetch-head"]
        args += ["--filter=blob:none", "--no-recurse-submodules", *_history(repo)]
        args += ["origin", *_REFSPECS]
        what = f"repository {repo.shown}"
        try:
            await self._git(repo, [*args, _HEAD_REFSPEC], what=what)
        except errors.RevisionNotFoundError:
            # An empty repository, or HEAD naming a branch that does not exist.
            await self._git(repo, args, what=what)
            with contextlib.suppress(KeyError, pygit2.GitError):
                pygit2.Repository(str(repo.git_dir)).references.delete(refs.REMOTE_HEAD)
        repo.reopen()
        repo.fetches += 1
        log.info("fetched repository %s (fetch %d)", repo.shown, repo.fetches)
        repo.last_fetch_started = started
        if generation is not None:
            repo.generation = max(repo.generation, generation)

    async def _fetch_commit(self, repo: _Repo, sha: str) -> str | None:
        """Fetch one commit no ref reaches (servers allowing it); None when the server has none."""
        depth = _depth(repo)
        with contextlib.suppress(errors.RevisionNotFoundError):
            await self._git(
                repo,
                [*_FETCH_OBJECTS, *([f"--depth={depth}"] if depth else []), "origin", sha],
                what=f"repository {repo.shown} revision {sha!r}",
            )
        handle = repo.reopen()
        return sha if refs.has_commit(handle, sha) else None

    async def _commit_id(self, repo: _Repo, commit: str) -> str:
        """``commit`` as a full id present locally (fetching if needed)."""
        return await self.resolve(repo.url, commit, creds=repo.creds)

    async def _ensure_blobs(self, repo: _Repo, oids: Iterable[str]) -> None:
        wanted = list(oids)
        assert repo.handle is not None
        if not trees.missing_blobs(repo.handle, wanted):
            return
        async with repo.blob_lock:  # one blob fetch at a time; later ones may find all present
            missing = trees.missing_blobs(repo.reopen(), wanted)
            if not missing:
                return
            await self._git(
                repo,
                ["-c", "fetch.negotiationAlgorithm=noop", *_FETCH_OBJECTS, "--stdin", "origin"],
                what=f"repository {repo.shown}",
                stdin="".join(f"{oid}\n" for oid in missing).encode(),
            )
            still = trees.missing_blobs(repo.reopen(), missing)
            if still:
                raise errors.SourceError(
                    f"repository {repo.shown}: the server did not send {len(still)} file(s)"
                )

    async def _materialise(self, repo: _Repo, sha: str, final: Path) -> Path:
        assert repo.handle is not None
        await self._ensure_blobs(repo, trees.blob_ids(repo.handle, sha, None).values())
        await asyncio.to_thread(_write_checkout, repo.git_dir, sha, final)
        return final

    async def _git(
        self, repo: _Repo, args: list[str], *, what: str, stdin: bytes | None = None
    ) -> gitcmd.GitResult:
        """Run one git command against the server of ``repo``: after the repository's previous
        one (``net_lock``), in one of the overall slots, recorded in its health record."""
        async with repo.net_lock, self._slots:
            operation = f"git {gitcmd.command_name(args)}"
            repo.health = repohealth.started(repo.health, operation, _now())
            try:
                result = await self._runner.run(
                    args, cwd=repo.git_dir, url=repo.url, creds=repo.creds, what=what, stdin=stdin
                )
            except (errors.RevisionNotFoundError, errors.UnsafeRepositoryError):
                repo.health = repohealth.succeeded(repo.health, _now())  # the server answered
                raise
            except errors.SourceError as exc:
                repo.last_error = exc
                repo.health = repohealth.failed(repo.health, str(exc), _now())
                log.warning("%s (failure %d)", exc, repo.health.consecutive_failures)
                raise
            except BaseException:
                repo.health = repohealth.abandoned(repo.health)
                raise
            repo.last_error = None
            repo.health = repohealth.succeeded(repo.health, _now())
            return result


def _depth(repo: _Repo) -> int:
    """The repository's ``depth`` setting (0: full history)."""
    return repo.creds.depth if repo.creds is not None else 0


def _history(repo: _Repo) -> list[str]:
    """How much history a ref fetch asks for: ``--depth=N`` for a repository with a depth (each
    ref's last N commits), ``--unshallow`` to complete one fetched shallowly before, else
    nothing (full history, the default)."""
    depth = _depth(repo)
    if depth:
        return [f"--depth={depth}"]
    if is_shallow(repo.git_dir):
        return ["--unshallow"]
    return []


def is_shallow(git_dir: Path) -> bool:
    """Whether the cached repository at ``git_dir`` holds shallow history (git's own marker)."""
    return (git_dir / "shallow").is_file()


def _now() -> repohealth.Stamp:
    return repohealth.Stamp(monotonic=time.monotonic(), wall=time.time())


def _present(sha: str | None, repo: _Repo) -> TypeGuard[str]:
    """Whether ``sha`` (a full commit id) is already in the local repository."""
    return sha is not None and repo.handle is not None and refs.has_commit(repo.handle, sha)


def _forget(repo: _Repo, task: asyncio.Task[None]) -> None:
    if repo.inflight is task:
        repo.inflight = None
    if not task.cancelled():
        task.exception()  # retrieved: every waiter has seen it already


def _write_checkout(git_dir: Path, sha: str, final: Path) -> None:
    """Materialise into a temp dir beside ``final``, then rename it into place (atomic; if
    another process won the race, its identical copy stays and ours is dropped)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = final.parent / f".tmp-{sha}-{secrets.token_hex(4)}"
    try:
        trees.materialise(git_dir, sha, scratch)
        scratch.rename(final)
    except OSError:
        if not final.is_dir():
            raise
    finally:
        if scratch.exists():
            trees.make_writable(scratch)
            shutil.rmtree(scratch, ignore_errors=True)


def _remove_stale_temps(trees_dir: Path) -> None:
    """Temp checkouts left by a crashed process (older than an hour) are deleted."""
    if not trees_dir.is_dir():
        return
    now = time.time()
    for path in trees_dir.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if now - path.lstat().st_mtime > _STALE_TEMP_SECONDS:
                trees.make_writable(path)
                shutil.rmtree(path, ignore_errors=True)
