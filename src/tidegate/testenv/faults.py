"""Faults on one process of a running test bed, in place: kill it, hang it, resume it, restart it.

For fault-injection tests and benchmarks that run on a test bed of their own (never a shared
one: every other client of the bed sees the fault too). A part is named as ``state.json``
records it: ``etcd``, ``git`` (the git server and its sshd), or a cluster's process
(``kube-apiserver``, ``kube-controller-manager``, ``kube-scheduler``, ``kwok``) with the
cluster's name.

- :meth:`BedFaults.kill` sends SIGKILL and waits until the process is gone (a crash);
- :meth:`BedFaults.hang` sends SIGSTOP to the process group: connections stay open, the port
  accepts (the kernel's backlog) and nothing ever answers; :meth:`BedFaults.resume` sends
  SIGCONT;
- :meth:`BedFaults.restart` restarts every dead process of the bed in place (``testenv up``:
  same ports, data, certificates and credentials; ``bedstart``).

Every PID is checked against the bed's directory in its command line before it is signalled.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tidegate.model import errors
from tidegate.testenv import bedstate, procs

CLUSTER_PARTS = ("kube-apiserver", *bedstate.WORKLOAD_PARTS)
BED_PARTS = ("etcd", "git")
KILL_TIMEOUT = 30.0


class BedFaults:
    """Fault injection on the test bed in ``directory`` (its ``state.json`` is re-read at each
    call: a restart records new PIDs)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()

    def _state(self) -> bedstate.State:
        state = bedstate.State.load(self.directory)
        if state is None:
            raise errors.TestEnvError(f"no test bed in {self.directory}")
        return state

    def pids(self, part: str, cluster: str | None = None) -> list[int]:
        """The running PIDs of ``part`` (of ``cluster``); an error naming what is unknown or
        not running."""
        state = self._state()
        if cluster is not None:
            if cluster not in state.clusters:
                known = ", ".join(state.clusters)
                raise errors.TestEnvError(f"test bed has no cluster {cluster!r} (it has {known})")
            if part not in CLUSTER_PARTS:
                raise errors.TestEnvError(
                    f"unknown part {part!r} of a cluster (one of {', '.join(CLUSTER_PARTS)})"
                )
            found = [state.clusters[cluster].pids.get(part, 0)]
            what = f"cluster {cluster}'s {part}"
        elif part == "etcd":
            found, what = [state.etcd_pid], "etcd"
        elif part == "git":
            found, what = [state.git_pid, state.git_sshd_pid], "the git server"
        else:
            raise errors.TestEnvError(
                f"unknown part {part!r} (one of {', '.join(BED_PARTS)}, or a cluster's "
                f"{', '.join(CLUSTER_PARTS)} with its cluster name)"
            )
        running = [pid for pid in found if pid and procs.alive(pid, state.marker())]
        if not running:
            raise errors.TestEnvError(f"{what} does not run in the test bed {self.directory}")
        return running

    def kill(self, part: str, cluster: str | None = None) -> None:
        """SIGKILL ``part`` (a crash: no clean shutdown) and return once it is gone."""
        targets = self.pids(part, cluster)
        ports = self._ports(part, cluster)
        for pid in targets:
            procs.signal_group(pid, signal.SIGCONT)  # a stopped process dies at once either way
            procs.signal_group(pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_TIMEOUT
        # Gone, and its ports free again (for a restart in place on them).
        while any(procs.alive(pid) for pid in targets) or any(map(procs.port_in_use, ports)):
            if time.monotonic() > deadline:
                raise errors.TestEnvError(
                    f"{part} (PIDs {targets}, ports {ports}) not gone {KILL_TIMEOUT:g}s after "
                    "SIGKILL"
                )
            time.sleep(0.05)

    def _ports(self, part: str, cluster: str | None) -> list[int]:
        """The ports ``part`` listens on, as ``state.json`` records them."""
        state = self._state()
        if cluster is not None:
            return [state.clusters[cluster].port] if part == "kube-apiserver" else []
        if part == "etcd":
            return [state.etcd_port]
        return [p for p in (state.git_http_port, state.git_ssh_port) if p]

    def hang(self, part: str, cluster: str | None = None) -> None:
        """SIGSTOP ``part`` and its process group: it keeps its connections and port, and
        never answers until :meth:`resume`."""
        for pid in self.pids(part, cluster):
            procs.signal_group(pid, signal.SIGSTOP)

    def resume(self, part: str, cluster: str | None = None) -> None:
        """SIGCONT what :meth:`hang` stopped."""
        for pid in self.pids(part, cluster):
            procs.signal_group(pid, signal.SIGCONT)

    def restart(self) -> None:
        """Restart every dead process of the bed in place and return once all serve."""
        from tidegate.testenv import testbed

        state = self._state()
        testbed.up(self.directory, tuple(state.clusters), git=bool(state.git_http_port))
