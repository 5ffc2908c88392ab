"""Write fences: a check that runs just before a mutating request leaves the process.

A controller replica that holds a shard through a Lease may act on that shard's clusters only
while its Lease is valid. The work of a shard (a refresh, a sync operation and every task they
start) runs inside :func:`scope`; :class:`~tidegate.kube.client.KubeClient` calls
:func:`check` right before it sends a POST, PUT, PATCH or DELETE, after its rate limit and
concurrency waits, so a replica that was paused (or could not renew) past its deadline sends
nothing more: the check raises :class:`~tidegate.model.errors.FenceError`. Reads are never
fenced. Tasks created inside a scope inherit it (asyncio copies the context).

Pure bookkeeping over a context variable; the checks themselves are supplied by the caller.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

Check = Callable[[str], None]
"""Called with a description of the request; raises FenceError to stop it."""

_CURRENT: contextvars.ContextVar[Check | None] = contextvars.ContextVar(
    "tidegate_write_fence", default=None
)
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@contextlib.contextmanager
def scope(fence: Check) -> Iterator[None]:
    """Run the block (and the tasks it creates) behind ``fence``."""
    token = _CURRENT.set(fence)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def set_for_task(fence: Check) -> None:
    """Put the current task (and the tasks it will create) behind ``fence`` for its whole life:
    for the first line of a task's coroutine, where a ``with`` block would not cover the tasks
    it leaves running."""
    _CURRENT.set(fence)


def check(method: str, what: str) -> None:
    """Raise FenceError when a mutating request may not be sent from here."""
    if method.upper() not in _MUTATING:
        return
    fence = _CURRENT.get()
    if fence is not None:
        fence(what)
