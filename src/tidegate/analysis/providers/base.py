"""What every provider shares: the context it measures in and the measurement it returns."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import httpx

from tidegate import expr
from tidegate.analysis import assess, conditions, names
from tidegate.kube import client as kube_client

Obj = Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Context:
    """The run being measured, the cluster it lives in, and the clock."""

    run: Obj
    client: kube_client.KubeClient
    http: httpx.AsyncClient
    now: Callable[[], datetime.datetime]
    insecure_http: httpx.AsyncClient | None = None
    poll_seconds: float = 1.0

    def http_for(self, insecure: object) -> httpx.AsyncClient:
        """The client to use; ``insecure`` (skip TLS verification) when the metric asks."""
        if insecure and self.insecure_http is not None:
            return self.insecure_http
        return self.http


class Provider(Protocol):
    async def run(self, metric: Obj, ctx: Context) -> dict[str, Any]: ...

    async def resume(self, metric: Obj, measurement: Obj, ctx: Context) -> dict[str, Any]: ...

    async def terminate(self, metric: Obj, measurement: Obj, ctx: Context) -> dict[str, Any]: ...


def started(ctx: Context) -> dict[str, Any]:
    return {"phase": names.RUNNING, "startedAt": assess.stamp(ctx.now())}


def error(measurement: Obj, message: str, ctx: Context) -> dict[str, Any]:
    return {
        **measurement,
        "phase": names.ERROR,
        "message": message,
        "finishedAt": assess.stamp(ctx.now()),
    }


def judged(measurement: Obj, metric: Obj, result: Any, value: str, ctx: Context) -> dict[str, Any]:
    """``measurement`` finished with the conditions' verdict on ``result`` (``value`` is the
    text recorded in the status)."""
    done: dict[str, Any] = {**measurement, "value": value}
    try:
        done["phase"] = conditions.verdict(metric, result)
    except expr.ExprError as exc:
        done["phase"] = names.ERROR
        done["message"] = str(exc)
    done["finishedAt"] = assess.stamp(ctx.now())
    return done


class QueryProvider:
    """A provider that measures in one call (prometheus, web): resume and terminate have
    nothing in flight to finish."""

    async def run(self, metric: Obj, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    async def resume(self, metric: Obj, measurement: Obj, ctx: Context) -> dict[str, Any]:
        return await self.run(metric, ctx)

    async def terminate(self, metric: Obj, measurement: Obj, ctx: Context) -> dict[str, Any]:
        return {
            **measurement,
            "phase": names.SUCCESSFUL,
            "message": names.METRIC_TERMINATED_MESSAGE,
            "finishedAt": assess.stamp(ctx.now()),
        }
