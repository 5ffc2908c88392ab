"""Health of Job and CronJob, as Argo CD judges them.

Job (gitops-engine): a ``Failed`` condition (of any status) makes it Degraded, ``Complete``
Healthy, ``Suspended`` True Suspended; without any of the three it is Progressing.

CronJob (Argo CD's shipped ``batch/CronJob`` check): Suspended when ``spec.suspend``; once
scheduled, Healthy when it has never succeeded yet (Argo CD cannot tell a first run from a
failing one) or while a job runs, Degraded when the last success is older than the last
schedule, else Healthy; never scheduled is Healthy; no status at all is Progressing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.health import fields
from tidegate.health import status as hs


def job(obj: Mapping[str, Any]) -> hs.HealthStatus:
    failed = complete = suspended = False
    message = fail_message = ""
    for cond in fields.items(obj, "status", "conditions"):
        kind = cond.get("type")
        if kind == "Failed":
            failed = complete = True
            fail_message = fields.text(cond, "message")
        elif kind == "Complete":
            complete = True
            message = fields.text(cond, "message")
        elif kind == "Suspended":
            complete = True
            message = fields.text(cond, "message")
            suspended = suspended or cond.get("status") == "True"
    if not complete:
        return hs.progressing(message)
    if failed:
        return hs.degraded(fail_message)
    if suspended:
        return hs.suspended(fail_message)
    return hs.healthy(message)


def cronjob(obj: Mapping[str, Any]) -> hs.HealthStatus:
    if fields.dig(obj, "spec", "suspend") is True:
        return hs.suspended("CronJob is Suspended")
    status = fields.dig(obj, "status")
    if not isinstance(status, Mapping):
        return hs.progressing("Waiting for CronJob")
    scheduled = fields.text(status, "lastScheduleTime")
    if not scheduled:
        return hs.healthy("CronJob has not been scheduled yet")
    succeeded = fields.text(status, "lastSuccessfulTime")
    if not succeeded:
        return hs.healthy("The Cronjob never completed succesfully. It may not be healthy")
    if fields.items(status, "active"):
        return hs.healthy("The job is running. Its last execution may not have been successful")
    # RFC 3339 times in UTC compare as text, as Argo CD's check compares them.
    if succeeded < scheduled:
        return hs.degraded("CronJob has not completed its last execution successfully")
    return hs.healthy("CronJob has completed its last execution successfully")
