"""Measurement bookkeeping, metric and run phases, and when to measure next (pure).

The rules are Argo Rollouts': a metric with no ``count`` and no ``interval`` is measured once;
with an ``interval`` only, until the run is terminated. A completed measurement adds to
``count`` and to its phase's counter (an ``Error`` adds to ``error`` and ``consecutiveError``
only, and is retried after the interval, or 10 s without one). A metric is ``Failed`` when
``failed > failureLimit`` (``-1`` disables that), ``Inconclusive`` when ``inconclusive >
inconclusiveLimit``, ``Error`` when ``consecutiveError > consecutiveErrorLimit`` (default 4), and
``Successful`` when its count is reached. The first non-dry-run metric that fails, errors or is
inconclusive makes the run terminate: no new measurements, in-flight ones are finished, and
the run takes the worst phase of its metrics. Dry-run metrics are measured and recorded but
never decide the run. ``spec.terminate`` ends a run ``Successful`` with "Run Terminated" unless
a metric already decided otherwise.

Times are RFC 3339 strings on the object and ``datetime`` here; every function takes ``now``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from tidegate.analysis import durations, names

Obj = Mapping[str, Any]


def stamp(when: datetime.datetime) -> str:
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object) -> datetime.datetime | None:
    if not text:
        return None
    value = str(text).replace("Z", "+00:00")
    try:
        return datetime.datetime.fromisoformat(value)
    except ValueError:
        return None


# -- reading a metric's spec ---------------------------------------------------------------


def _int(value: object, *, what: str) -> int:
    if isinstance(value, bool):
        raise names.AnalysisSpecError(f"{what}: expected an integer, got {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise names.AnalysisSpecError(f"{what}: expected an integer, got {value!r}") from None


def effective_count(metric: Obj) -> int | None:
    """How many measurements the metric needs (None: until terminated)."""
    count = metric.get("count")
    if count is not None and count != "":
        return _int(count, what=f"metric {metric.get('name')}: count")
    return None if metric.get("interval") else 1


def failure_limit(metric: Obj) -> int:
    value = metric.get("failureLimit")
    return 0 if value is None else _int(value, what=f"metric {metric.get('name')}: failureLimit")


def inconclusive_limit(metric: Obj) -> int:
    value = metric.get("inconclusiveLimit")
    what = f"metric {metric.get('name')}: inconclusiveLimit"
    return 0 if value is None else _int(value, what=what)


def consecutive_error_limit(metric: Obj) -> int:
    value = metric.get("consecutiveErrorLimit")
    if value is None:
        return names.DEFAULT_CONSECUTIVE_ERROR_LIMIT
    return _int(value, what=f"metric {metric.get('name')}: consecutiveErrorLimit")


def interval_seconds(metric: Obj) -> float | None:
    value = metric.get("interval")
    if not value:
        return None
    return durations.seconds(value, what=f"metric {metric.get('name')}: interval")


def initial_delay_seconds(metric: Obj) -> float:
    value = metric.get("initialDelay")
    if not value:
        return 0.0
    return durations.seconds(value, what=f"metric {metric.get('name')}: initialDelay")


def dry_run_names(run: Obj) -> set[str]:
    """Metrics of the run in dry-run mode (``metricName: "*"`` selects all)."""
    spec = run.get("spec") or {}
    wanted = {str(d.get("metricName") or "") for d in spec.get("dryRun") or ()}
    metrics = [str(m.get("name") or "") for m in spec.get("metrics") or ()]
    return set(metrics) if "*" in wanted else wanted & set(metrics)


def retention_limit(run: Obj, metric_name: str) -> int:
    limit = names.DEFAULT_MEASUREMENT_RETENTION
    for entry in (run.get("spec") or {}).get("measurementRetention") or ():
        if entry.get("metricName") in (metric_name, "*"):
            limit = _int(entry.get("limit"), what=f"measurementRetention {metric_name}")
            if entry.get("metricName") == metric_name:
                break
    return limit


# -- reading a run's status ----------------------------------------------------------------


def results(run: Obj) -> list[dict[str, Any]]:
    return list((run.get("status") or {}).get("metricResults") or [])


def result_of(run: Obj, metric_name: str) -> dict[str, Any] | None:
    for result in results(run):
        if result.get("name") == metric_name:
            return dict(result)
    return None


def last_measurement(result: Obj | None) -> dict[str, Any] | None:
    measurements = (result or {}).get("measurements") or []
    return dict(measurements[-1]) if measurements else None


def is_terminating(run: Obj) -> bool:
    """Asked to stop (``spec.terminate``), or a deciding metric already failed/errored."""
    if (run.get("spec") or {}).get("terminate"):
        return True
    dry = dry_run_names(run)
    for result in results(run):
        if result.get("name") in dry:
            continue
        if result.get("phase") in (names.FAILED, names.ERROR, names.INCONCLUSIVE):
            return True
    return False


# -- what to do now ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Task:
    """Take a new measurement of ``metric``, or resume ``incomplete`` (the in-flight one)."""

    metric: dict[str, Any]
    incomplete: dict[str, Any] | None = None


def _started(run: Obj) -> datetime.datetime | None:
    return parse_time((run.get("status") or {}).get("startedAt"))


def tasks(run: Obj, *, now: datetime.datetime) -> list[Task]:
    """The measurements due at ``now`` (new ones, and in-flight ones to resume)."""
    out: list[Task] = []
    terminating = is_terminating(run)
    for metric in (run.get("spec") or {}).get("metrics") or ():
        result = result_of(run, str(metric.get("name")))
        if result is not None and names.completed(result.get("phase")):
            continue
        last = last_measurement(result)
        if last is not None and not last.get("finishedAt"):
            resume_at = parse_time(last.get("resumeAt"))
            if resume_at is None or resume_at <= now:
                out.append(Task(dict(metric), last))
            continue
        if terminating:
            continue
        if last is None:
            delay = initial_delay_seconds(metric)
            started = _started(run)
            if delay and (started is None or started + datetime.timedelta(seconds=delay) > now):
                continue
            out.append(Task(dict(metric)))
            continue
        wanted = effective_count(metric)
        if wanted is not None and int((result or {}).get("count") or 0) >= wanted:
            continue
        interval = interval_seconds(metric) or names.DEFAULT_ERROR_RETRY_SECONDS
        finished = parse_time(last.get("finishedAt"))
        if finished is None or finished + datetime.timedelta(seconds=interval) <= now:
            out.append(Task(dict(metric)))
    return out


def next_time(run: Obj, *, now: datetime.datetime) -> datetime.datetime | None:
    """When the run must be looked at again (None: only when it changes)."""
    if names.completed((run.get("status") or {}).get("phase")):
        return None
    best: datetime.datetime | None = None

    def consider(when: datetime.datetime) -> None:
        nonlocal best
        if best is None or when < best:
            best = when

    for metric in (run.get("spec") or {}).get("metrics") or ():
        result = result_of(run, str(metric.get("name")))
        if result is not None and names.completed(result.get("phase")):
            continue
        last = last_measurement(result)
        if last is None:
            delay = initial_delay_seconds(metric)
            started = _started(run) or now
            consider(started + datetime.timedelta(seconds=delay))
            continue
        if not last.get("finishedAt"):
            consider(parse_time(last.get("resumeAt")) or now)
            continue
        wanted = effective_count(metric)
        if wanted is not None and int((result or {}).get("count") or 0) >= wanted:
            continue
        interval = interval_seconds(metric)
        if interval is None:
            if last.get("phase") != names.ERROR:
                continue
            interval = names.DEFAULT_ERROR_RETRY_SECONDS
        finished = parse_time(last.get("finishedAt")) or now
        consider(finished + datetime.timedelta(seconds=interval))
    return best


# -- recording a measurement ---------------------------------------------------------------


def record(
    run: Obj,
    metric_name: str,
    measurement: Obj,
    *,
    replaces_last: bool,
    now: datetime.datetime,
) -> dict[str, Any]:
    """A copy of ``run`` with ``measurement`` added to (or replacing the last of) the metric's
    results, and the counters moved when it completed."""
    new = copy.deepcopy(dict(run))
    status = new.setdefault("status", {})
    all_results: list[dict[str, Any]] = status.setdefault("metricResults", [])
    result = next((r for r in all_results if r.get("name") == metric_name), None)
    if result is None:
        result = {"name": metric_name, "phase": names.RUNNING}
        if metric_name in dry_run_names(run):
            result["dryRun"] = True
        all_results.append(result)
    m = dict(measurement)
    phase = m.get("phase")
    if names.completed(phase):
        m.setdefault("finishedAt", stamp(now))
        m.pop("resumeAt", None)
        if phase == names.ERROR:
            result["error"] = int(result.get("error") or 0) + 1
            result["consecutiveError"] = int(result.get("consecutiveError") or 0) + 1
        else:
            key = {names.SUCCESSFUL: "successful", names.FAILED: "failed"}.get(
                str(phase), "inconclusive"
            )
            result[key] = int(result.get(key) or 0) + 1
            result["count"] = int(result.get("count") or 0) + 1
            result["consecutiveError"] = 0
    measurements: list[dict[str, Any]] = result.setdefault("measurements", [])
    if replaces_last and measurements:
        measurements[-1] = m
    else:
        measurements.append(m)
    limit = retention_limit(run, metric_name)
    if len(measurements) > limit > 0:
        del measurements[: len(measurements) - limit]
    return new


# -- phases --------------------------------------------------------------------------------


def assess_metric(metric: Obj, result: Obj, *, terminating: bool) -> tuple[str, str]:
    """The phase of one metric and, when it ends badly, why."""
    phase = str(result.get("phase") or "")
    if names.completed(phase):  # decided earlier: keep it, with the reason it had
        reason = _limit_reason(metric, result)
        return phase, reason[1] if reason and reason[0] == phase else ""
    measurements = result.get("measurements") or []
    if not measurements:
        return (names.SUCCESSFUL, "") if terminating else (names.PENDING, "")
    if not names.completed(measurements[-1].get("phase")):
        return names.RUNNING, ""
    reason = _limit_reason(metric, result)
    if reason:
        return reason
    wanted = effective_count(metric)
    if wanted is not None and int(result.get("count") or 0) >= wanted:
        return names.SUCCESSFUL, ""
    if terminating:
        return names.SUCCESSFUL, ""
    return names.RUNNING, ""


def _limit_reason(metric: Obj, result: Obj) -> tuple[str, str] | None:
    """The limit the metric's counters passed, as (phase, message), if any."""
    name = metric.get("name")
    failed, limit = int(result.get("failed") or 0), failure_limit(metric)
    if limit >= 0 and failed > limit:
        why = f"failed ({failed}) > failureLimit ({limit})"
        return names.FAILED, f'Metric "{name}" assessed {names.FAILED} due to {why}'
    inconclusive, ilimit = int(result.get("inconclusive") or 0), inconclusive_limit(metric)
    if inconclusive > ilimit:
        why = f"inconclusive ({inconclusive}) > inconclusiveLimit ({ilimit})"
        return names.INCONCLUSIVE, f'Metric "{name}" assessed {names.INCONCLUSIVE} due to {why}'
    errors, elimit = int(result.get("consecutiveError") or 0), consecutive_error_limit(metric)
    if errors > elimit:
        why = f"consecutiveErrors ({errors}) > consecutiveErrorLimit ({elimit})"
        return names.ERROR, f'Metric "{name}" assessed {names.ERROR} due to {why}'
    return None


