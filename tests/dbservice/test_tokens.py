"""Tokens are bound to one database's identity and die with it, or with the API token that
minted them; the verifier's cache never outlives either."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest

from atoll.dbservice import (
    TokenIssuer,
    TokenVerifier,
    create_database,
    database_generation,
    delete_app_databases,
    revoke_database_tokens,
)
from atoll.dbservice.tokens import AUDIENCE, load_or_create_key
from atoll.errors import BadInput, NotFound, Unauthorized

from .conftest import DATABASE, Service, stmt

PIPELINE_BODY = {"baton": None, "requests": [stmt("SELECT * FROM notes"), {"type": "close"}]}


def _refused(service: Service, token: str, code: str) -> str:
    """Every endpoint refuses ``token`` with ``code``; the bodies, joined."""
    bodies = []
    for path, body in (
        ("/v2/pipeline", PIPELINE_BODY),
        ("/v3/pipeline", PIPELINE_BODY),
        ("/v3/cursor", {"baton": None, "batch": {"steps": [{"stmt": {"sql": "SELECT 1"}}]}}),
        ("/v1/execute", {"stmt": {"sql": "SELECT * FROM notes"}}),
    ):
        response = service.post(path, body, token)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["code"] == code, (path, response.text)
        bodies.append(response.text)
    return "\n".join(bodies)


def test_a_token_dies_with_its_database(service: Service) -> None:
    old = service.token()
    assert service.execute("CREATE TABLE notes (body)", token=old)["type"] == "ok"
    delete_app_databases(service.data_dir, "acme", "todo")
    create_database(service.data_dir, DATABASE)
    fresh = service.token()
    service.execute("CREATE TABLE notes (body)", token=fresh)
    service.execute("INSERT INTO notes VALUES ('the new app keeps this')", token=fresh)
    # Same name, new database: the old token opens nothing, and learns nothing of the new data.
    bodies = _refused(service, old, "TOKEN_INVALID")
    assert "the new app keeps this" not in bodies
    assert "deleted" in bodies
    got = service.execute("SELECT body FROM notes", token=fresh)
    assert got["response"]["result"]["rows"] == [
        [{"type": "text", "value": "the new app keeps this"}]
    ]


def test_a_stream_ends_with_its_database(service: Service) -> None:
    token = service.token()
    service.execute("CREATE TABLE notes (body)", token=token)
    held = service.pipeline([stmt("SELECT 1")], token=token)
    delete_app_databases(service.data_dir, "acme", "todo")
    create_database(service.data_dir, DATABASE)
    response = service.post("/v2/pipeline", {"baton": held["baton"], "requests": []}, token)
    assert response.status_code == 404, response.text
    # ...whatever token resumes it: the stream belonged to the deleted database.
    held = service.pipeline([stmt("SELECT 1")])
    delete_app_databases(service.data_dir, "acme", "todo")
    create_database(service.data_dir, DATABASE)
    response = service.post("/v2/pipeline", {"baton": held["baton"], "requests": []})
    assert response.status_code in (403, 404), response.text


def test_revoking_the_minter_ends_its_tokens_at_once(service: Service) -> None:
    minted = service.issuer.issue(DATABASE, "rw", 600, minted_by="7")
    sibling = service.issuer.issue(DATABASE, "rw", 600, minted_by="8")
    assert service.execute("CREATE TABLE notes (body)", token=minted)["type"] == "ok"
    held = service.pipeline([stmt("BEGIN"), stmt("INSERT INTO notes VALUES (1)")], token=minted)
    revoke_database_tokens(service.data_dir, "7")
    _refused(service, minted, "TOKEN_REVOKED")  # the verifier had it cached: still refused
    response = service.post("/v2/pipeline", {"baton": held["baton"], "requests": []}, minted)
    assert response.status_code == 401
    assert service.execute("SELECT count(*) FROM notes", token=sibling)["type"] == "ok"
    assert service.execute("SELECT 1")["type"] == "ok"  # tokens the platform minted itself


def test_revocations_are_kept_on_disk(tmp_path: Path) -> None:
    create_database(tmp_path, DATABASE)
    token = TokenIssuer.from_data_dir(tmp_path).issue(DATABASE, "ro", 600, minted_by="12")
    verifier = TokenVerifier.from_data_dir(tmp_path)
    assert verifier.verify(token).minted_by == "12"
    revoke_database_tokens(tmp_path, "12")
    for fresh in (verifier, TokenVerifier.from_data_dir(tmp_path)):  # e.g. after a restart
        with pytest.raises(Unauthorized) as caught:
            fresh.verify(token)
        assert caught.value.detail["hrana_code"] == "TOKEN_REVOKED"
    with pytest.raises(BadInput):
        revoke_database_tokens(tmp_path, "../../etc")


def test_claims_name_the_database_generation(tmp_path: Path) -> None:
    create_database(tmp_path, DATABASE)
    generation = database_generation(tmp_path, DATABASE)
    assert len(generation) >= 22
    create_database(tmp_path, DATABASE)  # idempotent: the same database keeps its identity
    assert database_generation(tmp_path, DATABASE) == generation
    token = TokenIssuer.from_data_dir(tmp_path).issue(DATABASE, "rw", 60)
    claims = TokenVerifier.from_data_dir(tmp_path).verify(token)
    assert claims.generation == generation and claims.minted_by is None
    delete_app_databases(tmp_path, "acme", "todo")
    with pytest.raises(NotFound):
        database_generation(tmp_path, DATABASE)
    with pytest.raises(NotFound):  # no token for a database that does not exist
        TokenIssuer.from_data_dir(tmp_path).issue(DATABASE, "rw", 60)
    create_database(tmp_path, DATABASE)
    assert database_generation(tmp_path, DATABASE) != generation


def test_a_token_without_a_generation_is_refused(tmp_path: Path) -> None:
    create_database(tmp_path, DATABASE)
    now = int(time.time())
    legacy = jwt.encode(
        {"db": DATABASE, "a": "rw", "iat": now, "exp": now + 60, "aud": AUDIENCE},
        load_or_create_key(tmp_path),
        algorithm="EdDSA",
    )
    with pytest.raises(Unauthorized) as caught:
        TokenVerifier.from_data_dir(tmp_path).verify(legacy)
    assert caught.value.detail["hrana_code"] == "TOKEN_INVALID"


def test_a_database_without_an_identity_gets_one(start_service: Callable[..., Service]) -> None:
    service = start_service()
    # Databases created before identities existed: the first token gives them one.
    (service.data_dir / "databases" / "acme" / "todo" / "dev.generation").unlink()
    assert service.execute("SELECT 1")["type"] == "ok"
