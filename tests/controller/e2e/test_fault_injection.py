"""The fault-injection suite (issue 9, section 6): 50 automated apps (prune, self-heal, waves,
hooks) on two workload clusters while, in turn and then together, the controller is SIGKILLed
ten times at random points of syncs, a workload cluster's API server is killed and restarted,
another hangs (SIGSTOP), the management cluster's API server is restarted, the git server is
stopped, hung and resumed, and a webhook flood arrives.

After each fault: every app Synced and Healthy at its latest commit within ``BOUND`` seconds;
while it lasted, no status flapped (a watch records every state). After the last: no operation
lost or run twice (every operation seen ends; history, hook objects and syncs agree), no
duplicated history entry, no object wrongly pruned or changed (``faultfleet.violations``).

It kills API servers, so it starts a test bed of its own (never the shared one), torn down after.
The heavier repetition (convergence percentiles, latency under a hang, memory) is
``bench/faults_bench.py``.
"""

from __future__ import annotations

import os
import random
import secrets
import time
from collections.abc import Iterator

import pytest

from tidegate.testenv import faultfleet, faults, faultwatch, handle, scenario, testbed

SIZE = 50
CLUSTERS = ("dev", "staging")
KILLS = 10
BOUND = 240.0  # seconds from the end of a fault to every app Synced and Healthy at its commit
FAULT_SECONDS = 12.0  # how long each lasting fault is held (observed by the watch)
FLOOD = 200
SEED = int(os.environ.get("TIDEGATE_FAULT_SEED", "0")) or random.randrange(1, 1 << 30)


class Suite:
    def __init__(self, bed: handle.TestBed, ops: scenario.GitOps, fleet: faultfleet.Fleet) -> None:
        self.bed = bed
        self.ops = ops
        self.fleet = fleet
        self.faults = faults.BedFaults(bed.directory)
        self.restarts = 0

    def restart_controller(self) -> None:
        self.restarts += 1
        faultfleet.restart_controller(self.ops, incarnation=self.restarts)

    def names(self, cluster: str | None = None) -> list[str]:
        return [a.name for a in self.fleet.apps if cluster is None or a.cluster == cluster]

    def flood(self, count: int) -> None:
        codes = faultfleet.flood(self.fleet, count)
        assert all(code < 500 for code in codes), sorted(set(codes))


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    directory = tmp_path_factory.mktemp("faultbed")
    testbed.up(directory, ("mgmt", *CLUSTERS))
    try:
        bed = handle.TestBed.open(directory)
        workdir = tmp_path_factory.mktemp("faults")
        ops = faultfleet.open_bed_ops(bed, f"tg-{secrets.token_hex(3)}", workdir)
        ops.controller.start().wait_log("controller ready", timeout=120)
        try:
            fleet = faultfleet.Fleet.create(ops, CLUSTERS, SIZE, prefix="f")
            fleet.wait_converged(within=BOUND * 2)
            fleet.add_bystanders()
            yield Suite(bed, ops, fleet)
        finally:
            ops.controller.stop()
    finally:
        testbed.down(directory)


def _converge(suite: Suite, what: str) -> None:
    try:
        suite.fleet.wait_converged(within=BOUND)
    except AssertionError as exc:
        raise AssertionError(f"after {what} (seed {SEED}): {exc}") from None


def _held(seconds: float) -> None:
    """Hold a fault for ``seconds`` while the recorder watches (the fault's duration, not a
    synchronisation)."""
    time.sleep(seconds)


