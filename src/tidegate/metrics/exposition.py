"""The text exposition of the process registry and of scrape-time collectors, and the ASGI
app that serves ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tidegate.metrics import registry, text

# A collector returns text chunks of whole families (text.gauge_lines, Family.render).
Collect = Callable[[], Iterable[str]]


def render(*collects: Collect, include_process: bool = True) -> bytes:
    """The process registry (Argo CD's and Tidegate's counters) and the given collectors
    (state read at this moment), in the Prometheus text format."""
    chunks: list[str] = list(registry.collect()) if include_process else []
    for collect in collects:
        chunks.extend(collect())
    return "".join(chunks).encode()


def asgi_app(*collects: Collect) -> Any:
    """A minimal ASGI app: ``GET /metrics`` renders; anything else is 404."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope.get("path") != "/metrics":
            await _reply(send, 404, b"not found\n", b"text/plain")
            return
        await _reply(send, 200, render(*collects), text.CONTENT_TYPE.encode())

    return app


async def _reply(send: Any, code: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
