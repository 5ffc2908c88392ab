"""Fault injection on a bed's processes: unknown parts, clusters and stopped processes are
errors naming them; and the fault suite's recorder judges flapping and lost operations from
the states it saw."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from tidegate.model import errors
from tidegate.testenv import bedstate, faultfleet, faults, faultwatch, procs


def _bed(tmp_path: Path, pid: int = 0) -> faults.BedFaults:
    state = bedstate.State(dir=str(tmp_path))
    state.clusters["dev"] = bedstate.ClusterState(
        name="dev", port=1, server="https://127.0.0.1:1", kubeconfig="k",
        pids={"kube-apiserver": pid},
    )  # fmt: skip
    state.save()
    return faults.BedFaults(tmp_path)


@pytest.mark.parametrize(
    ("part", "cluster", "message"),
    [
        ("kube-apiserver", "prod", "no cluster 'prod' (it has dev)"),
        ("kubelet", "dev", "unknown part 'kubelet' of a cluster"),
        ("apiserver", None, "unknown part 'apiserver'"),
        ("kube-apiserver", "dev", "cluster dev's kube-apiserver does not run"),
        ("git", None, "the git server does not run"),
    ],
)
def test_what_cannot_be_faulted_is_named(
    tmp_path: Path, part: str, cluster: str | None, message: str
) -> None:
    with pytest.raises(errors.TestEnvError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _bed(tmp_path).kill(part, cluster)


def test_no_bed_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(errors.TestEnvError, match="no test bed"):
        faults.BedFaults(tmp_path).hang("etcd")


def test_hang_resume_and_kill_a_process_of_the_bed(tmp_path: Path) -> None:
    # A stand-in process whose command line names the bed's directory (as every bed process's
    # does: the PID check looks for it).
    pid = procs.spawn(
        [sys.executable, "-c", "import sys, time; time.sleep(600)", str(tmp_path)],
        log=tmp_path / "proc.log",
    )
    bed = _bed(tmp_path, pid)
    # Until the child has exec'd, its command line is still the test runner's.
    _until(lambda: procs.alive(pid, str(tmp_path)))
    bed.hang("kube-apiserver", "dev")
    _until(lambda: _state(pid) == "T")
    bed.resume("kube-apiserver", "dev")
    _until(lambda: _state(pid) != "T")
    bed.hang("kube-apiserver", "dev")
    bed.kill("kube-apiserver", "dev")  # a stopped process dies too
    assert not procs.alive(pid)


def _until(check: Callable[[], bool]) -> None:
    """Signals and exec take effect asynchronously: poll for the effect, with a deadline."""
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, "no effect within 10 s"
        time.sleep(0.01)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]


# -- the recorder --------------------------------------------------------------------------


def _recorder(states: list[tuple[float, str, str, str, str, str]]) -> faultwatch.StatusRecorder:
    rec = faultwatch.StatusRecorder(cast(Any, None))
    rec.seen = [
        faultwatch.Seen(at=at, name=name, sync=sync, health=health, revision="r", phase=phase,
                        started_at=started)
        for at, name, sync, health, phase, started in states
    ]  # fmt: skip
    return rec


SYNCED = ("Synced", "Healthy")
UNKNOWN = ("Unknown", "Unknown")


def test_one_change_while_a_fault_lasts_is_not_a_flap_two_are() -> None:
    rec = _recorder([
        (1, "a", *SYNCED, "", ""), (5, "a", *UNKNOWN, "", ""), (6, "a", *UNKNOWN, "", ""),
        (1, "b", *SYNCED, "", ""), (5, "b", *UNKNOWN, "", ""), (7, "b", *SYNCED, "", ""),
        (12, "c", *SYNCED, "", ""), (13, "c", *UNKNOWN, "", ""), (14, "c", *SYNCED, "", ""),
    ])  # fmt: skip
    assert [f.split(":")[0] for f in rec.flapped(2, 10, ["a", "b", "c"])] == ["b"]
    assert [f.split(":")[0] for f in rec.changed(2, 10, ["a", "b", "c"])] == ["a", "b"]


def test_leaving_synced_for_a_new_revision_is_not_a_relapse_at_the_same_one_is() -> None:
    def seen(at: float, name: str, sync: str, revision: str) -> faultwatch.Seen:
        return faultwatch.Seen(at=at, name=name, sync=sync, health="Healthy",
                               revision=revision, phase="", started_at="")  # fmt: skip

    rec = _recorder([])
    rec.seen = [
        # a: a commit moves it out of Synced once, then it syncs the new revision
        seen(1, "a", "Synced", "r1"), seen(3, "a", "OutOfSync", "r2"), seen(4, "a", "Synced", "r2"),
        # b: out of Synced at the revision it was synced to (a controller restart's flap)
        seen(1, "b", "Synced", "r1"), seen(3, "b", "OutOfSync", "r1"), seen(4, "b", "Synced", "r1"),
        # c: Unknown with no revision while nothing was down
        seen(3, "c", "Synced", "r1"), seen(5, "c", "Unknown", ""),
        # d: out of sync before the window, synced during it
        seen(1, "d", "OutOfSync", "r2"), seen(3, "d", "Synced", "r2"),
    ]  # fmt: skip
    assert [f.split(":")[0] for f in rec.relapsed(2, 10, ["a", "b", "c", "d"])] == ["b", "c"]


def test_an_operation_seen_running_must_be_seen_ending_or_be_in_history() -> None:
    rec = _recorder([
        (1, "a", *SYNCED, "Running", "t1"), (2, "a", *SYNCED, "Succeeded", "t1"),
        (1, "b", *SYNCED, "Running", "t2"),
        (1, "c", *SYNCED, "Running", "t3"),
    ])  # fmt: skip
    assert rec.unfinished({("c", "t3")}) == ["b@t2"]
    assert rec.running() == ["b", "c"]


def test_generations_alternate_the_pruned_object_and_hooks_stay() -> None:
    app = faultfleet.FleetApp("f-00", "dev", "app-00", hooks=True)
    even, odd = faultfleet.Fleet.files(app, 2), faultfleet.Fleet.files(app, 3)
    assert "app-00/cm-extra.yaml" in even and "app-00/cm-extra.yaml" not in odd
    assert {"app-00/pre.yaml", "app-00/post.yaml"} <= set(odd)
    assert 'generation: "3"' in odd["app-00/cm-a.yaml"]
