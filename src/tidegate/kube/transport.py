"""How a client's ordinary requests (everything but watches and streams) reach the API server.

Two implementations of one small interface (:class:`Transport`), chosen by the kind of process
(:func:`tidegate.kube.client.client_for`, ``bulk``):

- :class:`LightTransport` (httpx2, already imported for watches): a command that sends a few
  requests and exits, where start-up time is what the user waits for;
- :class:`~tidegate.kube.bulk_transport.BulkTransport` (aiohttp): a controller or server that
  sends thousands, where the CPU per request is (0.26 ms against httpx2's 0.68 ms for a
  server-side apply; aiohttp costs ~80 ms of CPU to import).

Both answer every HTTP status as an :class:`Answer` and raise :class:`TransportError` when the
server cannot be reached or the connection breaks before a whole answer came.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol

import httpx2 as httpx

USER_AGENT = "tidegate"


class TransportError(Exception):
    """The server could not be reached, or the connection broke before a whole answer came;
    ``__cause__`` is the HTTP library's exception."""


@dataclasses.dataclass(frozen=True, slots=True)
class Outgoing:
    """One request: ``path`` below the server's URL; ``headers`` may be added to (auth)."""

    method: str
    path: str
    params: Mapping[str, str] | None
    body: bytes | None
    headers: dict[str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class Answer:
    status: int
    content: bytes


class Transport(Protocol):
    @property
    def is_closed(self) -> bool: ...

    async def send(self, out: Outgoing) -> Answer: ...

    async def aclose(self) -> None: ...


class LightTransport:
    """Pooled connections over an ``httpx.AsyncClient`` (its auth flow included)."""

    def __init__(self, http: httpx.AsyncClient, *, extensions: Mapping[str, str]) -> None:
        self._http = http
        self._extensions = dict(extensions)

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def send(self, out: Outgoing) -> Answer:
        req = self._http.build_request(
            out.method,
            out.path,
            params=out.params,
            content=out.body,
            headers=out.headers,
            extensions=self._extensions,
        )
        try:
            resp = await self._http.send(req)
        except httpx.HTTPError as exc:  # transport failures, and a body that will not decode
            raise TransportError(str(exc)) from exc
        return Answer(resp.status_code, resp.content)

    async def aclose(self) -> None:
        await self._http.aclose()
