"""ignoreDifferences with their jq expressions evaluated bounded: batched, off the event loop.

The comparison itself is pure (:mod:`tidegate.diff.compare`); only the rules' jq expressions are
tenant code that may never end. :func:`compare_all` prepares every resource's sides, sends all jq
expressions of the comparison to the :class:`~tidegate.sandbox.jqpool.JqPool` in one call, then
finishes each diff with the paths found. Comparisons without jq expressions never touch the pool.

A jq expression that exceeds the timeout or memory limit fails the whole comparison with a
:class:`~tidegate.model.errors.LimitExceededError` naming the expression and the resource: the
app gets a ComparisonError condition and nothing is synced from a half-normalised comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.controller import argocdcm
from tidegate.diff import compare as diff_compare
from tidegate.diff import ignore as diff_ignore
from tidegate.diff import jqpaths
from tidegate.model import errors
from tidegate.model.keys import ResourceKey
from tidegate.sandbox import jqpool

Obj = Mapping[str, Any]


async def evaluate(
    pool: jqpool.JqPool, docs: Sequence[tuple[str, Obj | None, Sequence[str]]]
) -> list[dict[str, list[Any]]]:
    """For each ``(label, document, expressions)``: expression -> existing paths in it.

    One pool call for all of them. ``label`` names the document in errors (a resource and a side).
    """
    payload: list[Obj] = []
    jobs: list[tuple[int, str]] = []
    owners: list[tuple[int, str]] = []  # per job: (index in docs, label)
    for position, (label, doc, expressions) in enumerate(docs):
        if doc is None or not expressions:
            continue
        payload.append(doc)
        for expression in expressions:
            jobs.append((len(payload) - 1, expression))
            owners.append((position, label))
    out: list[dict[str, list[Any]]] = [{} for _ in docs]
    if not jobs:
        return out
    try:
        results = await pool.paths(payload, jobs)
    except jqpool.JqLimitError as exc:
        where = f" on {owners[exc.job][1]}" if 0 <= exc.job < len(owners) else ""
        expression = jobs[exc.job][1] if 0 <= exc.job < len(jobs) else "?"
        raise errors.LimitExceededError(
            f"ignoreDifferences: jq expression {expression!r}{where} {exc.reason}"
            f" (argocd-cm {argocdcm.JQ_TIMEOUT_KEY}); the comparison is incomplete,"
            " nothing is synced"
        ) from exc
    for (doc_index, expression), (position, label), found in zip(
        jobs, owners, results, strict=True
    ):
        if isinstance(found, str):
            raise errors.SpecError(f"{label}: {jqpaths.not_a_path_expression(expression, found)}")
        out[position][expression] = jqpaths.existing(payload[doc_index], found)
    return out


async def compare_all(
    items: Sequence[tuple[ResourceKey, Obj | None, Obj | None, Obj | None]],
    rules: Sequence[diff_ignore.IgnoreRule],
    *,
    pool: jqpool.JqPool,
) -> dict[ResourceKey, diff_compare.DiffResult]:
    """Diff each ``(key, desired, live, predicted)``; jq expressions evaluated in one batch."""
    prepared = [
        diff_compare.prepare(desired, live, predicted, ignore_rules=rules)
        for _, desired, live, predicted in items
    ]
    docs: list[tuple[str, Obj | None, Sequence[str]]] = []
    for sides in prepared:
        expressions = sides.jq_expressions()
        docs.append((f"{sides.key} (target)", sides.target, expressions))
        docs.append((f"{sides.key} (live)", sides.live, expressions))
    found = await evaluate(pool, docs)
    out: dict[ResourceKey, diff_compare.DiffResult] = {}
    for index, ((key, *_), sides) in enumerate(zip(items, prepared, strict=True)):
        if sides.jq_expressions():
            out[key] = diff_compare.finish(
                sides, jq_target=found[2 * index], jq_live=found[2 * index + 1]
            )
        else:
            out[key] = diff_compare.finish(sides)
    return out


async def respect_ignore_differences(
    pairs: Sequence[tuple[Obj, Obj | None]],
    rules: Sequence[diff_ignore.IgnoreRule],
    *,
    pool: jqpool.JqPool,
) -> list[Obj]:
    """:func:`tidegate.diff.ignore.respect_ignore_differences` for each ``(desired, live)``."""
    docs: list[tuple[str, Obj | None, Sequence[str]]] = []
    for desired, live in pairs:
        key = ResourceKey.of(desired)
        expressions = diff_ignore.jq_expressions(diff_ignore.matching(rules, key))
        docs.append((f"{key} (desired)", desired if live is not None else None, expressions))
        docs.append((f"{key} (live)", live, expressions))
    found = await evaluate(pool, docs)
    return [
        diff_ignore.respect_ignore_differences(
            desired, live, rules, jq_desired=found[2 * i], jq_live=found[2 * i + 1]
        )
        for i, (desired, live) in enumerate(pairs)
    ]
