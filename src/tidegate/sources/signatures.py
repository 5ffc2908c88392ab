"""GnuPG signatures of commits and tags in the repository cache, checked with the real ``gpg``
and ``git verify-commit`` / ``git verify-tag``.

:class:`Keyring` turns the entries of Argo CD's ``argocd-gpg-keys-cm`` (long key id -> ASCII
armoured public key) into a GNUPGHOME that Tidegate owns: ``<root>/keyring-<digest>/`` (0700),
built in a scratch directory and renamed into place, rebuilt only when the entries change, with
``no-autostart`` (no gpg-agent or dirmngr is ever started) and ``trust-model always`` (an
imported key is trusted, Argo CD's trust model). Each entry is checked before it is imported: it
must hold exactly public keys, and its primary key must be the id it is filed under.

:class:`Verifier` runs git against the cached bare repository at the object (no checkout), with
a clean environment, a timeout and the whole process group killed on expiry, off the event loop
(asyncio subprocesses). Verdicts are cached per (repository, object, keyring): objects are
immutable. What a verdict means for an app (which keys its project allows) is decided by the
caller (:mod:`tidegate.controller.signatures`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tidegate.model import errors
from tidegate.sources import cache as cache_mod
from tidegate.sources import gpgstatus, subproc

log = logging.getLogger(__name__)

_GPG_CONF = "no-autostart\ntrust-model always\nno-greeting\n"
_STALE_KEYRING_SECONDS = 86400.0
_OUTPUT_LIMIT = 1 << 20
# What git says (on stderr, with --raw) for an object without signature: nothing for a commit.
_NO_SIGNATURE = ("", "error: no signature found")


@dataclass(frozen=True)
class LoadedKeyring:
    """An imported keyring: where it is and what it holds."""

    home: Path
    digest: str
    key_ids: frozenset[str]  # long ids of every primary key and subkey imported
    problems: tuple[str, ...]  # entries left out, each naming the entry and why


@dataclass(frozen=True)
class _Result:
    code: int
    stdout: str
    stderr: str


async def _run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    time_limit: float,
    what: str,
    cwd: Path | None = None,
    stdin: bytes | None = None,
) -> _Result:
    """Run ``argv`` in its own process group (:mod:`subproc`: the group, git and the gpg it
    starts, is killed on timeout or cancellation). A timeout is a SignatureError naming ``what``."""
    try:
        done = await subproc.run(argv, env=env, time_limit=time_limit, cwd=cwd, stdin=stdin)
    except OSError as exc:
        raise errors.SignatureError(f"{what}: cannot start {argv[0]!r}: {exc.strerror}") from exc
    except subproc.DeadlineExceeded:
        raise errors.SignatureError(f"{what}: did not finish within {time_limit:g}s") from None
    return _Result(
        done.code,
        done.stdout[:_OUTPUT_LIMIT].decode(errors="replace"),
        done.stderr[:_OUTPUT_LIMIT].decode(errors="replace"),
    )


def _environment(home: Path) -> dict[str, str]:
    """A clean environment: no inherited GIT_* variable or user configuration can redirect git
    or gpg, and messages are in English for the logs."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GNUPGHOME": str(home),
        "LC_ALL": "C",
        "LANGUAGE": "C",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_NO_LAZY_FETCH": "1",  # never reach the remote for a missing object
    }
    return env


