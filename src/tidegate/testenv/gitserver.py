"""The test bed's git server: smart HTTP(S) with basic auth and SSH with a generated key.

In-process use (pytest fixtures)::

    server = GitServer.start(tmp_dir, tls=False, ssh=True)
    repo = server.create_repo("team/app", from_dir=fixtures)
    work = server.working_copy("team/app")
    sha = work.commit({"deploy.yaml": "..."}, "add deploy")
    server.stop()

As a daemon that outlives the CLI (``tidegate testenv up``)::

    python -m tidegate.testenv.gitserver serve --dir DIR [--tls] [--no-ssh]

writes ``DIR/git.json`` (see :class:`GitServerInfo`) once it is serving, and runs until SIGTERM.
:func:`start_daemon` and :func:`stop_daemon` wrap that for the lead's CLI.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

from tidegate.model import errors
from tidegate.testenv import githttp, gitrepos, gitssh, pki

INFO_FILE = "git.json"
USERNAME = "tidegate"


@dataclass(frozen=True)
class GitServerInfo:
    """What clients need to reach the server; written to ``DIR/git.json``."""

    username: str
    password: str
    http_base: str
    ssh_base: str | None
    ssh_private_key_path: str | None
    known_hosts_path: str | None
    ca_path: str | None
    pid: int
    sshd_pid: int | None

    @classmethod
    def load(cls, directory: Path) -> GitServerInfo:
        data = json.loads((directory / INFO_FILE).read_text())
        return cls(**data)


def repo_info(info: GitServerInfo, repo_root: Path, name: str) -> gitrepos.RepoInfo:
    """Where repository ``name`` lives under ``repo_root`` and its clone URLs on the server."""
    path = gitrepos.repo_path(repo_root, name)
    relative = path.relative_to(repo_root).as_posix()
    ssh_url = f"{info.ssh_base}/{relative}" if info.ssh_base else None
    return gitrepos.RepoInfo(
        name=name, path=path, http_url=f"{info.http_base}/{relative}", ssh_url=ssh_url
    )


PASSWORD_FILE = "password"


def _password(directory: Path) -> str:
    """The server's password, kept across restarts in ``DIR/password`` (owner-only), because
    clients store it; made on first start (or taken from a ``git.json`` written before)."""
    path = directory / PASSWORD_FILE
    with contextlib.suppress(OSError):
        kept = path.read_text().strip()
        if kept:
            return kept
    password = ""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        password = str(json.loads((directory / INFO_FILE).read_text())["password"])
    password = password or secrets.token_urlsafe(24)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(password + "\n")
    return password


def password(directory: Path) -> str:
    """The git server's password (made on first use); the test bed's registry shares it."""
    directory.mkdir(parents=True, exist_ok=True)
    return _password(directory)


class GitServer:
    """A running git server rooted at ``directory`` (repositories live in ``directory/repos``)."""

    def __init__(
        self,
        directory: Path,
        info: GitServerInfo,
        http: githttp.HttpFrontend,
        sshd: gitssh.SshDaemon | None,
    ) -> None:
        self.directory = directory
        self.repo_root = directory / "repos"
        self.info = info
        self._http = http
        self._sshd = sshd

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        tls: bool = False,
        ssh: bool = True,
        http_port: int = 0,
        ssh_port: int = 0,
        username: str = USERNAME,
    ) -> GitServer:
        """Serve ``directory/repos``; a port of 0 means any free one. Keys, certificates and the
        password made by an earlier start in ``directory`` are reused. ``username``: the one
        HTTP user admitted (``x-access-token`` plays GitHub's side of installation tokens)."""
        directory = directory.resolve()
        directory.mkdir(parents=True, exist_ok=True)
        repo_root = directory / "repos"
        repo_root.mkdir(exist_ok=True)
        password = _password(directory)
        cert = key = ca_path = None
        if tls:
            ca = pki.make_ca(directory / "tls", "git-ca")
            pair = pki.make_cert(
                ca,
                directory / "tls",
                "git-server",
                common_name="tidegate-git",
                sans=["127.0.0.1", "localhost"],
                server=True,
            )
            cert, key, ca_path = pair.cert, pair.key, ca.pair.cert
        settings = githttp.HttpSettings(
            project_root=repo_root,
            username=username,
            password=password,
            backend=githttp.http_backend_path(),
            log_path=directory / "http-backend.log",
            charts_root=directory / "charts",
        )
        try:
            http = githttp.serve_http(settings, cert=cert, key=key, port=http_port)
        except OSError as exc:
            raise errors.TestEnvError(
                f"the git server cannot serve HTTP on 127.0.0.1:{http_port or 'any port'}: {exc}"
            ) from exc
        sshd = None
        try:
            if ssh:
                sshd = gitssh.start_sshd(directory, repo_root, port=ssh_port)
        except BaseException:
            http.stop()
            raise
        scheme = "https" if tls else "http"
        info = GitServerInfo(
            username=username,
            password=password,
            http_base=f"{scheme}://127.0.0.1:{http.port}",
            ssh_base=f"ssh://{sshd.user}@127.0.0.1:{sshd.port}" if sshd else None,
            ssh_private_key_path=str(sshd.files.client_key) if sshd else None,
            known_hosts_path=str(sshd.files.known_hosts) if sshd else None,
            ca_path=str(ca_path) if ca_path else None,
            pid=os.getpid(),
            sshd_pid=sshd.process.pid if sshd else None,
        )
        return cls(directory, info, http, sshd)

    def write_info(self) -> Path:
        """Write ``git.json`` (owner-only: it holds the password) atomically."""
        path = self.directory / INFO_FILE
        scratch = path.with_suffix(".tmp")
        scratch.touch(mode=0o600, exist_ok=True)
        scratch.write_text(json.dumps(asdict(self.info), indent=2) + "\n")
        scratch.replace(path)
        return path

    def http_requests(self) -> collections.Counter[str]:
        """Authorised HTTP requests served so far, by ``METHOD /path?query``."""
        return self._http.requests()

    def fetches(self, name: str) -> int:
        """How many fetches or clones of repository ``name`` clients started over HTTP (each
        begins with one ref advertisement request, whatever the protocol version)."""
        path = gitrepos.repo_path(self.repo_root, name).relative_to(self.repo_root).as_posix()
        return self.http_requests()[f"GET /{path}/info/refs?service=git-upload-pack"]

    def stop(self) -> None:
        if self._sshd is not None:
            self._sshd.stop()
            self._sshd = None
        self._http.stop()

    def __enter__(self) -> GitServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def repo_info(self, name: str) -> gitrepos.RepoInfo:
        return repo_info(self.info, self.repo_root, name)

    def create_repo(self, name: str, from_dir: Path | None = None) -> gitrepos.RepoInfo:
        """Create repository ``name`` (``team/app`` is fine), seeded from ``from_dir``."""
        info = self.repo_info(name)
        if info.path.exists():
            raise errors.TestEnvError(f"repository {name!r} already exists at {info.path}")
        gitrepos.create_bare(info.path, from_dir=from_dir)
        return info

    def client_env(self) -> dict[str, str]:
        """Environment for a git client: credentials and CA, nothing in argv."""
        ca = Path(self.info.ca_path) if self.info.ca_path else None
        return gitrepos.client_env(self.info.username, self.info.password, ca)

    def working_copy(self, name: str, path: Path | None = None) -> gitrepos.WorkingCopy:
        """Clone ``name`` over HTTP(S) into ``path`` (default: under the server dir)."""
        info = self.repo_info(name)
        if path is None:
            path = self.directory / "work" / f"{name.replace('/', '--')}-{secrets.token_hex(4)}"
        work = gitrepos.WorkingCopy.clone(info.http_url, path, env=self.client_env())
        if not work.git("for-each-ref", "--count=1", "refs/heads").strip():
            work.git("symbolic-ref", "HEAD", "refs/heads/main")  # cloned an empty repository
        return work


def _serve(directory: Path, *, tls: bool, ssh: bool, http_port: int, ssh_port: int) -> int:
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = GitServer.start(directory, tls=tls, ssh=ssh, http_port=http_port, ssh_port=ssh_port)
    try:
        server.write_info()
        stopping.wait()
    finally:
        server.stop()
        (server.directory / INFO_FILE).unlink(missing_ok=True)
    return 0


def start_daemon(
    directory: Path,
    *,
    tls: bool = False,
    ssh: bool = True,
    timeout: float = 30.0,
    http_port: int = 0,
    ssh_port: int = 0,
) -> GitServerInfo:
    """Start ``serve`` detached (own session, survives the caller) and wait for ``git.json``.
    Ports of 0 mean any free ones; given ports are kept (a restart in place)."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    info_path = directory / INFO_FILE
    info_path.unlink(missing_ok=True)
    args = [sys.executable, "-m", "tidegate.testenv.gitserver", "serve", "--dir", str(directory)]
    args += ["--tls"] if tls else []
    args += [] if ssh else ["--no-ssh"]
    args += [f"--http-port={http_port}", f"--ssh-port={ssh_port}"]
    log_path = directory / "gitserver.log"
    with log_path.open("ab") as log:
        before = log.tell()  # this start's lines follow: the error quotes only those
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if info_path.exists():
            return GitServerInfo.load(directory)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
    with log_path.open("rb") as log:
        log.seek(before)
        lines = log.read().decode(errors="replace").strip().splitlines()[-5:]
    raise errors.TestEnvError(
        f"git server in {directory} did not start; last log lines:\n"
        + "\n".join(lines)
        + f"\nfull log: {log_path}"
    )


def stop_daemon(directory: Path, *, timeout: float = 15.0) -> bool:
    """Stop the daemon serving ``directory``; False when none was running."""
    try:
        info = GitServerInfo.load(directory)
    except (OSError, ValueError):
        return False
    try:
        os.kill(info.pid, signal.SIGTERM)
    except ProcessLookupError:
        (directory / INFO_FILE).unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(info.pid):
            return True
        time.sleep(0.05)
    raise errors.TestEnvError(f"git server (pid {info.pid}) did not stop within {timeout}s")


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, parent has not reaped it yet) counts as gone."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False  # our own child, now reaped
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tidegate.testenv.gitserver")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve DIR/repos until SIGTERM")
    serve.add_argument("--dir", type=Path, required=True, help="server directory")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    serve.add_argument("--no-ssh", dest="ssh", action="store_false", help="do not start sshd")
    serve.add_argument("--http-port", type=int, default=0, help="HTTP(S) port (0: any free)")
    serve.add_argument("--ssh-port", type=int, default=0, help="SSH port (0: any free)")
    options = parser.parse_args(argv)
    try:
        return _serve(
            options.dir.resolve(),
            tls=options.tls,
            ssh=options.ssh,
            http_port=options.http_port,
            ssh_port=options.ssh_port,
        )
    except (errors.TidegateError, OSError) as exc:  # for the log that start_daemon quotes
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
