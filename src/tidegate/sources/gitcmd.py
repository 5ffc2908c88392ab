"""Running the git CLI for a repository: environment, credentials, timeouts, error mapping.

Credentials never travel in argv or URLs. Passwords reach git through an askpass script that
reads them from the child's environment; a bearer token and TLS client keys through
``GIT_CONFIG_*`` variables and owner-only files that exist only while the command runs; SSH keys
and known hosts through such files and ``GIT_SSH_COMMAND``. Git's stderr is scrubbed of every
secret value and URL userinfo before it is quoted in an error.

Every command carries the timeouts of :class:`GitLimits`: curl's low-speed check for HTTP(S),
SSH connect and keep-alive timeouts, and an overall deadline that kills the process group.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import os
import re
import shlex
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tidegate.metrics import families as metric_families
from tidegate.model import errors
from tidegate.sources import credentials as creds_mod
from tidegate.sources import githubapp, subproc, urls

_ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$TIDEGATE_GIT_USERNAME" ;;
  *) printf '%s\\n' "$TIDEGATE_GIT_PASSWORD" ;;
esac
"""
# Inherited variables that would redirect or reconfigure git behind our back.
_DROPPED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSL_NO_VERIFY",
    "GIT_PROTOCOL",
)

# fsck findings that are only cosmetic (dates, padding, tag headers of old tools).
_LEGACY_FSCK_FINDINGS = (
    "zeroPaddedFilemode",
    "badTimezone",
    "missingSpaceBeforeDate",
    "badDate",
    "badDateOverflow",
    "missingTaggerEntry",
)
# stderr fragments (lower case) -> error class, first match wins.
_PATTERNS: tuple[tuple[str, type[errors.SourceError], str], ...] = (
    (
        "' not allowed",
        errors.UnsafeRepositoryError,
        "transport refused: repositories are reached over https, http or ssh only "
        "(local paths, file://, ext:: are refused)",
    ),
    ("host key verification failed", errors.AuthenticationError, "SSH host key not trusted"),
    ("certificate", errors.AuthenticationError, "TLS certificate not trusted"),
    ("authentication failed", errors.AuthenticationError, "authentication failed"),
    ("could not read username", errors.AuthenticationError, "credentials required"),
    ("could not read password", errors.AuthenticationError, "credentials required"),
    ("permission denied (publickey", errors.AuthenticationError, "SSH key rejected"),
    ("returned error: 401", errors.AuthenticationError, "authentication failed"),
    ("returned error: 403", errors.AuthenticationError, "access denied"),
    ("repository not found", errors.RepoNotFoundError, "repository not found"),
    ("' not found", errors.RepoNotFoundError, "repository not found"),
    ("returned error: 404", errors.RepoNotFoundError, "repository not found"),
    ("does not appear to be a git repository", errors.RepoNotFoundError, "repository not found"),
    ("couldn't find remote ref", errors.RevisionNotFoundError, "revision not found"),
    ("not our ref", errors.RevisionNotFoundError, "revision not found"),
    ("could not resolve host", errors.RepoUnreachableError, "host not found"),
    ("could not resolve hostname", errors.RepoUnreachableError, "host not found"),
    ("connection refused", errors.RepoUnreachableError, "connection refused"),
    (
        "operation too slow",
        errors.RepoUnreachableError,
        "timed out: the server stopped sending (below the low-speed limit)",
    ),
    (
        "timed out during banner exchange",
        errors.RepoUnreachableError,
        "timed out: the server accepted the connection but never answered",
    ),
    ("not responding", errors.RepoUnreachableError, "timed out: the server stopped answering"),
    ("timed out", errors.RepoUnreachableError, "connection timed out"),
    ("failed to connect", errors.RepoUnreachableError, "connection failed"),
    ("couldn't connect", errors.RepoUnreachableError, "connection failed"),
    ("connection reset", errors.RepoUnreachableError, "connection reset"),
    ("connection closed", errors.RepoUnreachableError, "connection closed"),
    ("unable to access", errors.RepoUnreachableError, "server unreachable"),
    ("could not read from remote repository", errors.RepoUnreachableError, "server unreachable"),
)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` without any of ``secrets`` (longest first) and without URL userinfo."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "******")
    return urls.redact(text)


_FSCK_OBJECT = re.compile(r"error: object (?P<oid>[0-9a-f]{7,64}): (?P<problem>[^\n]+)")


def classify(stderr: str, *, what: str) -> errors.SourceError:
    """Map scrubbed git stderr to the error tree; ``what`` names the repo (and revision)."""
    lowered = stderr.lower()
    if "fsck error" in lowered or "fsck: error" in lowered or _FSCK_OBJECT.search(stderr):
        found = _FSCK_OBJECT.search(stderr)
        detail = f"object {found['oid']}: {found['problem'].strip()}" if found else stderr.strip()
        return errors.UnsafeRepositoryError(
            f"{what}: the server sent an object that fails git's integrity check (fsck), "
            f"nothing was stored: {detail}"
        )
    detail = " ".join(line.strip() for line in stderr.strip().splitlines()[-3:])
    for fragment, error_type, summary in _PATTERNS:
        if fragment in lowered:
            return error_type(f"{what}: {summary}: {detail}")
    return errors.SourceError(f"{what}: git failed: {detail}")


@dataclass(frozen=True)
class GitLimits:
    """How long a git command may wait on a server, and how many run at once.

    ``low_speed_limit``/``low_speed_time``: an HTTP(S) transfer slower than ``low_speed_limit``
    bytes/s for ``low_speed_time`` seconds is aborted (curl's low-speed check; it also covers a
    server that accepts the connection and never answers). ``connect_timeout``: SSH's
    ``ConnectTimeout`` (TCP connect and the SSH handshake); git 2.39 has no HTTP connect-timeout
    setting, so an HTTP connect that never completes ends at ``deadline``. SSH sessions that go
    silent are dropped after ``server_alive_interval * server_alive_count_max`` seconds.
    ``deadline``: every git command, whatever it does, is killed (with its process group) after
    that many seconds. ``max_processes``: git processes a :class:`RepoCache` runs at once over
    all repositories (each repository runs one at a time).
    """

    connect_timeout: float = 15.0
    low_speed_limit: int = 1000
    low_speed_time: int = 15
    server_alive_interval: int = 5
    server_alive_count_max: int = 3
    deadline: float = 120.0
    max_processes: int = 8

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "low_speed_time", "deadline", "max_processes"):
            if getattr(self, name) <= 0:
                raise errors.ConfigError(f"git limits: {name} must be positive")
        if self.low_speed_limit < 0 or self.server_alive_interval <= 0:
            raise errors.ConfigError("git limits: low_speed_limit >= 0, server_alive_interval > 0")
        if self.server_alive_count_max <= 0:
            raise errors.ConfigError("git limits: server_alive_count_max must be positive")


class _SecretFile(Protocol):
    def __call__(self, name: str, content: str) -> str: ...


@dataclass(frozen=True)
class GitResult:
    stdout: str
    stderr: str


class GitRunner:
    """Runs git with credentials for one command at a time.

    ``state_dir`` holds the askpass script and, briefly, per-command credential files (0700).
    """

    def __init__(
        self,
        *,
        state_dir: Path,
        limits: GitLimits | None = None,
        timeout: float | None = None,
        git: str = "git",
        allow_local: bool = False,
        tokens: githubapp.TokenCache | None = None,
    ) -> None:
        """``timeout``, when given, replaces ``limits.deadline``. ``tokens`` exchanges and
        caches GitHub App installation tokens (a new cache when not given)."""
        limits = limits or GitLimits()
        if timeout is not None:
            limits = dataclasses.replace(limits, deadline=timeout)
        self.limits = limits
        self._git = git
        self._allow_local = allow_local
        self._state_dir = state_dir
        self.tokens = tokens if tokens is not None else githubapp.TokenCache()
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        state_dir.chmod(0o700)
        self._askpass = state_dir / "askpass.sh"
        _install_script(self._askpass, _ASKPASS)

    @contextlib.contextmanager
    def _environment(
        self, creds: creds_mod.RepoCredentials | None, url: str
    ) -> Iterator[dict[str, str]]:
        env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
        env.update(
            {
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_ASKPASS": str(self._askpass),
                "LC_ALL": "C",
                "LANGUAGE": "C",
            }
        )
        config = {
            "credential.helper": "",
            "protocol.version": "2",
            "core.hooksPath": os.devnull,
            # Every object received is checked (bad trees, names like '..' or '.git', broken
            # commits): a repository that fails is refused before any object is stored.
            "fetch.fsckObjects": "true",
            "transfer.fsckObjects": "true",
            # ...except cosmetic defects old tools left in real histories (strict fsck would
            # refuse those repositories whole); nothing about names or tree structure.
            **{f"fetch.fsck.{msg_id}": "ignore" for msg_id in _LEGACY_FSCK_FINDINGS},
            # Only the transports Tidegate supports: no file://, ext::, fd:: or the like.
            "protocol.allow": "never",
            "protocol.https.allow": "always",
            "protocol.http.allow": "always",
            "protocol.ssh.allow": "always",
            # A server that accepts and never answers, or trickles, is given up on (curl).
            "http.lowSpeedLimit": str(self.limits.low_speed_limit),
            "http.lowSpeedTime": str(self.limits.low_speed_time),
        }
        if self._allow_local:  # the CLI rendering a git directory of the user's own machine
            config["protocol.file.allow"] = "always"
        creds = creds or creds_mod.RepoCredentials()
        env["TIDEGATE_GIT_USERNAME"] = creds.username
        env["TIDEGATE_GIT_PASSWORD"] = creds.password
        with tempfile.TemporaryDirectory(dir=self._state_dir, prefix="cmd-") as scratch:
            files = Path(scratch)

            def secret_file(name: str, content: str) -> str:
                path = files / name
                path.touch(mode=0o600)
                path.write_text(content if content.endswith("\n") else content + "\n")
                return str(path)

            if creds.bearer_token:
                config["http.extraHeader"] = f"Authorization: Bearer {creds.bearer_token}"
            elif creds.force_basic_auth and (creds.username or creds.password):
                basic = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
                config["http.extraHeader"] = f"Authorization: Basic {basic}"
            if creds.tls_client_cert and creds.tls_client_key:
                config["http.sslCert"] = secret_file("client.crt", creds.tls_client_cert)
                config["http.sslKey"] = secret_file("client.key", creds.tls_client_key)
            if creds.ca_data:
                env["GIT_SSL_CAINFO"] = secret_file("ca.crt", creds.ca_data)
            if creds.insecure and urls.is_https(url):
                env["GIT_SSL_NO_VERIFY"] = "true"
            if urls.is_ssh(url):
                env["GIT_SSH_COMMAND"] = _ssh_command(creds, secret_file, self.limits)
            env["GIT_CONFIG_COUNT"] = str(len(config))
            for index, (key, value) in enumerate(config.items()):
                env[f"GIT_CONFIG_KEY_{index}"] = key
                env[f"GIT_CONFIG_VALUE_{index}"] = value
            yield env

    async def run(
        self,
        args: Sequence[str],
        *,
        url: str,
        creds: creds_mod.RepoCredentials | None,
        what: str,
        cwd: Path | None = None,
        stdin: bytes | None = None,
        env_extra: Mapping[str, str] | None = None,
    ) -> GitResult:
        """Run ``git args``; raise a SourceError naming ``what`` on failure, and a
        RepoUnreachableError (temporary) naming the command when it passes the deadline.

        Credentials with a GitHub App are first exchanged for an installation token (cached);
        a token the server refuses is dropped, so the next command exchanges a new one."""
        app = creds if githubapp.uses_app(creds) and not urls.is_ssh(url) else None
        if app is not None:
            creds = await self.tokens.git_credentials(app, what=what)
        try:
            return await self._run(
                args, url=url, creds=creds, what=what, cwd=cwd, stdin=stdin, env_extra=env_extra
            )
        except errors.AuthenticationError:
            if app is not None:
                self.tokens.forget(app)
            raise

    async def _run(
        self,
        args: Sequence[str],
        *,
        url: str,
        creds: creds_mod.RepoCredentials | None,
        what: str,
        cwd: Path | None,
        stdin: bytes | None,
        env_extra: Mapping[str, str] | None,
    ) -> GitResult:
        secrets = creds.secret_values() if creds else []
        request_type = _REQUEST_TYPES.get(command_name(args))
        timer: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if request_type is not None:  # argocd_git_request_total / _duration_seconds
            metric_families.GIT_REQUESTS.labels(urls.display(url), request_type).inc()
            timer = metric_families.GIT_DURATION.labels(urls.display(url), request_type).time()
        with timer, self._environment(creds, url) as env:
            env.update(env_extra or {})
            try:
                done = await subproc.run(
                    [self._git, *args],
                    env=env,
                    time_limit=self.limits.deadline,
                    cwd=cwd,
                    stdin=stdin,
                )
            except subproc.DeadlineExceeded:
                raise errors.RepoUnreachableError(
                    f"{what}: git {command_name(args)} timed out after "
                    f"{self.limits.deadline:g}s (the server did not finish answering)"
                ) from None
        stderr = scrub(done.stderr.decode(errors="replace"), secrets)
        if done.code != 0:
            raise classify(stderr, what=what)
        return GitResult(stdout=done.stdout.decode(errors="replace"), stderr=stderr)


# git subcommands that talk to the server, as Argo CD's repo server labels its requests.
_REQUEST_TYPES = {"fetch": "fetch", "clone": "fetch", "ls-remote": "ls-remote"}


def command_name(args: Sequence[str]) -> str:
    """The git subcommand in ``args`` (``fetch`` of ``-c k=v fetch --quiet ...``)."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-c", "-C"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return "command"


def _ssh_command(
    creds: creds_mod.RepoCredentials, secret_file: _SecretFile, limits: GitLimits
) -> str:
    """OpenSSH for git: no user config, no prompts, the cache's known hosts and key, and the
    timeouts of ``limits`` (connect + handshake, then keep-alives on a silent session)."""
    options = ["-F", os.devnull, "-o", "BatchMode=yes"]
    options += ["-o", f"ConnectTimeout={max(1, round(limits.connect_timeout))}"]
    options += ["-o", f"ServerAliveInterval={limits.server_alive_interval}"]
    options += ["-o", f"ServerAliveCountMax={limits.server_alive_count_max}"]
    if creds.ssh_private_key:
        key = secret_file("id_key", creds.ssh_private_key)
        options += ["-o", "IdentitiesOnly=yes", "-i", key]
    if creds.insecure:
        options += ["-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={os.devnull}"]
    else:
        options += ["-o", "StrictHostKeyChecking=yes"]
        if creds.known_hosts:
            hosts = secret_file("known_hosts", creds.known_hosts)
            options += ["-o", f"UserKnownHostsFile={hosts}"]
    return shlex.join(["ssh", *options])


def _install_script(path: Path, text: str) -> None:
    """Put the executable ``text`` at ``path``, unless it is there already.

    Several processes share the cache (controllers, the CLI, the server). Rewriting the script
    in place while another process's git executes it fails that exec with "Text file busy";
    a new file renamed over the old one never does (a running exec keeps the old inode).
    """
    with contextlib.suppress(OSError):
        if path.read_text() == text and path.stat().st_mode & 0o777 == 0o700:
            return
    fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(scratch, 0o700)
        os.replace(scratch, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        raise
