"""An app environment's database: run SQL, get a libSQL URL and token, browse tables."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from atoll import dbservice
from atoll.api.apps import find_app
from atoll.api.auth import Platform, Principal, TenantCaller
from atoll.api.schemas import Body
from atoll.dbservice.snapshots import get_snapshot
from atoll.errors import BadInput
from atoll.names import check_slug
from atoll.services import ControlPlane
from atoll.store import envs as env_repo

router = APIRouter(tags=["databases"])

SqlValue = None | int | float | str | dict[str, str]


class ExecIn(Body):
    """``POST .../db/exec``: SQL to run as the app's owner."""

    sql: str = Field(min_length=1, max_length=1_000_000)
    args: list[SqlValue] = Field(
        default_factory=list,
        max_length=1000,
        description='Positional arguments; a blob is {"base64": "..."}.',
    )
    read_only: bool = Field(
        False,
        description="Run on a read-only connection: a statement that would write is "
        "refused (403 write_refused) and nothing changes.",
    )


class ExecOut(BaseModel):
    """The last statement's result."""

    columns: list[str]
    rows: list[list[Any]]
    rows_affected: int


class UrlOut(BaseModel):
    """Where any libSQL client reaches the database, and a token for it."""

    url: str
    token: str
    read_only: bool
    expires_in: int


class TableOut(BaseModel):
    """A table of the database."""

    name: str
    columns: list[dict[str, str]]
    row_count: int


def _database(cp: ControlPlane, who: Principal, app: str, env: str) -> dbservice.DatabaseName:
    """The database of one of the caller's app environments, created on first use."""
    assert who.tenant is not None
    check_slug(env, "environment")
    found = find_app(cp, who.tenant.id, app)
    with cp.engine.connect() as conn:
        env_repo.check_app_environment(conn, found, env)
    name = dbservice.DatabaseName(tenant=who.tenant.slug, app=app, env=env)
    dbservice.create_database(cp.settings.data_dir, name)
    return name


def _arg(value: SqlValue) -> int | float | str | bytes | None:
    if isinstance(value, dict):
        if set(value) != {"base64"}:
            raise BadInput('an object argument must be {"base64": "..."}')
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("a blob argument is not valid base64") from None
    return value


def _json_cell(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return value


def _result(result: dbservice.QueryResult) -> ExecOut:
    return ExecOut(
        columns=result.columns,
        rows=[[_json_cell(v) for v in row] for row in result.rows],
        rows_affected=result.rows_affected,
    )


@router.post("/apps/{app}/envs/{env}/db/exec")
def exec_sql(app: str, env: str, body: ExecIn, who: TenantCaller, cp: Platform) -> ExecOut:
    """Run SQL on the environment's database; the last statement's rows."""
    name = _database(cp, who, app, env)
    args = [_arg(a) for a in body.args]
    limits = dbservice.EngineLimits.from_settings(cp.settings)
    return _result(
        dbservice.exec_sql(
            cp.settings.data_dir, name, body.sql, args, limits, read_only=body.read_only
        )
    )


@router.get("/apps/{app}/envs/{env}/db/url")
def db_url(
    app: str,
    env: str,
    who: TenantCaller,
    cp: Platform,
    read_only: bool = False,
    ttl: Annotated[
        int | None,
        Query(
            ge=60,
            description="Token lifetime, s (default and maximum are the installation's "
            "settings, 1 h and 7 days unless changed).",
        ),
    ] = None,
) -> UrlOut:
    """A URL and token that work in ``@libsql/client`` and the ``libsql`` Python package.

    The token dies with the database (deleting the app) and with the API token that asked
    for it (revoking it).
    """
    name = _database(cp, who, app, env)
    lifetime = cp.settings.databases.token_ttl_seconds if ttl is None else ttl
    info = dbservice.connection_info(
        cp.settings,
        name,
        read_only=read_only,
        ttl_seconds=lifetime,
        minted_by=str(who.token.id),
    )
    return UrlOut(url=info["url"], token=info["token"], read_only=read_only, expires_in=lifetime)


@router.get("/apps/{app}/envs/{env}/db/tables")
def tables(app: str, env: str, who: TenantCaller, cp: Platform) -> list[TableOut]:
    """The database's tables with their columns and row counts."""
    name = _database(cp, who, app, env)
    return [
        TableOut(
            name=t.name,
            columns=[{"name": c, "type": d} for c, d in t.columns],
            row_count=t.row_count,
        )
        for t in dbservice.list_tables(cp.settings.data_dir, name)
    ]


@router.get("/apps/{app}/envs/{env}/db/tables/{table}/rows")
def rows(
    app: str,
    env: str,
    table: str,
    who: TenantCaller,
    cp: Platform,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ExecOut:
    """A page of a table's rows."""
    name = _database(cp, who, app, env)
    return _result(
        dbservice.table_rows(cp.settings.data_dir, name, table, limit=limit, offset=offset)
    )


class SnapshotOut(BaseModel):
    """A snapshot of an environment's database."""

    id: str
    reason: str
    created_at: datetime
    size_bytes: int

    @classmethod
    def of(cls, info: dbservice.SnapshotInfo) -> SnapshotOut:
        """From the DB service's record."""
        return cls(
            id=info.id, reason=info.reason, created_at=info.created_at, size_bytes=info.size_bytes
        )


class SnapshotIn(Body):
    """``POST .../db/snapshots``."""

    reason: str = Field("manual", pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")


class RestoreOut(BaseModel):
    """What a restore did: the snapshot restored, and the one taken of the content it replaced."""

    restored: SnapshotOut
    safety_snapshot: SnapshotOut | None


@router.get("/apps/{app}/envs/{env}/db/snapshots")
def snapshots(app: str, env: str, who: TenantCaller, cp: Platform) -> list[SnapshotOut]:
    """The database's snapshots, newest first (one is taken before every migration)."""
    name = _database(cp, who, app, env)
    return [SnapshotOut.of(s) for s in dbservice.list_snapshots(cp.settings.data_dir, name)]


@router.post("/apps/{app}/envs/{env}/db/snapshots", status_code=201)
def take_snapshot(
    app: str, env: str, body: SnapshotIn, who: TenantCaller, cp: Platform
) -> SnapshotOut:
    """Take an online snapshot now (writers keep going)."""
    name = _database(cp, who, app, env)
    keep = cp.settings.databases.max_snapshots
    return SnapshotOut.of(
        dbservice.take_snapshot(cp.settings.data_dir, name, body.reason, keep=keep)
    )


@router.post("/apps/{app}/envs/{env}/db/snapshots/{snapshot}/restore")
def restore(app: str, env: str, snapshot: str, who: TenantCaller, cp: Platform) -> RestoreOut:
    """Replace the database's content with a snapshot, atomically (current content kept)."""
    name = _database(cp, who, app, env)
    data_dir = cp.settings.data_dir
    restored = SnapshotOut.of(get_snapshot(data_dir, name, snapshot))
    keep = cp.settings.databases.max_snapshots
    safety = dbservice.restore_snapshot(data_dir, name, snapshot, keep=keep)
    return RestoreOut(restored=restored, safety_snapshot=SnapshotOut.of(safety) if safety else None)
