"""Tokens of the expression language: numbers, strings, names, operators and punctuation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidegate.expr.errors import ExprError

WORD_OPERATORS = frozenset(
    {"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith"}
)
# Longest first, so that `**` is not read as two `*` and `?.` not as `?` then `.`.
SYMBOLS = (
    "...", "**", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "..",
    "+", "-", "*", "/", "%", "^", "<", ">", "!", "?", ":", ".", ",",
    "(", ")", "[", "]", "{", "}", "#", "|",
)  # fmt: skip

_NUMBER = re.compile(
    r"0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*(?:[eE][+-]?\d+)?"
)
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0", "`": "`"}


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "string", "name", "op", "end"
    value: str | int | float
    pos: int


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``end`` token; a stray character raises."""
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            i = _number(source, i, tokens)
            continue
        if ch in "'\"`":
            i = _string(source, i, tokens)
            continue
        match = _NAME.match(source, i)
        if match:
            word = match.group()
            tokens.append(Token("op" if word in WORD_OPERATORS else "name", word, i))
            i = match.end()
            continue
        symbol = next((s for s in SYMBOLS if source.startswith(s, i)), None)
        if symbol is None:
            raise ExprError(f"unexpected character {ch!r}", source, i)
        tokens.append(Token("op", symbol, i))
        i += len(symbol)
    tokens.append(Token("end", "", n))
    return tokens


def _number(source: str, i: int, tokens: list[Token]) -> int:
    match = _NUMBER.match(source, i)
    assert match is not None
    text = match.group().replace("_", "")
    try:
        value: int | float
        if text[:2].lower() == "0x":
            value = int(text, 16)
        elif any(c in text for c in ".eE"):
            value = float(text)
        else:
            value = int(text)
    except ValueError:
        raise ExprError(f"malformed number {match.group()!r}", source, i) from None
    tokens.append(Token("number", value, i))
    return match.end()


def _string(source: str, i: int, tokens: list[Token]) -> int:
    quote, start = source[i], i
    i += 1
    out: list[str] = []
    while i < len(source):
        ch = source[i]
        if ch == quote:
            tokens.append(Token("string", "".join(out), start))
            return i + 1
        if ch == "\\" and quote != "`":
            esc = source[i + 1 : i + 2]
            if esc == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", source[i + 2 : i + 6]):
                out.append(chr(int(source[i + 2 : i + 6], 16)))
                i += 6
                continue
            if esc not in _ESCAPES:
                raise ExprError(f"unknown escape \\{esc}", source, i)
            out.append(_ESCAPES[esc])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ExprError("unterminated string", source, start)
