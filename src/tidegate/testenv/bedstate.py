"""What a test bed's directory records about it: ``state.json`` (ports and PIDs), and the lock
that serialises ``up`` and ``down`` on one directory.

Every port is recorded, not only the ones clients use, so that a process that died can be
restarted in place, on the ports its peers and clients already know.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
WORKLOAD_PARTS = ("kube-controller-manager", "kube-scheduler", "kwok")
"""A cluster's processes that talk to its API server, started once it answers."""


@dataclass
class ClusterState:
    name: str
    port: int
    server: str
    kubeconfig: str
    pids: dict[str, int] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    kwok_port: int = 0


@dataclass
class State:
    dir: str
    etcd_port: int = 0
    etcd_pid: int = 0
    etcd_peer_port: int = 0
    clusters: dict[str, ClusterState] = field(default_factory=dict)
    git_pid: int = 0
    git_sshd_pid: int = 0
    git_http_port: int = 0
    git_ssh_port: int = 0
    registry_pid: int = 0
    registry_port: int = 0

    @classmethod
    def load(cls, directory: Path) -> State | None:
        path = directory / STATE_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        clusters = {
            k: ClusterState(**_known(ClusterState, v)) for k, v in raw.pop("clusters", {}).items()
        }
        return cls(clusters=clusters, **_known(cls, raw))

    def save(self) -> None:
        path = Path(self.dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    def all_pids(self) -> list[int]:
        pids = [p for c in self.clusters.values() for p in c.pids.values()]
        optional = [self.registry_pid] if self.registry_pid else []  # only with --registry
        return [*pids, self.etcd_pid, self.git_pid, self.git_sshd_pid, *optional]

    def marker(self) -> str:
        """A string every process of this test bed has in its command line: the directory."""
        return self.dir


def _known(kind: type[Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``kind`` in ``raw``: a state file written by another version still loads."""
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in raw.items() if k in names}


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
