"""Git webhooks, the HTTP endpoint: ``POST /api/webhook`` and ``GET /healthz``, embeddable.

:func:`create_app` builds the ASGI app (FastAPI). Each delivery's body is read as it streams in and
refused with 413 as soon as it passes the limit (or at once when Content-Length says so); it is then
parsed by :func:`tidegate.controller.webhook.parse` and handed to the controller's ``on_push``
callback, which answers with the number of Applications it refreshed. :func:`serve` runs uvicorn
inside the caller's event loop on a socket it binds itself (port 0 picks a free port) and returns a
:class:`Server` handle to stop it. Logs name the provider, repository, revision and count, never
the body or a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import fastapi
import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tidegate.controller import webhook
from tidegate.model import errors
from tidegate.sources import urls

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DISCARD_SECONDS = 2.0  # how long a refused body is drained before the connection is closed
WEBHOOK_PATH = "/api/webhook"

OnPush = Callable[[webhook.PushEvent], Awaitable[int]]
SecretsSource = webhook.WebhookSecrets | Callable[[], webhook.WebhookSecrets]


def create_app(
    *,
    on_push: OnPush,
    secrets: SecretsSource,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> fastapi.FastAPI:
    """The webhook ASGI app. ``secrets`` may be a callable, read per delivery (hot reload)."""
    app = fastapi.FastAPI(
        title="Tidegate webhooks", docs_url=None, redoc_url=None, openapi_url=None
    )

    def current_secrets() -> webhook.WebhookSecrets:
        return secrets if isinstance(secrets, webhook.WebhookSecrets) else secrets()

    @app.post(WEBHOOK_PATH)
    async def receive(request: Request) -> Response:
        stream = request.stream()
        try:
            body = await read_body(
                request.headers.get("content-length"), stream, limit=max_body_bytes
            )
            event = webhook.parse(request.headers, body, current_secrets())
        except errors.WebhookError as exc:
            log.warning(
                "webhook delivery refused (%d): %s", exc.status, exc, extra={"status": exc.status}
            )
            headers = None
            if isinstance(exc, errors.WebhookPayloadTooLargeError):
                # Drop (a bounded amount of) what is still coming so that the client reads the
                # 413 rather than a reset, then close the connection.
                await discard_rest(stream, max_bytes=max_body_bytes, max_seconds=DISCARD_SECONDS)
                headers = {"connection": "close"}
            return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=headers)
        if isinstance(event, webhook.Ping):
            log.info(
                "webhook ping from %s (delivery %s)",
                event.provider.value,
                _shown(event.delivery),
                extra={"provider": event.provider.value},
            )
            return JSONResponse({"refreshed": 0, "ping": True})
        fields = _log_fields(event)
        try:
            refreshed = await on_push(event)
        except errors.TidegateError as exc:
            log.error(
                "webhook %s push to %s %s: refresh failed: %s",
                fields["provider"],
                fields["repo"],
                fields["revision"],
                exc,
                extra=fields,
            )
            return JSONResponse({"error": f"refresh failed: {exc}"}, status_code=500)
        except Exception:
            log.exception(
                "webhook %s push to %s %s: refresh failed",
                fields["provider"],
                fields["repo"],
                fields["revision"],
                extra=fields,
            )
            return JSONResponse({"error": "refresh failed: internal error"}, status_code=500)
        log.info(
            "webhook %s push to %s %s (delivery %s): %d application(s) refreshed",
            fields["provider"],
            fields["repo"],
            fields["revision"],
            fields["delivery"],
            refreshed,
            extra={**fields, "refreshed": refreshed},
        )
        return JSONResponse({"refreshed": refreshed})

    @app.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok")

    return app


async def read_body(
    content_length: str | None, stream: AsyncIterator[bytes], *, limit: int
) -> bytes:
    """Read a request body, refusing it (413) as soon as it is known to exceed ``limit`` bytes."""
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise errors.WebhookPayloadError(
                f"invalid Content-Length header {_shown(content_length)}"
            ) from None
        if declared > limit:
            raise errors.WebhookPayloadTooLargeError(
                f"webhook body of {declared} bytes exceeds the limit of {limit} bytes"
            )
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise errors.WebhookPayloadTooLargeError(
                    f"webhook body exceeds the limit of {limit} bytes"
                )
            chunks.append(chunk)
    except ClientDisconnect:
        raise errors.WebhookPayloadError(
            f"client disconnected after {size} bytes, before the body was complete"
        ) from None
    return b"".join(chunks)


async def discard_rest(stream: AsyncIterator[bytes], *, max_bytes: int, max_seconds: float) -> None:
    """Read and drop the rest of a refused body, stopping after ``max_bytes`` or ``max_seconds``."""
    size = 0
    with contextlib.suppress(TimeoutError, ClientDisconnect):
        async with asyncio.timeout(max_seconds):
            async for chunk in stream:
                size += len(chunk)
                if size > max_bytes:
                    return


def _shown(value: str) -> str:
    """Payload-controlled text for a log line: bounded and escaped."""
    return repr(value[:100])


def _log_fields(event: webhook.PushEvent) -> dict[str, str]:
    repo = urls.repo_key(event.repo_urls[0]) if event.repo_urls else ""
    return {
        "provider": event.provider.value,
        "repo": _shown(repo),  # normalised: no user info, even if a payload carried some
        "revision": _shown(event.revision),
        "delivery": _shown(event.delivery),
    }


@dataclasses.dataclass
class Server:
    """A running embedded server; ``port`` is the bound port (useful when 0 was asked for)."""

    host: str
    port: int
    _server: uvicorn.Server
    _task: asyncio.Task[None]
    _shutdown_timeout: float

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (bounded), and wait for the server."""
        if self._task.done():
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._shutdown_timeout + 1.0)
        except TimeoutError:
            self._server.force_exit = True
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


def listen_socket(host: str, port: int, *, what: str) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0: a free port); ConfigError naming ``what``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise errors.ConfigError(
            f"{what} cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc


async def serve(
    app: fastapi.FastAPI,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    startup_timeout: float = 10.0,
    shutdown_timeout: float = 5.0,
    what: str = "webhook endpoint",
) -> Server:
    """Run ``app`` with uvicorn as a task of the running loop; return once it accepts requests.

    The socket is bound here, so a busy port raises :class:`ConfigError` instead of exiting the
    process, and signals stay with the host process (uvicorn's own handlers are not installed).
    """
    sock = listen_socket(host, port, what=what)
    bound_port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=int(max(1.0, shutdown_timeout)),
    )
    server = _EmbeddedServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{what}:{bound_port}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + startup_timeout
    while not server.started:
        if task.done() or loop.time() > deadline:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            sock.close()
            raise errors.TemporaryError(
                f"{what} on {host}:{bound_port} did not start within {startup_timeout:g}s"
            )
        await asyncio.sleep(0.01)
    log.info("%s listening on %s:%d", what, host, bound_port)
    return Server(host, bound_port, server, task, shutdown_timeout)


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the embedding process owns SIGINT/SIGTERM