def _summary(phases: list[str]) -> dict[str, int]:
    return {
        "count": len(phases),
        "successful": phases.count(names.SUCCESSFUL),
        "failed": phases.count(names.FAILED),
        "inconclusive": phases.count(names.INCONCLUSIVE),
        "error": phases.count(names.ERROR),
    }


def assess_run(run: Obj, *, now: datetime.datetime) -> dict[str, Any]:
    """A copy of ``run`` with every metric's phase, the run's phase, message, summaries and
    start/completion times brought up to date."""
    new = copy.deepcopy(dict(run))
    status = new.setdefault("status", {})
    status.setdefault("metricResults", [])
    if not status.get("startedAt"):
        status["startedAt"] = stamp(now)
    if names.completed(status.get("phase")):
        return new
    was_terminating = is_terminating(new)
    _assess_once(new, terminating=was_terminating, now=now)
    if not was_terminating and is_terminating(new):
        # a metric just failed: the others stop now, not at the next look
        _assess_once(new, terminating=True, now=now)
    return new


def _assess_once(new: dict[str, Any], *, terminating: bool, now: datetime.datetime) -> None:
    status = new["status"]
    dry = dry_run_names(new)
    complete = True
    worst = ""
    worst_message = ""
    deciding: list[str] = []
    dry_phases: list[str] = []
    for metric in (new.get("spec") or {}).get("metrics") or ():
        name = str(metric.get("name"))
        result = next((r for r in status["metricResults"] if r.get("name") == name), None)
        if result is None:
            complete = complete and terminating
            (dry_phases if name in dry else deciding).append(
                names.SUCCESSFUL if terminating else names.PENDING
            )
            continue
        phase, message = assess_metric(metric, result, terminating=terminating)
        if phase != result.get("phase"):
            last = last_measurement(result)
            result["message"] = str((last or {}).get("message") or "") or message
            if not result["message"]:
                result.pop("message")
            result["phase"] = phase
        if name in dry:
            dry_phases.append(phase)
            continue
        deciding.append(phase)
        if not names.completed(phase):
            complete = False
        elif not worst or names.SEVERITY[phase] > names.SEVERITY[worst]:
            worst, worst_message = phase, message
    status["runSummary"] = _summary(deciding)
    if dry:
        status["dryRunSummary"] = _summary(dry_phases)
    if not complete or not worst:
        if not deciding and terminating:
            worst = names.SUCCESSFUL  # every metric is dry-run: the run ends when they do
        elif not deciding and dry and all(names.completed(p) for p in dry_phases):
            worst = names.SUCCESSFUL
        else:
            status["phase"] = names.RUNNING
            return
    status["phase"] = worst
    if worst == names.SUCCESSFUL and (new.get("spec") or {}).get("terminate"):
        worst_message = names.TERMINATED_MESSAGE
    if worst_message:
        status["message"] = worst_message
    status["completedAt"] = stamp(now)


def error_run(run: Obj, message: str, *, now: datetime.datetime) -> dict[str, Any]:
    """A copy of ``run`` ended in ``Error`` with ``message`` (a spec that cannot be used)."""
    new = copy.deepcopy(dict(run))
    status = new.setdefault("status", {})
    status.setdefault("startedAt", stamp(now))
    status.setdefault("metricResults", [])
    status["phase"] = names.ERROR
    status["message"] = message
    status["completedAt"] = stamp(now)
    return new
