"""Parser for the subset of Go's ``text/template`` that ApplicationSets use (see :mod:`.lex`).

The parse tree is plain frozen dataclasses; :mod:`.execute` walks it. Anything outside the
subset (``define``, ``template``, ``block``, character constants...) is rejected here with an
error naming the construct, so an unsupported template never renders silently wrong.
"""

from __future__ import annotations

import dataclasses

from tidegate.appset.gotemplate import lex
from tidegate.model import errors

# -- tree ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Text:
    text: str


@dataclasses.dataclass(frozen=True)
class Field:
    """``.a.b`` evaluated against dot; an empty ``names`` is dot itself."""

    names: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Variable:
    """``$name.a.b``; ``$`` alone is the template's root data."""

    name: str
    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Identifier:
    """A function name."""

    name: str


@dataclasses.dataclass(frozen=True)
class Literal:
    value: object


@dataclasses.dataclass(frozen=True)
class Chain:
    """``(pipeline).a.b``."""

    node: Pipeline
    names: tuple[str, ...]


Operand = Field | Variable | Identifier | Literal | Chain


@dataclasses.dataclass(frozen=True)
class Command:
    args: tuple[Operand, ...]


@dataclasses.dataclass(frozen=True)
class Pipeline:
    decl: tuple[str, ...]
    is_assign: bool
    commands: tuple[Command, ...]


@dataclasses.dataclass(frozen=True)
class Action:
    pipe: Pipeline


@dataclasses.dataclass(frozen=True)
class Branch:
    """``if``, ``with`` and ``range``: ``kind`` says which."""

    kind: str
    pipe: Pipeline
    body: tuple[Node, ...]
    else_body: tuple[Node, ...]


@dataclasses.dataclass(frozen=True)
class LoopControl:
    """``break`` or ``continue`` inside a range."""

    kind: str


Node = Text | Action | Branch | LoopControl

