"""Repositories on the test bed's git server, and a working copy to commit to them in tests.

``create_bare`` makes a served repository (optionally seeded with a directory's files in one
commit); :class:`WorkingCopy` is a real clone over smart HTTP that commits files, deletes them,
makes branches and (annotated) tags, and pushes them back with the server's credentials.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tidegate.model import errors
from tidegate.testenv import githttp, gpgkeys

_TIMEOUT = 120.0
_IDENTITY = {
    "GIT_AUTHOR_NAME": "Tidegate Test",
    "GIT_AUTHOR_EMAIL": "test@tidegate.invalid",
    "GIT_COMMITTER_NAME": "Tidegate Test",
    "GIT_COMMITTER_EMAIL": "test@tidegate.invalid",
}


@dataclass(frozen=True)
class RepoInfo:
    """A served repository: where it lives on disk and how clients reach it."""

    name: str
    path: Path
    http_url: str
    ssh_url: str | None


@dataclass(frozen=True)
class Symlink:
    """A file value for :meth:`WorkingCopy.commit` that makes a symbolic link to ``target``."""

    target: str


def run_git(
    args: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> str:
    """Run git; on failure raise TestEnvError with its stderr (the test bed has no secrets
    worth hiding, but credentials travel in the environment, never in ``args``)."""
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **_IDENTITY, **(env or {})}
    result = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise errors.TestEnvError(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout


def repo_path(repo_root: Path, name: str) -> Path:
    """``team/app`` -> ``<root>/team/app.git``; refuses names that leave the root."""
    clean = name.removesuffix(".git").strip("/")
    parts = clean.split("/")
    if not clean or any(part in ("", ".", "..") for part in parts):
        raise errors.TestEnvError(f"invalid repository name {name!r}")
    return repo_root.joinpath(*parts[:-1], parts[-1] + ".git")


def create_bare(path: Path, *, from_dir: Path | None = None, branch: str = "main") -> None:
    """Create a bare repository at ``path``; with ``from_dir``, commit its files to ``branch``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_git(["init", "--quiet", "--bare", f"--initial-branch={branch}", str(path)])
    for key, value in githttp.SERVER_GIT_CONFIG.items():
        run_git(["config", key, value], cwd=path)
    if from_dir is None:
        return
    with tempfile.TemporaryDirectory(prefix="tidegate-import-") as scratch:
        env = {
            "GIT_DIR": str(path),
            "GIT_WORK_TREE": str(from_dir),
            "GIT_INDEX_FILE": str(Path(scratch) / "index"),
        }
        run_git(["add", "--all", "--force", "."], cwd=from_dir, env=env)
        tree = run_git(["write-tree"], cwd=from_dir, env=env).strip()
        commit = run_git(
            ["commit-tree", tree, "-m", f"import {from_dir.name}"], cwd=from_dir, env=env
        ).strip()
        run_git(["update-ref", f"refs/heads/{branch}", commit], cwd=from_dir, env=env)


