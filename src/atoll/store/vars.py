"""Config vars and secrets per app environment: the rules a var must follow, its rows, and
the versioned history of changes (names only: no value, plain or secret, is kept there).

Every change of an environment's vars, however many keys it sets or unsets, is one new
version (1, 2, ...). The runtime compares versions to know when an environment's functions
must start again with new vars.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

from atoll.errors import BadInput, Conflict, LimitExceeded, NotFound
from atoll.store.records import EnvVars, Var, VarChange, VarsVersion
from atoll.store.tables import apps, env_var_changes, env_vars, tenants
from atoll.store.tenants import utc

KEY_RE = re.compile(r"[A-Z_][A-Z0-9_]*")
MAX_KEY_CHARS = 64
MAX_VALUE_BYTES = 32 * 1024  # one value, UTF-8
MAX_VARS = 200  # vars of one environment
# Names and values of one environment together, counted as the JSON that carries them to
# the sandbox in one control message (escapes included: a socket message of the zygote's
# holds about 200 KiB). They also become a process environment, which this bounds too.
MAX_TOTAL_BYTES = 128 * 1024
MAX_HISTORY = 1000  # changes kept per environment (the newest)

# Names the platform sets in the sandbox, or that change how the processes a function
# starts load code, libraries or locales: a var may not take them (docs/vars.md).
RESERVED_PREFIXES = ("ATOLL_", "PYTHON", "LD_", "LC_", "MALLOC_", "GLIBC_")
RESERVED_NAMES = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TMPDIR",
        "TMP",
        "TEMP",
        "SHELL",
        "USER",
        "LOGNAME",
        "PWD",
        "IFS",
        "ENV",
        "BASH_ENV",
        "GCONV_PATH",
        "LOCPATH",
        "NLSPATH",
        "HOSTALIASES",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "FTP_PROXY",
    }
)


# -- the rules (no I/O) ------------------------------------------------------------------


def _shown(key: str) -> str:
    """A key for an error message: quoted, cut short (it may be anything a caller sent)."""
    return repr(key if len(key) <= 70 else key[:67] + "...")


def check_key(key: str) -> str:
    """``key`` if it may name a var, else ``BadInput`` saying which rule it breaks."""
    if not key or len(key) > MAX_KEY_CHARS or not KEY_RE.fullmatch(key):
        raise BadInput(
            f"invalid var name {_shown(key)}: use 1-{MAX_KEY_CHARS} uppercase letters, digits "
            "and underscores, not starting with a digit (like API_KEY)",
            key=key[:MAX_KEY_CHARS],
            pattern=KEY_RE.pattern,
        )
    if key in RESERVED_NAMES or key.startswith(RESERVED_PREFIXES):
        raise BadInput(
            f"var name {key!r} is reserved: the platform sets it, or it changes how processes "
            "in the sandbox run",
            key=key,
        )
    return key


def value_bytes(key: str, value: str) -> int:
    """The UTF-8 size of a value; ``BadInput`` when it is not text a process can hold."""
    if "\x00" in value:
        raise BadInput(f"the value of {key} holds a NUL character", key=key)
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise BadInput(f"the value of {key} is not valid Unicode text", key=key) from None


def check_value(key: str, value: str) -> str:
    """``value`` if ``key`` may hold it: text, no NUL, at most ``MAX_VALUE_BYTES``."""
    size = value_bytes(key, value)
    if size > MAX_VALUE_BYTES:
        raise LimitExceeded(
            f"the value of {key} is {size} bytes; at most {MAX_VALUE_BYTES} are allowed",
            key=key,
            limit="max_var_bytes",
            max=MAX_VALUE_BYTES,
        )
    return value


def encoded_bytes(values: Mapping[str, str]) -> int:
    """The size of the vars as the JSON the runtime sends them in (``json.dumps``' escapes:
    six bytes for a control character, six or twelve for one outside ASCII)."""
    return len(json.dumps(dict(values)))


def check_totals(values: Mapping[str, str]) -> None:
    """``LimitExceeded`` when an environment would hold too many vars or bytes."""
    if len(values) > MAX_VARS:
        raise LimitExceeded(
            f"an environment holds at most {MAX_VARS} vars; this change leaves {len(values)}",
            limit="max_vars",
            max=MAX_VARS,
        )
    total = encoded_bytes(values)
    if total > MAX_TOTAL_BYTES:
        raise LimitExceeded(
            f"an environment's vars hold at most {MAX_TOTAL_BYTES} bytes (names and values, "
            f"as JSON); this change leaves {total}",
            limit="max_vars_bytes",
            max=MAX_TOTAL_BYTES,
        )


def check_change(values: Mapping[str, str], unset: Sequence[str]) -> None:
    """Check the keys and values of one change before anything is read or written."""
    if not values and not unset:
        raise BadInput("nothing to change: give vars to set or keys to unset")
    if len(values) + len(unset) > MAX_VARS:
        raise LimitExceeded(
            f"one change names at most {MAX_VARS} vars", limit="max_vars", max=MAX_VARS
        )
    for key, value in values.items():
        check_value(check_key(key), value)
    for key in unset:
        if check_key(key) in values:
            raise BadInput(f"{key} is both set and unset in one change", key=key)


# -- rows ---------------------------------------------------------------------------------


def _var(row: Any) -> Var:
    return Var(
        key=row.key,
        value=row.value,
        secret=bool(row.secret),
        version=row.version,
        updated_at=utc(row.updated_at),
        updated_by=row.updated_by,
    )


def _of_env(table: sa.Table, app_id: int, env: str) -> sa.ColumnElement[bool]:
    return sa.and_(table.c.app_id == app_id, table.c.env == env)


def list_vars(conn: sa.Connection, app_id: int, env: str) -> list[Var]:
    """The environment's vars, by key (secrets with their values: never answer those)."""
    rows = conn.execute(
        sa.select(env_vars).where(_of_env(env_vars, app_id, env)).order_by(env_vars.c.key)
    )
    return [_var(row) for row in rows]


