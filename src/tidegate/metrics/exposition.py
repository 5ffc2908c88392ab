"""The text exposition of a set of collectors, and the ASGI app that serves ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import prometheus_client as prom
from prometheus_client import registry as prom_registry
from prometheus_client.metrics_core import Metric

from tidegate.metrics import registry

Collect = Callable[[], Iterable[Metric]]


class _Collectors(prom_registry.Collector):
    def __init__(self, collects: Sequence[Collect]) -> None:
        self._collects = collects

    def collect(self) -> Iterable[Metric]:
        for collect in self._collects:
            yield from collect()


def render(*collects: Collect, include_process: bool = True) -> bytes:
    """The text format of the process registry (Argo CD's and Tidegate's counters) and of
    the given collectors (state read at this moment)."""
    reg = prom.CollectorRegistry(auto_describe=False)
    everything: list[Collect] = [registry.REGISTRY.collect] if include_process else []
    reg.register(_Collectors([*everything, *collects]))
    return prom.generate_latest(reg)


def asgi_app(*collects: Collect) -> Any:
    """A minimal ASGI app: ``GET /metrics`` renders; anything else is 404."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope.get("path") != "/metrics":
            await _reply(send, 404, b"not found\n", b"text/plain")
            return
        await _reply(send, 200, render(*collects), prom.CONTENT_TYPE_LATEST.encode())

    return app


async def _reply(send: Any, code: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