@pytest.mark.timeout(1800)  # ~6 min on a quiet machine; 10+ when other suites share 2 cores
def test_the_engine_under_faults(suite: Suite) -> None:
    rng = random.Random(SEED)
    fleet, faults_ = suite.fleet, suite.faults
    dev, staging = suite.names("dev"), suite.names("staging")
    with faultwatch.StatusRecorder(suite.ops) as recorder:
        # 1. The controller SIGKILLed ten times at random points of syncs (a new commit when
        #    none runs, so kills land in fresh syncs and in resumed ones).
        start = recorder.mark()
        for _ in range(KILLS):
            if not recorder.running():  # every sync ended: give them new ones
                mark = recorder.mark()
                fleet.push()
                _wait_running(recorder, mark)
            time.sleep(rng.uniform(0.0, 2.0))  # the random point of the syncs
            suite.restart_controller()
        _converge(suite, f"{KILLS} controller SIGKILLs")
        _no_relapse(recorder, start, suite.names(), "the controller SIGKILLs")

        # 2. A workload cluster's API server killed and restarted; the other cluster's apps
        #    sync a new commit meanwhile (isolation).
        start = recorder.mark()
        faults_.kill("kube-apiserver", "staging")
        fleet.push(["dev"])
        _wait_apps(fleet, dev, within=BOUND, what="dev apps while staging's API server is dead")
        _held(FAULT_SECONDS)
        end = recorder.mark()
        faults_.restart()
        assert not recorder.flapped(start, end, staging), "staging apps flapped while down"
        _converge(suite, "staging's API server restarted")

        # 3. A workload API server that accepts connections and never answers (SIGSTOP):
        #    the other cluster's apps refresh and sync a new commit meanwhile.
        start = recorder.mark()
        faults_.hang("kube-apiserver", "staging")
        try:
            fleet.push(["dev"])
            _wait_apps(fleet, dev, within=BOUND, what="dev apps while staging's API server hangs")
            _held(FAULT_SECONDS)
            end = recorder.mark()
        finally:
            faults_.resume("kube-apiserver", "staging")
        assert not recorder.flapped(start, end, staging), "staging apps flapped while hung"
        _converge(suite, "staging's API server resumed")

        # 4. The management cluster's API server restarted.
        start = recorder.mark()
        faults_.kill("kube-apiserver", "mgmt")
        faults_.restart()
        _converge(suite, "mgmt's API server restarted")
        _no_relapse(recorder, start, suite.names(), "mgmt's API server restarting")

        # 5. The git server stopped, then hung, then resumed: statuses hold meanwhile.
        start = recorder.mark()
        faults_.kill("git")
        _held(FAULT_SECONDS)
        faults_.restart()
        faults_.hang("git")
        try:
            _held(FAULT_SECONDS)
            end = recorder.mark()
        finally:
            faults_.resume("git")
        assert not recorder.changed(start, end, suite.names()), "status changed: git down"
        fleet.push()
        _converge(suite, "the git server stopped, hung and resumed")

        # 6. A webhook flood announcing a new commit: each app syncs it exactly once.
        start = recorder.mark()
        fleet.push()
        suite.flood(FLOOD)
        _converge(suite, "a webhook flood")
        _no_relapse(recorder, start, suite.names(), "a webhook flood")

        # 7. Together: git hung, staging's API server dead, the controller SIGKILLed in the
        #    middle of syncs, and a webhook flood; then everything comes back.
        mark = start = recorder.mark()
        fleet.push()
        _wait_running(recorder, mark)
        faults_.hang("git")
        faults_.kill("kube-apiserver", "staging")
        try:
            suite.restart_controller()
            suite.flood(FLOOD)
            _held(FAULT_SECONDS)
        finally:
            faults_.resume("git")
            faults_.restart()
        _converge(suite, "the combined faults")
        _no_relapse(recorder, start, dev, "the combined faults (dev's apps)")

        lost = recorder.unfinished(faultfleet.history_starts(fleet))
    assert not lost, f"operations that never ended (seed {SEED}): {lost[:10]}"
    broken = faultfleet.violations(fleet)
    assert not broken, f"after the faults (seed {SEED}):\n" + "\n".join(
        broken[:20] + _explain(recorder, fleet, broken)
    )
    assert recorder.breaks >= 1, "the recorder never saw mgmt go away: was it restarted?"


def _explain(
    recorder: faultwatch.StatusRecorder, fleet: faultfleet.Fleet, broken: list[str]
) -> list[str]:
    """For each app named in ``broken``: every operation the recorder saw (phases and last
    message), its history's start times and the hook objects live, so a failure explains itself."""
    out = []
    names = sorted({line.split(":", 1)[0] for line in broken})
    starts = faultfleet.history_starts(fleet)
    for name in names[:5]:
        history = sorted(at for app, at in starts if app == name)
        out += [f"{name} operations:", *(f"  {op}" for op in recorder.operations(name))]
        out.append(f"  history starts: {history}")
        out.append(f"  hooks live: {faultfleet.hook_names(fleet, name)}")
    return out


def _no_relapse(
    recorder: faultwatch.StatusRecorder, start: float, names: list[str], what: str
) -> None:
    """No app left Synced while Git did not change, from ``start`` until now (the phase's
    commits move apps out of Synced once each, to their new revision)."""
    relapsed = recorder.relapsed(start, recorder.mark(), names)
    assert not relapsed, f"statuses flapped during {what} (seed {SEED}): {relapsed[:10]}"


def _wait_running(recorder: faultwatch.StatusRecorder, since: float) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        window = recorder.window(since)
        if any(s.phase == "Running" for states in window.values() for s in states[1:]):
            return
        time.sleep(0.1)
    raise AssertionError("no sync started after the commit")


def _wait_apps(fleet: faultfleet.Fleet, names: list[str], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    lagging: list[str] = []
    while time.monotonic() < deadline:
        lagging = [n for n in fleet.converged() if n in names]
        if not lagging:
            return
        time.sleep(0.5)
    raise AssertionError(f"{what}: {len(lagging)} not converged within {within}s: {lagging[:5]}")
