"""Metric families that render the Prometheus text format fast (pure, no I/O).

prometheus-client builds a sample object per series on every scrape; with per-app counters for
10,000 apps that alone took seconds. These families keep each series' label text formatted
once, so a scrape is a join of ready strings (bench/metrics_bench.py). The output is checked
with prometheus-client's own parser in the tests.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return (
        "{" + ",".join(f'{n}="{escape(str(v))}"' for n, v in zip(names, values, strict=True)) + "}"
    )


def number(value: float) -> str:
    value = float(value)
    if value.is_integer():
        return f"{value:.1f}" if abs(value) < 1e15 else repr(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def header(name: str, doc: str, kind: str) -> str:
    doc = doc.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"


class _Value:
    __slots__ = ("_line", "_line_value", "text", "value")

    def __init__(self, text: str) -> None:
        self.text = text
        self.value = 0.0
        self._line = ""
        self._line_value: float | None = None

    def line(self) -> str:
        """The series' exposition line, formatted again only when the value changed."""
        if self._line_value != self.value:
            self._line = f"{self.text}{number(self.value)}\n"
            self._line_value = self.value
        return self._line

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = float(value)


class _Buckets:
    __slots__ = ("bounds", "counts", "sum", "texts")

    def __init__(
        self, names: Sequence[str], values: Sequence[str], bounds: Sequence[float]
    ) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        les = [*(number(b) for b in bounds), "+Inf"]
        self.texts = [label_text([*names, "le"], [*values, le]) for le in les]
        self.texts.append(label_text(names, values))

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    @contextlib.contextmanager
    def time(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)


class Family:
    """A counter, gauge or histogram with fixed label names."""

    def __init__(
        self,
        kind: str,
        name: str,
        doc: str,
        labelnames: Sequence[str],
        buckets: Sequence[float] = (),
    ) -> None:
        self.kind, self.name, self.doc = kind, name, doc
        self.labelnames = tuple(labelnames)
        self.buckets = tuple(sorted(float(b) for b in buckets if not math.isinf(b)))
        self._children: dict[tuple[str, ...], _Value | _Buckets] = {}
        self._lock = threading.Lock()

    def labels(self, *values: str) -> Any:
        """The series of these label values (``inc``/``set`` or ``observe``/``time``)."""
        key = tuple(str(v) for v in values)
        child = self._children.get(key)
        if child is None:
            if len(key) != len(self.labelnames):
                raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {key}")
            with self._lock:
                child = self._children.get(key)
                if child is None:
                    if self.kind == "histogram":
                        child = _Buckets(self.labelnames, key, self.buckets)
                    else:  # the line up to the value, formatted once
                        suffix = "_total" if self.kind == "counter" else ""
                        child = _Value(f"{self.name}{suffix}{label_text(self.labelnames, key)} ")
                    self._children[key] = child
        return child

    def render(self) -> Iterable[str]:
        children = list(self._children.values())
        if self.kind == "counter":
            yield header(f"{self.name}_total", self.doc, "counter")
            values = [c for c in children if isinstance(c, _Value)]
            yield "".join([c.line() for c in values])
        elif self.kind == "gauge":
            yield header(self.name, self.doc, "gauge")
            values = [c for c in children if isinstance(c, _Value)]
            yield "".join([c.line() for c in values])
        else:
            yield header(self.name, self.doc, "histogram")
            lines = []
            for child in children:
                assert isinstance(child, _Buckets)
                total = 0
                for count, text in zip(child.counts, child.texts, strict=False):
                    total += count
                    lines.append(f"{self.name}_bucket{text} {number(total)}\n")
                lines.append(f"{self.name}_sum{child.texts[-1]} {number(child.sum)}\n")
                lines.append(f"{self.name}_count{child.texts[-1]} {number(total)}\n")
            yield "".join(lines)


def gauge_lines(
    name: str, doc: str, labelnames: Sequence[str], rows: Iterable[tuple[Sequence[str], float]]
) -> str:
    """One gauge family from rows read at scrape time."""
    body = "".join(f"{name}{label_text(labelnames, values)} {number(v)}\n" for values, v in rows)
    return header(name, doc, "gauge") + body


_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def label_name(key: str) -> str:
    """``label_<key>`` with the characters Prometheus refuses replaced by ``_`` (the
    ``argocd_*_labels`` metrics' label names)."""
    return "label_" + _LABEL_CHARS.sub("_", key)
