"""Execute a parsed Go template against JSON-like data (dicts, lists, scalars)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tidegate.appset.gotemplate import limits, parse, values
from tidegate.model import errors

Function = Callable[..., Any]


class MissingKey(enum.Enum):
    """``goTemplateOptions: ["missingkey=..."]``: what a lookup of an absent map key does."""

    DEFAULT = "default"  # prints "<no value>" (also "invalid"; "zero" prints the same for maps)
    ERROR = "error"


class _LoopSignal(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class ExecError(Exception):
    """Raised inside execution; the caller wraps it with the template's name."""


class _State:
    def __init__(
        self,
        root: Any,
        *,
        funcs: Mapping[str, Function],
        missingkey: MissingKey,
        accessors: frozenset[str] = frozenset(),
    ) -> None:
        self.funcs = funcs
        self.accessors = accessors
        self.missingkey = missingkey
        self.vars: list[tuple[str, Any]] = [("$", root)]
        self.out: list[str] = []
        self.budget = limits.Budget()

    def emit(self, text: str) -> None:
        self.budget.emit(len(text))
        self.out.append(text)

    # -- walking the tree -------------------------------------------------------------------

    def walk(self, dot: Any, nodes: Sequence[parse.Node]) -> None:
        for node in nodes:
            if isinstance(node, parse.Text):
                self.emit(node.text)
            elif isinstance(node, parse.Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    if isinstance(value, Mapping | list | tuple):
                        limits.measure(
                            "printing a value", value, limits.MAX_OUTPUT_BYTES, "MAX_OUTPUT_BYTES"
                        )
                    self.emit(values.to_text(value))
            elif isinstance(node, parse.Branch):
                self.branch(dot, node)
            else:
                raise _LoopSignal(node.kind)

    def scoped(self, dot: Any, nodes: Sequence[parse.Node]) -> None:
        mark = len(self.vars)
        try:
            self.walk(dot, nodes)
        finally:
            del self.vars[mark:]

    def branch(self, dot: Any, node: parse.Branch) -> None:
        mark = len(self.vars)
        try:
            value = self.pipeline(dot, node.pipe)
            if node.kind == "range":
                self.range(dot, node, value)
            elif values.truth(value):
                self.scoped(value if node.kind == "with" else dot, node.body)
            else:
                self.scoped(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: parse.Branch, value: Any) -> None:
        ran = False
        mark = len(self.vars)
        for key, item in self.iterate(value):
            self.budget.iterate()
            ran = True
            del self.vars[mark:]
            decl = node.pipe.decl
            if len(decl) == 1:
                self.vars.append((decl[0], item))
            elif len(decl) == 2:
                self.vars.extend([(decl[0], key), (decl[1], item)])
            try:
                self.scoped(item, node.body)
            except _LoopSignal as signal:
                if signal.kind == "break":
                    break
        del self.vars[mark:]
        if not ran:
            self.scoped(dot, node.else_body)

    def iterate(self, value: Any) -> Iterator[tuple[Any, Any]]:
        if values.is_nil(value):
            return iter(())
        if isinstance(value, Mapping):
            return ((k, value[k]) for k in sorted(value))
        if isinstance(value, bool | str):
            raise ExecError(f"range can't iterate over {values.to_text(value)}")
        if isinstance(value, int):
            return ((i, i) for i in range(value))
        if isinstance(value, Sequence):
            return enumerate(value)
        raise ExecError(f"range can't iterate over {values.to_text(value)}")

    # -- pipelines and commands ------------------------------------------------------------------

    def pipeline(self, dot: Any, pipe: parse.Pipeline) -> Any:
        value: Any = values.MISSING
        for index, command in enumerate(pipe.commands):
            value = self.command(dot, command, value, has_final=index > 0)
        if pipe.is_assign:
            self.assign(pipe.decl[0], value)
        elif len(pipe.decl) == 1:
            self.vars.append((pipe.decl[0], value))
        return value

    def assign(self, name: str, value: Any) -> None:
        for index in range(len(self.vars) - 1, -1, -1):
            if self.vars[index][0] == name:
                self.vars[index] = (name, value)
                return
        raise ExecError(f'undefined variable "{name}"')

    def command(self, dot: Any, command: parse.Command, final: Any, *, has_final: bool) -> Any:
        head, rest = command.args[0], command.args[1:]
        if isinstance(head, parse.Identifier):
            return self.call(dot, head.name, rest, final, has_final=has_final)
        if rest or has_final:
            raise ExecError(f"can't give argument to non-function {_describe(head)}")
        if isinstance(head, parse.Literal) and head.value is None:
            raise ExecError("nil is not a command")
        return self.operand(dot, head)

    def operand(self, dot: Any, node: parse.Operand) -> Any:
        if isinstance(node, parse.Literal):
            return node.value
        if isinstance(node, parse.Field):
            return self.fields(dot, node.names)
        if isinstance(node, parse.Variable):
            return self.fields(self.variable(node.name), node.names)
        if isinstance(node, parse.Chain):
            return self.fields(self.pipeline(dot, node.node), node.names)
        return self.call(dot, node.name, (), values.MISSING, has_final=False)

    def variable(self, name: str) -> Any:
        for var_name, value in reversed(self.vars):
            if var_name == name:
                return value
        raise ExecError(f'undefined variable "{name}"')

    def fields(self, value: Any, names: Sequence[str]) -> Any:
        for name in names:
            if values.is_nil(value):
                if self.missingkey is MissingKey.ERROR:
                    raise ExecError(f'nil data; no entry for key "{name}"')
                return values.MISSING
            if not isinstance(value, Mapping):
                raise ExecError(f"can't evaluate field {name} in type {values.type_name(value)}")
            if name in value:
                value = value[name]
            elif self.missingkey is MissingKey.ERROR:
                raise ExecError(f'map has no entry for key "{name}"')
            else:
                return values.MISSING
        return value

    def call(
        self,
        dot: Any,
        name: str,
        args: Sequence[parse.Operand],
        final: Any,
        *,
        has_final: bool,
    ) -> Any:
        if name in ("and", "or"):
            return self.logic(dot, name, args, final, has_final=has_final)
        function = self.funcs.get(name)
        if function is None:
            raise ExecError(f'function "{name}" not defined')
        evaluated = [self.operand(dot, arg) for arg in args]
        if has_final:
            evaluated.append(final)
        plain = [None if value is values.MISSING else value for value in evaluated]
        if name not in self.accessors:  # printing shared sub-lists can multiply them
            for value in plain:
                if isinstance(value, Mapping | list | tuple):
                    limits.measure(f"{name}: an argument", value)
        try:
            result = function(*plain)
            self.budget.result(name, result)
            return result
        except (ExecError, limits.LimitExceeded):
            raise
        except TypeError as exc:
            raise ExecError(f"wrong arguments for {name}: {exc}") from None
        except (ValueError, KeyError, IndexError, ArithmeticError) as exc:
            raise ExecError(f"error calling {name}: {exc}") from None
        except RecursionError:
            raise ExecError(f"error calling {name}: value nested too deeply") from None

    def logic(
        self, dot: Any, name: str, args: Sequence[parse.Operand], final: Any, *, has_final: bool
    ) -> Any:
        if not args and not has_final:
            raise ExecError(f"wrong number of args for {name}: want at least 1 got 0")
        value: Any = None
        for arg in args:  # evaluated lazily: `and`/`or` stop at the deciding argument
            value = self.operand(dot, arg)
            if values.truth(value) != (name == "and"):
                return value
        return final if has_final else value


def _describe(node: parse.Operand) -> str:
    if isinstance(node, parse.Field):
        return "." + ".".join(node.names)
    if isinstance(node, parse.Variable):
        return node.name + "".join("." + n for n in node.names)
    if isinstance(node, parse.Literal):
        return repr(node.value)
    return "(pipeline)"


def execute(
    nodes: Sequence[parse.Node],
    data: Any,
    *,
    funcs: Mapping[str, Function],
    missingkey: MissingKey,
    source: str,
    accessors: frozenset[str] = frozenset(),
) -> str:
    """Render ``nodes`` with dot = ``data``; errors name the template and the cause.

    ``accessors``: functions that never print their arguments (no size check before the call).
    """
    state = _State(data, funcs=funcs, missingkey=missingkey, accessors=accessors)
    short = source if len(source) <= 60 else source[:57] + "..."
    try:
        state.walk(data, nodes)
    except ExecError as exc:
        raise errors.TemplateError(f"template {short!r}: executing: {exc}") from None
    except limits.LimitExceeded as exc:
        raise errors.TemplateLimitError(f"template {short!r}: {exc}") from None
    return "".join(state.out)


def check_functions(nodes: Sequence[parse.Node], funcs: Mapping[str, Function]) -> str | None:
    """The first function name used in ``nodes`` that ``funcs`` lacks (Go checks at parse)."""
    for name in _identifiers(nodes):
        if name not in funcs and name not in ("and", "or"):
            return name
    return None


def _identifiers(nodes: Sequence[parse.Node]) -> Iterator[str]:
    for node in nodes:
        if isinstance(node, parse.Action):
            yield from _pipe_identifiers(node.pipe)
        elif isinstance(node, parse.Branch):
            yield from _pipe_identifiers(node.pipe)
            yield from _identifiers(node.body)
            yield from _identifiers(node.else_body)


def _pipe_identifiers(pipe: parse.Pipeline) -> Iterator[str]:
    for command in pipe.commands:
        for arg in command.args:
            if isinstance(arg, parse.Identifier):
                yield arg.name
            elif isinstance(arg, parse.Chain):
                yield from _pipe_identifiers(arg.node)
