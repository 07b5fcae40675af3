"""A tenant's own model for the agent: set through the API, used by its turns only, its key
never answered, and its URL held to public addresses unless the operator allows others."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from atoll.config import AgentSettings
from atoll.services import ControlPlane
from atoll.store import agent as turn_repo
from atoll.store import tenants as tenant_repo
from tests.agent.fake_llm import Answer, Script, fake_llm

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

HELLO = 'def get() -> str:\n    return "hello"\n'
MODEL = "/api/v1/agent/model"


@pytest.fixture
def private_ok(cp: ControlPlane) -> None:
    """The operator lets tenants use model servers on this machine (the fake one is here)."""
    agent = AgentSettings(tenant_model_private_hosts=True)
    cp.settings = cp.settings.model_copy(update={"agent": agent})


@pytest.fixture
def model() -> Iterator[tuple[str, list[Answer], Script]]:
    answers: list[Answer] = []
    with fake_llm(answers) as (url, script):
        yield url, answers, script


def _turn(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> list[Any]:
    with client.stream("POST", "/api/v1/apps/shop/agent/turns", json=body, headers=headers) as r:
        assert r.status_code == 200, r.read()
        return [json.loads(x[6:]) for x in r.iter_lines() if x.startswith("data: ")]


def test_a_tenants_model_is_used_for_its_turns_only_and_its_key_never_shown(
    client: TestClient,
    acme: dict[str, str],
    globex: dict[str, str],
    private_ok: None,
    model: tuple[str, list[Answer], Script],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, answers, script = model
    monkeypatch.delenv("ATOLL_LLM_BASE_URL", raising=False)
    monkeypatch.delenv("ATOLL_LLM_MODEL", raising=False)
    assert client.get(MODEL, headers=acme).json() == {"source": "server", "configured": False}
    own = {
        "base_url": url,
        "model": "acme-coder",
        "api_key": "sk-acme-secret",
        "price_input": 2.0,
        "price_output": 8.0,
    }
    r = client.put(MODEL, json=own, headers=acme)
    assert r.status_code == 200, r.text
    shown = client.get(MODEL, headers=acme).json()
    assert shown["source"] == "tenant" and shown["model"] == "acme-coder"
    assert shown["api_key_set"] is True and "sk-acme-secret" not in json.dumps(shown)
    assert shown["updated_by"] == "acme/default"
    # Another tenant neither sees it nor uses it.
    assert client.get(MODEL, headers=globex).json() == {"source": "server", "configured": False}
    for headers in (acme, globex):
        assert client.post("/api/v1/apps", json={"name": "shop"}, headers=headers).status_code
    r = client.post("/api/v1/apps/shop/agent/turns", json={"prompt": "hi"}, headers=globex)
    assert r.status_code == 409 and r.json()["error"]["code"] == "model_not_configured"

    write = json.dumps({"path": "functions/hello.py", "content": HELLO})
    answers += [
        Answer(calls=[("c1", "write_file", write)], usage=(1000, 100)),
        Answer(text="Added.", usage=(1500, 50)),
    ]
    events = _turn(client, acme, {"prompt": "add hello"})
    result = events[-1]
    assert result["outcome"] == "done", result
    assert result["cost_usd"] == pytest.approx((2500 * 2.0 + 150 * 8.0) / 1e6)
    assert {r["model"] for r in script.requests} == {"acme-coder"}
    assert {h["authorization"] for h in script.headers} == {"Bearer sk-acme-secret"}
    [turn] = client.get("/api/v1/apps/shop/agent/turns", headers=acme).json()
    assert turn["cost_usd"] == result["cost_usd"]

    assert client.delete(MODEL, headers=acme).json() == {"deleted": True}
    assert client.delete(MODEL, headers=acme).json() == {"deleted": False}
    assert client.get(MODEL, headers=acme).json()["source"] == "server"


def test_a_turn_stops_at_its_cost_budget_never_above_the_operators(
    cp: ControlPlane,
    client: TestClient,
    acme: dict[str, str],
    private_ok: None,
    model: tuple[str, list[Answer], Script],
) -> None:
    url, answers, _ = model
    capped = cp.settings.agent.model_copy(update={"max_cost_usd": 0.5})
    cp.settings = cp.settings.model_copy(update={"agent": capped})
    own = {"base_url": url, "model": "m", "price_input": 1000.0}
    assert client.put(MODEL, json=own, headers=acme).status_code == 200
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    search = json.dumps({"pattern": "x"})
    answers += [Answer(calls=[(f"c{n}", "search", search)], usage=(400, 0)) for n in range(4)]
    # Asking for more than the operator allows gets the operator's limit.
    events = _turn(client, acme, {"prompt": "look", "max_cost_usd": 100})
    assert events[-1]["outcome"] == "limit" and "cost budget ($0.5)" in events[-1]["summary"]
    assert events[-1]["steps"] == 2


@pytest.mark.parametrize(
    ("body", "status", "said"),
    [
        ({"base_url": "ftp://models.example/v1", "model": "m"}, 422, "http(s) URL"),
        ({"base_url": "https://u:p@models.example/v1", "model": "m"}, 422, "credentials"),
        ({"base_url": "https://models.example/v1\r\nX: y", "model": "m"}, 422, "spaces or"),
        ({"base_url": "https://models.example/v1", "model": " "}, 422, "model must be"),
        ({"base_url": "https://models.example/v1", "model": "m\x00"}, 422, "model must be"),
        ({"base_url": "https://x/" + "a" * 2000, "model": "m"}, 422, ""),
        ({"base_url": "https://models.example/v1", "model": "m", "price_input": -1}, 422, ""),
        ({"base_url": "https://models.example/v1", "model": "m", "extra": 1}, 422, ""),
        ({"base_url": "http://127.0.0.1:8000/v1", "model": "m"}, 403, "non-public address"),
        ({"base_url": "http://[::1]:9/v1", "model": "m"}, 403, "non-public address"),
        ({"base_url": "http://169.254.169.254/v1", "model": "m"}, 403, "non-public address"),
        ({"base_url": "http://localhost/v1", "model": "m"}, 403, "non-public address"),
        ({"base_url": "http://10.1.2.3/v1", "model": "m"}, 403, "PRIVATE_HOSTS=true"),
        ({"base_url": "http://no-such-host.invalid/v1", "model": "m"}, 422, "does not resolve"),
    ],
)
def test_bad_model_settings_are_refused(
    client: TestClient, acme: dict[str, str], body: dict[str, Any], status: int, said: str
) -> None:
    r = client.put(MODEL, json=body, headers=acme)
    assert r.status_code == status, r.text
    assert said in r.text
    assert client.get(MODEL, headers=acme).json()["source"] == "server"


def test_a_stored_url_that_now_resolves_privately_is_refused_at_connect(
    cp: ControlPlane,
    client: TestClient,
    acme: dict[str, str],
    model: tuple[str, list[Answer], Script],
) -> None:
    # As if the name resolved publicly when it was set and privately now (DNS rebinding):
    # the check runs again on every request, before connecting.
    url, answers, script = model
    answers.append(Answer(text="never"))
    with cp.engine.begin() as conn:
        tenant = tenant_repo.get_tenant(conn, "acme")
        turn_repo.set_model(
            conn,
            turn_repo.AgentModel(tenant.id, url, "m", "", 0.0, 0.0, tenant_repo.now(), "x"),
        )
    assert client.post("/api/v1/apps", json={"name": "shop"}, headers=acme).status_code == 201
    events = _turn(client, acme, {"prompt": "hi"})
    assert events[-1]["kind"] == "error" and "non-public address" in events[-1]["message"]
    assert script.requests == []


def test_the_operator_can_keep_the_model_to_itself(
    cp: ControlPlane, client: TestClient, acme: dict[str, str]
) -> None:
    agent = cp.settings.agent.model_copy(update={"tenant_models": False})
    cp.settings = cp.settings.model_copy(update={"agent": agent})
    body = {"base_url": "https://models.example/v1", "model": "m"}
    r = client.put(MODEL, json=body, headers=acme)
    assert r.status_code == 403 and "does not let tenants" in r.text
    assert client.get(MODEL, headers={}).status_code == 401
    assert client.put(MODEL, json=body, headers={}).status_code == 401


def test_the_guarded_client_connects_to_the_address_it_checked(
    model: tuple[str, list[Answer], Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    # "models.test" resolves nowhere: the request reaches the fake server only because the
    # transport connects to the address its own check returned, keeping the name as Host.
    from atoll.agent import models

    url, answers, script = model
    port = url.split(":")[2].split("/")[0]
    checked: list[tuple[str, int]] = []

    def public_address(host: str, port: int) -> str:
        checked.append((host, port))
        return "127.0.0.1"

    monkeypatch.setattr(models, "public_address", public_address)
    answers.append(Answer(text="hello"))
    settings = models.ModelSettings(f"http://models.test:{port}/v1", "m", retries=0)
    with models.ModelChoice(settings, "tenant", guarded=True).provider() as provider:
        reply = provider.complete([{"role": "user", "content": "hi"}], [])
    assert reply.text == "hello" and checked == [("models.test", int(port))]
    assert script.headers[0]["host"] == f"models.test:{port}"
