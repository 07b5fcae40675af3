"""Turns with their checkpoints: history, undo of files and the dev database, one turn at
a time per app, and turns a stop cut short."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from atoll import dbservice
from atoll.agent.provider import ChatProvider, ModelSettings
from atoll.agent.session import Agent
from atoll.errors import Conflict, NotFound
from atoll.names import AppEnv
from atoll.services import ControlPlane
from atoll.store import agent as turn_repo
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App
from atoll.workspace import Change
from tests.agent.fake_llm import Answer, fake_llm

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

HELLO = 'def get() -> str:\n    return "hello"\n'
DEV = dbservice.DatabaseName.of(AppEnv(tenant="acme", app="shop", env="dev"))


def _app(cp: ControlPlane) -> App:
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        return app_repo.get_app(conn, tenant.id, "shop")


@pytest.fixture
def shop(cp: ControlPlane, client: TestClient, acme: dict[str, str]) -> App:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    app = _app(cp)
    blob = cp.workspaces.put_blob(app, b"X = 1\n")
    cp.workspaces.commit(app, None, [Change("functions/util.py", blob)], "u", "start")
    dbservice.create_database(cp.settings.data_dir, DEV)
    dbservice.exec_sql(
        cp.settings.data_dir, DEV, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('a')"
    )
    return _app(cp)


@pytest.fixture
def agent(cp: ControlPlane) -> Iterator[tuple[Agent, list[Answer]]]:
    answers: list[Answer] = []
    with fake_llm(answers) as (url, _script):
        settings = ModelSettings(base_url=url, model="fake", retries=0)
        yield Agent(cp, lambda _tenant: ChatProvider(settings)), answers


def write(path: str, content: str) -> tuple[str, str, str]:
    return (
        f"call_{abs(hash(path)) % 10**6}",
        "write_file",
        json.dumps({"path": path, "content": content}),
    )


def test_undo_puts_back_files_and_the_dev_database(
    cp: ControlPlane, shop: App, agent: tuple[Agent, list[Answer]]
) -> None:
    runner, answers = agent
    answers += [Answer(calls=[write("functions/hello.py", HELLO)]), Answer(text="Added hello.")]
    number, result = runner.run("acme", shop, "add a hello function", "acme/default")
    assert (number, result.outcome) == (1, "done")
    app = _app(cp)
    assert app.head_revision == result.revision.id and "functions/hello.py" in result.revision.tree
    # What a dev build of the turn's migration would do to the database.
    dbservice.exec_sql(cp.settings.data_dir, DEV, "ALTER TABLE notes ADD COLUMN at TEXT")
    [turn] = runner.history(app)
    assert (turn.number, turn.outcome, turn.summary, turn.undone_at) == (
        1,
        "done",
        "Added hello.",
        None,
    )
    assert turn.snapshot is not None and turn.base_revision == shop.head_revision

    undone = runner.undo("acme", app, "acme/default")
    assert undone.turn.number == 1 and undone.database_restored
    head = _app(cp)
    assert head.head_revision == undone.revision.id
    assert set(undone.revision.tree) == {"functions/util.py"}
    assert undone.revision.message == "undo agent turn 1"
    tables = dbservice.list_tables(cp.settings.data_dir, DEV)
    assert [(t.name, [c for c, _ in t.columns], t.row_count) for t in tables] == [
        ("notes", ["body"], 1)
    ]
    assert runner.history(head)[0].undone_at is not None
    with pytest.raises(NotFound):
        runner.undo("acme", head, "acme/default")  # nothing left to undo


def test_undo_refuses_to_overwrite_newer_work(
    cp: ControlPlane, shop: App, agent: tuple[Agent, list[Answer]]
) -> None:
    runner, answers = agent
    answers += [Answer(calls=[write("functions/hello.py", HELLO)]), Answer(text="ok")]
    runner.run("acme", shop, "add hello", "acme/default")
    app = _app(cp)
    blob = cp.workspaces.put_blob(app, b"Y = 2\n")
    cp.workspaces.commit(app, app.head_revision, [Change("functions/util.py", blob)], "u", "mine")
    with pytest.raises(Conflict) as info:
        runner.undo("acme", _app(cp), "acme/default")
    assert "changed after agent turn 1" in info.value.message


def test_a_failed_turn_is_recorded_and_one_turn_runs_at_a_time(
    cp: ControlPlane, shop: App, agent: tuple[Agent, list[Answer]]
) -> None:
    runner, answers = agent
    answers.append(Answer(status=401, error="bad key"))
    with pytest.raises(Exception, match="refused the key"):
        runner.run("acme", shop, "anything", "acme/default")
    [turn] = runner.history(shop)
    assert turn.outcome == "failed" and turn.revision is None
    runner._busy.add(shop.id)  # another turn of the app is running
    with pytest.raises(Conflict):
        runner.run("acme", shop, "again", "acme/default")


def test_turns_a_stop_cut_short_are_failed_at_the_next_start(
    cp: ControlPlane, shop: App, agent: tuple[Agent, list[Answer]]
) -> None:
    runner, _ = agent
    with cp.engine.begin() as conn:
        turn_repo.start_turn(conn, shop.id, "p", None, None, "a", tenant_repo.now())
    assert runner.recover() == 1
    [turn] = runner.history(shop)
    assert (turn.outcome, turn.summary) == ("failed", turn_repo.CUT_SHORT)
