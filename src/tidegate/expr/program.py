"""Compiling a syntax tree into nested Python closures, and running them.

Everything that can be checked before evaluation is checked by :func:`compile`: the syntax,
each called function (a built-in or one the caller passes), and each top-level name when the
caller lists the names its environment will hold. Evaluation raises :class:`ExprError` for
type errors and nil access, never a Python exception of another kind.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from tidegate.expr import builtins as bi
from tidegate.expr.errors import ExprError
from tidegate.expr.parser import PREDICATE_FUNCTIONS, Node, parse


@dataclass
class Scope:
    env: Mapping[str, Any]
    pointers: list[Any] = field(default_factory=list)


Code = Callable[[Scope], Any]


@dataclass(frozen=True)
class Program:
    """A compiled expression; :meth:`evaluate` may be called any number of times."""

    source: str
    _code: Code

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        try:
            return self._code(Scope(env))
        except ExprError as exc:
            if exc.source is None:
                raise ExprError(exc.cause, self.source, exc.pos) from None
            raise
        except RecursionError:
            raise ExprError("expression nested too deeply", self.source) from None


def compile(
    source: str,
    *,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    names: Collection[str] | None = None,
) -> Program:
    """Parse and check ``source``; raise :class:`ExprError` for anything outside the subset."""
    if not isinstance(source, str):
        raise ExprError(f"an expression must be a string, got {bi.type_name(source)}")
    try:
        tree = parse(source)
        code = _Compiler(source, dict(functions or {}), names).node(tree)
    except RecursionError:
        raise ExprError("expression nested too deeply", source) from None
    return Program(source, code)


class _Compiler:
    def __init__(
        self, source: str, functions: dict[str, Callable[..., Any]], names: Collection[str] | None
    ) -> None:
        self.source = source
        self.functions = functions
        self.names = names

    def fail(self, cause: str, node: Node) -> ExprError:
        return ExprError(cause, self.source, node.pos)

    def node(self, n: Node) -> Code:
        method: Callable[[Node], Code] = getattr(self, f"_{n.kind}")
        return method(n)

    def _lit(self, n: Node) -> Code:
        value = n.value
        return lambda s: value

    def _name(self, n: Node) -> Code:
        name = str(n.value)
        if self.names is not None and name not in self.names:
            known = ", ".join(sorted(self.names)) or "none"
            raise self.fail(f"unknown name {name!r} (known: {known})", n)

        def load(s: Scope) -> Any:
            if name not in s.env:
                raise ExprError(f"unknown name {name!r}", None, n.pos)
            return s.env[name]

        return load

    def _pointer(self, n: Node) -> Code:
        key = n.value
        if key is None:
            return lambda s: s.pointers[-1]
        return lambda s: _member(s.pointers[-1], key, optional=False, pos=n.pos)

    def _member(self, n: Node) -> Code:
        obj, key = (self.node(a) for a in n.args)
        optional = n.optional
        return lambda s: _member(obj(s), key(s), optional=optional, pos=n.pos)

    def _slice(self, n: Node) -> Code:
        obj, lo, hi = (self.node(a) for a in n.args)

        def cut(s: Scope) -> Any:
            value, a, b = obj(s), lo(s), hi(s)
            if not isinstance(value, (list, tuple, str)):
                raise ExprError(f"cannot slice {bi.type_name(value)}", None, n.pos)
            if not all(
                x is None or (isinstance(x, int) and not isinstance(x, bool)) for x in (a, b)
            ):
                raise ExprError("slice bounds must be integers", None, n.pos)
            return value[a:b]

        return cut

    def _call(self, n: Node) -> Code:
        callee, *arg_nodes = n.args
        name = str(n.value)
        args = [self.node(a) for a in arg_nodes]
        if callee.kind == "name":
            fn = self.functions.get(name)
            if fn is None and name in PREDICATE_FUNCTIONS and name in bi.PREDICATES:
                fn = bi.PREDICATES[name]
            if fn is None:
                fn = bi.FUNCTIONS.get(name)
            if fn is None:
                raise self.fail(f"unknown function {name!r}", callee)
            target = fn
            return lambda s: _invoke(target, name, [a(s) for a in args], n.pos)
        method = self.node(callee)
        return lambda s: _invoke(method(s), name, [a(s) for a in args], n.pos)

    def _closure(self, n: Node) -> Code:
        body = self.node(n.args[0])

        def make(s: Scope) -> Callable[[Any], Any]:
            def predicate(item: Any) -> Any:
                s.pointers.append(item)
                try:
                    return body(s)
                finally:
                    s.pointers.pop()

            return predicate

        return make

    def _unary(self, n: Node) -> Code:
        op, operand = n.value, self.node(n.args[0])
        if op in ("not", "!"):
            return lambda s: not bi.truth(operand(s), f"'{op}'")

        def sign(s: Scope) -> Any:
            value = operand(s)
            if not bi.is_number(value):
                raise ExprError(f"invalid operation: {op}{bi.type_name(value)}", None, n.pos)
            return -value if op == "-" else value

        return sign

    def _binary(self, n: Node) -> Code:
        op = str(n.value)
        left, right = (self.node(a) for a in n.args)
        if op in ("and", "&&"):
            return lambda s: bi.truth(left(s), f"'{op}'") and bi.truth(right(s), f"'{op}'")
        if op in ("or", "||"):
            return lambda s: bi.truth(left(s), f"'{op}'") or bi.truth(right(s), f"'{op}'")
        if op == "??":
            return lambda s: _coalesce(left, right, s)
        operation = _OPERATIONS[op]

        def run(s: Scope) -> Any:
            try:
                return operation(op, left(s), right(s))
            except ExprError as exc:
                raise ExprError(exc.cause, None, n.pos if exc.pos is None else exc.pos) from None

        return run

    def _cond(self, n: Node) -> Code:
        test, yes, no = (self.node(a) for a in n.args)
        return lambda s: yes(s) if bi.truth(test(s), "'?:'") else no(s)

    def _array(self, n: Node) -> Code:
        items = [self.node(a) for a in n.args]
        return lambda s: [i(s) for i in items]

    def _map(self, n: Node) -> Code:
        parts = [self.node(a) for a in n.args]
        pairs = list(zip(parts[::2], parts[1::2], strict=True))
        return lambda s: {k(s): v(s) for k, v in pairs}


def _coalesce(left: Code, right: Code, s: Scope) -> Any:
    value = left(s)
    return right(s) if value is None else value


_OPERATIONS: dict[str, Callable[[str, Any, Any], Any]] = {
    "==": lambda op, a, b: bi.equal(a, b),
    "!=": lambda op, a, b: not bi.equal(a, b),
    "<": bi.compare, "<=": bi.compare, ">": bi.compare, ">=": bi.compare,
    "in": bi.membership, "contains": bi.membership, "startsWith": bi.membership,
    "endsWith": bi.membership, "matches": bi.membership,
    "..": lambda op, a, b: bi.number_range(a, b),
    "+": bi.arithmetic, "-": bi.arithmetic, "*": bi.arithmetic, "/": bi.arithmetic,
    "%": bi.arithmetic, "**": bi.arithmetic, "^": bi.arithmetic,
}  # fmt: skip


def _member(obj: Any, key: Any, *, optional: bool, pos: int) -> Any:
    if obj is None:
        if optional:
            return None
        raise ExprError(f"cannot fetch {key!r} from nil", None, pos)
    if isinstance(obj, Mapping):
        return obj.get(key)
    if isinstance(obj, (list, tuple, str)):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ExprError(f"cannot index {bi.type_name(obj)} with {bi.type_name(key)}", None, pos)
        if not -len(obj) <= key < len(obj):
            raise ExprError(f"index {key} out of range (length {len(obj)})", None, pos)
        return obj[key]
    members: Collection[str] = getattr(type(obj), "__expr_members__", ())
    if isinstance(key, str) and key in members:
        return getattr(obj, key)
    raise ExprError(f"cannot fetch {key!r} from {bi.type_name(obj)}", None, pos)


def _invoke(fn: Any, name: str, args: list[Any], pos: int) -> Any:
    if not callable(fn):
        raise ExprError(f"{name} is not a function", None, pos)
    try:
        return fn(*args)
    except ExprError as exc:
        raise ExprError(exc.cause, None, pos if exc.pos is None else exc.pos) from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError) as exc:
        raise ExprError(f"{name}: {exc}", None, pos) from None
