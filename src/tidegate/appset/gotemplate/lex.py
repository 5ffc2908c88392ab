"""Lexer for the Go template subset: cut a template into text and actions, and actions into tokens.

Trim markers (``{{- `` and `` -}}``) and comments are handled here; character constants are
rejected with an error naming them.
"""

from __future__ import annotations

import dataclasses
import re

from tidegate.model import errors

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

KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "break", "continue", "define", "template", "block"}
)
UNSUPPORTED_KEYWORDS = frozenset({"define", "template", "block"})
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


def fail(source: str, message: str) -> errors.TemplateError:
    return errors.TemplateError(f"template {_short(source)}: {message}")


def _short(source: str) -> str:
    return repr(source if len(source) <= 60 else source[:57] + "...")


def unquote(source: str, text: str) -> str:
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
            raise fail(source, f"unknown escape sequence \\{nxt} in {text}")
    return "".join(out)


def number(source: str, text: str) -> int | float:
    clean = text.replace("_", "")
    try:
        if clean.lower().lstrip("+-").startswith("0x"):
            return int(clean, 16)
        if re.fullmatch(r"[+-]?\d+", clean):
            return int(clean)
        return float(clean)
    except ValueError:
        raise fail(source, f"bad number syntax: {text}") from None


def tokens(source: str, body: str) -> list[Token]:
    tokens: list[Token] = []
    pos, spaced = 0, True
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if match is None:
            raise fail(source, f"unexpected {body[pos]!r} in action {{{{{body}}}}}")
        kind = match.lastgroup or ""
        pos = match.end()
        if kind == "space":
            spaced = True
            continue
        if kind == "char":
            raise fail(source, f"character constants are not supported: {match.group()}")
        tokens.append(Token(kind, match.group(), spaced))
        spaced = False
    return tokens


def split_actions(source: str) -> list[tuple[str, str]]:
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
            raise fail(source, "unclosed comment")
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
                raise fail(source, "unclosed comment")
            i = close + 2
            continue
        elif source.startswith("}}", i):
            return i
        i += 1
    raise fail(source, "unclosed action (missing '}}')")
