"""Refuse an analysis spec that cannot run, before any measurement (pure).

Checked as Argo Rollouts checks them, plus what Tidegate adds: at least one metric, unique
names, exactly one provider and one Tidegate implements (prometheus, web, job), ``count``
needs an ``interval`` above 1 and is not below ``failureLimit``/``inconclusiveLimit``,
``consecutiveErrorLimit`` is not negative, durations parse, and every condition compiles in
the :mod:`tidegate.expr` subset. A field still holding ``{{args.x}}`` (a secret not read yet,
or a template checked without its run) is checked when it is measured instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate import expr
from tidegate.analysis import args, assess, conditions, names

PROVIDERS = ("prometheus", "web", "job")
# Fields Argo Rollouts reads that Tidegate does not implement: refused, never silently ignored.
UNSUPPORTED_SETTINGS = {
    "prometheus": ("rangeQuery", "authentication"),
    "web": ("authentication",),
}
UNSUPPORTED_METRIC_FIELDS = ("consecutiveSuccessLimit",)


def _templated(value: object) -> bool:
    return isinstance(value, str) and "{{" in value


def metric_problems(index: int, metric: Mapping[str, Any]) -> list[str]:
    name = metric.get("name")
    where = f"metrics[{index}] ({name})" if name else f"metrics[{index}]"
    if not name:
        return [f"{where}: a metric needs a name"]
    out: list[str] = []
    provider = metric.get("provider") or {}
    kinds = [k for k in provider if provider.get(k) is not None]
    if not kinds:
        out.append(f"{where}: one of the providers must be specified")
    elif len(kinds) > 1:
        out.append(f"{where}: multiple providers specified ({', '.join(sorted(kinds))})")
    elif kinds[0] not in PROVIDERS:
        out.append(
            f"{where}: provider {kinds[0]!r} is not supported (supported: {', '.join(PROVIDERS)})"
        )
    if kinds and kinds[0] in PROVIDERS:
        settings = provider.get(kinds[0]) or {}
        for field in UNSUPPORTED_SETTINGS.get(kinds[0], ()):
            if settings.get(field) is not None:
                out.append(f"{where}: {kinds[0]}.{field} is not supported")
    for field in UNSUPPORTED_METRIC_FIELDS:
        if metric.get(field) is not None:
            out.append(f"{where}: {field} is not supported")
    numbers: dict[str, int | None] = {}
    readers = {
        "count": assess.effective_count,
        "failureLimit": assess.failure_limit,
        "inconclusiveLimit": assess.inconclusive_limit,
        "consecutiveErrorLimit": assess.consecutive_error_limit,
        "interval": assess.interval_seconds,
        "initialDelay": assess.initial_delay_seconds,
    }
    for field, read in readers.items():
        if _templated(metric.get(field)):
            numbers[field] = None
            continue
        try:
            value = read(metric)
        except names.AnalysisSpecError as exc:
            out.append(f"{where}: {str(exc).split(': ', 1)[-1]}")
            numbers[field] = None
            continue
        numbers[field] = int(value) if isinstance(value, int) else None
    count = numbers.get("count")
    if metric.get("count") is not None and count is not None:
        if count < 1:
            out.append(f"{where}: count must be >= 1")
        if count > 1 and not metric.get("interval"):
            out.append(f"{where}: interval must be specified when count > 1")
        for limit in ("failureLimit", "inconclusiveLimit"):
            value = numbers.get(limit)
            if value is not None and value > count:
                out.append(f"{where}: count must be >= {limit}")
    cel = numbers.get("consecutiveErrorLimit")
    if cel is not None and cel < 0:
        out.append(f"{where}: consecutiveErrorLimit must be >= 0")
    for field in ("successCondition", "failureCondition"):
        source = metric.get(field)
        if not source or _templated(source):
            continue
        try:
            conditions.compile_condition(str(source))
        except expr.ExprError as exc:
            out.append(f"{where}: {field}: {exc}")
    return out


def problems(metrics: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every reason the metrics cannot run (empty: they can)."""
    if not metrics:
        return ["no metrics specified"]
    out: list[str] = []
    seen: set[str] = set()
    for index, metric in enumerate(metrics):
        name = str(metric.get("name") or "")
        if name and name in seen:
            out.append(f"two metrics have the same name {name!r}")
        seen.add(name)
        out.extend(metric_problems(index, metric))
    return out


def check_run(run: Mapping[str, Any]) -> None:
    """Raise :class:`names.AnalysisSpecError` (``analysis spec invalid: ...``) for a bad run."""
    spec = run.get("spec") or {}
    values = args.values(list(spec.get("args") or ()), {})
    metrics = []
    for metric in spec.get("metrics") or ():
        try:
            metrics.append(args.substitute(metric, values, metric=str(metric.get("name"))))
        except names.AnalysisSpecError:
            metrics.append(metric)  # an arg read later (a secret): checked when measured
    found = problems(metrics)
    if found:
        raise names.AnalysisSpecError("analysis spec invalid: " + "; ".join(found))


def check_template(template: Mapping[str, Any]) -> None:
    """Raise :class:`names.AnalysisSpecError` naming the template for a bad template."""
    spec = template.get("spec") or {}
    found = problems(list(spec.get("metrics") or ()))
    if spec.get("templates"):
        found.append("spec.templates (templates composed of templates) is not supported")
    if found:
        raise names.AnalysisSpecError(f"{names.describe(template)}: " + "; ".join(found))
