"""A client's view of a running test bed: its clusters and its git server.

Tests, benchmarks and the demo open a handle on a test bed directory; they never need to know
how the processes were started.
"""

from __future__ import annotations

import secrets
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tidegate.model import errors
from tidegate.testenv import gitrepos, gitserver, testbed


@dataclass(frozen=True)
class Cluster:
    name: str
    server: str
    kubeconfig: Path


@dataclass(frozen=True)
class GitRemote:
    """The test bed's git server, from outside its process."""

    directory: Path
    info: gitserver.GitServerInfo

    @property
    def username(self) -> str:
        return self.info.username

    @property
    def password(self) -> str:
        return self.info.password

    def create_repo(
        self,
        name: str | None = None,
        *,
        from_dir: Path | None = None,
        files: Mapping[str, str] | None = None,
        prefix: str = "repo",
    ) -> gitrepos.RepoInfo:
        """Create a repository (a unique name by default) and return its URLs. Its first commit
        holds ``from_dir``'s tree, or ``files`` (relative path -> text)."""
        name = name or f"{prefix}-{secrets.token_hex(4)}"
        if files is None:
            return testbed.create_repo(self.directory.parent, name, from_dir=from_dir)
        with tempfile.TemporaryDirectory(prefix="tidegate-repo-") as tmp:
            for path, text in files.items():
                target = Path(tmp) / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
            return testbed.create_repo(self.directory.parent, name, from_dir=Path(tmp))

    def client_env(self) -> dict[str, str]:
        ca = Path(self.info.ca_path) if self.info.ca_path else None
        return gitrepos.client_env(self.info.username, self.info.password, ca)

    def working_copy(self, repo: gitrepos.RepoInfo, path: Path) -> gitrepos.WorkingCopy:
        """Clone ``repo`` over HTTP into ``path``; commit and push through the returned copy."""
        work = gitrepos.WorkingCopy.clone(repo.http_url, path, env=self.client_env())
        if not work.git("for-each-ref", "--count=1", "refs/heads").strip():
            work.git("symbolic-ref", "HEAD", "refs/heads/main")
        return work


@dataclass(frozen=True)
class TestBed:
    directory: Path
    clusters: dict[str, Cluster]
    git: GitRemote | None

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def admin_client(self, cluster: str, *, timeout: float = 30.0) -> httpx.Client:
        """A synchronous admin HTTP client for ``cluster`` (set-up and assertions in tests)."""
        pki = self.directory / "pki"
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return httpx.Client(base_url=self.clusters[cluster].server, verify=context, timeout=timeout)

    @classmethod
    def open(cls, directory: Path) -> TestBed:
        directory = directory.resolve()
        state = testbed.State.load(directory)
        if state is None:
            raise errors.TestEnvError(f"no test bed in {directory}")
        clusters = {
            c.name: Cluster(c.name, c.server, Path(c.kubeconfig)) for c in state.clusters.values()
        }
        git = None
        if (directory / "git" / gitserver.INFO_FILE).exists():
            git = GitRemote(directory / "git", gitserver.GitServerInfo.load(directory / "git"))
        return cls(directory, clusters, git)
