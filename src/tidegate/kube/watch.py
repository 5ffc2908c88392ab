"""List-then-watch of one resource, forever: bookmarks, relist on 410 Gone, backoff on failure.

:func:`reflect` yields :class:`WatchEvent` items. ``RELISTED`` carries the complete current set
(the consumer replaces what it holds for that resource); ``ERROR`` reports a failed attempt
(the reflector then waits with exponential backoff and jitter and tries again).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, Literal

from tidegate.kube import client as kube_client
from tidegate.kube import discovery, status
from tidegate.model import errors

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "RELISTED", "ERROR"]


@dataclasses.dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    object: dict[str, Any] | None = None
    items: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    resource_version: str = ""
    reason: str = ""  # RELISTED: "initial" or "expired"; ERROR: the error message


@dataclasses.dataclass
class Backoff:
    """Exponential backoff with full jitter between ``initial`` and ``maximum`` seconds."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    _attempt: int = 0

    def next(self) -> float:
        base = min(self.maximum, self.initial * self.factor**self._attempt)
        self._attempt += 1
        return base * (1.0 - self.jitter * random.random())

    def reset(self) -> None:
        self._attempt = 0


def _version_of(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


async def reflect(
    client: kube_client.KubeClient,
    res: discovery.APIResource,
    *,
    namespace: str | None = None,
    label_selector: str | None = None,
    resource_version: str | None = None,
    timeout_seconds: int = 300,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncGenerator[WatchEvent, None]:
    """Yield the state of ``res`` then its changes, until the consumer stops iterating.

    With ``resource_version`` the first watch starts there (no initial list); if the server has
    compacted past it, the 410 answer triggers a relist like any later expiry.
    """
    backoff = backoff or Backoff()
    version = resource_version
    reason = "initial"
    while True:
        try:
            if version is None:
                listed = await client.list(res, namespace=namespace, label_selector=label_selector)
                version = listed.resource_version
                yield WatchEvent(
                    "RELISTED", items=listed.items, resource_version=version, reason=reason
                )
                backoff.reset()
            # Jitter the server-side timeout so that many watches do not reconnect together.
            timeout = int(timeout_seconds * (1.0 + 0.2 * random.random()))
            async for kind, obj in client.watch_events(
                res,
                resource_version=version,
                namespace=namespace,
                label_selector=label_selector,
                timeout_seconds=timeout,
            ):
                if kind == "ERROR":
                    if status.is_gone(obj):
                        version, reason = None, "expired"
                        break
                    raise errors.KubeApiError(
                        f"watch {res.group_kind} on cluster {client.name}: "
                        f"{obj.get('message') or obj}",
                        code=int(obj.get("code") or 0),
                        reason=str(obj.get("reason") or ""),
                    )
                version = _version_of(obj) or version
                if kind == "BOOKMARK":
                    yield WatchEvent("BOOKMARK", resource_version=version)
                elif kind in ("ADDED", "MODIFIED", "DELETED"):
                    yield WatchEvent(kind, object=obj, resource_version=version)  # type: ignore[arg-type]
                backoff.reset()
        except errors.KubeApiError as exc:
            if exc.code == 410:
                version, reason = None, "expired"
                continue
            yield WatchEvent("ERROR", reason=str(exc))
            await sleep(backoff.next())
        except errors.KubeError as exc:
            yield WatchEvent("ERROR", reason=str(exc))
            await sleep(backoff.next())