# -- parser ---------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parts = lex.split_actions(source)
        self.index = 0
        self.range_depth = 0

    def fail(self, message: str) -> errors.TemplateError:
        return lex.fail(self.source, message)

    def parse(self) -> tuple[Node, ...]:
        body, stop = self.nodes()
        if stop is not None:
            raise self.fail(f"unexpected {{{{{stop[0]}}}}}")
        return body

    def nodes(self) -> tuple[tuple[Node, ...], tuple[str, list[lex.Token]] | None]:
        """Parse until EOF or an ``else``/``end`` action, which is returned (keyword, rest)."""
        out: list[Node] = []
        while self.index < len(self.parts):
            kind, content = self.parts[self.index]
            self.index += 1
            if kind == "text":
                out.append(Text(content))
                continue
            tokens = lex.tokens(self.source, content)
            if not tokens:
                raise self.fail("missing value for command (empty action)")
            head = tokens[0]
            if head.kind == "ident" and head.text in lex.KEYWORDS:
                word = head.text
                if word in lex.UNSUPPORTED_KEYWORDS:
                    raise self.fail(f"the {word!r} action is not supported")
                if word in ("else", "end"):
                    return tuple(out), (word, tokens[1:])
                if word in ("break", "continue"):
                    if len(tokens) > 1:
                        raise self.fail(f"unexpected {tokens[1].text!r} after {word}")
                    if self.range_depth == 0:
                        raise self.fail(f"{{{{{word}}}}} outside {{{{range}}}}")
                    out.append(LoopControl(word))
                    continue
                out.append(self.branch(word, tokens[1:]))
                continue
            out.append(Action(self.pipeline(tokens, allow_decl=True)))
        return tuple(out), None

    def branch(self, kind: str, tokens: list[lex.Token]) -> Branch:
        pipe = self.pipeline(tokens, allow_decl=True, context=kind)
        if kind == "range":
            self.range_depth += 1
        body, stop = self.nodes()
        if kind == "range":
            self.range_depth -= 1
        if stop is None:
            raise self.fail(f"unexpected EOF: {{{{{kind}}}}} without {{{{end}}}}")
        word, rest = stop
        else_body: tuple[Node, ...] = ()
        if word == "else":
            if rest and rest[0].kind == "ident" and rest[0].text in ("if", "with"):
                # `else if` / `else with` nest a branch that shares our {{end}}.
                else_body = (self.branch(rest[0].text, rest[1:]),)
            elif rest:
                raise self.fail(f"unexpected {rest[0].text!r} after else")
            else:
                else_body, stop = self.nodes()
                if stop is None or stop[0] != "end":
                    raise self.fail(f"expected {{{{end}}}} after {{{{else}}}} of {kind}")
        return Branch(kind, pipe, body, else_body)

    def pipeline(
        self, tokens: list[lex.Token], *, allow_decl: bool, context: str = "command"
    ) -> Pipeline:
        decl: list[str] = []
        is_assign = False
        pos = 0
        # Declarations: `$x :=`, `$k, $v :=`, `$x =`.
        probe = 0
        names: list[str] = []
        while probe < len(tokens) and tokens[probe].kind == "var":
            names.append(tokens[probe].text)
            probe += 1
            if probe < len(tokens) and tokens[probe].kind == "comma":
                probe += 1
                continue
            break
        if names and probe < len(tokens) and tokens[probe].kind in ("declare", "assign"):
            if not allow_decl:
                raise self.fail("variable declaration not allowed here")
            if len(names) > 2 or (len(names) == 2 and context != "range"):
                raise self.fail(f"too many declarations in {context}")
            decl, is_assign = names, tokens[probe].kind == "assign"
            pos = probe + 1
        commands, pos = self.commands(tokens, pos, context)
        if pos != len(tokens):
            raise self.fail(f"unexpected {tokens[pos].text!r} in {context}")
        return Pipeline(tuple(decl), is_assign, commands)

    def commands(
        self, tokens: list[lex.Token], pos: int, context: str
    ) -> tuple[tuple[Command, ...], int]:
        commands: list[Command] = []
        while True:
            args: list[Operand] = []
            while pos < len(tokens) and tokens[pos].kind not in ("pipe", "rparen"):
                operand, pos = self.operand(tokens, pos)
                args.append(operand)
            if not args:
                raise self.fail(f"missing value for {context}")
            commands.append(Command(tuple(args)))
            if pos < len(tokens) and tokens[pos].kind == "pipe":
                pos += 1
                continue
            return tuple(commands), pos

    def operand(self, tokens: list[lex.Token], pos: int) -> tuple[Operand, int]:
        token = tokens[pos]
        pos += 1
        node: Operand
        if token.kind == "field":
            names = [token.text[1:]]
            names_tuple, pos = self.trailing_fields(tokens, pos)
            node = Field(tuple(names) + names_tuple)
            return node, pos
        if token.kind == "dot":
            node = Field(())
        elif token.kind == "var":
            names_tuple, pos = self.trailing_fields(tokens, pos)
            return Variable(token.text, names_tuple), pos
        elif token.kind == "ident":
            if token.text in ("true", "false"):
                node = Literal(token.text == "true")
            elif token.text == "nil":
                node = Literal(None)
            elif token.text in lex.KEYWORDS:
                raise self.fail(f"unexpected keyword {token.text!r} in operand")
            else:
                node = Identifier(token.text)
        elif token.kind == "string":
            node = Literal(lex.unquote(self.source, token.text))
        elif token.kind == "raw":
            node = Literal(token.text[1:-1])
        elif token.kind == "number":
            node = Literal(lex.number(self.source, token.text))
        elif token.kind == "lparen":
            commands, pos = self.commands(tokens, pos, "parenthesized pipeline")
            if pos >= len(tokens) or tokens[pos].kind != "rparen":
                raise self.fail("unclosed left paren")
            pos += 1
            names_tuple, pos = self.trailing_fields(tokens, pos)
            return Chain(Pipeline((), False, commands), names_tuple), pos
        else:
            raise self.fail(f"unexpected {token.text!r} in operand")
        return node, pos

    def trailing_fields(self, tokens: list[lex.Token], pos: int) -> tuple[tuple[str, ...], int]:
        names: list[str] = []
        while pos < len(tokens) and tokens[pos].kind == "field" and not tokens[pos].spaced:
            names.append(tokens[pos].text[1:])
            pos += 1
        return tuple(names), pos


def parse(source: str) -> tuple[Node, ...]:
    """Parse a template; raises :class:`~tidegate.model.errors.TemplateError` on bad syntax."""
    return _Parser(source).parse()
