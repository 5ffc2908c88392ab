"""Metric providers (I/O): ``prometheus``, ``web`` and ``job``.

A provider takes one measurement of a metric whose ``{{args.x}}`` are already filled in and
returns it as Argo Rollouts writes it (``phase``, ``startedAt``, ``finishedAt``, ``value``,
``message``, ``metadata``). Query providers finish at once; the job provider returns a
``Running`` measurement with ``resumeAt`` and is resumed until its Job ends. A failure to
measure (unreachable, timeout, bad answer, a condition that cannot be evaluated) is an
``Error`` measurement whose message says why, never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.analysis import names
from tidegate.analysis.providers import base, job, prometheus, web

Context = base.Context
Provider = base.Provider

_PROVIDERS: Mapping[str, base.Provider] = {
    "prometheus": prometheus.PrometheusProvider(),
    "web": web.WebProvider(),
    "job": job.JobProvider(),
}


def for_metric(metric: Mapping[str, Any]) -> base.Provider:
    """The provider of ``metric``; :class:`names.AnalysisSpecError` if it has none we run."""
    provider = metric.get("provider") or {}
    kinds = [k for k in provider if provider.get(k) is not None]
    if len(kinds) != 1 or kinds[0] not in _PROVIDERS:
        raise names.AnalysisSpecError(
            f"metric {metric.get('name')}: no supported provider (supported: "
            f"{', '.join(_PROVIDERS)})"
        )
    return _PROVIDERS[kinds[0]]
