"""``${{ }}`` expressions in promotion steps and vars (pure; evaluated with :mod:`tidegate.expr`).

A string that is one expression (``"${{ vars.tag }}"``) takes the expression's value, typed; a
string with expressions inside text has each replaced by its string form. Every expression is
compiled when the Stage or Promotion is read (:func:`check`), so one outside the subset is
refused before anything runs. Names: ``ctx``, ``vars``, ``outputs``, ``task`` and ``secrets``
(never printed); functions: Kargo's ``commitFrom``, ``imageFrom``, ``chartFrom``, ``quote``,
``unsafeQuote``, ``success``, ``failure``, ``always``, ``status``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidegate import expr
from tidegate.expr.builtins import to_string
from tidegate.promotion import freight as freight_mod

_EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
NAMES = frozenset({"ctx", "vars", "outputs", "task", "secrets"})
FUNCTION_NAMES = (
    "commitFrom", "imageFrom", "chartFrom", "quote", "unsafeQuote", "success", "failure",
    "always", "status",
)  # fmt: skip


def _placeholder(*args: Any) -> Any:
    return None


_CHECK_FUNCTIONS: dict[str, Callable[..., Any]] = {n: _placeholder for n in FUNCTION_NAMES}


def expressions_in(value: Any) -> list[str]:
    """Every ``${{ }}`` body inside ``value`` (strings, lists and maps, recursively)."""
    if isinstance(value, str):
        return [m.group(1) for m in _EXPR.finditer(value)]
    if isinstance(value, Mapping):
        return [e for v in value.values() for e in expressions_in(v)]
    if isinstance(value, (list, tuple)):
        return [e for v in value for e in expressions_in(v)]
    return []


def check(value: Any, where: str) -> None:
    """Compile every expression in ``value``; raise :class:`expr.ExprError` naming ``where``."""
    for body in expressions_in(value):
        try:
            expr.compile(body.strip(), functions=_CHECK_FUNCTIONS, names=NAMES)
        except expr.ExprError as exc:
            raise expr.ExprError(f"{where}: {exc}") from None


def freight_functions(freights: Sequence[Mapping[str, Any]]) -> dict[str, Callable[..., Any]]:
    """``commitFrom``/``imageFrom``/``chartFrom`` over the Freight being promoted."""

    def find(
        items: list[dict[str, Any]], match: Callable[[dict[str, Any]], bool], what: str
    ) -> Any:
        found = [i for i in items if match(i)]
        if not found:
            raise ValueError(f"no {what} in the Freight being promoted")
        return found[0]

    def commits() -> list[dict[str, Any]]:
        return [c for f in freights for c in freight_mod.commits_of(f)]

    def images() -> list[dict[str, Any]]:
        return [i for f in freights for i in freight_mod.images_of(f)]

    def charts() -> list[dict[str, Any]]:
        return [c for f in freights for c in freight_mod.charts_of(f)]

    def same_repo(a: object, b: object) -> bool:
        return freight_mod.normalize_git_url(str(a)) == freight_mod.normalize_git_url(str(b))

    return {
        "commitFrom": lambda url, *origin: find(
            commits(), lambda c: same_repo(c.get("repoURL"), url), f"commit from {url}"
        ),
        "imageFrom": lambda url, *origin: find(
            images(), lambda i: i.get("repoURL") == url, f"image {url}"
        ),
        "chartFrom": lambda url, name=None, *origin: find(
            charts(),
            lambda c: c.get("repoURL") == url and (name is None or c.get("name") == name),
            f"chart {url}{'/' + str(name) if name else ''}",
        ),
        "quote": lambda v: to_string(v),
        "unsafeQuote": lambda v: to_string(v),
    }


def render(value: Any, env: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]) -> Any:
    """``value`` with every expression evaluated (structure kept)."""
    if isinstance(value, str):
        whole = _EXPR.fullmatch(value.strip())
        if whole:
            return _evaluate(whole.group(1), env, functions)
        return _EXPR.sub(lambda m: _text(_evaluate(m.group(1), env, functions)), value)
    if isinstance(value, Mapping):
        return {k: render(v, env, functions) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render(v, env, functions) for v in value]
    return value


def _evaluate(
    body: str, env: Mapping[str, Any], functions: Mapping[str, Callable[..., Any]]
) -> Any:
    return expr.compile(body.strip(), functions=functions).evaluate(env)


def _text(value: Any) -> str:
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, separators=(",", ":"))
    return to_string(value)


def resolve_vars(
    declared: Sequence[Mapping[str, Any]],
    env: Mapping[str, Any],
    functions: Mapping[str, Callable[..., Any]],
) -> dict[str, Any]:
    """``vars`` in order: each may use the ones before it."""
    values: dict[str, Any] = dict(env.get("vars") or {})
    for entry in declared:
        name = str(entry.get("name") or "")
        values[name] = render(entry.get("value"), {**env, "vars": values}, functions)
    return values