def _digest(entries: Mapping[str, str]) -> str:
    text = json.dumps(sorted(entries.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Keyring:
    """GNUPGHOMEs under ``root`` made from key entries; see the module docstring."""

    def __init__(self, root: Path, *, gpg: str = "gpg", timeout: float = 30.0) -> None:
        self.root = root
        self.gpg = gpg
        self.timeout = timeout
        self._current: LoadedKeyring | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> LoadedKeyring | None:
        return self._current

    async def load(self, entries: Mapping[str, str], *, source: str) -> LoadedKeyring:
        """The keyring holding ``entries`` (built now unless it is the current one).
        ``source`` names where the entries come from, for the problems reported."""
        digest = _digest(entries)
        async with self._lock:
            current = self._current
            if current is not None and current.digest == digest and current.home.is_dir():
                with contextlib.suppress(OSError):
                    os.utime(current.home)  # in use: never swept as stale by another process
                return current
            loaded = await self._build(entries, digest, source=source)
            for problem in loaded.problems:
                log.warning("%s", problem)
            log.info("GnuPG keyring %s: %d key(s) from %s", loaded.home, len(entries), source)
            self._current = loaded
            return loaded

    async def _build(
        self, entries: Mapping[str, str], digest: str, *, source: str
    ) -> LoadedKeyring:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.root.chmod(0o700)
        scratch = self.root / f".build-{secrets.token_hex(4)}"
        scratch.mkdir(mode=0o700)
        final = self.root / f"keyring-{digest}"
        try:
            (scratch / "gpg.conf").write_text(_GPG_CONF)
            key_ids: set[str] = set()
            problems: list[str] = []
            for name, armored in sorted(entries.items()):
                found, problem = await self._import(scratch, name, armored, source=source)
                key_ids |= found
                if problem:
                    problems.append(problem)
            try:
                scratch.rename(final)
            except OSError:
                if not final.is_dir():
                    raise
                # Built already (by another process sharing the cache): same entries, same keys.
            os.utime(final)
            self._sweep(keep=final)
            return LoadedKeyring(final, digest, frozenset(key_ids), tuple(problems))
        finally:
            if scratch.exists():
                shutil.rmtree(scratch, ignore_errors=True)

    async def _gpg(self, home: Path, args: Sequence[str], stdin: str, what: str) -> _Result:
        argv = [self.gpg, "--batch", "--no-tty", "--homedir", str(home), *args]
        return await _run(
            argv, env=_environment(home), time_limit=self.timeout, what=what, stdin=stdin.encode()
        )

    async def _import(
        self, home: Path, name: str, armored: str, *, source: str
    ) -> tuple[set[str], str]:
        """Import one entry; (long ids imported, problem or "")."""
        what = f"{source}: entry {name!r}"
        try:
            wanted = gpgstatus.normalise_key_id(name)
        except errors.SpecError as exc:
            return set(), f"{what}: ignored: {exc}"
        shown = await self._gpg(home, ["--with-colons", "--show-keys"], armored, what)
        records = gpgstatus.colon_fingerprints(shown.stdout)
        if shown.code != 0 or not records:
            return set(), f"{what}: ignored: not an OpenPGP public key"
        if any(kind in ("sec", "ssb") for kind, _ in records):
            return set(), f"{what}: ignored: it holds a secret key (only public keys belong here)"
        primaries = [fpr[-16:] for kind, fpr in records if kind == "pub"]
        if len(primaries) > 1:
            return set(), (
                f"{what}: ignored: it holds {len(primaries)} keys ({', '.join(primaries)}); "
                "one key per entry"
            )
        if wanted not in primaries:
            return set(), (
                f"{what}: ignored: it holds key {', '.join(primaries)}, not {wanted} "
                "(entries are filed under their key id)"
            )
        result = await self._gpg(home, ["--status-fd", "1", "--import"], armored, what)
        if result.code != 0 or not gpgstatus.imported_fingerprints(result.stdout):
            return set(), f"{what}: ignored: gpg could not import it: {result.stderr.strip()}"
        return {fpr[-16:] for _, fpr in records}, ""

    def _sweep(self, *, keep: Path) -> None:
        """Drop keyrings unused for a day (another process sharing the cache rebuilds its own
        if it still needs one: :meth:`load` checks that the directory exists)."""
        now = time.time()
        for path in self.root.glob("keyring-*"):
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > _STALE_KEYRING_SECONDS:
                    shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Checked:
    """What was verified for one source: the commit, or the annotated tag the revision names."""

    repo_url: str
    revision: str
    commit: str
    tag_object: str  # "" when the commit itself was verified
    verdict: gpgstatus.Verdict

    @property
    def subject(self) -> str:
        shown = self.revision or "HEAD"
        if self.tag_object:
            return f"annotated tag {shown} ({self.tag_object[:12]}, commit {self.commit[:12]})"
        if shown.lower() == self.commit:
            return f"revision {self.commit[:12]}"
        return f"revision {shown} ({self.commit[:12]})"


class Verifier:
    """Verifies resolved revisions of cached repositories against a :class:`Keyring`."""

    def __init__(
        self,
        repos: cache_mod.RepoCache,
        keyring: Keyring,
        *,
        git: str = "git",
        timeout: float = 30.0,
        max_cached: int = 10_000,
    ) -> None:
        self.repos = repos
        self.keyring = keyring
        self.git = git
        self.timeout = timeout
        self._verdicts: OrderedDict[tuple[str, str, str], gpgstatus.Verdict] = OrderedDict()
        # One git run per object at a time: apps sharing a commit wait for the same verdict.
        self._inflight: dict[tuple[str, str, str], asyncio.Task[gpgstatus.Verdict]] = {}
        self._max = max_cached
        self.runs = 0  # git invocations made (cache misses), for tests and metrics

    async def check(
        self, keyring: LoadedKeyring, repo_url: str, revision: str, commit: str
    ) -> Checked:
        """Verify ``revision`` (resolved to ``commit``): an annotated tag's own signature when the
        revision names one (as Argo CD does), else the commit's."""
        git_dir = self.repos.git_dir(repo_url)
        tag = self.repos.annotated_tag(repo_url, revision)
        object_id = tag or commit
        key = (str(git_dir), object_id, keyring.digest)
        verdict = self._verdicts.get(key)
        if verdict is not None:
            self._verdicts.move_to_end(key)
            return Checked(repo_url, revision, commit, tag or "", verdict)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(
                self._verify(git_dir, object_id, tag=bool(tag), home=keyring.home)
            )
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        verdict = await asyncio.shield(task)  # a cancelled caller leaves it to the others
        return Checked(repo_url, revision, commit, tag or "", verdict)

    def _settle(self, key: tuple[str, str, str], task: asyncio.Task[gpgstatus.Verdict]) -> None:
        """Cache a verdict (not an error: the next caller tries again)."""
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if task.cancelled() or task.exception() is not None:
            return
        self._verdicts[key] = task.result()
        while len(self._verdicts) > self._max:
            self._verdicts.popitem(last=False)

    async def _verify(
        self, git_dir: Path, object_id: str, *, tag: bool, home: Path
    ) -> gpgstatus.Verdict:
        verb = "verify-tag" if tag else "verify-commit"
        argv = [
            self.git,
            "-c",
            f"gpg.program={self.keyring.gpg}",
            "-c",
            "gpg.format=openpgp",
            "-c",
            "protocol.allow=never",  # a missing object is an error, never a lazy fetch
            verb,
            "--raw",
            object_id,
        ]
        self.runs += 1
        result = await _run(
            argv,
            env=_environment(home),
            time_limit=self.timeout,
            what=f"git {verb} {object_id[:12]}",
            cwd=git_dir,
        )
        # --raw: git copies gpg's status lines to stderr; an object without a signature gives
        # no status line ("error: no signature found" for tags, nothing for commits).
        verdict = gpgstatus.parse_status(result.stderr)
        said = result.stderr.strip()
        if verdict.outcome is gpgstatus.Outcome.UNSIGNED and said not in _NO_SIGNATURE:
            # Not a missing signature but a failure (gpg cannot run, object missing...).
            detail = " ".join(said.splitlines()[-2:])
            raise errors.SignatureError(f"git {verb} {object_id[:12]} failed: {detail}")
        return verdict
