"""The ``prometheus`` provider: an instant query over Prometheus' HTTP API.

``provider.prometheus``: ``address`` (the server's base URL), ``query``, ``timeout`` (seconds,
default 30), ``headers`` (``[{key, value}]``), ``insecure`` (skip TLS verification). A vector
gives ``result`` as a list of floats and ``value`` as ``[v1,v2]``; a scalar gives a float.
"""

from __future__ import annotations

import decimal
import math
from typing import Any

import httpx

from tidegate.analysis.providers import base

DEFAULT_TIMEOUT = 30.0


def format_float(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` for the values a query returns."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = format(decimal.Decimal(repr(value)), "f")  # shortest digits, never an exponent
    return text[:-2] if text.endswith(".0") else text


def _sample(pair: Any) -> float:
    return float(pair[1])


def interpret(data: Any) -> tuple[Any, str]:
    """(result, value text) of a query's ``data``; ValueError for a type we do not read."""
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "vector":
        values = [_sample(s.get("value")) for s in result or ()]
        return values, "[" + ",".join(format_float(v) for v in values) + "]"
    if kind == "scalar":
        value = _sample(result)
        return value, format_float(value)
    raise ValueError(f"Prometheus returned a {kind!r} result; only vector and scalar are supported")


class PrometheusProvider(base.QueryProvider):
    async def run(self, metric: base.Obj, ctx: base.Context) -> dict[str, Any]:
        measurement = base.started(ctx)
        spec = (metric.get("provider") or {}).get("prometheus") or {}
        address = str(spec.get("address") or "").rstrip("/")
        query = str(spec.get("query") or "")
        if not address or not query:
            return base.error(measurement, "prometheus: address and query are required", ctx)
        try:
            timeout = float(spec.get("timeout") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            return base.error(measurement, f"prometheus: invalid timeout {spec['timeout']!r}", ctx)
        headers = {str(h.get("key")): str(h.get("value")) for h in spec.get("headers") or ()}
        try:
            response = await ctx.http_for(spec.get("insecure")).get(
                f"{address}/api/v1/query",
                params={"query": query},
                headers=headers,
                timeout=timeout,
            )
            doc = response.json()
        except httpx.TimeoutException:
            return base.error(measurement, f"prometheus: query timed out after {timeout:g}s", ctx)
        except (httpx.HTTPError, ValueError) as exc:
            return base.error(measurement, f"prometheus: {type(exc).__name__}: {exc}", ctx)
        if not isinstance(doc, dict) or doc.get("status") != "success":
            why = doc.get("error") if isinstance(doc, dict) else None
            return base.error(
                measurement,
                f"prometheus: query failed (HTTP {response.status_code}): {why or response.text}",
                ctx,
            )
        try:
            result, value = interpret(doc.get("data") or {})
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            return base.error(measurement, f"prometheus: {exc}", ctx)
        return base.judged(measurement, metric, result, value, ctx)
