"""Health of Job and CronJob."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def job(obj: Mapping[str, Any]) -> hs.HealthStatus:
    failed = fields.condition(obj, "Failed")
    if failed is not None and failed.get("status") == "True":
        return hs.degraded(str(failed.get("message") or failed.get("reason") or "Job failed"))
    complete = fields.condition(obj, "Complete")
    if complete is not None and complete.get("status") == "True":
        return hs.healthy(str(complete.get("message") or "Job completed"))
    if fields.dig(obj, "spec", "suspend") is True or fields.condition_is(obj, "Suspended", "True"):
        return hs.suspended("Job is suspended")
    active = fields.integer(obj, "status", "active")
    return hs.progressing(f"Job is running ({active} active pods)" if active else "Job is running")


def _time(value: str) -> datetime.datetime | None:
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def cronjob(obj: Mapping[str, Any]) -> hs.HealthStatus:
    """Judged on its last scheduled job, from the CronJob's own status: a job scheduled after
    the last success either still runs (Progressing) or failed (Degraded)."""
    if fields.dig(obj, "spec", "suspend") is True:
        return hs.suspended("CronJob is suspended")
    scheduled = _time(fields.text(obj, "status", "lastScheduleTime"))
    if scheduled is None:
        return hs.healthy("CronJob has not been scheduled yet")
    succeeded = _time(fields.text(obj, "status", "lastSuccessfulTime"))
    if succeeded is not None and succeeded >= scheduled:
        return hs.healthy("The last scheduled job succeeded")
    if fields.items(obj, "status", "active"):
        return hs.progressing("The last scheduled job is running")
    return hs.degraded("The last scheduled job failed")
