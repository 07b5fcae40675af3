"""An app environment's config vars and secrets: list, set, unset, and their history.

Secrets are write-only: no route answers a secret's value (nor its length); the runtime
alone hands it to the environment's functions. Every change is one new version, and the
gateway serves the next request with the new vars at once. Nothing here logs a request
body.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool

from atoll.api.apps import find_app
from atoll.api.auth import Platform, TenantCaller
from atoll.api.schemas import Body
from atoll.errors import BadInput, InvalidName, Unavailable
from atoll.names import check_slug
from atoll.services import ControlPlane
from atoll.store import envs as env_repo
from atoll.store import tenants as tenant_repo
from atoll.store import vars as repo
from atoll.store.records import App, Var, VarsVersion

router = APIRouter(tags=["config vars"])
log = logging.getLogger("atoll.api")


class VarsIn(Body):
    """``POST /apps/{app}/envs/{env}/vars``: one change, one new version."""

    vars: dict[str, str] = Field(
        default_factory=dict, description="Vars to set: name -> value (text, no NUL)."
    )
    secret: StrictBool = Field(
        False,
        description="Set them as secrets: never shown again, masked in logs. A secret set "
        "again stays a secret.",
    )
    unset: list[str] = Field(default_factory=list, description="Names of vars to remove.")


class VarOut(BaseModel):
    """One var; a secret's ``value`` is always null."""

    key: str
    secret: bool
    value: str | None
    version: int = Field(description="The version that last set it.")
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, var: Var) -> VarOut:
        """From a store record, the value of a secret left out."""
        return cls(
            key=var.key,
            secret=var.secret,
            value=None if var.secret else var.value,
            version=var.version,
            updated_at=var.updated_at,
            updated_by=var.updated_by,
        )


class VarsOut(BaseModel):
    """An environment's vars at its current version."""

    env: str
    version: int
    vars: list[VarOut]


class VarChangeOut(BaseModel):
    """One key of a change (never its value)."""

    key: str
    action: Literal["set", "unset"]
    secret: bool


class VarsVersionOut(BaseModel):
    """One change of an environment's vars."""

    version: int
    changes: list[VarChangeOut]
    by: str
    at: datetime

    @classmethod
    def of(cls, change: VarsVersion) -> VarsVersionOut:
        """From a store record."""
        return cls(
            version=change.version,
            changes=[
                VarChangeOut(key=c.key, action=c.action, secret=c.secret) for c in change.changes
            ],
            by=change.by,
            at=change.at,
        )


class VarsHistory(BaseModel):
    """An environment's changes of vars, newest first."""

    env: str
    changes: list[VarsVersionOut]


def _environment(cp: ControlPlane, tenant_id: int, app: str, env: str) -> App:
    """The caller's app, once ``env`` is known to be one of its environments."""
    try:
        check_slug(env, "environment")
    except InvalidName as exc:
        raise BadInput(exc.message, **exc.detail) from None
    found = find_app(cp, tenant_id, app)
    with cp.engine.connect() as conn:
        env_repo.check_app_environment(conn, found, env)
    return found


def _listing(cp: ControlPlane, app: App, env: str) -> VarsOut:
    with cp.engine.connect() as conn:
        version = repo.current_version(conn, app.id, env)
        found = repo.list_vars(conn, app.id, env)
    return VarsOut(env=env, version=version, vars=[VarOut.of(v) for v in found])


def _change(
    cp: ControlPlane,
    app: App,
    env: str,
    values: dict[str, str],
    unset: list[str],
    secret: bool,
    by: str,
) -> VarsOut:
    try:
        with cp.engine.begin() as conn:
            repo.change_vars(conn, app.id, env, values, unset, secret, by, tenant_repo.now())
    except sa.exc.SQLAlchemyError as exc:
        # Its text quotes the statement's parameters, secrets among them: never logged.
        log.error("the vars of app %s in %s were not changed: %s", app.id, env, type(exc).__name__)
        raise Unavailable("the change could not be stored; try again") from None
    cp.workspaces.changed()  # the gateway looks again at once: new calls get the new vars
    return _listing(cp, app, env)


@router.get("/apps/{app}/envs/{env}/vars")
def list_vars(app: str, env: str, who: TenantCaller, cp: Platform) -> VarsOut:
    """The environment's vars and their version; secrets are listed with a null value."""
    assert who.tenant is not None
    return _listing(cp, _environment(cp, who.tenant.id, app, env), env)


@router.post("/apps/{app}/envs/{env}/vars")
def change_vars(app: str, env: str, body: VarsIn, who: TenantCaller, cp: Platform) -> VarsOut:
    """Set and unset vars in one new version; the environment's functions get them from
    the next call on (calls under way finish with the old ones)."""
    assert who.tenant is not None
    found = _environment(cp, who.tenant.id, app, env)
    return _change(cp, found, env, body.vars, body.unset, body.secret, who.author)


@router.delete("/apps/{app}/envs/{env}/vars/{key}")
def unset_var(app: str, env: str, key: str, who: TenantCaller, cp: Platform) -> VarsOut:
    """Remove one var (a new version)."""
    assert who.tenant is not None
    found = _environment(cp, who.tenant.id, app, env)
    return _change(cp, found, env, {}, [key], False, who.author)


@router.get("/apps/{app}/envs/{env}/vars/history")
def vars_history(app: str, env: str, who: TenantCaller, cp: Platform) -> VarsHistory:
    """The environment's changes of vars, newest first (at most 100): who set or unset
    which names, when. Values are never kept there."""
    assert who.tenant is not None
    found = _environment(cp, who.tenant.id, app, env)
    with cp.engine.connect() as conn:
        changes = repo.list_changes(conn, found.id, env)
    return VarsHistory(env=env, changes=[VarsVersionOut.of(c) for c in changes])
