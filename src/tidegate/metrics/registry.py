"""The process-wide metric registry and the helpers features use to declare metrics.

A metric is declared once per process by name; declaring the same name again returns the same
object (so modules may declare at import time, and tests may start several controllers in one
process), while declaring it again with another type or other labels is a programming error.

    from tidegate.metrics import registry
    STEPS = registry.counter("tidegate_rollout_steps_total", "Rollout steps done.", ("result",))
    STEPS.labels("ok").inc()
    WAIT = registry.histogram("tidegate_promotion_seconds", "...", ("stage",), buckets=(1, 10))
    with WAIT.labels("prod").time(): ...
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from tidegate.metrics import text

_declared: dict[str, text.Family] = {}
_lock = threading.Lock()


def _declare(
    kind: str, name: str, doc: str, labels: Sequence[str], buckets: Sequence[float] = ()
) -> text.Family:
    with _lock:
        found = _declared.get(name)
        if found is not None:
            if found.kind != kind or found.labelnames != tuple(labels):
                raise ValueError(
                    f"metric {name} is already declared as {found.kind}{found.labelnames}"
                )
            return found
        family = text.Family(kind, name, doc, labels, buckets)
        _declared[name] = family
        return family


def counter(name: str, doc: str, labels: Sequence[str] = ()) -> text.Family:
    """A counter (exposed as ``<name>_total``; ``name`` may carry the suffix or not)."""
    return _declare("counter", name.removesuffix("_total"), doc, labels)


def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> text.Family:
    return _declare("gauge", name, doc, labels)


def histogram(
    name: str, doc: str, labels: Sequence[str] = (), *, buckets: Sequence[float]
) -> text.Family:
    return _declare("histogram", name, doc, labels, buckets)


def collect() -> Iterable[str]:
    """The text of every declared metric (the families with no series yet included)."""
    for family in list(_declared.values()):
        yield from family.render()
