"""The test bed: a set of local control planes sharing one etcd, plus a git server.

State lives in one directory: ``state.json`` (ports and PIDs), ``pki/``, ``etcd/``,
``clusters/<name>/`` (logs), ``<name>.kubeconfig``, a merged ``kubeconfig`` and ``git/``
(the git server, with ``git.json`` holding its URLs and credentials). ``up`` is idempotent and
extends a running set; ``down`` stops API servers before etcd and removes the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from tidegate.model import errors
from tidegate.testenv import binaries, controlplane, gitrepos, kubeconfig, pki, procs

DEFAULT_CLUSTERS = ("mgmt", "dev", "staging", "prod")
NODES_PER_CLUSTER = 2
STATE_FILE = "state.json"
START_TIMEOUT = 120.0
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")

Progress = Callable[[str], None]


def default_dir() -> Path:
    return Path(platformdirs.user_state_dir("tidegate")) / "testenv"


@dataclass
class ClusterState:
    name: str
    port: int
    server: str
    kubeconfig: str
    pids: dict[str, int] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)


@dataclass
class State:
    dir: str
    etcd_port: int = 0
    etcd_pid: int = 0
    clusters: dict[str, ClusterState] = field(default_factory=dict)
    git_pid: int = 0

    @classmethod
    def load(cls, directory: Path) -> State | None:
        path = directory / STATE_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        clusters = {k: ClusterState(**v) for k, v in raw.pop("clusters", {}).items()}
        return cls(clusters=clusters, **raw)

    def save(self) -> None:
        path = Path(self.dir) / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        tmp.replace(path)

    def all_pids(self) -> list[int]:
        pids = [p for c in self.clusters.values() for p in c.pids.values()]
        return [*pids, self.etcd_pid, self.git_pid]

    def marker(self) -> str:
        """A string every process of this test bed has in its command line: the directory."""
        return self.dir


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    server: str
    kubeconfig: Path
    ready_nodes: int
    running: bool


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _healthy(state: State) -> bool:
    marker = state.marker()
    if not procs.alive(state.etcd_pid, marker):
        return False
    return all(procs.alive(pid, marker) for c in state.clusters.values() for pid in c.pids.values())


def up(
    directory: Path,
    names: Sequence[str] = DEFAULT_CLUSTERS,
    *,
    git: bool = True,
    progress: Progress | None = None,
    build_progress: binaries.Progress | None = None,
) -> State:
    """Start (or extend) the test bed in ``directory`` and return its state once all is ready."""
    directory = directory.resolve()
    say = progress or (lambda _msg: None)
    _check_names(names)
    with _locked(directory):
        state = State.load(directory)
        if state is not None and not _healthy(state):
            say(f"cleaning up a stale test bed in {directory} (some of its processes are gone)")
            _stop(state)
            _wipe(directory)
            state = None
        if state is None:
            state = State(dir=str(directory))
        paths = binaries.ensure(
            [
                "etcd",
                "kube-apiserver",
                "kube-controller-manager",
                "kube-scheduler",
                "kwok",
                "kwok-stages",
            ],
            progress=build_progress,
        )
        _ensure_pki(directory, names)
        _ensure_stages(directory, paths["kwok-stages"])
        deadline = time.monotonic() + START_TIMEOUT
        if not state.etcd_pid:
            say("starting etcd")
            _start_etcd(state, paths["etcd"])
            state.save()
        new = [n for n in names if n not in state.clusters]
        for name in new:
            say(f"starting cluster {name}")
            state.clusters[name] = _start_apiserver(state, name, paths["kube-apiserver"])
        state.save()
        for name in new:
            _start_workload_parts(state, state.clusters[name], paths, deadline)
            state.save()
        for name in new:
            say(f"waiting for cluster {name}")
            cluster = state.clusters[name]
            creds = _credentials(directory, cluster)
            with controlplane.admin_client(creds) as client:
                controlplane.wait_ready(
                    client,
                    name=name,
                    nodes=cluster.nodes,
                    log=controlplane.Paths(directory, name).log("kube-apiserver"),
                    deadline=deadline,
                    alive=lambda c=cluster: procs.alive(c.pids["kube-apiserver"]),
                )
        _write_merged_kubeconfig(state)
        if git and not (state.git_pid and procs.alive(state.git_pid, state.marker())):
            say("starting the git server")
            state.git_pid = _start_git(directory, deadline)
        state.save()
        return state


def _check_names(names: Sequence[str]) -> None:
    for name in names:
        if not name or not name.replace("-", "").isalnum() or name != name.lower():
            raise errors.ConfigError(
                f"cluster name {name!r} must be lower-case letters, digits and '-'"
            )


def _ensure_pki(directory: Path, names: Sequence[str]) -> None:
    pki_dir = directory / "pki"
    ca = pki.make_ca(pki_dir, "ca")
    if not (pki_dir / "sa.key").exists():
        pki.make_rsa_keypair(pki_dir, "sa")
    if not (pki_dir / "admin.crt").exists():
        pki.make_cert(
            ca,
            pki_dir,
            "admin",
            common_name="tidegate-admin",
            organisation="system:masters",
            client=True,
        )
    for name in names:
        if not (pki_dir / f"apiserver-{name}.crt").exists():
            pki.make_cert(
                ca,
                pki_dir,
                f"apiserver-{name}",
                common_name=f"kube-apiserver-{name}",
                sans=[
                    "127.0.0.1",
                    "localhost",
                    "10.96.0.1",
                    "kubernetes",
                    "kubernetes.default",
                    "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local",
                ],
                server=True,
            )


def _ensure_stages(directory: Path, kwok_stages: Path) -> None:
    stages = directory / "kwok-stages.yaml"
    if not stages.exists():
        import subprocess

        out = subprocess.run([str(kwok_stages)], check=True, capture_output=True, timeout=30)
        stages.write_bytes(out.stdout)


def _start_etcd(state: State, etcd: Path) -> None:
    directory = Path(state.dir)
    for _attempt in range(3):
        port, peer = procs.free_port(), procs.free_port()
        log = directory / "etcd.log"
        pid = procs.spawn(
            controlplane.etcd_command(etcd, data_dir=directory / "etcd", port=port, peer_port=peer),
            log=log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and procs.alive(pid) and not procs.port_in_use(port):
            time.sleep(0.05)
        if procs.alive(pid) and procs.port_in_use(port):
            state.etcd_port, state.etcd_pid = port, pid
            return
        procs.stop([pid], marker=None)
    raise errors.TestEnvError(
        f"etcd did not start; last log lines:\n{procs.tail(log)}\nfull log: {log}"
    )


def _start_apiserver(state: State, name: str, binary: Path) -> ClusterState:
    directory = Path(state.dir)
    paths = controlplane.Paths(directory, name)
    paths.dir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    pid = procs.spawn(
        controlplane.apiserver_command(
            binary, name=name, pki=directory / "pki", etcd_port=state.etcd_port, port=port
        ),
        log=paths.log("kube-apiserver"),
    )
    cluster = ClusterState(
        name=name,
        port=port,
        server=f"https://127.0.0.1:{port}",
        kubeconfig=str(paths.kubeconfig),
        pids={"kube-apiserver": pid},
        nodes=[f"{name}-node-{i}" for i in range(NODES_PER_CLUSTER)],
    )
    creds = _credentials(directory, cluster)
    kubeconfig.write(paths.kubeconfig, [creds])
    kubeconfig.write(paths.dir / "components.kubeconfig", [creds])
    return cluster


def _start_workload_parts(
    state: State, cluster: ClusterState, paths: dict[str, Path], deadline: float
) -> None:
    directory = Path(state.dir)
    cp = controlplane.Paths(directory, cluster.name)
    creds = _credentials(directory, cluster)
    # The controller manager and scheduler exit if the API server is not up yet: wait for it.
    with controlplane.admin_client(creds) as client:
        controlplane.poll(
            lambda: controlplane.readyz(client),
            what=f"cluster {cluster.name}: kube-apiserver /readyz",
            log=cp.log("kube-apiserver"),
            deadline=deadline,
            alive=lambda: procs.alive(cluster.pids["kube-apiserver"]),
        )
    pki_dir = directory / "pki"
    cluster.pids["kube-controller-manager"] = procs.spawn(
        controlplane.controller_manager_command(
            paths["kube-controller-manager"], paths=cp, pki=pki_dir
        ),
        log=cp.log("kube-controller-manager"),
    )
    cluster.pids["kube-scheduler"] = procs.spawn(
        controlplane.scheduler_command(paths["kube-scheduler"], paths=cp),
        log=cp.log("kube-scheduler"),
    )
    cluster.pids["kwok"] = procs.spawn(
        controlplane.kwok_command(
            paths["kwok"],
            paths=cp,
            stages=directory / "kwok-stages.yaml",
            server_port=procs.free_port(),
        ),
        log=cp.log("kwok"),
    )


def _credentials(directory: Path, cluster: ClusterState) -> kubeconfig.Credentials:
    pki_dir = directory / "pki"
    return kubeconfig.Credentials(
        name=cluster.name,
        server=cluster.server,
        ca_cert=pki_dir / "ca.crt",
        client_cert=pki_dir / "admin.crt",
        client_key=pki_dir / "admin.key",
    )


def _write_merged_kubeconfig(state: State) -> None:
    directory = Path(state.dir)
    entries = [_credentials(directory, c) for c in state.clusters.values()]
    kubeconfig.write(directory / "kubeconfig", entries)


def _start_git(directory: Path, deadline: float) -> int:
    from tidegate.testenv import gitserver

    info = gitserver.start_daemon(directory / "git", timeout=max(5.0, deadline - time.monotonic()))
    return info.pid


def repo_info(directory: Path, name: str) -> gitrepos.RepoInfo:
    """Repository ``name`` on the git server of the test bed in ``directory`` (may not exist)."""
    from tidegate.testenv import gitserver

    git_dir = directory.resolve() / "git"
    try:
        info = gitserver.GitServerInfo.load(git_dir)
    except OSError as exc:
        raise errors.TestEnvError(
            f"no git server runs in {directory} (start it with `tidegate testenv up`)"
        ) from exc
    return gitserver.repo_info(info, git_dir / "repos", name)


def create_repo(directory: Path, name: str, *, from_dir: Path | None = None) -> gitrepos.RepoInfo:
    """Create repository ``name`` on the running git server of the test bed in ``directory``."""
    repo = repo_info(directory, name)
    if repo.path.exists():
        raise errors.TestEnvError(f"repository {name!r} already exists at {repo.path}")
    gitrepos.create_bare(repo.path, from_dir=from_dir)
    return repo


def git_info(directory: Path) -> dict[str, Any] | None:
    path = directory / "git" / "git.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def status(directory: Path) -> list[ClusterStatus]:
    directory = directory.resolve()
    state = State.load(directory)
    if state is None:
        return []
    out = []
    for cluster in state.clusters.values():
        running = all(procs.alive(p, state.marker()) for p in cluster.pids.values())
        ready = 0
        if running:
            try:
                with controlplane.admin_client(_credentials(directory, cluster), timeout=2) as c:
                    ready = controlplane.nodes_ready(c)
            except Exception:
                ready = 0
        out.append(
            ClusterStatus(cluster.name, cluster.server, Path(cluster.kubeconfig), ready, running)
        )
    return out


def _stop(state: State) -> None:
    marker = state.marker()
    # Workload parts and API servers first, then the git server, etcd last.
    for component in ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver"):
        procs.stop(
            [c.pids[component] for c in state.clusters.values() if component in c.pids],
            marker=marker,
        )
    procs.stop([state.git_pid], marker=marker)
    procs.stop([state.etcd_pid], marker=marker)


def _wipe(directory: Path) -> None:
    for child in directory.iterdir():
        if child.name == ".lock":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def down(directory: Path) -> bool:
    """Stop everything the test bed in ``directory`` started and remove its state.

    Returns False when there was nothing to stop.
    """
    directory = directory.resolve()
    if not directory.exists():
        return False
    with _locked(directory):
        state = State.load(directory)
        if state is not None:
            _stop(state)
            leftovers = [p for p in state.all_pids() if p and procs.alive(p)]
            if leftovers:
                raise errors.TestEnvError(f"processes {leftovers} did not stop")
        _wipe(directory)
    shutil.rmtree(directory, ignore_errors=True)
    return state is not None
