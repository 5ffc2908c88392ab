"""The expression language's grammar: tokens to a syntax tree (precedence climbing).

Precedence, lowest first, as expr-lang documents it: the ternary ``a ? b : c``; ``or ||``;
``and &&``; comparisons, ``in``, ``matches``, ``contains``, ``startsWith``, ``endsWith`` (each
also with ``not`` before it); the range ``..``; ``+ -``; ``* / %``; unary ``not !``; unary
``- +``; ``** ^`` (right-associative); ``??``; then member access, indexing, slicing and calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from tidegate.expr.errors import ExprError
from tidegate.expr.lexer import Token, tokenize

BINARY: dict[str, tuple[int, bool]] = {  # operator -> (precedence, right-associative)
    "or": (10, False), "||": (10, False),
    "and": (15, False), "&&": (15, False),
    "==": (20, False), "!=": (20, False), "<": (20, False), ">": (20, False),
    "<=": (20, False), ">=": (20, False), "in": (20, False), "matches": (20, False),
    "contains": (20, False), "startsWith": (20, False), "endsWith": (20, False),
    "..": (25, False),
    "+": (30, False), "-": (30, False),
    "*": (60, False), "/": (60, False), "%": (60, False),
    "**": (100, True), "^": (100, True),
    "??": (500, False),
}  # fmt: skip
NEGATABLE = frozenset({"in", "matches", "contains", "startsWith", "endsWith"})
UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
# Built-ins whose later arguments are predicates: `{ # > 0 }` there is a closure, not a map.
PREDICATE_FUNCTIONS = frozenset(
    {"all", "any", "none", "one", "filter", "map", "count", "find", "findIndex", "sum"}
)


@dataclass(frozen=True)
class Node:
    kind: str  # lit name pointer member slice call closure unary binary cond array map
    pos: int
    value: object = None  # literal value, name, operator, or pointer field
    args: tuple[Node, ...] = ()
    optional: bool = False  # `?.` member access


class Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.closure_depth = 0

    # -- token helpers -----------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def at(self, *values: str) -> bool:
        return self.tok.kind == "op" and self.tok.value in values

    def take(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def expect(self, value: str) -> Token:
        if not self.at(value):
            raise self.error(f"expected {value!r}")
        return self.take()

    def error(self, cause: str, tok: Token | None = None) -> ExprError:
        tok = tok or self.tok
        found = "end of expression" if tok.kind == "end" else repr(tok.value)
        return ExprError(f"{cause}, found {found}", self.source, tok.pos)

    # -- grammar -------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ExprError("empty expression", self.source, 0)
        node = self.expression()
        if self.tok.kind != "end":
            raise self.error("unexpected token")
        return node

    def expression(self) -> Node:
        node = self.binary(0)
        if self.at("?"):
            tok = self.take()
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            return Node("cond", tok.pos, args=(node, yes, no))
        return node

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            tok = self.tok
            negated = False
            if tok.kind != "op":
                return left
            op = str(tok.value)
            if op == "not" and self.tokens[self.i + 1].value in NEGATABLE:
                negated, op = True, str(self.tokens[self.i + 1].value)
            if op not in BINARY:
                return left
            prec, right_assoc = BINARY[op]
            if prec < min_prec:
                return left
            self.i += 2 if negated else 1
            right = self.binary(prec if right_assoc else prec + 1)
            left = Node("binary", tok.pos, op, (left, right))
            if negated:
                left = Node("unary", tok.pos, "not", (left,))

    def unary(self) -> Node:
        if self.tok.kind == "op" and self.tok.value in UNARY:
            tok = self.take()
            operand = self.binary(UNARY[str(tok.value)])
            return Node("unary", tok.pos, tok.value, (operand,))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind in ("number", "string"):
            return Node("lit", tok.pos, tok.value)
        if tok.kind == "name":
            word = str(tok.value)
            if word in ("true", "false"):
                return Node("lit", tok.pos, word == "true")
            if word == "nil":
                return Node("lit", tok.pos, None)
            if self.at("("):
                return self.call(Node("name", tok.pos, word), word)
            return Node("name", tok.pos, word)
        if tok.kind == "op":
            if tok.value == "(":
                node = self.expression()
                self.expect(")")
                return node
            if tok.value == "[":
                return Node("array", tok.pos, args=self.items("]"))
            if tok.value == "{":
                return self.map_literal(tok)
            if tok.value in ("#", ".") and self.closure_depth:
                return self.pointer(tok)
        raise self.error("unexpected token", tok)

    def pointer(self, tok: Token) -> Node:
        # `#` is the current element of a predicate; `.field` is short for `#.field`.
        if tok.value == "#":
            return Node("pointer", tok.pos, None)
        name = self.take()
        if name.kind != "name":
            raise self.error("expected a field name", name)
        return Node("pointer", tok.pos, name.value)

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at(".", "?."):
                tok = self.take()
                name = self.take()
                if name.kind not in ("name", "op") or not isinstance(name.value, str):
                    raise self.error("expected a field name after '.'", name)
                key = Node("lit", name.pos, name.value)
                node = Node("member", tok.pos, args=(node, key), optional=tok.value == "?.")
                if self.at("("):
                    node = self.call(node, name.value)
            elif self.at("["):
                tok = self.take()
                node = self.index(node, tok)
            else:
                return node

    def index(self, node: Node, tok: Token) -> Node:
        if self.at(":"):
            self.take()
            lo = Node("lit", tok.pos, None)
        else:
            lo = self.expression()
            if not self.at(":"):
                self.expect("]")
                return Node("member", tok.pos, args=(node, lo))
            self.take()
        hi = Node("lit", tok.pos, None) if self.at("]") else self.expression()
        self.expect("]")
        return Node("slice", tok.pos, args=(node, lo, hi))

    def call(self, callee: Node, name: str) -> Node:
        tok = self.expect("(")
        args: list[Node] = []
        while not self.at(")"):
            if args:
                self.expect(",")
            if args and name in PREDICATE_FUNCTIONS and self.at("{"):
                args.append(self.closure())
            else:
                args.append(self.expression())
        self.expect(")")
        return Node("call", tok.pos, name, (callee, *args))

    def closure(self) -> Node:
        tok = self.expect("{")
        self.closure_depth += 1
        body = self.expression()
        self.closure_depth -= 1
        self.expect("}")
        return Node("closure", tok.pos, args=(body,))

    def items(self, close: str) -> tuple[Node, ...]:
        items: list[Node] = []
        while not self.at(close):
            if items:
                self.expect(",")
                if self.at(close):  # a trailing comma
                    break
            items.append(self.expression())
        self.expect(close)
        return tuple(items)

    def map_literal(self, tok: Token) -> Node:
        pairs: list[Node] = []
        while not self.at("}"):
            if pairs:
                self.expect(",")
                if self.at("}"):
                    break
            key_tok = self.take()
            if key_tok.kind in ("name", "string", "number"):
                key = Node("lit", key_tok.pos, key_tok.value)
            elif key_tok.kind == "op" and key_tok.value == "(":
                key = self.expression()
                self.expect(")")
            else:
                raise self.error("expected a map key", key_tok)
            self.expect(":")
            pairs.extend((key, self.expression()))
        self.expect("}")
        return Node("map", tok.pos, args=tuple(pairs))


def parse(source: str) -> Node:
    return Parser(source).parse()
