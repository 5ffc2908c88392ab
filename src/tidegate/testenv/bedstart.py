"""Bringing a test bed's processes up: new ones on free ports, dead ones again in place.

A :class:`Launch` starts whatever of the test bed does not run: etcd, each cluster's
kube-apiserver, then its controller manager, scheduler and kwok, then the git server (HTTP and
sshd). A process that ran before and died is restarted on the ports recorded in ``state.json``,
with the same data directory, certificates and credentials, so clients and the objects stored in
etcd carry on. It records every process it starts, so that :meth:`Launch.undo` can stop them
again when a later step fails: a failed ``up`` leaves nothing of its own running.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path

from tidegate.model import errors
from tidegate.testenv import bedstate, controlplane, kubeconfig, podlogs, procs

BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwok-stages",
)
NODES_PER_CLUSTER = 2
START_TIMEOUT = 120.0
ETCD_START_TIMEOUT = 30.0

Say = Callable[[str], None]


def credentials(directory: Path, cluster: bedstate.ClusterState) -> kubeconfig.Credentials:
    pki_dir = directory / "pki"
    return kubeconfig.Credentials(
        name=cluster.name,
        server=cluster.server,
        ca_cert=pki_dir / "ca.crt",
        client_cert=pki_dir / "admin.crt",
        client_key=pki_dir / "admin.key",
    )


class Launch:
    """One run of ``up`` on ``state``: what it starts, and how to take that back."""

    def __init__(self, state: bedstate.State, binaries: dict[str, Path], say: Say) -> None:
        self.state = state
        self.directory = Path(state.dir)
        self.binaries = binaries
        self.say = say
        self.deadline = time.monotonic() + START_TIMEOUT
        self.started: list[int] = []
        self.new_clusters: list[str] = []

    def run(self, names: Sequence[str], *, git: bool, registry: bool = False) -> None:
        """Start what does not run, add the clusters of ``names`` the bed lacks, and return
        once every cluster touched is ready and the git server (if ``git``) and the OCI
        registry (if ``registry``, or if it ran before) serve."""
        state = self.state
        touched: list[str] = []
        if not self._alive(state.etcd_pid):
            self._start_etcd()
            touched += state.clusters  # their API servers reconnect to it: wait for them
        for cluster in state.clusters.values():
            if not self._alive(cluster.pids.get("kube-apiserver", 0)):
                self.say(
                    f"restarting cluster {cluster.name}'s kube-apiserver on port {cluster.port}"
                )
                self._start_apiserver(cluster, in_place=True)
                touched.append(cluster.name)
        for name in names:
            if name not in state.clusters:
                self.say(f"starting cluster {name}")
                self._start_apiserver(self._new_cluster(name), in_place=False)
                touched.append(name)
        if self.started:
            state.save()
        for cluster in state.clusters.values():
            self._stop_stale_kwok(cluster)
            dead = [p for p in bedstate.WORKLOAD_PARTS if not self._alive(cluster.pids.get(p, 0))]
            if dead:
                self._start_workload_parts(cluster, dead)
                touched.append(cluster.name)
                state.save()
        for cluster in state.clusters.values():
            if cluster.name in touched:
                self.say(f"waiting for cluster {cluster.name}")
                self._wait_ready(cluster)
        if git:
            self._ensure_git()
        if registry or state.registry_port:
            self._ensure_registry()
        if self.started:  # a bed that needed nothing keeps its file as it was
            state.save()

    def undo(self, *, created: bool) -> None:
        """Stop every process this run started (etcd last). A test bed this run created is
        forgotten (its logs stay for the error message to point at); one that existed keeps
        its record, minus the clusters this run added, with the stopped processes marked
        dead, so the next ``up`` restarts them in place."""
        marker = self.state.marker()
        etcd = self.state.etcd_pid if self.state.etcd_pid in self.started else 0
        procs.stop([p for p in self.started if p != etcd], marker=marker)
        procs.stop([etcd], marker=marker)
        if created:
            (self.directory / bedstate.STATE_FILE).unlink(missing_ok=True)
            return
        stopped = set(self.started)
        for name in self.new_clusters:
            self.state.clusters.pop(name, None)
        for cluster in self.state.clusters.values():
            cluster.pids = {k: v for k, v in cluster.pids.items() if v not in stopped}
        if self.state.etcd_pid in stopped:
            self.state.etcd_pid = 0
        if self.state.git_pid in stopped:
            self.state.git_pid = self.state.git_sshd_pid = 0
        if self.state.registry_pid in stopped:
            self.state.registry_pid = 0
        self.state.save()

    def _alive(self, pid: int) -> bool:
        return bool(pid) and procs.alive(pid, self.state.marker())

    def _stop_stale_kwok(self, cluster: bedstate.ClusterState) -> None:
        """Stop a kwok started before it served pod logs (its command line lacks
        ``--node-port``), so that it is started again, on its port, with today's flags."""
        pid = cluster.pids.get("kwok", 0)
        if not self._alive(pid) or procs.alive(pid, f"--node-port={cluster.kwok_port} "):
            return
        self.say(f"cluster {cluster.name}'s kwok predates pod logs: stopping it")
        procs.stop([pid], marker=self.state.marker())

    def _spawn(self, cmd: list[str], log: Path) -> int:
        pid = procs.spawn(cmd, log=log)
        self.started.append(pid)
        return pid

    def _require_free(self, port: int, what: str) -> None:
        if procs.port_in_use(port):
            raise errors.TestEnvError(
                f"cannot restart {what} in place: port {port} is held by another process; "
                "free it, or run `tidegate testenv up --fresh` for a new test bed on new ports "
                "(its objects, repositories and credentials are lost)"
            )

    def _start_etcd(self) -> None:
        state = self.state
        in_place = bool(state.etcd_port)
        if in_place:
            self.say(f"restarting etcd on port {state.etcd_port} (its data is kept)")
        else:
            self.say("starting etcd")
        log = self.directory / "etcd.log"
        for _attempt in range(1 if in_place else 3):
            port = state.etcd_port or procs.free_port()
            peer = state.etcd_peer_port or procs.free_port()
            if in_place:
                self._require_free(port, "etcd")
                self._require_free(peer, "etcd (peer port)")
            pid = self._spawn(
                controlplane.etcd_command(
                    self.binaries["etcd"],
                    data_dir=self.directory / "etcd",
                    port=port,
                    peer_port=peer,
                ),
                log,
            )
            deadline = time.monotonic() + ETCD_START_TIMEOUT
            while time.monotonic() < deadline and procs.alive(pid) and not procs.port_in_use(port):
                time.sleep(0.05)
            if procs.alive(pid) and procs.port_in_use(port):
                state.etcd_port, state.etcd_peer_port, state.etcd_pid = port, peer, pid
                return
            procs.stop([pid], marker=None)
        raise errors.TestEnvError(
            f"etcd did not start; last log lines:\n{procs.tail(log)}\nfull log: {log}"
        )

    def _new_cluster(self, name: str) -> bedstate.ClusterState:
        paths = controlplane.Paths(self.directory, name)
        paths.dir.mkdir(parents=True, exist_ok=True)
        port = procs.free_port()
        cluster = bedstate.ClusterState(
            name=name,
            port=port,
            server=f"https://127.0.0.1:{port}",
            kubeconfig=str(paths.kubeconfig),
            nodes=[f"{name}-node-{i}" for i in range(NODES_PER_CLUSTER)],
        )
        creds = credentials(self.directory, cluster)
        kubeconfig.write(paths.kubeconfig, [creds])
        kubeconfig.write(paths.dir / "components.kubeconfig", [creds])
        self.state.clusters[name] = cluster
        self.new_clusters.append(name)
        return cluster

    def _start_apiserver(self, cluster: bedstate.ClusterState, *, in_place: bool) -> None:
        if in_place:
            self._require_free(cluster.port, f"cluster {cluster.name}'s kube-apiserver")
        cluster.pids["kube-apiserver"] = self._spawn(
            controlplane.apiserver_command(
                self.binaries["kube-apiserver"],
                name=cluster.name,
                pki=self.directory / "pki",
                etcd_port=self.state.etcd_port,
                port=cluster.port,
            ),
            controlplane.Paths(self.directory, cluster.name).log("kube-apiserver"),
        )

    def _start_workload_parts(self, cluster: bedstate.ClusterState, parts: list[str]) -> None:
        cp = controlplane.Paths(self.directory, cluster.name)
        # The controller manager and scheduler exit if the API server is not up yet: wait for it.
        with controlplane.admin_client(credentials(self.directory, cluster)) as client:
            controlplane.poll(
                lambda: controlplane.readyz(client),
                what=f"cluster {cluster.name}: kube-apiserver /readyz",
                log=cp.log("kube-apiserver"),
                deadline=self.deadline,
                alive=lambda: procs.alive(cluster.pids["kube-apiserver"]),
            )
            if "kwok" in parts:  # kwok watches its logs resources from the start
                podlogs.install_crds(client)
        if cluster.name not in self.new_clusters:
            self.say(f"restarting cluster {cluster.name}'s {', '.join(parts)}")
        pki_dir = self.directory / "pki"
        for part in parts:
            if part == "kube-controller-manager":
                cmd = controlplane.controller_manager_command(
                    self.binaries[part], paths=cp, pki=pki_dir
                )
            elif part == "kube-scheduler":
                cmd = controlplane.scheduler_command(self.binaries[part], paths=cp)
            else:
                if not cluster.kwok_port or procs.port_in_use(cluster.kwok_port):
                    # the API server learns it from the nodes' status, which kwok keeps current
                    cluster.kwok_port = procs.free_port()
                cmd = controlplane.kwok_command(
                    self.binaries[part],
                    paths=cp,
                    stages=self.directory / "kwok-stages.yaml",
                    server_port=cluster.kwok_port,
                )
            cluster.pids[part] = self._spawn(cmd, cp.log(part))

    def _wait_ready(self, cluster: bedstate.ClusterState) -> None:
        with controlplane.admin_client(credentials(self.directory, cluster)) as client:
            controlplane.wait_ready(
                client,
                name=cluster.name,
                nodes=cluster.nodes,
                log=controlplane.Paths(self.directory, cluster.name).log("kube-apiserver"),
                deadline=self.deadline,
                alive=lambda: procs.alive(cluster.pids["kube-apiserver"]),
            )

    def _ensure_git(self) -> None:
        from tidegate.testenv import gitserver

        state = self.state
        git_dir = self.directory / "git"
        serving = self._alive(state.git_pid)
        if serving and (not state.git_sshd_pid or self._alive(state.git_sshd_pid)):
            return
        if not state.git_http_port:
            state.git_http_port, state.git_ssh_port = _ports_from_info(git_dir)
        if serving:
            self.say("restarting the git server on its ports (its sshd had stopped)")
            procs.stop([state.git_pid], marker=state.marker())
        elif state.git_http_port:
            self.say(f"restarting the git server on port {state.git_http_port}")
        else:
            self.say("starting the git server")
        if state.git_http_port:
            self._require_free(state.git_http_port, "the git server (HTTP)")
        info = gitserver.start_daemon(
            git_dir,
            timeout=max(5.0, self.deadline - time.monotonic()),
            http_port=state.git_http_port,
            ssh_port=state.git_ssh_port,
        )
        self.started.append(info.pid)
        state.git_pid, state.git_sshd_pid = info.pid, info.sshd_pid or 0
        state.git_http_port = urllib.parse.urlsplit(info.http_base).port or 0
        state.git_ssh_port = (
            (urllib.parse.urlsplit(info.ssh_base).port or 0) if info.ssh_base else 0
        )

    def _ensure_registry(self) -> None:
        """CNCF Distribution on loopback, htpasswd auth with the git server's credentials."""
        from tidegate.testenv import gitserver, registry

        state = self.state
        if self._alive(state.registry_pid):
            return
        if "registry" not in self.binaries:
            from tidegate.testenv import binaries

            self.binaries.update(binaries.ensure(["registry"]))
        if state.registry_port:
            self.say(f"restarting the OCI registry on port {state.registry_port}")
            self._require_free(state.registry_port, "the OCI registry")
        else:
            self.say("starting the OCI registry")
        port = state.registry_port or procs.free_port()
        git_dir = self.directory / "git"
        password = gitserver.password(git_dir)
        config = registry.write_config(
            self.directory, port=port, username=gitserver.USERNAME, password=password
        )
        log = self.directory / "registry" / "registry.log"
        pid = self._spawn([str(self.binaries["registry"]), "serve", str(config)], log)
        address = f"127.0.0.1:{port}"
        registry.wait_serving(address, pid, log=log)
        state.registry_pid, state.registry_port = pid, port
        registry.RegistryInfo(address, gitserver.USERNAME, password, pid).save(self.directory)


def _ports_from_info(git_dir: Path) -> tuple[int, int]:
    """The git server's ports from the ``git.json`` of a run that died (test beds made before
    the ports were recorded in ``state.json``), else (0, 0)."""
    try:
        info = json.loads((git_dir / "git.json").read_text())
        http = urllib.parse.urlsplit(info["http_base"]).port or 0
        ssh = (urllib.parse.urlsplit(info["ssh_base"]).port or 0) if info.get("ssh_base") else 0
    except (OSError, ValueError, KeyError, TypeError):
        return 0, 0
    return http, ssh
