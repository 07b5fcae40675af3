"""Agent turns against a scripted chat-completions server over real HTTP: edits checked by
the builder and fed back, one revision per good turn, and the limits that stop a turn."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from atoll.agent.draft import Draft, ReadLedger
from atoll.agent.provider import ChatProvider, ModelSettings
from atoll.agent.turn import Event, Limits, Turn
from atoll.services import ControlPlane
from atoll.store import apps as app_repo
from atoll.store import tenants as tenant_repo
from atoll.store.records import App
from atoll.workspace import Change
from tests.agent.fake_llm import Answer, Script, fake_llm

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

HELLO = 'def get(name: str = "world") -> dict[str, str]:\n    return {"hello": name}\n'
PAGE = json.dumps(
    {"schemaVersion": 1, "title": "Hi", "root": {"type": "Heading", "props": {"text": "Hi"}}}
)


def _app(cp: ControlPlane) -> App:
    with cp.engine.connect() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        return app_repo.get_app(conn, tenant.id, "shop")


@pytest.fixture
def shop(cp: ControlPlane, client: TestClient, acme: dict[str, str]) -> App:
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    return _app(cp)


def call(name: str, **args: object) -> tuple[str, str, str]:
    return (
        f"call_{name}_{abs(hash(json.dumps(args, sort_keys=True))) % 10**8}",
        name,
        json.dumps(args),
    )


@pytest.fixture
def run(cp: ControlPlane) -> Iterator[object]:
    providers: list[ChatProvider] = []

    def go(
        app: App,
        answers: list[Answer],
        prompt: str = "make it",
        limits: Limits | None = None,
        stop_after: int | None = None,
        ledger: ReadLedger | None = None,
    ) -> tuple[object, Script, list[Event]]:
        events: list[Event] = []
        with fake_llm(answers) as (url, script):
            provider = ChatProvider(ModelSettings(base_url=url, model="fake", retries=0))
            providers.append(provider)
            draft = Draft.of_head(cp, app, ledger)
            steps = [0]

            def should_stop() -> bool:
                steps[0] += 1
                return stop_after is not None and steps[0] > stop_after

            turn = Turn(provider, draft, "acme", "You build Atoll apps.", limits=limits,
                        on_event=events.append, should_stop=should_stop)  # fmt: skip
            return turn.run(prompt), script, events

    yield go
    for provider in providers:
        provider.close()


def test_a_turn_builds_files_and_commits_them_as_one_revision(
    cp: ControlPlane, shop: App, run: object
) -> None:
    answers = [
        Answer(
            text="Writing the app.",
            calls=[
                call("write_file", path="functions/hello.py", content=HELLO),
                call("write_file", path="pages/index.json", content=PAGE),
            ],
        ),
        Answer(text="Done: a hello function and a page."),
    ]
    result, script, events = run(shop, answers)  # type: ignore[operator]
    assert result.outcome == "done", result
    assert result.changed == ["functions/hello.py", "pages/index.json"]
    app = _app(cp)
    assert app.head_revision == result.revision.id and app.revision_count == 1
    assert result.revision.message == "Done: a hello function and a page."
    # The checks' verdict went back to the model before it could end the turn.
    second = script.requests[1]["messages"]
    assert second[-1] == {
        "role": "user",
        "content": "Checks after your edits: all checks passed: the app builds",
    }
    assert [m["role"] for m in second[-3:-1]] == ["tool", "tool"]
    kinds = [e.kind for e in events]
    assert kinds.count("tool_call") == 2 and kinds.count("checks") == 1 and kinds[-1] == "done"


def test_check_errors_go_back_to_the_model_which_fixes_them(
    cp: ControlPlane, shop: App, run: object
) -> None:
    broken = "def get(:\n    return 1\n"
    bad_sql = "CREATE TABLE notes (body TEXT;\n"
    answers = [
        Answer(
            calls=[
                call("write_file", path="functions/hello.py", content=broken),
                call("write_file", path="migrations/0001_init.sql", content=bad_sql),
            ]
        ),  # fmt: skip
        Answer(
            calls=[
                call(
                    "edit_file", path="functions/hello.py", search="def get(:", replace="def get():"
                ),
                call(
                    "edit_file", path="migrations/0001_init.sql", search="TEXT;", replace="TEXT);"
                ),
            ]
        ),  # fmt: skip
        Answer(text="Fixed."),
    ]
    result, script, _ = run(shop, answers)  # type: ignore[operator]
    assert result.outcome == "done", result
    told = script.requests[1]["messages"][-1]["content"]
    assert told.startswith("Checks after your edits: 2 problem(s):")
    assert "functions/hello.py:1:" in told and "SyntaxError" in told
    assert "migrations/0001_init.sql:1:" in told and "dry run on a copy of" in told
    assert script.requests[2]["messages"][-1]["content"].endswith("the app builds")
    data, _, _ = cp.workspaces.read(_app(cp), "migrations/0001_init.sql")
    assert data == b"CREATE TABLE notes (body TEXT);\n"


def test_an_edit_of_an_unread_file_is_refused_then_accepted(
    cp: ControlPlane, shop: App, run: object
) -> None:
    blob = cp.workspaces.put_blob(shop, HELLO.encode())
    cp.workspaces.commit(shop, None, [Change("functions/hello.py", blob)], "u", "start")
    edit = call("edit_file", path="functions/hello.py", search='"world"', replace='"there"')
    answers = [
        Answer(calls=[edit]),
        Answer(calls=[call("read_file", path="functions/hello.py")]),
        Answer(calls=[(edit[0] + "b", edit[1], edit[2])]),
        Answer(text="Changed the default name."),
    ]
    result, script, _ = run(_app(cp), answers)  # type: ignore[operator]
    assert result.outcome == "done", result
    refused = script.requests[1]["messages"][-1]
    assert refused["role"] == "tool" and "was not read in this conversation" in refused["content"]
    data, _, _ = cp.workspaces.read(_app(cp), "functions/hello.py")
    assert b'"there"' in data


def test_a_looping_model_is_stopped_and_commits_nothing(
    cp: ControlPlane, shop: App, run: object
) -> None:
    write = call("write_file", path="functions/hello.py", content=HELLO)
    looping = [Answer(calls=[write])] + [Answer(calls=[call("list_files")]) for _ in range(5)]
    result, script, _ = run(shop, looping)  # type: ignore[operator]
    assert result.outcome == "stuck" and "the same list_files call four times" in result.summary
    assert "nothing was committed" in result.summary and result.revision is None
    assert _app(cp).head_revision is None
    # Two calls alternating are stuck too.
    a, b = call("list_files"), call("search", pattern="x")
    pingpong = [Answer(calls=[c]) for c in (a, b, a, b, a, b, a)]
    result, _, _ = run(shop, pingpong)  # type: ignore[operator]
    assert result.outcome == "stuck" and "alternating" in result.summary


def test_the_same_error_three_times_stops_the_turn(
    cp: ControlPlane, shop: App, run: object
) -> None:
    answers = [Answer(calls=[call("write_file", path="functions/a.py", content="def (:\n")])]
    for n in range(5):  # each "fix" leaves the same error
        answers.append(
            Answer(calls=[call("write_file", path=f"functions/b{n}.py", content="X = 1\n")])
        )
    result, _, _ = run(shop, answers)  # type: ignore[operator]
    assert result.outcome == "stuck" and "the same error three times" in result.summary
    assert result.errors and result.errors[0].file == "functions/a.py"
    assert _app(cp).head_revision is None


def test_a_turn_stopped_in_the_middle_commits_nothing(
    cp: ControlPlane, shop: App, run: object
) -> None:
    answers = [
        Answer(calls=[call("write_file", path="functions/hello.py", content=HELLO)]),
        Answer(text="never asked for"),
    ]
    result, script, _ = run(shop, answers, stop_after=1)  # type: ignore[operator]
    assert result.outcome == "stopped" and result.changed == ["functions/hello.py"]
    assert len(script.requests) == 1 and _app(cp).head_revision is None


def test_step_and_token_limits(cp: ControlPlane, shop: App, run: object) -> None:
    chatty = [Answer(calls=[call("search", pattern=f"p{n}")]) for n in range(5)]
    result, _, _ = run(shop, chatty, limits=Limits(max_steps=3))  # type: ignore[operator]
    assert result.outcome == "limit" and "after 3 steps" in result.summary
    costly = [Answer(text="hmm", calls=[call("list_files")], usage=(900, 200))]
    result, _, _ = run(shop, costly, limits=Limits(max_tokens=1000))  # type: ignore[operator]
    assert result.outcome == "limit" and "token budget" in result.summary
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (900, 200)
    priced = [Answer(calls=[call("search", pattern=f"q{n}")], cost=0.4) for n in range(5)]
    result, _, events = run(shop, priced, limits=Limits(max_cost_usd=1.0))  # type: ignore[operator]
    assert result.outcome == "limit" and "cost budget ($1) ran out" in result.summary
    assert result.steps == 3 and result.usage.cost_usd == pytest.approx(1.2)
    assert [e.data["cost_usd"] for e in events if e.kind == "usage"] == [0.4, 0.8, 1.2]
