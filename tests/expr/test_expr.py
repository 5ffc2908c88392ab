"""The expr-lang subset: the documented examples of Argo's tools, operators, and refusals."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tidegate import expr


def run(source: str, env: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    return expr.compile(source, **kwargs).evaluate(env or {})


ANALYSIS = {"isNaN": math.isnan, "isInf": math.isinf}


@pytest.mark.parametrize(
    ("source", "result", "expected"),
    [
        ("result[0] >= 0.95", [0.97], True),
        ("result[0] >= 0.95", [0.5], False),
        ("len(result) > 0", [], False),
        ("isNaN(result) || result < 0.9", math.nan, True),
        ("result == 'ok' and len(result) == 2", "ok", True),
        ("asFloat(result) > 1", "1.5", True),
        ("all(result, {# >= 0.9})", [0.95, 0.99], True),
        ("any(result, {isInf(#)})", [1.0, math.inf], True),
    ],
)
def test_analysis_conditions(source: str, result: Any, expected: bool) -> None:
    functions = {**ANALYSIS, "asFloat": float}
    assert run(source, {"result": result}, functions=functions, names={"result"}) is expected


def test_notification_conditions_over_an_app() -> None:
    app = {"status": {"operationState": {"phase": "Failed"}, "health": {"status": "Degraded"}}}
    when = "app.status.operationState.phase in ['Error', 'Failed']"
    assert run(when, {"app": app}) is True
    assert run("app.status.health.status == 'Healthy'", {"app": app}) is False
    assert run("app.status.sync?.status ?? 'Unknown'", {"app": app}) == "Unknown"
    assert run("app.status?.operationState?.syncResult?.revision", {"app": app}) is None


@dataclass
class Clock:
    """A caller-provided namespace: only the listed members are reachable."""

    now: float
    secret: str = "hidden"
    __expr_members__ = ("Now",)

    def Now(self) -> float:
        return self.now


def test_members_of_objects_are_only_those_listed() -> None:
    assert run("time.Now() - 5 > 10", {"time": Clock(20.0)}) is True
    with pytest.raises(expr.ExprError, match="cannot fetch 'secret'"):
        run("time.secret", {"time": Clock(1.0)})
    with pytest.raises(expr.ExprError, match="cannot fetch '__class__'"):
        run("time.__class__", {"time": Clock(1.0)})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("2 ** 3 ** 2", 512.0),
        ("-2 ** 2", -4.0),
        ("1 == 1.0", True),
        ("true == 1", False),
        ("'a' + 'b'", "ab"),
        ("[1] + [2]", [1, 2]),
        ("1..4", [1, 2, 3, 4]),
        ("'prod-eu' startsWith 'prod'", True),
        ("'prod-eu' endsWith 'us'", False),
        ("'prod-eu' contains 'd-e'", True),
        ("'v1.2.3' matches '^v\\\\d+'", True),
        ("'x' not in ['a', 'b']", True),
        ("'k' in {k: 1}", True),
        ("not false and true", True),
        ("true || 1 / 0 > 0", True),
        ("false && nope", False),
        ("nil ?? 3", 3),
        ("1 > 2 ? 'a' : 2 > 1 ? 'b' : 'c'", "b"),
        ("[10, 20, 30][-1]", 30),
        ("[10, 20, 30][1:]", [20, 30]),
        ("'hello'[1:3]", "el"),
        ("{a: {b: 'deep'}}.a.b", "deep"),
        ("{a: 1}['missing']", None),
        ("0x1F + 1_000", 1031),
        ("1.5e2", 150.0),
        ('"tab\\there"', "tab\there"),
        ("`raw\\n`", "raw\\n"),
        ("len('héllo')", 5),
        ("upper(trim('  x  '))", "X"),
        ("split('a,b,c', ',')", ["a", "b", "c"]),
        ("join(['a', 1, true], '-')", "a-1-true"),
        ("string(2.0) + string(nil)", "2<nil>"),
        ("int('42') + int(2.9)", 44),
        ("keys({b: 1, a: 2})", ["a", "b"]),
        ("filter([1, 2, 3, 4], {# % 2 == 0})", [2, 4]),
        ("map([{n: 'a'}, {n: 'b'}], {.n})", ["a", "b"]),
        ("count([1, 2, 3], {# > 1})", 2),
        ("one([1, 2, 3], {# == 2})", True),
        ("none([1, 2], {# > 5})", True),
        ("find([1, 2, 3], {# > 1})", 2),
        ("sum([1, 2, 3])", 6),
        ("max([3, 9, 2])", 9),
        ("1 / 0", math.inf),
    ],
)
def test_operators_and_builtins(source: str, expected: Any) -> None:
    assert run(source) == expected


def test_zero_by_zero_is_nan() -> None:
    assert math.isnan(run("0 / 0"))


@pytest.mark.parametrize(
    ("source", "cause"),
    [
        ("", "empty expression"),
        ("result >=", "unexpected token, found end of expression at column 10"),
        ("3 +* 4", "found '*' at column 4"),
        ("'open", "unterminated string"),
        ("a @ b", "unexpected character '@'"),
        ("exec('rm')", "unknown function 'exec'"),
        ("result | upper", "found '|'"),
        ("missing > 1", "unknown name 'missing'"),
        ("(1 + 2", "expected ')'"),
        ("#", "unexpected token"),
        ("'\\q'", "unknown escape"),
    ],
)
def test_refused_when_compiled(source: str, cause: str) -> None:
    with pytest.raises(expr.ExprError, match=re.escape(cause)):
        expr.compile(source, names={"result", "a", "b"})


@pytest.mark.parametrize(
    ("source", "cause"),
    [
        ("1 < 'a'", "invalid operation: int < string"),
        ("not 3", "'not' needs a bool, got int"),
        ("3 && true", "'&&' needs a bool, got int"),
        ("a.b", "cannot fetch 'b' from nil"),
        ("[1][5]", "index 5 out of range"),
        ("7 % 0", "integer divide by zero"),
        ("1 in 'abc'", "invalid operation: int in string"),
        ("len(3)", "len of int"),
        ("int('x')", "invalid integer 'x'"),
        ("0..2000000", "more than 1000000 elements"),
        ("all([1], {#})", "the predicate of all needs a bool"),
        ("'a' matches '('", "bad regular expression"),
    ],
)
def test_errors_when_evaluated(source: str, cause: str) -> None:
    program = expr.compile(source)
    with pytest.raises(expr.ExprError, match=re.escape(cause)) as info:
        program.evaluate({"a": None})
    assert info.value.source == source


def test_a_function_that_raises_becomes_an_expression_error() -> None:
    def boom(x: Any) -> Any:
        raise ValueError("no good")

    with pytest.raises(expr.ExprError, match="boom: no good"):
        run("boom(1)", functions={"boom": boom})


def test_caller_functions_shadow_builtins_and_programs_are_reusable() -> None:
    program = expr.compile("len(x) + 1", functions={"len": lambda v: 100})
    assert [program.evaluate({"x": v}) for v in ("a", "bb")] == [101, 101]


def test_deep_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(expr.ExprError, match="nested too deeply"):
        expr.compile("(" * 5000 + "1" + ")" * 5000)
