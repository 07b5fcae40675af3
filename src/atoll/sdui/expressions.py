"""Page expressions: paths and a small operator set, parsed without ``eval``.

The grammar is shared with the browser evaluator in ``web/runtime/expr.js``::

    expr    := or ('?' expr ':' expr)?
    or      := and (('||' | '??') and)*
    and     := eq ('&&' eq)*
    eq      := cmp (('==' | '!=') cmp)*
    cmp     := add (('<' | '<=' | '>' | '>=') add)*
    add     := mul (('+' | '-') mul)*
    mul     := unary (('*' | '/' | '%') unary)*
    unary   := ('!' | '-') unary | postfix
    postfix := primary ('.' NAME | '[' expr ']')*
    primary := NUMBER | STRING | true | false | null | NAME | '(' expr ')'

This module only parses (to check pages at build time and to find the data an expression
reads); evaluation happens in the browser.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

MAX_SOURCE_CHARS = 2000
MAX_DEPTH = 32
MAX_TOKENS = 400
FORBIDDEN_NAMES = frozenset({"__proto__", "prototype", "constructor"})

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>\d+(?:\.\d+)?)
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
      | (?P<op>===|!==|==|!=|<=|>=|&&|\|\||\?\?|[-+*/%<>!?:.()\[\]])
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"true": True, "false": False, "null": None}
_BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||", "??"),
    ("&&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)

# An AST node is a tuple: ("lit", value) | ("name", str) | ("get", obj, key_ast)
# | ("unary", op, a) | ("binary", op, a, b) | ("cond", test, a, b)
Ast = tuple[object, ...]


class ExpressionError(ValueError):
    """An expression is malformed or too large."""

    def __init__(self, message: str, position: int | None = None) -> None:
        where = f" at character {position}" if position is not None else ""
        super().__init__(f"{message}{where}")
        self.position = position


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    end = len(source.rstrip())
    while pos < end:
        match = _TOKEN.match(source, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"unexpected character {source[pos:].lstrip()[:1]!r}", pos)
        kind = match.lastgroup or "op"
        text = match.group(kind)
        if text in ("===", "!=="):
            text = text[:2]
        tokens.append(_Token(kind, text, match.start(kind)))
        if len(tokens) > MAX_TOKENS:
            raise ExpressionError(f"expression has more than {MAX_TOKENS} tokens")
        pos = match.end()
    tokens.append(_Token("end", "", end))
    return tokens


def _unquote(text: str, pos: int) -> str:
    out: list[str] = []
    i = 1
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
    while i < len(text) - 1:
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1]
            if nxt not in escapes:
                raise ExpressionError(f"unknown escape \\{nxt}", pos + i)
            out.append(escapes[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> None:
        tok = self.take()
        if tok.text != text or tok.kind not in ("op",):
            found = repr(tok.text) if tok.kind != "end" else "end of expression"
            raise ExpressionError(f"expected {text!r}, found {found}", tok.pos)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests deeper than {MAX_DEPTH}", self.peek().pos)

    def expr(self) -> Ast:
        self.enter()
        test = self.binary(0)
        if self.peek().text == "?" and self.peek().kind == "op":
            self.take()
            yes = self.expr()
            self.expect(":")
            no = self.expr()
            test = ("cond", test, yes, no)
        self.depth -= 1
        return test

    def binary(self, level: int) -> Ast:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in _BINARY_LEVELS[level]:
            op = self.take().text
            left = ("binary", op, left, self.binary(level + 1))
        return left

    def unary(self) -> Ast:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("!", "-"):
            self.take()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return ("unary", tok.text, operand)
        return self.postfix()

    def postfix(self) -> Ast:
        node = self.primary()
        while self.peek().kind == "op" and self.peek().text in (".", "["):
            if self.take().text == ".":
                name = self.take()
                if name.kind != "name":
                    raise ExpressionError("expected a property name after '.'", name.pos)
                self.check_name(name)
                node = ("get", node, ("lit", name.text))
            else:
                key = self.expr()
                self.expect("]")
                node = ("get", node, key)
        return node

    def check_name(self, tok: _Token) -> None:
        if tok.text in FORBIDDEN_NAMES:
            raise ExpressionError(f"{tok.text!r} is not allowed", tok.pos)

    def primary(self) -> Ast:
        tok = self.take()
        if tok.kind == "num":
            return ("lit", float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "str":
            return ("lit", _unquote(tok.text, tok.pos))
        if tok.kind == "name":
            if tok.text in _KEYWORDS:
                return ("lit", _KEYWORDS[tok.text])
            self.check_name(tok)
            return ("name", tok.text)
        if tok.kind == "op" and tok.text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        found = repr(tok.text) if tok.kind != "end" else "end of expression"
        raise ExpressionError(f"unexpected {found}", tok.pos)


def parse_expression(source: str) -> Ast:
    """Parse an expression into a tuple AST, or raise ``ExpressionError``."""
    if not isinstance(source, str):
        raise ExpressionError("an expression must be a string")
    return _parse(source)


@functools.lru_cache(maxsize=4096)
def _parse(source: str) -> Ast:
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"expression is longer than {MAX_SOURCE_CHARS} characters")
    if not source.strip():
        raise ExpressionError("expression is empty")
    parser = _Parser(_tokenize(source))
    ast = parser.expr()
    tail = parser.peek()
    if tail.kind != "end":
        raise ExpressionError(f"unexpected {tail.text!r}", tail.pos)
    return ast


def expression_roots(ast: Ast) -> set[str]:
    """The top-level names an expression reads (``data``, ``state``, a repeat alias, ...)."""
    kind = ast[0]
    if kind == "name":
        return {str(ast[1])}
    if kind == "lit":
        return set()
    roots: set[str] = set()
    for child in ast[1:]:
        if isinstance(child, tuple):
            roots |= expression_roots(child)
    return roots


def data_dependencies(ast: Ast) -> set[str]:
    """The data sources an expression reads: ``data.todos.length`` -> ``{"todos"}``."""
    deps: set[str] = set()
    stack: list[Ast] = [ast]
    while stack:
        node = stack.pop()
        if (
            node[0] == "get"
            and node[1] == ("name", "data")
            and isinstance(node[2], tuple)
            and node[2][0] == "lit"
        ):
            deps.add(str(node[2][1]))
        stack.extend(child for child in node[1:] if isinstance(child, tuple))
    return deps
