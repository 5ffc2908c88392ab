"""Lexer and parser for the subset of Go's ``text/template`` that ApplicationSets use.

The parse tree is plain frozen dataclasses; :mod:`.execute` walks it. Anything outside the
subset (``define``, ``template``, ``block``, character constants...) is rejected here with an
error naming the construct, so an unsupported template never renders silently wrong.
"""

from __future__ import annotations

import dataclasses
import re

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

# -- lexer ----------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)*')
  | (?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*\.?\d*(?:[eE][+-]?\d+)?
                     |\.\d+(?:[eE][+-]?\d+)?))
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE | re.DOTALL,
)

_KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"}
)
_UNSUPPORTED_KEYWORDS = frozenset({"define", "template", "block"})
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "\\": "\\",
    '"': '"',
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "0": "\0",
}


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str
    text: str
    spaced: bool  # whitespace (or the action start) precedes it


def _fail(source: str, message: str) -> errors.TemplateError:
    return errors.TemplateError(f"template {_short(source)}: {message}")


def _short(source: str) -> str:
    return repr(source if len(source) <= 60 else source[:57] + "...")


def _unquote(source: str, text: str) -> str:
    out: list[str] = []
    i, body = 0, text[1:-1]
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            out.append(chr(int(body[i + 2 : i + 2 + width], 16)))
            i += 2 + width
        else:
            raise _fail(source, f"unknown escape sequence \\{nxt} in {text}")
    return "".join(out)


def _number(source: str, text: str) -> int | float:
    clean = text.replace("_", "")
    try:
        if clean.lower().lstrip("+-").startswith("0x"):
            return int(clean, 16)
        if re.fullmatch(r"[+-]?\d+", clean):
            return int(clean)
        return float(clean)
    except ValueError:
        raise _fail(source, f"bad number syntax: {text}") from None


def _tokens(source: str, body: str) -> list[Token]:
    tokens: list[Token] = []
    pos, spaced = 0, True
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if match is None:
            raise _fail(source, f"unexpected {body[pos]!r} in action {{{{{body}}}}}")
        kind = match.lastgroup or ""
        pos = match.end()
        if kind == "space":
            spaced = True
            continue
        if kind == "char":
            raise _fail(source, f"character constants are not supported: {match.group()}")
        tokens.append(Token(kind, match.group(), spaced))
        spaced = False
    return tokens


def _split_actions(source: str) -> list[tuple[str, str]]:
    """Cut the source into ("text", s) and ("action", body) parts, applying trim markers."""
    parts: list[tuple[str, str]] = []
    pos, trim_next = 0, False
    while True:
        start = source.find("{{", pos)
        text = source[pos:] if start < 0 else source[pos:start]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if start < 0:
            if text:
                parts.append(("text", text))
            return parts
        inner = start + 2
        if source.startswith("- ", inner) or re.match(r"-[\t\r\n]", source[inner : inner + 2]):
            text = text.rstrip(" \t\r\n")
            inner += 2
        if text:
            parts.append(("text", text))
        end = _find_close(source, inner)
        body, trim_next = source[inner:end], False
        if re.search(r"[ \t\r\n]-$", body):
            body, trim_next = body[:-2], True
        if not body.strip().startswith("/*"):
            parts.append(("action", body))
        elif not body.strip().endswith("*/"):
            raise _fail(source, "unclosed comment")
        pos = end + 2


def _find_close(source: str, pos: int) -> int:
    quote = ""
    i = pos
    while i < len(source):
        ch = source[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "\"`'":
            quote = ch
        elif source.startswith("/*", i):
            close = source.find("*/", i + 2)
            if close < 0:
                raise _fail(source, "unclosed comment")
            i = close + 2
            continue
        elif source.startswith("}}", i):
            return i
        i += 1
    raise _fail(source, "unclosed action (missing '}}')")


# -- parser ---------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parts = _split_actions(source)
        self.index = 0
        self.range_depth = 0

    def fail(self, message: str) -> errors.TemplateError:
        return _fail(self.source, message)

    def parse(self) -> tuple[Node, ...]:
        body, stop = self.nodes()
        if stop is not None:
            raise self.fail(f"unexpected {{{{{stop[0]}}}}}")
        return body

    def nodes(self) -> tuple[tuple[Node, ...], tuple[str, list[Token]] | None]:
        """Parse until EOF or an ``else``/``end`` action, which is returned (keyword, rest)."""
        out: list[Node] = []
        while self.index < len(self.parts):
            kind, content = self.parts[self.index]
            self.index += 1
            if kind == "text":
                out.append(Text(content))
                continue
            tokens = _tokens(self.source, content)
            if not tokens:
                raise self.fail("missing value for command (empty action)")
            head = tokens[0]
            if head.kind == "ident" and head.text in _KEYWORDS:
                word = head.text
                if word in _UNSUPPORTED_KEYWORDS:
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

    def branch(self, kind: str, tokens: list[Token]) -> Branch:
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
                else_body = (self.branch_sharing_end(rest[0].text, rest[1:]),)
            elif rest:
                raise self.fail(f"unexpected {rest[0].text!r} after else")
            else:
                else_body, stop = self.nodes()
                if stop is None or stop[0] != "end":
                    raise self.fail(f"expected {{{{end}}}} after {{{{else}}}} of {kind}")
        return Branch(kind, pipe, body, else_body)

    def branch_sharing_end(self, kind: str, tokens: list[Token]) -> Branch:
        return self.branch(kind, tokens)

    def pipeline(
        self, tokens: list[Token], *, allow_decl: bool, context: str = "command"
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
        self, tokens: list[Token], pos: int, context: str
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

    def operand(self, tokens: list[Token], pos: int) -> tuple[Operand, int]:
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
            elif token.text in _KEYWORDS:
                raise self.fail(f"unexpected keyword {token.text!r} in operand")
            else:
                node = Identifier(token.text)
        elif token.kind == "string":
            node = Literal(_unquote(self.source, token.text))
        elif token.kind == "raw":
            node = Literal(token.text[1:-1])
        elif token.kind == "number":
            node = Literal(_number(self.source, token.text))
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

    def trailing_fields(self, tokens: list[Token], pos: int) -> tuple[tuple[str, ...], int]:
        names: list[str] = []
        while pos < len(tokens) and tokens[pos].kind == "field" and not tokens[pos].spaced:
            names.append(tokens[pos].text[1:])
            pos += 1
        return tuple(names), pos


def parse(source: str) -> tuple[Node, ...]:
    """Parse a template; raises :class:`~tidegate.model.errors.TemplateError` on bad syntax."""
    return _Parser(source).parse()
