"""The ``web`` provider: an HTTP request whose JSON answer (or a ``jsonPath`` of it) is the result.

``provider.web``: ``url``, ``method`` (GET by default; POST/PUT with ``body`` or ``jsonBody``),
``headers`` (``[{key, value}]``, values may be ``{{args.x}}`` from a Secret), ``timeoutSeconds``
(default 10), ``jsonPath`` (``{$.data.ok}``), ``insecure``. A non-2xx answer or a body that
is not JSON is an ``Error`` measurement.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tidegate.analysis.providers import base, jsonpath

DEFAULT_TIMEOUT = 10.0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class WebProvider(base.QueryProvider):
    async def run(self, metric: base.Obj, ctx: base.Context) -> dict[str, Any]:
        measurement = base.started(ctx)
        spec = (metric.get("provider") or {}).get("web") or {}
        url = str(spec.get("url") or "")
        if not url:
            return base.error(measurement, "web: url is required", ctx)
        method = str(spec.get("method") or "GET").upper()
        headers = {str(h.get("key")): str(h.get("value")) for h in spec.get("headers") or ()}
        content: bytes | None = None
        if spec.get("jsonBody") is not None:
            content = json.dumps(spec["jsonBody"]).encode()
            headers.setdefault("Content-Type", "application/json")
        elif spec.get("body"):
            content = str(spec["body"]).encode()
        try:
            timeout = float(spec.get("timeoutSeconds") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            bad = spec["timeoutSeconds"]
            return base.error(measurement, f"web: invalid timeoutSeconds {bad!r}", ctx)
        try:
            response = await ctx.http_for(spec.get("insecure")).request(
                method, url, headers=headers, content=content, timeout=timeout
            )
        except httpx.TimeoutException:
            return base.error(measurement, f"web: {method} timed out after {timeout:g}s", ctx)
        except httpx.HTTPError as exc:
            return base.error(measurement, f"web: {type(exc).__name__}: {exc}", ctx)
        if not 200 <= response.status_code < 300:
            return base.error(
                measurement, f"web: received non 2xx response code: {response.status_code}", ctx
            )
        try:
            doc = response.json()
        except ValueError:
            return base.error(measurement, "web: the response is not JSON", ctx)
        try:
            result = jsonpath.select(doc, str(spec["jsonPath"])) if spec.get("jsonPath") else doc
        except jsonpath.JSONPathError as exc:
            return base.error(measurement, f"web: {exc}", ctx)
        return base.judged(measurement, metric, result, _text(result), ctx)