def client_env(username: str, password: str, ca_path: Path | None) -> dict[str, str]:
    """Environment giving git the server's credentials (and CA) without putting them in argv."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    env = githttp.git_config_env({"http.extraHeader": f"Authorization: Basic {token}"})
    if ca_path is not None:
        env["GIT_SSL_CAINFO"] = str(ca_path)  # the variable beats http.sslCAInfo: set it
    return env


class WorkingCopy:
    """A clone of a served repository for tests: commit, tag, branch and push."""

    def __init__(self, path: Path, *, env: Mapping[str, str]) -> None:
        self.path = path
        self._env = dict(env)

    @classmethod
    def clone(cls, url: str, path: Path, *, env: Mapping[str, str]) -> WorkingCopy:
        path.parent.mkdir(parents=True, exist_ok=True)
        run_git(["clone", "--quiet", url, str(path)], env=env)
        return cls(path, env=env)

    def git(self, *args: str) -> str:
        return run_git(list(args), cwd=self.path, env=self._env)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def current_branch(self) -> str:
        return self.git("symbolic-ref", "--short", "HEAD").strip()

    def commit(
        self,
        files: Mapping[str, str | bytes | Symlink],
        message: str,
        *,
        delete: Iterable[str] = (),
        push: bool = True,
        signing: gpgkeys.SigningKey | None = None,
    ) -> str:
        """Write ``files`` (relative paths), remove ``delete``, commit (GnuPG-signed with
        ``signing``), push; return the sha."""
        for relative, content in files.items():
            target = self.path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            if isinstance(content, Symlink):
                target.symlink_to(content.target)
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        removed = list(delete)
        if removed:
            self.git("rm", "--quiet", "-r", "--", *removed)
        self.git("add", "--all")
        if signing is None:
            self.git("commit", "--quiet", "--allow-empty", "-m", message)
        else:
            run_git(
                [*signing.git_config(), "commit", "--quiet", "--allow-empty", "-S", "-m", message],
                cwd=self.path,
                env={**self._env, **signing.git_env()},
            )
        if push:
            self.push()
        return self.head()

    def commit_crafted_tree(self, entries: Mapping[bytes, bytes], message: str) -> str:
        """Commit a root tree built byte by byte (names git itself would never write, such as
        ``../../etc/x``: a hostile server's content), on top of HEAD, and push it with fsck
        off. ``entries`` maps raw entry names to file contents. Returns the commit id."""
        raw = b""
        for name, content in sorted(entries.items()):
            blob = self.git_input(["hash-object", "-w", "--stdin"], content).strip()
            raw += b"100644 " + name + b"\0" + bytes.fromhex(blob)
        tree = self.git_input(["hash-object", "-w", "--literally", "-t", "tree", "--stdin"], raw)
        commit = self.git("commit-tree", tree.strip(), "-p", "HEAD", "-m", message).strip()
        self.git("update-ref", f"refs/heads/{self.current_branch()}", commit)
        self.git("-c", "transfer.fsckObjects=false", "push", "--quiet", "origin", "HEAD")
        return commit

    def git_input(self, args: list[str], data: bytes) -> str:
        """``git args`` with ``data`` on stdin (bytes in, text out)."""
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **_IDENTITY, **self._env}
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=env,
            input=data,
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise errors.TestEnvError(f"git {args[0]} failed: {result.stderr.decode().strip()}")
        return result.stdout.decode()

    def push(self, *refs: str, force: bool = False) -> None:
        """Push ``refs`` (default: the current branch) to origin."""
        targets = list(refs) or [f"HEAD:refs/heads/{self.current_branch()}"]
        self.git("push", "--quiet", *(["--force"] if force else []), "origin", *targets)

    def branch(self, name: str, *, start: str = "HEAD", switch: bool = True) -> None:
        """Create branch ``name`` at ``start`` and push it; switch to it when ``switch``."""
        if switch:
            self.git("switch", "--quiet", "-c", name, start)
        else:
            self.git("branch", name, start)
        self.push(f"refs/heads/{name}:refs/heads/{name}")

    def switch(self, name: str) -> None:
        self.git("switch", "--quiet", name)

    def tag(
        self,
        name: str,
        *,
        ref: str = "HEAD",
        message: str | None = None,
        signing: gpgkeys.SigningKey | None = None,
    ) -> str:
        """Create a lightweight (or, with ``message``, annotated; with ``signing`` too,
        GnuPG-signed) tag and push it."""
        if signing is not None:
            run_git(
                [*signing.git_config(), "tag", "--sign", "-m", message or name, name, ref],
                cwd=self.path,
                env={**self._env, **signing.git_env()},
            )
        elif message is None:
            self.git("tag", name, ref)
        else:
            self.git("tag", "--annotate", "-m", message, name, ref)
        self.push(f"refs/tags/{name}:refs/tags/{name}")
        return self.git("rev-parse", f"refs/tags/{name}").strip()
