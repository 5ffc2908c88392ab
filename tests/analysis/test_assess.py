"""The pure measurement/phase logic: counters, limits, terminate, dry-run, scheduling."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tidegate.analysis import assess, names

T0 = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=datetime.UTC)


def at(seconds: float) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def run_of(*metrics: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "r", "namespace": "n"},
        "spec": {"metrics": list(metrics), **spec},
    }


def measure(run: dict[str, Any], name: str, phase: str, when: float, **extra: Any) -> Any:
    m = {"phase": phase, "startedAt": assess.stamp(at(when)), **extra}
    run = assess.record(run, name, m, replaces_last=False, now=at(when))
    return assess.assess_run(run, now=at(when))


def metric_result(run: dict[str, Any], name: str) -> dict[str, Any]:
    result = assess.result_of(run, name)
    assert result is not None
    return result


def test_a_single_measurement_metric_succeeds_and_ends_the_run() -> None:
    run = assess.assess_run(run_of({"name": "m"}), now=at(0))
    assert run["status"]["phase"] == names.RUNNING
    assert [t.metric["name"] for t in assess.tasks(run, now=at(0))] == ["m"]
    run = measure(run, "m", names.SUCCESSFUL, 0, value="1")
    status = run["status"]
    assert status["phase"] == names.SUCCESSFUL
    assert status["runSummary"] == {
        "count": 1,
        "successful": 1,
        "failed": 0,
        "inconclusive": 0,
        "error": 0,
    }
    assert status["startedAt"] == "2026-01-01T12:00:00Z"
    assert status["completedAt"] == "2026-01-01T12:00:00Z"
    result = metric_result(run, "m")
    assert (result["count"], result["successful"], result["phase"]) == (1, 1, names.SUCCESSFUL)
    assert result["measurements"][0]["finishedAt"] == "2026-01-01T12:00:00Z"
    assert assess.next_time(run, now=at(1)) is None


def test_failures_beyond_failure_limit_fail_the_run_with_the_reason() -> None:
    run = assess.assess_run(
        run_of({"name": "m", "interval": "5s", "count": 5, "failureLimit": 1}), now=at(0)
    )
    run = measure(run, "m", names.FAILED, 0)
    assert run["status"]["phase"] == names.RUNNING  # 1 failure is within the limit
    assert assess.tasks(run, now=at(4)) == []
    assert assess.next_time(run, now=at(1)) == at(5)
    assert [t.metric["name"] for t in assess.tasks(run, now=at(5))] == ["m"]
    run = measure(run, "m", names.FAILED, 5)
    status = run["status"]
    assert status["phase"] == names.FAILED
    assert status["message"] == 'Metric "m" assessed Failed due to failed (2) > failureLimit (1)'
    assert metric_result(run, "m")["phase"] == names.FAILED
    assert metric_result(run, "m")["failed"] == 2


def test_failure_limit_minus_one_never_fails_on_failures() -> None:
    run = run_of({"name": "m", "interval": "1s", "count": 2, "failureLimit": -1})
    run = measure(run, "m", names.FAILED, 0)
    run = measure(run, "m", names.FAILED, 1)
    assert run["status"]["phase"] == names.SUCCESSFUL


def test_count_reached_with_failures_within_the_limit_is_successful() -> None:
    run = run_of({"name": "m", "interval": "1s", "count": 3, "failureLimit": 1})
    for i, phase in enumerate([names.SUCCESSFUL, names.FAILED, names.SUCCESSFUL]):
        run = measure(run, "m", phase, i)
    assert run["status"]["phase"] == names.SUCCESSFUL


def test_inconclusive_beyond_the_limit() -> None:
    run = run_of({"name": "m", "interval": "1s", "inconclusiveLimit": 1})
    run = measure(run, "m", names.INCONCLUSIVE, 0)
    assert run["status"]["phase"] == names.RUNNING
    run = measure(run, "m", names.INCONCLUSIVE, 1)
    assert run["status"]["phase"] == names.INCONCLUSIVE


def test_errors_do_not_count_and_retry_until_the_consecutive_limit() -> None:
    run = run_of({"name": "m", "consecutiveErrorLimit": 2})
    run = measure(run, "m", names.ERROR, 0, message="connection refused")
    result = metric_result(run, "m")
    assert (result.get("count", 0), result["error"], result["consecutiveError"]) == (0, 1, 1)
    assert run["status"]["phase"] == names.RUNNING
    # no interval: an error is retried after 10 s
    assert assess.next_time(run, now=at(1)) == at(10)
    assert assess.tasks(run, now=at(9)) == []
    run = measure(run, "m", names.ERROR, 10, message="connection refused")
    run = measure(run, "m", names.ERROR, 20, message="connection refused")
    status = run["status"]
    assert status["phase"] == names.ERROR
    assert status["message"] == (
        'Metric "m" assessed Error due to consecutiveErrors (3) > consecutiveErrorLimit (2)'
    )


def test_a_success_resets_consecutive_errors() -> None:
    run = run_of({"name": "m", "interval": "1s", "count": 3})
    run = measure(run, "m", names.ERROR, 0)
    run = measure(run, "m", names.SUCCESSFUL, 1)
    assert metric_result(run, "m")["consecutiveError"] == 0


def test_one_failed_metric_terminates_the_others() -> None:
    run = run_of({"name": "bad"}, {"name": "forever", "interval": "1s"})
    run = measure(run, "forever", names.SUCCESSFUL, 0)
    run = measure(run, "bad", names.FAILED, 0)
    assert run["status"]["phase"] == names.FAILED
    assert metric_result(run, "forever")["phase"] == names.SUCCESSFUL
    assert assess.tasks(run, now=at(5)) == []


def test_terminate_ends_an_endless_metric_successfully() -> None:
    run = run_of({"name": "m", "interval": "1s"})
    run = measure(run, "m", names.SUCCESSFUL, 0)
    assert run["status"]["phase"] == names.RUNNING
    run["spec"]["terminate"] = True
    assert assess.tasks(run, now=at(5)) == []
    run = assess.assess_run(run, now=at(5))
    assert run["status"]["phase"] == names.SUCCESSFUL
    assert run["status"]["message"] == "Run Terminated"


def test_a_dry_run_metric_is_recorded_but_does_not_decide() -> None:
    run = run_of({"name": "dry"}, {"name": "real"}, dryRun=[{"metricName": "dry"}])
    run = measure(run, "dry", names.FAILED, 0)
    assert run["status"]["phase"] == names.RUNNING
    assert metric_result(run, "dry")["dryRun"] is True
    assert [t.metric["name"] for t in assess.tasks(run, now=at(0))] == ["real"]
    run = measure(run, "real", names.SUCCESSFUL, 0)
    status = run["status"]
    assert status["phase"] == names.SUCCESSFUL
    assert status["dryRunSummary"]["failed"] == 1
    assert status["runSummary"]["count"] == 1


def test_initial_delay_postpones_the_first_measurement() -> None:
    run = assess.assess_run(run_of({"name": "m", "initialDelay": "30s"}), now=at(0))
    assert assess.tasks(run, now=at(29)) == []
    assert assess.next_time(run, now=at(1)) == at(30)
    assert len(assess.tasks(run, now=at(30))) == 1


def test_an_in_flight_measurement_is_resumed_at_resume_at() -> None:
    run = assess.assess_run(run_of({"name": "job"}), now=at(0))
    flight = {
        "phase": names.RUNNING,
        "startedAt": assess.stamp(at(0)),
        "resumeAt": assess.stamp(at(2)),
    }
    run = assess.record(run, "job", flight, replaces_last=False, now=at(0))
    run = assess.assess_run(run, now=at(0))
    assert metric_result(run, "job")["phase"] == names.RUNNING
    assert assess.tasks(run, now=at(1)) == []
    (task,) = assess.tasks(run, now=at(2))
    assert task.incomplete is not None
    done = {**task.incomplete, "phase": names.SUCCESSFUL}
    run = assess.record(run, "job", done, replaces_last=True, now=at(3))
    run = assess.assess_run(run, now=at(3))
    assert run["status"]["phase"] == names.SUCCESSFUL
    assert len(metric_result(run, "job")["measurements"]) == 1
    assert "resumeAt" not in metric_result(run, "job")["measurements"][0]


def test_measurement_retention_keeps_the_newest() -> None:
    run = run_of(
        {"name": "m", "interval": "1s"}, measurementRetention=[{"metricName": "m", "limit": 2}]
    )
    for i in range(4):
        run = measure(run, "m", names.SUCCESSFUL, i, value=str(i))
    values = [m["value"] for m in metric_result(run, "m")["measurements"]]
    assert values == ["2", "3"]
    assert metric_result(run, "m")["count"] == 4


def test_a_metric_without_count_or_interval_is_measured_once_and_default_retention_is_ten() -> None:
    assert assess.effective_count({"name": "m"}) == 1
    assert assess.effective_count({"name": "m", "interval": "1m"}) is None
    run = run_of({"name": "m", "interval": "1s"})
    for i in range(12):
        run = measure(run, "m", names.SUCCESSFUL, i)
    assert len(metric_result(run, "m")["measurements"]) == 10


@pytest.mark.parametrize(
    ("bad", "read", "message"),
    [
        ({"count": "many"}, assess.effective_count, "metric m: count: expected an integer"),
        ({"interval": "soon"}, assess.interval_seconds, "metric m: interval: invalid duration"),
        ({"failureLimit": True}, assess.failure_limit, "metric m: failureLimit: expected an"),
    ],
)
def test_unreadable_numbers_and_durations_are_spec_errors(
    bad: dict[str, Any], read: Any, message: str
) -> None:
    with pytest.raises(names.AnalysisSpecError, match=message):
        read({"name": "m", **bad})
