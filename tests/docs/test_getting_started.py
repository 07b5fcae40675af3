"""A newcomer follows docs/getting-started.md, command by command, from the page itself.

The page's example blocks run in order in a fresh copy of the repository's top level (its
files linked, its data dir new), from ``make run`` to an app of their own released to prod
and rolled back; the model the page's agent step talks to is a scripted chat-completions
server. Afterwards the platform is asked, over HTTP, whether it is where the page says.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.agent.fake_llm import Answer, fake_llm
from tests.docs.examples import DOCS, REPO, Session, example_blocks

PAGE = DOCS / "getting-started.md"
# What a clone holds besides the repository's own files, or what a run leaves behind.
NOT_COPIED = {".git", ".atoll", "site", "test-artifacts", ".pytest_cache", ".mypy_cache"}

FAREWELL = 'def get() -> dict:\n    return {"message": "Goodbye!"}\n'


def clone_top_level(into: Path) -> None:
    """A folder that looks like a fresh checkout with its set-up done: each top-level entry
    of the repository linked (the venv and node_modules included), no data dir."""
    into.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in NOT_COPIED:
            (into / entry.name).symlink_to(entry)


def test_the_page_runs_as_a_newcomer_reads_it(tmp_path: Path) -> None:
    blocks = example_blocks(PAGE)
    assert blocks[0].text.strip() == "make run" and "background" in blocks[0].classes
    assert any("agent" in b.classes for b in blocks)
    answers = [
        Answer(
            text="Adding the function.",
            calls=[
                (
                    "call_1",
                    "write_file",
                    json.dumps({"path": "functions/farewell.py", "content": FAREWELL}),
                )
            ],
        ),
        Answer(text="Added functions/farewell.py: GET answers with a goodbye."),
    ]
    checkout = tmp_path / "atoll"
    clone_top_level(checkout)
    with fake_llm(answers) as (model_url, script):
        session = Session.fresh(
            checkout, {"ATOLL_LLM_BASE_URL": model_url, "ATOLL_LLM_MODEL": "fake"}
        )
        try:
            session.run(blocks)
            gateway = session.ports["gateway_port"]
            token = (checkout / ".atoll" / "demo.token").read_text().strip()
            envs = httpx.get(
                f"{session.server}/api/v1/apps/hello/envs",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            prod = httpx.get(
                f"http://127.0.0.1:{gateway}/api/greet",
                params={"name": "Ada"},
                headers={"host": f"prod--hello--demo.localhost:{gateway}"},
                timeout=30,
            )
            farewell = httpx.get(
                f"http://127.0.0.1:{gateway}/api/farewell",
                headers={"host": f"dev--hello--demo.localhost:{gateway}"},
                timeout=30,
            )
        except AssertionError:
            print("\n".join(session.log[-5:]), session.background_log(), sep="\n")
            raise
        finally:
            session.close()
    # The data dir is the page's own, new: nothing came from the repository's.
    assert (checkout / ".atoll" / "admin.token").is_file()
    assert not (checkout / ".atoll").is_symlink()
    served = {e["name"]: e for e in envs.json()}
    assert served["prod"]["release"] == "v1", served  # rolled back from v2
    assert prod.json() == {"message": "Hello, Ada! Welcome to Atoll."}
    assert farewell.json() == {"message": "Goodbye!"}  # the agent's change, live in dev
    assert len(script.requests) == 2  # the page's one agent turn, and nothing else


@pytest.mark.parametrize("marker", ["make run", "atoll release create", "atoll rollback"])
def test_the_page_covers_the_path(marker: str) -> None:
    """From the two commands to a rollback: a page that loses a step fails here first."""
    assert any(marker in b.text for b in example_blocks(PAGE))
