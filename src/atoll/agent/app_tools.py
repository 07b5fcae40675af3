"""The agent's tools beyond files: the dev database (its schema, read-only SQL), the dev
logs, calling a function in dev, the builder's checks on demand, and adding a Python
dependency.

SQL from the model runs on a read-only connection with the DB service's own authorizer
(no ATTACH, no loading code) and a short time limit; schema changes go through
migrations, which the checks dry-run.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any, Literal

import httpx
from pydantic import Field

from atoll import dbservice
from atoll.dbservice.engine import Connection, split_statements
from atoll.dbservice.protocol import Stmt
from atoll.errors import BadInput, Forbidden, NotFound, Unavailable
from atoll.names import AppEnv
from atoll.runtime.requirements import requirement_line
from atoll.services import ControlPlane
from atoll.store import builds

from .autodeps import allowed
from .checks import CHECK_ENV, check_draft, describe
from .draft import Draft
from .tools import Args, Tool, bounded

SQL_TIMEOUT_S = 5.0
MAX_ROWS = 50  # rows of a query shown
MAX_CELL_CHARS = 200
MAX_LOG_ENTRIES = 50
INVOKE_TIMEOUT_S = 30.0
MAX_INVOKE_BODY = 1 << 20
MAX_INVOKE_SHOWN = 4000  # characters of a function's answer shown to the model
TOML = "atoll.toml"


class SqlArgs(Args):
    sql: str = Field(description="One read-only SQL statement (SELECT, PRAGMA table_info...).")


class LogArgs(Args):
    limit: int = Field(20, ge=1, le=MAX_LOG_ENTRIES, description="How many recent entries.")


class NoArgs(Args):
    pass


class InvokeArgs(Args):
    function: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$", description="The function's name."
    )
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    query: dict[str, str] = Field(default_factory=dict, description="Query parameters.")
    body: Any = Field(None, description="A JSON body to send (null: none).")


class DependencyArgs(Args):
    requirement: str = Field(description="A PyPI requirement, e.g. 'httpx' or 'PyYAML>=6'.")


def app_tools(draft: Draft, tenant: str) -> list[Tool]:
    """The tools over the app's dev environment and settings, bound to the turn's draft."""
    cp = draft.cp
    dev = AppEnv(tenant=tenant, app=draft.app.slug, env=CHECK_ENV)
    database = dbservice.DatabaseName.of(dev)

    def show_schema(_args: NoArgs) -> str:
        try:
            tables = dbservice.list_tables(cp.settings.data_dir, database)
        except NotFound:
            return "the dev database does not exist yet (no migration has run in dev)"
        if not tables:
            return "the dev database has no tables"
        return "\n".join(
            f"{t.name} ({t.row_count} rows): " + ", ".join(f"{c} {k}".strip() for c, k in t.columns)
            for t in tables
        )

    def run_sql(args: SqlArgs) -> str:
        statements = split_statements(args.sql)
        if len(statements) != 1:
            raise BadInput("give exactly one SQL statement")
        path = dbservice.database_path(cp.settings.data_dir, database)
        if not path.exists():
            raise NotFound("the dev database does not exist yet (no migration has run in dev)")
        limits = dbservice.EngineLimits.from_settings(cp.settings, statement_timeout=SQL_TIMEOUT_S)
        # Read-only, with the service's authorizer and limits, as tenant SQL always runs.
        conn = Connection(path, readonly=True, limits=limits, create=False)
        try:
            result = conn.execute(statements[0], Stmt(sql=statements[0], args=()), "allow")
        finally:
            conn.close()
        columns = [c.get("name") or "" for c in result["cols"]]
        rows = result["rows"]
        if not columns:
            return "no rows"
        lines = [" | ".join(columns)]
        for row in rows[:MAX_ROWS]:
            lines.append(" | ".join(_cell(v.get("value", v.get("type"))) for v in row))
        if len(rows) > MAX_ROWS:
            lines.append(f"... {len(rows) - MAX_ROWS} more rows")
        return "\n".join(lines)

    def read_logs(args: LogArgs) -> str:
        entries = cp.logs.read(dev.key, args.limit)
        if not entries:
            return "no log entries in dev yet"
        return "\n".join(_log_line(e) for e in entries)

    def invoke_function(args: InvokeArgs) -> str:
        body = None if args.body is None else json.dumps(args.body).encode()
        if body is not None and len(body) > MAX_INVOKE_BODY:
            raise BadInput(f"the body is over {MAX_INVOKE_BODY} bytes")
        host = cp.origin_host(CHECK_ENV, draft.app.slug, tenant)
        try:
            # The control plane's own gateway on this machine: no proxy, no certificates.
            with httpx.Client(
                base_url=cp.gateway_url, timeout=INVOKE_TIMEOUT_S, trust_env=False
            ) as http:
                r = http.request(
                    args.method,
                    f"/api/{args.function}",
                    params=args.query,
                    headers={"Host": host, "content-type": "application/json"},
                    content=body,
                )
        except httpx.TransportError as exc:
            raise Unavailable(f"the app gateway is not reachable: {exc}") from exc
        request_id = r.headers.get("x-atoll-request-id")
        lines = [f"{args.method} /api/{args.function} in dev: HTTP {r.status_code}"]
        lines.append(_served_by(cp, draft))
        lines.append("body: " + bounded(r.text, MAX_INVOKE_SHOWN))
        if request_id:
            entries = cp.logs.read(dev.key, MAX_LOG_ENTRIES, request_id)
            if entries:
                lines.append("its log:\n" + "\n".join(_log_line(e) for e in entries))
        return "\n".join(lines)

    def run_checks(_args: NoArgs) -> str:
        return describe(check_draft(draft, tenant))

    def add_dependency(args: DependencyArgs) -> str:
        line = requirement_line(args.requirement)  # refuses anything but a plain requirement
        if not allowed(_name(line), cp.settings.agent):
            raise Forbidden(
                f"the operator does not let the agent add {_name(line)!r} "
                "(ATOLL_AGENT_PACKAGES_ALLOW / _DENY)"
            )
        current = draft.content(TOML).decode() if draft.exists(TOML) else ""
        updated, added = with_dependency(current, line)
        if not added:
            return f"{line} is already in [python] dependencies"
        draft.write(TOML, updated.encode())
        return f"added {line} to [python] dependencies in {TOML}; the checks install it"

    return [
        Tool(
            "show_schema", "The dev database's tables, columns and row counts.", NoArgs, show_schema
        ),
        Tool(
            "run_sql",
            "Run one read-only SQL statement on the dev database (change the schema with a "
            "migration file in migrations/ instead).",
            SqlArgs,
            run_sql,
        ),
        Tool("read_logs", "Recent entries of the dev environment's log.", LogArgs, read_logs),
        Tool(
            "invoke_function",
            "Call a function of the app as dev serves it now (the last committed build: "
            "edits of this turn are not in it until the turn ends); its answer and log.",
            InvokeArgs,
            invoke_function,
        ),
        Tool(
            "run_checks",
            "Check the app as it is now in this turn, as a build would (they also run after "
            "every batch of edits).",
            NoArgs,
            run_checks,
        ),
        Tool(
            "add_dependency",
            "Add a PyPI package to the app's [python] dependencies (installed by the checks).",
            DependencyArgs,
            add_dependency,
        ),
    ]


_DEPENDENCIES = re.compile(r"^dependencies\s*=\s*\[(?P<items>[^\]]*)\]", re.MULTILINE)
_SECTION = re.compile(r"^\[python\]\s*$", re.MULTILINE)


def with_dependency(toml: str, line: str) -> tuple[str, bool]:
    """``toml`` (an ``atoll.toml``) with ``line`` in its ``[python] dependencies``, and whether
    it was added (False: a requirement of that name is there already). The rest of the file
    is kept as written."""
    try:
        parsed = tomllib.loads(toml)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{TOML} does not parse ({exc}): fix it first") from None
    python = parsed.get("python", {})
    existing = python.get("dependencies", []) if isinstance(python, dict) else []
    name = _name(line)
    if any(isinstance(e, str) and _name(e) == name for e in existing):
        return toml, False
    section = _SECTION.search(toml)
    if section is None:
        prefix = toml if not toml or toml.endswith("\n") else toml + "\n"
        return prefix + f"\n[python]\ndependencies = [{json.dumps(line)}]\n", True
    rest = toml[section.end() :]
    next_section = re.search(r"^\[", rest, re.MULTILINE)
    body = rest[: next_section.start()] if next_section else rest
    found = _DEPENDENCIES.search(body)
    if found is None:
        at = section.end()
        return toml[:at] + f"\ndependencies = [{json.dumps(line)}]" + toml[at:], True
    items = [e for e in existing if isinstance(e, str)] + [line]
    start = section.end() + found.start()
    end = section.end() + found.end()
    listed = ", ".join(json.dumps(e) for e in items)
    return toml[:start] + f"dependencies = [{listed}]" + toml[end:], True


def _name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else requirement


def _served_by(cp: ControlPlane, draft: Draft) -> str:
    """Which revision dev runs, said against the turn's own edits."""
    with cp.engine.connect() as conn:
        build = builds.get_build(conn, draft.app.id, CHECK_ENV)
    live = build.live_revision if build is not None else None
    if live is None:
        return "dev serves no build yet"
    said = f"dev serves revision {live[:12]}"
    if draft.changed_paths():
        said += "; this turn's edits are not in it (they are built when the turn ends)"
    elif draft.base is not None and live != draft.base.id:
        said += f"; the workspace head {draft.base.id[:12]} is not built yet"
    return said


def _cell(value: Any) -> str:
    text = f"<{len(value)} bytes>" if isinstance(value, bytes) else str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "..."


def _log_line(entry: dict[str, Any]) -> str:
    parts = [str(entry.get(k)) for k in ("kind", "function", "status") if entry.get(k) is not None]
    text = entry.get("text") or entry.get("error") or entry.get("stderr") or ""
    return " ".join(parts) + (f": {str(text)[:500]}" if text else "")
