"""Pure pieces: Hrana values and requests, conditions, keywords, tokens, the public API."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import atoll.dbservice
from atoll.dbservice import create_database
from atoll.dbservice.engine import first_keyword, has_sql
from atoll.dbservice.protocol import (
    Cond,
    ProtocolError,
    decode_value,
    encode_value,
    eval_cond,
    parse_batch,
    parse_stmt,
)
from atoll.dbservice.streams import route
from atoll.dbservice.tokens import TokenIssuer, TokenVerifier, key_path
from atoll.errors import BadInput, InvalidName, Unauthorized


@pytest.mark.parametrize(
    "value",
    [None, 0, 2**63 - 1, -(2**63), 1.25, "", "tëxt", b"", b"\x00\xff" * 10],
)
def test_values_round_trip(value: object) -> None:
    assert decode_value(encode_value(value)) == value


def test_value_encoding_follows_the_spec() -> None:
    assert encode_value(2**62) == {"type": "integer", "value": str(2**62)}
    assert encode_value(b"\x00\x01") == {"type": "blob", "base64": "AAE="}
    assert encode_value(None) == {"type": "null"}
    assert encode_value(float("inf")) == {"type": "text", "value": "inf"}
    assert decode_value({"type": "blob", "base64": "AAE"}) == b"\x00\x01"  # unpadded is fine
    assert decode_value({"type": "integer", "value": 5}) == 5


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "integer", "value": "12x"},
        {"type": "integer", "value": str(2**63)},
        {"type": "integer"},
        {"type": "float", "value": "1.0"},
        {"type": "text", "value": 3},
        {"type": "blob", "base64": "!!!"},
        {"type": "decimal", "value": "1"},
        "text",
    ],
)
def test_bad_values_are_protocol_errors(bad: object) -> None:
    with pytest.raises(ProtocolError):
        decode_value(bad)


def test_parse_stmt() -> None:
    stmt = parse_stmt(
        {
            "sql": "SELECT ?, :a",
            "args": [{"type": "integer", "value": "1"}],
            "named_args": [{"name": ":a", "value": {"type": "null"}}],
            "want_rows": False,
            "replication_index": None,
        }
    )
    assert (stmt.args, dict(stmt.named_args), stmt.want_rows) == ((1,), {"a": None}, False)
    for bad in (
        {},
        {"sql": "x", "sql_id": 1},
        {"sql": 3},
        {"sql": "x", "args": {}},
        {"sql": "x", "want_rows": "yes"},
        {"sql": "x", "named_args": [{"value": 1}]},
    ):
        with pytest.raises(ProtocolError):
            parse_stmt(bad)


def test_parse_batch_rejects_forward_references() -> None:
    with pytest.raises(ProtocolError):
        parse_batch({"steps": [{"stmt": {"sql": "x"}, "condition": {"type": "ok", "step": 0}}]})
    with pytest.raises(ProtocolError):
        parse_batch({"steps": [{"stmt": {"sql": "x"}, "condition": {"type": "maybe"}}]})


def test_eval_cond() -> None:
    outcomes = [True, False, None]
    ok0, err1, ok2 = Cond("ok", step=0), Cond("error", step=1), Cond("ok", step=2)
    assert eval_cond(ok0, outcomes, lambda: True)
    assert eval_cond(err1, outcomes, lambda: True)
    assert not eval_cond(ok2, outcomes, lambda: True)
    assert not eval_cond(Cond("error", step=2), outcomes, lambda: True)
    assert eval_cond(Cond("not", conds=(ok2,)), outcomes, lambda: True)
    assert not eval_cond(Cond("and", conds=(ok0, ok2)), outcomes, lambda: True)
    assert eval_cond(Cond("or", conds=(ok0, ok2)), outcomes, lambda: True)
    assert not eval_cond(Cond("is_autocommit"), outcomes, lambda: False)


def test_keywords_and_routing() -> None:
    assert first_keyword("  -- hi\n /* x */ select 1") == "SELECT"
    assert first_keyword("") == ""
    assert not has_sql(" ; -- c\n /* d */ ")
    assert has_sql("; SELECT 1")
    assert route("SELECT 1") == ("SELECT 1", False)
    assert route("INSERT INTO t VALUES (1)")[1] is True
    assert route("begin transaction readonly") == ("BEGIN DEFERRED", False)
    assert route("BEGIN")[1] is True


def test_tokens(tmp_path: Path) -> None:
    create_database(tmp_path, "acme--todo--dev")  # tokens are only minted for databases
    issuer = TokenIssuer.from_data_dir(tmp_path)
    assert stat.S_IMODE(os.stat(key_path(tmp_path)).st_mode) == 0o600
    verifier = TokenVerifier.from_data_dir(tmp_path)  # same key pair, loaded again
    claims = verifier.verify(issuer.issue("acme--todo--dev", "ro", 60))
    assert (claims.database, claims.mode) == ("acme--todo--dev", "ro")
    other = TokenVerifier.from_data_dir(tmp_path / "elsewhere")
    with pytest.raises(Unauthorized):
        other.verify(issuer.issue("acme--todo--dev", "rw", 60))
    with pytest.raises(InvalidName):
        issuer.issue("not a name", "rw", 60)
    with pytest.raises(BadInput):
        issuer.issue("acme--todo--dev", "admin", 60)  # type: ignore[arg-type]
    with pytest.raises(BadInput):
        issuer.issue("acme--todo--dev", "rw", 0)


def test_public_api_is_exported() -> None:
    for name in atoll.dbservice.__all__:
        assert getattr(atoll.dbservice, name) is not None


def test_dbservice_imports_only_lower_layers() -> None:
    import ast

    root = Path(atoll.dbservice.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("atoll"):
                    allowed = (
                        "atoll.errors",
                        "atoll.config",
                        "atoll.http_heads",
                        "atoll.names",
                        "atoll.faults",
                    )
                    assert node.module in allowed, (
                        path,
                        node.module,
                    )
