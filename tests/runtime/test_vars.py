"""An environment's vars in real sandboxes: in ``os.environ`` and ``atoll.vars`` before the
app's modules run, secrets masked in everything kept of a call, and new vars served by
new workers while the old ones drain."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from atoll.errors import TenantCodeError
from atoll.runtime import AppRef, InvokeResponse
from atoll.store import vars as vars_repo

from .conftest import Harness
from .test_lifecycle import wait_until

pytestmark = pytest.mark.sandbox

SECRET = "s3cr3t-Value-9f2"
PEEK = """
import hashlib
import os
import sys

import atoll

AT_IMPORT = os.environ.get("TOKEN")  # vars are there before the app's modules run


def _digest(value):
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


def get():
    token = atoll.vars["TOKEN"]
    print("the token is", token)
    print("on stderr:", os.environ["TOKEN"], file=sys.stderr)
    os.write(1, ("written to fd 1: " + token + "\\n").encode())
    atoll.log.info("token " + token, token=token)
    try:
        atoll.vars["TOKEN"] = "changed"
        writable = True
    except TypeError:
        writable = False
    return {
        "environ": _digest(os.environ.get("TOKEN")),
        "sdk": _digest(token),
        "at_import": _digest(AT_IMPORT),
        "plain": os.environ.get("GREETING"),
        "home": os.environ["HOME"],
        "writable": writable,
    }


def post():
    raise ValueError("bad token " + atoll.vars["TOKEN"])
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _with_vars(ref: AppRef, token: str) -> AppRef:
    values = {"TOKEN": token, "GREETING": "hello"}
    return dataclasses.replace(ref, vars=values, secrets=frozenset({"TOKEN"}))


def _ok(result: object) -> InvokeResponse:
    assert isinstance(result, InvokeResponse), result
    return result


def test_vars_reach_functions_and_secrets_are_masked_in_what_is_kept(rt: Harness) -> None:
    ref = _with_vars(rt.app("varsmask", {"functions/peek.py": PEEK}), SECRET)
    resp = _ok(rt.call(ref, "/api/peek"))
    got = resp.json()
    assert isinstance(got, dict)
    assert got["environ"] == got["sdk"] == got["at_import"] == _digest(SECRET)
    assert (got["plain"], got["home"], got["writable"]) == ("hello", "/tmp", False)

    [entry] = rt.runtime.logs.read(ref.key, request_id=resp.request_id)
    assert SECRET not in json.dumps(entry)
    assert "the token is ***" in entry["stdout"] and "written to fd 1: ***" in entry["stdout"]
    assert "on stderr: ***" in entry["stderr"]
    assert entry["logs"][0]["message"] == "token ***"
    assert entry["logs"][0]["fields"] == {"token": "***"}

    # An error in dev carries its message and traceback to the caller: both masked.
    err = rt.call(ref, "/api/peek", "POST")
    assert isinstance(err, TenantCodeError) and err.message == "ValueError: bad token ***"
    assert "Traceback" in err.detail["traceback"]
    assert SECRET not in json.dumps(err.detail)
    [failed] = rt.runtime.logs.read(ref.key, request_id=str(err.detail["request_id"]))
    assert SECRET not in json.dumps(failed) and "***" in failed["error"]

    rt.runtime.logs.flush()
    path = rt.runtime.settings.data_dir / "logs" / f"{ref.key}.jsonl"
    assert resp.request_id in path.read_text() and SECRET not in path.read_text()


def test_new_vars_start_new_workers_and_the_old_ones_drain(rt: Harness) -> None:
    first = _with_vars(rt.app("varsswap", {"functions/peek.py": PEEK}), "first-Secret-1")
    before = _ok(rt.call(first, "/api/peek")).json()
    assert isinstance(before, dict) and before["sdk"] == _digest("first-Secret-1")
    old = rt.runtime.apps[first.key]

    second = _with_vars(first, "second-Secret-2")  # same release, new vars
    after = _ok(rt.call(second, "/api/peek")).json()
    assert isinstance(after, dict) and after["sdk"] == _digest("second-Secret-2")
    assert rt.runtime.apps[second.key] is not old
    wait_until(lambda: old.closed)
    # Calls with the same vars keep the instance.
    current = rt.runtime.apps[second.key]
    _ok(rt.call(_with_vars(first, "second-Secret-2"), "/api/peek"))
    assert rt.runtime.apps[second.key] is current


SIZES = """
import os

import atoll


def get():
    return {
        "sdk": {k: len(v) for k, v in atoll.vars.items()},
        "environ": {k: len(os.environ[k]) for k in atoll.vars},
    }
"""


def test_as_many_vars_as_the_limits_allow_reach_the_sandbox(rt: Harness) -> None:
    # The costliest characters to carry: six bytes each as JSON (control), twelve (emoji).
    value = "\x01" * 2000 + "\U0001f511" * 1000
    values: dict[str, str] = {}
    while True:
        more = {**values, f"K{len(values)}": value}
        if vars_repo.encoded_bytes(more) > vars_repo.MAX_TOTAL_BYTES:
            break
        values = more
    vars_repo.check_totals(values)  # accepted by the store
    assert vars_repo.encoded_bytes(values) > vars_repo.MAX_TOTAL_BYTES - 24_000
    ref = dataclasses.replace(rt.app("varsbig", {"functions/sizes.py": SIZES}), vars=values)
    got = _ok(rt.call(ref, "/api/sizes")).json()
    sizes = {key: len(v) for key, v in values.items()}
    assert got == {"sdk": sizes, "environ": sizes}
