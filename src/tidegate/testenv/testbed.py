"""The test bed: a set of local control planes sharing one etcd, plus a git server.

State lives in one directory: ``state.json`` (ports and PIDs), ``pki/``, ``etcd/``,
``clusters/<name>/`` (logs), ``<name>.kubeconfig``, a merged ``kubeconfig`` and ``git/``
(the git server, with ``git.json`` holding its URLs and credentials). ``up`` is idempotent: it
extends a running set, restarts a dead process in place (same ports, data, certificates and
credentials; see ``bedstart``), and stops what it started if it fails part-way; ``fresh=True``
starts over. ``down`` stops API servers before etcd and removes the directory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from tidegate.model import errors
from tidegate.testenv import (
    bedstart,
    bedstate,
    binaries,
    controlplane,
    gitrepos,
    kubeconfig,
    pki,
    prereqs,
    procs,
)

DEFAULT_CLUSTERS = ("mgmt", "dev", "staging", "prod")
NODES_PER_CLUSTER = bedstart.NODES_PER_CLUSTER
GIT_SERVER_TOOLS = ("git", "sshd", "ssh-keygen")
"""System commands the git server runs (``system-packages.yaml`` names their packages)."""

State = bedstate.State
ClusterState = bedstate.ClusterState
Progress = Callable[[str], None]


def default_dir() -> Path:
    return Path(platformdirs.user_state_dir("tidegate")) / "testenv"


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    server: str
    kubeconfig: Path
    ready_nodes: int
    running: bool


def up(
    directory: Path,
    names: Sequence[str] = DEFAULT_CLUSTERS,
    *,
    git: bool = True,
    registry: bool = False,
    fresh: bool = False,
    progress: Progress | None = None,
    build_progress: binaries.Progress | None = None,
) -> State:
    """Start (or extend, or repair) the test bed in ``directory`` and return its state once all
    is ready. Checks the system tools before the binaries (which may take minutes to build)."""
    directory = directory.resolve()
    say = progress or (lambda _msg: None)
    _check_names(names)
    if git:
        prereqs.check(GIT_SERVER_TOOLS)
    with bedstate.locked(directory):
        state = State.load(directory)
        if state is not None and fresh:
            say(f"--fresh: stopping the test bed in {directory} and deleting its state")
            _stop(state)
            _wipe(directory)
            state = None
        created = state is None
        if state is None:
            # What a failed start may have left: an etcd data directory of a bed never recorded.
            shutil.rmtree(directory / "etcd", ignore_errors=True)
            state = State(dir=str(directory))
        wanted = (*bedstart.BINARIES, "registry") if registry else bedstart.BINARIES
        paths = binaries.ensure(wanted, progress=build_progress)
        _ensure_pki(directory, [*state.clusters, *names])
        _ensure_stages(directory, paths["kwok-stages"])
        launch = bedstart.Launch(state, paths, say)
        try:
            launch.run(names, git=git, registry=registry)
            _write_merged_kubeconfig(state)
        except BaseException:
            if launch.started:
                say("starting failed: stopping what this run started")
            launch.undo(created=created)
            raise
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

        from tidegate.testenv import kwokstages

        out = subprocess.run([str(kwok_stages)], check=True, capture_output=True, timeout=30)
        stages.write_text(kwokstages.with_never_ready(out.stdout.decode()))


def _write_merged_kubeconfig(state: State) -> None:
    directory = Path(state.dir)
    entries = [bedstart.credentials(directory, c) for c in state.clusters.values()]
    kubeconfig.write(directory / "kubeconfig", entries)


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


def registry_info(directory: Path) -> dict[str, Any] | None:
    path = directory / "registry.json"
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
        running = all(
            procs.alive(cluster.pids.get(part, 0), state.marker())
            for part in ("kube-apiserver", *bedstate.WORKLOAD_PARTS)
        )
        ready = 0
        if running:
            try:
                with controlplane.admin_client(
                    bedstart.credentials(directory, cluster), timeout=2
                ) as c:
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
    procs.stop([state.git_pid, state.git_sshd_pid, state.registry_pid], marker=marker)
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
    with bedstate.locked(directory):
        state = State.load(directory)
        if state is not None:
            _stop(state)
            leftovers = [p for p in state.all_pids() if p and procs.alive(p)]
            if leftovers:
                raise errors.TestEnvError(f"processes {leftovers} did not stop")
        _wipe(directory)
    shutil.rmtree(directory, ignore_errors=True)
    return state is not None
