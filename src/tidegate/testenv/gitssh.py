"""SSH for the test bed's git server: OpenSSH ``sshd`` on a loopback port.

The server runs as the current user with its own host key, accepts one generated ed25519 client
key, and that key may only run ``git-upload-pack``/``git-receive-pack`` on the served repository
root: its ``authorized_keys`` line forces a wrapper (``git-ssh-command``) that maps the path the
client asked for (``/name.git``) to the repository directory, refusing anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tidegate.model import errors
from tidegate.testenv import githttp, prereqs, procs

_START_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1

# The forced command. It runs under sshd with the client's SSH_ORIGINAL_COMMAND, e.g.
# git-upload-pack '/team/app.git', and replaces itself with the git service on the mapped path.
_WRAPPER = """\
import os, shlex, sys
ROOT = {root!r}
SERVICES = {{"git-upload-pack": "upload-pack", "git-receive-pack": "receive-pack",
             "git-upload-archive": "upload-archive"}}
words = shlex.split(os.environ.get("SSH_ORIGINAL_COMMAND", ""))
if len(words) != 2 or words[0] not in SERVICES:
    sys.exit("only git-upload-pack and git-receive-pack are allowed")
relative = words[1].lstrip("/")
if relative.startswith("~/"):
    relative = relative[2:]
target = os.path.realpath(os.path.join(ROOT, relative))
if not (target + os.sep).startswith(os.path.realpath(ROOT) + os.sep) or not os.path.isdir(target):
    sys.exit("repository not found: " + words[1])
os.environ.update({config!r})
os.execvp("git", ["git", SERVICES[words[0]], target])
"""


def find_sshd() -> Path:
    """The sshd binary (``$TIDEGATE_SSHD`` first), or a clear error naming the package."""
    return prereqs.require("sshd")


@dataclass(frozen=True)
class SshFiles:
    """Keys and files of the SSH side, all under ``<dir>/ssh``."""

    directory: Path
    host_key: Path
    client_key: Path
    authorized_keys: Path
    known_hosts: Path
    config: Path
    wrapper: Path


def _keygen(path: Path, comment: str) -> None:
    if path.exists() and path.with_suffix(".pub").exists():
        return
    path.unlink(missing_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def prepare(directory: Path, repo_root: Path) -> SshFiles:
    """Create (or reuse) the keys and write the wrapper and authorized_keys."""
    ssh_dir = directory / "ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    ssh_dir.chmod(0o700)
    files = SshFiles(
        directory=ssh_dir,
        host_key=ssh_dir / "host_ed25519",
        client_key=ssh_dir / "client_ed25519",
        authorized_keys=ssh_dir / "authorized_keys",
        known_hosts=ssh_dir / "known_hosts",
        config=ssh_dir / "sshd_config",
        wrapper=ssh_dir / "git-ssh-command",
    )
    _keygen(files.host_key, "tidegate-testenv-host")
    _keygen(files.client_key, "tidegate-testenv-client")
    config = githttp.git_config_env(githttp.SERVER_GIT_CONFIG)
    files.wrapper.write_text(
        f"#!{sys.executable} -I\n" + _WRAPPER.format(root=str(repo_root), config=config)
    )
    files.wrapper.chmod(0o755)
    client_public = files.client_key.with_suffix(".pub").read_text().strip()
    restrictions = "no-port-forwarding,no-X11-forwarding,no-agent-forwarding,no-pty"
    files.authorized_keys.write_text(f'command="{files.wrapper}",{restrictions} {client_public}\n')
    files.authorized_keys.chmod(0o600)
    return files


def _write_config(files: SshFiles, port: int) -> None:
    user = getpass.getuser()
    files.config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {files.host_key}",
                f"PidFile {files.directory / 'sshd.pid'}",
                f"AuthorizedKeysFile {files.authorized_keys}",
                "StrictModes no",
                "UsePAM no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                f"AllowUsers {user}",
                "AcceptEnv GIT_PROTOCOL",
                "PermitUserEnvironment no",
                "PrintMotd no",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    host_public = files.host_key.with_suffix(".pub").read_text().split()
    key_type, key_data = host_public[0], host_public[1]
    files.known_hosts.write_text(
        f"[127.0.0.1]:{port} {key_type} {key_data}\n[localhost]:{port} {key_type} {key_data}\n"
    )


@dataclass
class SshDaemon:
    """A running sshd in its own process group."""

    process: subprocess.Popen[bytes]
    port: int
    user: str
    files: SshFiles

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM sshd when the process that started it dies, so
    a killed test run or daemon does not leak it. The libc handle is loaded before the fork.

    Linux ties the signal to the *thread* that forked, so it is only armed from the main thread
    (a worker thread of a pool may exit while the server should live on)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if procs.port_in_use(port):
            return True
        time.sleep(0.05)
    return False


def start_sshd(directory: Path, repo_root: Path, *, port: int = 0, attempts: int = 5) -> SshDaemon:
    """Start sshd on loopback ``port`` (0: a free one, retrying on another if it is taken
    before sshd binds it; a given port is retried as it is)."""
    sshd = find_sshd()
    files = prepare(directory, repo_root)
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # privilege separation
    log_path = directory / "sshd.log"
    wanted = port
    if wanted and procs.port_in_use(wanted):
        raise errors.TestEnvError(f"sshd cannot listen on port {wanted}: another process holds it")
    for _ in range(attempts):
        port = wanted or procs.free_port()
        _write_config(files, port)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [str(sshd), "-D", "-e", "-f", str(files.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        if _wait_listening(process, port):
            return SshDaemon(process=process, port=port, user=getpass.getuser(), files=files)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    raise errors.TestEnvError(
        f"sshd ({sshd}) did not start after {attempts} attempts; its log ({log_path}) ends: "
        f"{procs.tail(log_path, 3) or '(empty)'}"
    )
