"""The process-wide metric registry and the helpers features use to declare metrics.

A metric is declared once per process by name; declaring the same name again returns the same
object (so modules may declare at import time, and tests may start several controllers in one
process), while declaring it again with another type or other labels is a programming error.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, TypeVar

import prometheus_client as prom

REGISTRY = prom.CollectorRegistry(auto_describe=False)
_declared: dict[str, tuple[type[Any], tuple[str, ...], Any]] = {}
_lock = threading.Lock()

M = TypeVar("M", prom.Counter, prom.Gauge, prom.Histogram)


def _declare(kind: type[M], name: str, doc: str, labels: Sequence[str], **extra: Any) -> M:
    labels = tuple(labels)
    with _lock:
        found = _declared.get(name)
        if found is not None:
            found_kind, found_labels, metric = found
            if found_kind is not kind or found_labels != labels:
                raise ValueError(
                    f"metric {name} is already declared as {found_kind.__name__}{found_labels}"
                )
            return metric  # type: ignore[no-any-return]
        metric = kind(name, doc, labels, registry=REGISTRY, **extra)
        _declared[name] = (kind, labels, metric)
        return metric


def counter(name: str, doc: str, labels: Sequence[str] = ()) -> prom.Counter:
    """A counter (its exposed name gets ``_total`` if ``name`` has not)."""
    return _declare(prom.Counter, name.removesuffix("_total"), doc, labels)


def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> prom.Gauge:
    return _declare(prom.Gauge, name, doc, labels)


def histogram(
    name: str, doc: str, labels: Sequence[str] = (), *, buckets: Sequence[float]
) -> prom.Histogram:
    return _declare(prom.Histogram, name, doc, labels, buckets=tuple(buckets))
