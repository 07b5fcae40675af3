"""The build-time expression parser: grammar, limits and hostile input."""

from __future__ import annotations

import re

import pytest

from atoll.sdui.expressions import (
    MAX_DEPTH,
    MAX_SOURCE_CHARS,
    ExpressionError,
    data_dependencies,
    expression_roots,
    parse_expression,
)


@pytest.mark.parametrize(
    "source",
    [
        "data.todos",
        "data.todos.length > 0",
        "state['name'] + ' ' + item.title",
        "!state.done && (state.n * 2 - 1) % 3 == 1",
        "state.x ?? 'default'",
        "state.n >= 1 ? 'many' : 'none'",
        "data.todos[index].title",
        "-1.5 + 2",
        "'it\\'s' != \"quoted\"",
        "a === b || a !== c",
    ],
)
def test_valid_expressions_parse(source: str) -> None:
    assert parse_expression(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a +", "unexpected end of expression at character 3"),
        ("a b", "unexpected 'b'"),
        ("a.1", "expected a property name"),
        ("f(1)", "unexpected '('"),
        ("a = 1", "unexpected character '='"),
        ("`x`", "unexpected character"),
        ("", "empty"),
        ("   ", "empty"),
        ("(a", "expected ')', found end of expression"),
        ("a ? b", "expected ':'"),
        ("'\\q'", "unknown escape"),
    ],
)
def test_invalid_expressions_name_the_problem(source: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse_expression(source)


@pytest.mark.parametrize(
    "source", ["a.__proto__", "constructor", "x.prototype", "__proto__.x", "a.b.constructor"]
)
def test_prototype_names_are_refused(source: str) -> None:
    with pytest.raises(ExpressionError, match="not allowed"):
        parse_expression(source)


def test_bracket_access_to_prototype_keys_parses_but_is_only_a_string() -> None:
    # The evaluator reads own data properties only, so a computed key is harmless.
    assert parse_expression("a['__proto__']") == ("get", ("name", "a"), ("lit", "__proto__"))


def test_deep_nesting_is_refused_without_recursion_errors() -> None:
    with pytest.raises(ExpressionError, match="nests deeper"):
        parse_expression("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(ExpressionError, match="nests deeper"):
        parse_expression("!" * 60 + "a")
    with pytest.raises(ExpressionError):
        parse_expression("(" * 10_000 + ")" * 10_000)
    assert parse_expression("(" * 10 + "1" + ")" * 10) == ("lit", 1)


def test_huge_input_is_refused_quickly() -> None:
    with pytest.raises(ExpressionError, match="longer than"):
        parse_expression("a" * (MAX_SOURCE_CHARS + 1))
    with pytest.raises(ExpressionError, match="longer than"):
        parse_expression("'" + "x" * 10_000_000 + "'")
    with pytest.raises(ExpressionError, match="tokens"):
        parse_expression(" + ".join(["a"] * 500))


def test_roots_and_data_dependencies() -> None:
    ast = parse_expression("data.todos.length + data['users'][0].name + state.n + todo.id")
    assert expression_roots(ast) == {"data", "state", "todo"}
    assert data_dependencies(ast) == {"todos", "users"}
