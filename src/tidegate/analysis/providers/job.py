"""The ``job`` provider: a Kubernetes Job built from ``provider.job`` (metadata + JobSpec).

The Job is created in the run's namespace, owned by the AnalysisRun (deleted with it),
labelled ``analysisrun.argoproj.io/uid`` and annotated with the run and metric names; it is
named ``<run uid>.<metric>.<n>``, n counting the metric's finished measurements, so a restarted
controller finds the Job it created instead of starting another. The measurement stays
``Running`` (with ``metadata.job-name``) and is resumed every poll until the Job's ``Complete``
condition (Successful) or ``Failed`` condition (Failed, with the Job's reason and message).
Terminating the run deletes a Job still running.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from tidegate.analysis import assess, names, runs
from tidegate.analysis.providers import base
from tidegate.kube import client as kube_client
from tidegate.model import errors
from tidegate.model.keys import ResourceKey

LABEL_RUN_UID = "analysisrun.argoproj.io/uid"
ANNOTATION_RUN = "analysisrun.argoproj.io/name"
ANNOTATION_METRIC = "analysisrun.argoproj.io/metric-name"


def job_name(run: base.Obj, metric_name: str) -> str:
    meta = run.get("metadata") or {}
    result = assess.result_of(run, metric_name) or {}
    taken = int(result.get("count") or 0) + int(result.get("error") or 0)
    return f"{meta.get('uid')}.{metric_name}.{taken + 1}"


def build_job(run: base.Obj, metric: base.Obj, name: str) -> dict[str, Any]:
    """The Job of one measurement (pure)."""
    spec = (metric.get("provider") or {}).get("job") or {}
    meta = run.get("metadata") or {}
    job_meta = copy.deepcopy(dict(spec.get("metadata") or {}))
    job_meta["name"] = name
    job_meta["namespace"] = meta.get("namespace")
    job_meta.setdefault("labels", {})[LABEL_RUN_UID] = str(meta.get("uid"))
    job_meta.setdefault("annotations", {}).update(
        {ANNOTATION_RUN: str(meta.get("name")), ANNOTATION_METRIC: str(metric.get("name"))}
    )
    job_meta["ownerReferences"] = [
        runs.owner_reference({"apiVersion": names.API_VERSION, "kind": names.RUN_KIND, **run})
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": job_meta,
        "spec": copy.deepcopy(dict(spec.get("spec") or {})),
    }


def outcome(job: base.Obj) -> tuple[str, str]:
    """(phase, message) of a Job: Running until its Complete or Failed condition is True."""
    for cond in (job.get("status") or {}).get("conditions") or ():
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            return names.SUCCESSFUL, ""
        if cond.get("type") == "Failed":
            why = ": ".join(str(p) for p in (cond.get("reason"), cond.get("message")) if p)
            return names.FAILED, f"job failed ({why})" if why else "job failed"
    return names.RUNNING, ""


def _key(measurement: base.Obj) -> ResourceKey:
    meta = measurement.get("metadata") or {}
    return ResourceKey("batch", "Job", str(meta.get("job-namespace")), str(meta.get("job-name")))


class JobProvider:
    async def run(self, metric: base.Obj, ctx: base.Context) -> dict[str, Any]:
        measurement = base.started(ctx)
        name = job_name(ctx.run, str(metric.get("name")))
        job = build_job(ctx.run, metric, name)
        ns = str(job["metadata"]["namespace"])
        measurement["metadata"] = {"job-name": name, "job-namespace": ns}
        try:
            await ctx.client.create(job)
        except errors.KubeApiError as exc:
            if not kube_client.already_exists(exc):
                return base.error(measurement, f"job: {exc}", ctx)
        return self._waiting(measurement, ctx)

    def _waiting(self, measurement: base.Obj, ctx: base.Context) -> dict[str, Any]:
        later = ctx.now() + datetime.timedelta(seconds=max(1.0, ctx.poll_seconds))
        return {**measurement, "phase": names.RUNNING, "resumeAt": assess.stamp(later)}

    async def resume(
        self, metric: base.Obj, measurement: base.Obj, ctx: base.Context
    ) -> dict[str, Any]:
        key = _key(measurement)
        try:
            job = await ctx.client.get(key)
        except errors.KubeNotFoundError:
            return base.error(measurement, f"job: Job {key.namespace}/{key.name} not found", ctx)
        except errors.KubeError as exc:
            return base.error(measurement, f"job: {exc}", ctx)
        phase, message = outcome(job)
        if phase == names.RUNNING:
            return self._waiting(measurement, ctx)
        done: dict[str, Any] = {**measurement, "phase": phase}
        done.pop("resumeAt", None)
        if message:
            done["message"] = message
        done["finishedAt"] = assess.stamp(ctx.now())
        return done

    async def terminate(
        self, metric: base.Obj, measurement: base.Obj, ctx: base.Context
    ) -> dict[str, Any]:
        try:
            await ctx.client.delete(_key(measurement))
        except errors.KubeNotFoundError:
            pass
        except errors.KubeError as exc:
            return base.error(measurement, f"job: {exc}", ctx)
        done = {**measurement, "phase": names.SUCCESSFUL}
        done.pop("resumeAt", None)
        done["message"] = names.METRIC_TERMINATED_MESSAGE
        done["finishedAt"] = assess.stamp(ctx.now())
        return done
