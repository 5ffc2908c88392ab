"""A real Gitea for the tests of promotion's pull request steps (``git-open-pr``,
``git-wait-for-pr``): the test bed's own git server has no pull request API.

Not part of ``testenv up`` (the bed's start time stays the same): a test fixture starts one
with :meth:`Gitea.start`, in a directory of its own, and stops it after. It runs the ``gitea``
binary built into the binary cache (``binaries.COMPONENTS["gitea"]``, whose kept
``templates``/``options``/``public`` are its ``STATIC_ROOT_PATH``) with SQLite, HTTP on
127.0.0.1 and a free port, no SSH, no mailer, registration closed, and one admin user whose
access token (scope ``all``) is what the tests and the promotions use.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tidegate.model import errors
from tidegate.testenv import binaries, gitrepos, procs

BINARY = "gitea"
ADMIN = "tidegate-admin"


@dataclasses.dataclass(frozen=True)
class GiteaRepo:
    owner: str
    name: str
    http_url: str  # what git clones, ending in .git


class Gitea:
    def __init__(self, directory: Path, *, port: int = 0) -> None:
        self.directory = directory
        self.port = port or procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.username = ADMIN
        self.password = secrets.token_urlsafe(18)
        self.token = ""
        self.pid: int | None = None
        self.log = directory / "gitea.log"
        self.config = directory / "custom" / "conf" / "app.ini"
        self._binary: Path | None = None

    def __repr__(self) -> str:  # never the password or the token
        return f"Gitea({self.url}, dir={self.directory})"

    def start(self, timeout: float = 180.0) -> Gitea:
        """Write the configuration, start ``gitea web``, create the admin user and its token."""
        self._binary = binaries.ensure([BINARY])[BINARY]
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(app_ini(self.directory, self._binary.parent, self.port))
        self.config.chmod(0o600)
        self.pid = procs.spawn(
            [str(self._binary), "web", *self._paths()],
            log=self.log,
            env=self._env(),
            cwd=self.directory,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if not procs.alive(self.pid):
                raise errors.TestEnvError(f"gitea exited:\n{procs.tail(self.log, 30)}")
            if time.monotonic() > deadline:
                self.stop()
                raise errors.TestEnvError(f"gitea did not start:\n{procs.tail(self.log, 30)}")
            time.sleep(0.2)
        self._admin(
            "user",
            "create",
            "--admin",
            f"--username={self.username}",
            f"--password={self.password}",
            f"--email={self.username}@example.test",
            "--must-change-password=false",
        )
        self.token = self._admin(
            "user",
            "generate-access-token",
            f"--username={self.username}",
            "--token-name=tidegate-tests",
            "--scopes=all",
            "--raw",
        ).strip()
        return self

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop([self.pid], marker=BINARY, timeout=10)
            self.pid = None

    def _paths(self) -> list[str]:
        return [f"--config={self.config}", f"--work-path={self.directory}"]

    def _env(self) -> dict[str, str]:
        # HOME: gitea writes a .gitconfig there for the git it runs.
        return {**os.environ, "HOME": str(self.directory), "GITEA_WORK_DIR": str(self.directory)}

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/v1/version", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def _admin(self, *args: str) -> str:
        assert self._binary is not None
        result = subprocess.run(
            [str(self._binary), "admin", *args, *self._paths()],
            capture_output=True,
            text=True,
            env=self._env(),
            cwd=self.directory,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise errors.TestEnvError(
                f"gitea admin {args[0]} {args[1]} failed: {result.stderr.strip()[-1500:]}"
            )
        return result.stdout

    # The API, as the admin user.

    def api(self, method: str, path: str, body: Any = None, *, token: str = "") -> httpx.Response:
        headers = {"Authorization": f"token {token or self.token}"}
        return httpx.request(
            method, f"{self.url}/api/v1{path}", json=body, headers=headers, timeout=30
        )

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """``api`` that must succeed; the answer's JSON (None when empty)."""
        resp = self.api(method, path, body)
        if resp.status_code >= 300:
            raise errors.TestEnvError(
                f"gitea {method} {path} answered {resp.status_code}: {resp.text[:500]}"
            )
        return resp.json() if resp.content else None

    def create_repo(self, name: str) -> GiteaRepo:
        """A private repository of the admin user with one commit on ``main``."""
        self.call(
            "POST",
            "/user/repos",
            {"name": name, "private": True, "auto_init": True, "default_branch": "main"},
        )
        return GiteaRepo(self.username, name, f"{self.url}/{self.username}/{name}.git")

    def working_copy(self, repo: GiteaRepo, path: Path) -> gitrepos.WorkingCopy:
        env = gitrepos.client_env(self.username, self.token, None)
        return gitrepos.WorkingCopy.clone(repo.http_url, path, env=env)

    def pulls(self, repo: GiteaRepo, state: str = "all") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call(
            "GET", f"/repos/{repo.owner}/{repo.name}/pulls?state={state}&limit=50"
        )
        return found

    def merge(self, repo: GiteaRepo, number: int, timeout: float = 60.0) -> None:
        """Merge the pull request with a merge commit, as a reviewer's button does, once Gitea
        has checked that it merges (it does so in the background after the PR is opened)."""
        deadline = time.monotonic() + timeout
        while not self.pull(repo, number).get("mergeable"):
            if time.monotonic() > deadline:
                raise errors.TestEnvError(f"gitea: pull request #{number} never became mergeable")
            time.sleep(0.2)
        self.call("POST", f"/repos/{repo.owner}/{repo.name}/pulls/{number}/merge", {"Do": "merge"})

    def close(self, repo: GiteaRepo, number: int) -> None:
        self.call("PATCH", f"/repos/{repo.owner}/{repo.name}/pulls/{number}", {"state": "closed"})

    def pull(self, repo: GiteaRepo, number: int) -> Mapping[str, Any]:
        found: Mapping[str, Any] = self.call(
            "GET", f"/repos/{repo.owner}/{repo.name}/pulls/{number}"
        )
        return found


def app_ini(directory: Path, static_root: Path, port: int) -> str:
    """Gitea's configuration for the bed: installed already, everything under ``directory``."""
    root_ok = "true" if os.geteuid() == 0 else "false"  # Gitea refuses root unless told
    return f"""APP_NAME = tidegate test bed
RUN_MODE = prod
WORK_PATH = {directory}
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = {root_ok}

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {port}
ROOT_URL = http://127.0.0.1:{port}/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = {static_root}
APP_DATA_PATH = {directory}/data

[database]
DB_TYPE = sqlite3
PATH = {directory}/data/gitea.db

[repository]
ROOT = {directory}/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = {secrets.token_hex(32)}
INTERNAL_TOKEN = {secrets.token_hex(48)}

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true

[mailer]
ENABLED = false

[session]
PROVIDER = memory

[cache]
ADAPTER = memory

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[actions]
ENABLED = false

[packages]
ENABLED = false

[cron]
ENABLED = false

[log]
MODE = console
LEVEL = Warn
ROOT_PATH = {directory}/log
"""