def current_version(conn: sa.Connection, app_id: int, env: str) -> int:
    """The environment's vars version: 0 before its first change."""
    found = conn.execute(
        sa.select(sa.func.max(env_var_changes.c.version)).where(
            _of_env(env_var_changes, app_id, env)
        )
    ).scalar()
    return int(found or 0)


def _app_id(conn: sa.Connection, tenant: str, app: str) -> int | None:
    found = conn.execute(
        sa.select(apps.c.id)
        .join(tenants, tenants.c.id == apps.c.tenant_id)
        .where(tenants.c.slug == tenant, apps.c.slug == app)
    ).scalar()
    return None if found is None else int(found)


def version_of(conn: sa.Connection, tenant: str, app: str, env: str) -> int:
    """The vars version of an app environment named by slugs (0 when the app is gone)."""
    app_id = _app_id(conn, tenant, app)
    return 0 if app_id is None else current_version(conn, app_id, env)


def load_env_vars(conn: sa.Connection, tenant: str, app: str, env: str) -> EnvVars:
    """What an app environment's functions get: its vars at their current version."""
    app_id = _app_id(conn, tenant, app)
    if app_id is None:
        return EnvVars()
    found = list_vars(conn, app_id, env)
    return EnvVars(
        version=current_version(conn, app_id, env),
        values=MappingProxyType({v.key: v.value for v in found}),
        secrets=frozenset(v.key for v in found if v.secret),
    )


def change_vars(
    conn: sa.Connection,
    app_id: int,
    env: str,
    values: Mapping[str, str],
    unset: Sequence[str],
    secret: bool,
    by: str,
    at: datetime,
    keep_history: int = MAX_HISTORY,
) -> int:
    """Set ``values`` (as secrets if ``secret``) and remove ``unset`` in one new version;
    the environment's version after it (unchanged when nothing differs).

    A secret stays a secret when it is set again without ``secret``: only unsetting it
    makes its name free for a plain value (so a forgotten flag never shows a secret).
    ``NotFound`` when a key to unset is not set; nothing changes then. The newest
    ``keep_history`` changes are kept in the history.
    """
    check_change(values, unset)
    current = {v.key: v for v in list_vars(conn, app_id, env)}
    missing = [key for key in unset if key not in current]
    if missing:
        raise NotFound(f"{env} has no var {missing[0]}", key=missing[0], env=env)
    changes: list[VarChange] = []
    for key, value in values.items():
        was = current.get(key)
        keep_secret = secret or (was is not None and was.secret)
        if was is None or was.value != value or was.secret != keep_secret:
            changes.append(VarChange(key, "set", keep_secret))
    changes += [VarChange(key, "unset", current[key].secret) for key in dict.fromkeys(unset)]
    version = current_version(conn, app_id, env)
    if not changes:
        return version
    after = {key: v.value for key, v in current.items() if key not in unset}
    after.update(values)
    check_totals(after)
    version += 1
    try:
        with conn.begin_nested():
            _write(conn, app_id, env, values, changes, version, by[:200], at)
            _prune(conn, app_id, env, version - keep_history)
    except sa.exc.IntegrityError as exc:  # another change of this environment came first
        raise Conflict(f"{env}'s vars changed meanwhile; try again", env=env) from exc
    return version


def _write(
    conn: sa.Connection,
    app_id: int,
    env: str,
    values: Mapping[str, str],
    changes: list[VarChange],
    version: int,
    by: str,
    at: datetime,
) -> None:
    """Record one change (the history row first: it takes the version) and apply it."""
    listed = [{"key": c.key, "action": c.action, "secret": c.secret} for c in changes]
    conn.execute(
        sa.insert(env_var_changes).values(
            app_id=app_id,
            env=env,
            version=version,
            changes=json.dumps(listed, separators=(",", ":")),
            by=by,
            at=at,
        )
    )
    for change in changes:
        where = sa.and_(_of_env(env_vars, app_id, env), env_vars.c.key == change.key)
        if change.action == "unset":
            conn.execute(sa.delete(env_vars).where(where))
            continue
        row = {
            "value": values[change.key],
            "secret": change.secret,
            "version": version,
            "updated_at": at,
            "updated_by": by,
        }
        if not conn.execute(sa.update(env_vars).where(where).values(**row)).rowcount:
            conn.execute(sa.insert(env_vars).values(app_id=app_id, env=env, key=change.key, **row))


def _prune(conn: sa.Connection, app_id: int, env: str, up_to: int) -> None:
    """Forget the environment's changes up to version ``up_to``."""
    conn.execute(
        sa.delete(env_var_changes).where(
            _of_env(env_var_changes, app_id, env), env_var_changes.c.version <= up_to
        )
    )


def list_changes(conn: sa.Connection, app_id: int, env: str, limit: int = 100) -> list[VarsVersion]:
    """The environment's changes of vars, newest first."""
    rows = conn.execute(
        sa.select(env_var_changes)
        .where(_of_env(env_var_changes, app_id, env))
        .order_by(env_var_changes.c.version.desc())
        .limit(limit)
    )
    return [
        VarsVersion(
            version=row.version,
            changes=tuple(
                VarChange(c["key"], c["action"], bool(c["secret"])) for c in json.loads(row.changes)
            ),
            by=row.by,
            at=utc(row.at),
        )
        for row in rows
    ]
