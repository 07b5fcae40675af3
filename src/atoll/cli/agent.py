"""The agent: run a turn on an app (its steps printed as they happen), stop it, list its
turns, undo the last one."""

from __future__ import annotations

import sys

from atoll.cli.commands import APP, Cli, command
from atoll.cli.output import Exit, fail, style, table, when
from atoll.cli.parsing import Arg

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from typing import Any

MAX_SHOWN = 300  # characters of a tool result printed


@command(
    "agent",
    "Ask the agent to build or change the app; its steps print as they happen.",
    APP,
    Arg(
        "prompt",
        metavar="PROMPT",
        help="what to build or change (quote it); the model is the server's "
        "(ATOLL_LLM_BASE_URL, ATOLL_LLM_MODEL, ATOLL_LLM_API_KEY)",
    ),
    Arg(
        "--max-steps", type=int, default=40, metavar="N", help="model answers at most (default: 40)"
    ),
    Arg(
        "--max-cost",
        type=float,
        metavar="USD",
        help="stop the turn once the model cost this many US dollars (at the model's prices)",
    ),
    section="code",
)
def agent(cli: Cli) -> None:
    """``atoll agent``: one turn, streamed."""
    app = cli.app()
    body: dict[str, Any] = {"prompt": cli.args.prompt, "max_steps": cli.args.max_steps}
    if cli.args.max_cost is not None:
        body["max_cost_usd"] = cli.args.max_cost
    result: dict[str, Any] | None = None
    text_open = False
    for event in cli.client().events(f"/apps/{app}/agent/turns", json=body):
        kind = event.get("kind")
        if cli.as_json:
            print(_json(event), flush=True)
        elif kind == "text":
            sys.stdout.write(str(event.get("text", "")))
            sys.stdout.flush()
            text_open = True
            continue
        else:
            if text_open:
                print()
                text_open = False
            line = _line(event)
            if line:
                print(line, flush=True)
        if kind in ("result", "error"):
            result = event
    if result is None:
        fail("the server ended the turn without a result", 1)
    if result.get("kind") == "error" or result.get("outcome") != "done":
        raise Exit(1)


def _json(event: dict[str, Any]) -> str:
    import json

    return json.dumps(event, default=str)


def _cost(cost: object) -> str:
    """A turn's cost as shown after its tokens (nothing when it cost nothing)."""
    if not isinstance(cost, int | float) or cost <= 0:
        return ""
    return f", ${cost:.4f}" if cost < 1 else f", ${cost:.2f}"


def _line(event: dict[str, Any]) -> str:
    kind = event.get("kind")
    if kind == "tool_call":
        return style(
            f"> {event.get('name')} {str(event.get('arguments', ''))[:200]}", "2", sys.stdout
        )
    if kind == "tool_result":
        text = " ".join(str(event.get("text", "")).split())
        mark = "ok" if event.get("ok") else "refused"
        return style(f"  {mark}: {text[:MAX_SHOWN]}", "2" if event.get("ok") else "33", sys.stdout)
    if kind == "checks":
        errors = event.get("errors") or []
        if not errors:
            return style("checks: the app builds", "32", sys.stdout)
        return style(f"checks: {len(errors)} problem(s)", "33", sys.stdout) + "".join(
            f"\n  {e}" for e in errors[:20]
        )
    if kind == "result":
        tokens = f"{event.get('prompt_tokens', 0)}+{event.get('completion_tokens', 0)} tokens"
        steps = f"{event.get('steps')} steps, {tokens}{_cost(event.get('cost_usd'))}"
        head = f"turn {event.get('turn')}: {event.get('outcome')} ({steps})"
        revision = event.get("revision")
        kept = (
            f"\ncommitted {str(revision)[:12]}: {', '.join(event.get('changed') or [])}"
            if revision
            else ""
        )
        colour = "32" if event.get("outcome") == "done" else "31"
        return style(head, colour, sys.stdout) + f"\n{event.get('summary', '')}{kept}"
    if kind == "error":
        return style(f"error: {event.get('message')}", "31", sys.stdout)
    return ""


@command("agent history", "The agent's turns on the app, newest first.", APP, section="code")
def agent_history(cli: Cli) -> None:
    """``atoll agent history``."""
    app = cli.app()
    turns = cli.client().json("GET", f"/apps/{app}/agent/turns")
    rows = [
        [str(t["number"]), t["outcome"] + (" (undone)" if t.get("undone_at") else ""),
         when(t["started_at"]), f"{t['prompt_tokens'] + t['completion_tokens']}",
         _cost(t.get("cost_usd")).lstrip(", ") or "-", " ".join(t["prompt"].split())[:60]]
        for t in turns
    ]  # fmt: skip
    empty = f'the agent has not worked on {app} yet: atoll agent --app {app} "..."'
    head = ["TURN", "OUTCOME", "STARTED", "TOKENS", "COST", "PROMPT"]
    cli.out(turns, table(head, rows, empty))


@command(
    "agent undo",
    "Put the app's files and dev database back as they were before the agent's last turn.",
    APP,
    section="code",
)
def agent_undo(cli: Cli) -> None:
    """``atoll agent undo``."""
    app = cli.app()
    got = cli.client().json("POST", f"/apps/{app}/agent/undo")
    restored = "files and dev database" if got.get("database_restored") else "files"
    cli.out(got, f"undid turn {got['turn']}: {restored} as they were before it")


@command("agent stop", "Stop the agent's running turn on the app.", APP, section="code")
def agent_stop(cli: Cli) -> None:
    """``atoll agent stop``."""
    app = cli.app()
    got = cli.client().json("POST", f"/apps/{app}/agent/stop")
    cli.out(got, "stopping at the next step; nothing of the turn is kept")


@command("agent model", "Show which model the agent uses for your tenant's turns.", section="code")
def agent_model(cli: Cli) -> None:
    """``atoll agent model``."""
    got = cli.client().json("GET", "/agent/model")
    if got.get("source") == "tenant":
        key = "a key" if got.get("api_key_set") else "no key"
        text = (
            f"your tenant's model: {got['model']} at {got['base_url']} ({key}; "
            f"${got['price_input']:g} / ${got['price_output']:g} per million tokens in / out)"
        )
    elif got.get("configured"):
        text = f"the server's model: {got.get('model')}"
    else:
        text = "no model: the server has none and your tenant set none (atoll agent model set)"
    cli.out(got, text)


@command(
    "agent model set",
    "Use your own model server for your tenant's agent turns (any OpenAI-compatible API).",
    Arg("--base-url", required=True, metavar="URL", help="its /v1 base URL (http or https)"),
    Arg("--model", required=True, metavar="NAME", help="the model's name on that server"),
    Arg(
        "--api-key-stdin",
        action="store_true",
        help="read its API key from the first line of standard input (never from the command "
        "line, where other users of the machine could see it)",
    ),
    Arg("--price-input", type=float, default=0.0, metavar="USD", help="per million prompt tokens"),
    Arg(
        "--price-output",
        type=float,
        default=0.0,
        metavar="USD",
        help="per million completion tokens",
    ),
    section="code",
)
def agent_model_set(cli: Cli) -> None:
    """``atoll agent model set``."""
    key = sys.stdin.readline().strip() if cli.args.api_key_stdin else ""
    body = {
        "base_url": cli.args.base_url,
        "model": cli.args.model,
        "api_key": key,
        "price_input": cli.args.price_input,
        "price_output": cli.args.price_output,
    }
    got = cli.client().json("PUT", "/agent/model", json=body)
    cli.out(got, f"your tenant's turns now use {got['model']} at {got['base_url']}")


@command("agent model unset", "Go back to the server's model for your agent turns.", section="code")
def agent_model_unset(cli: Cli) -> None:
    """``atoll agent model unset``."""
    got = cli.client().json("DELETE", "/agent/model")
    said = "back to the server's model" if got.get("deleted") else "you had set no model"
    cli.out(got, said)


@command(
    "agent eval",
    "Run task files against the server's model; print each task's result and cost as JSON.",
    Arg(
        "tasks",
        metavar="TASKS_DIR",
        help="a folder of task folders (each holding task.toml), or one task folder",
    ),
    Arg("--only", metavar="GLOB", help="only the tasks whose name matches (e.g. '0*-crud')"),
    Arg(
        "--timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="seconds per task, turns, builds and checks (default: 900; a task's own timeout wins)",
    ),
    Arg("--keep", action="store_true", help="keep the scratch apps (named in the report)"),
    section="code",
)
def agent_eval(cli: Cli) -> None:
    """``atoll agent eval``: every task in a scratch app of its own, then one JSON report."""
    import json
    import time
    from pathlib import Path

    from atoll.cli.agent_eval import Evaluation, line, summary
    from atoll.cli.agent_tasks import TaskFileError, load_tasks
    from atoll.cli.client import ApiClient
    from atoll.cli.output import Progress, say

    try:
        tasks = load_tasks(Path(cli.args.tasks), cli.args.only)
    except TaskFileError as exc:
        fail(exc.message, 2)
    if not cli.args.timeout > 0:
        fail("--timeout must be a positive number of seconds", 2)
    cli.client()  # no token: said now, before any task
    found = cli.credentials()
    progress = Progress() if not cli.as_json else None
    evaluation = Evaluation(
        lambda: ApiClient(found.server, found.token),
        cli.args.timeout,
        keep=cli.args.keep,
        progress=progress or (lambda _line: None),
    )
    reports = []
    start = time.monotonic()
    try:
        for n, task in enumerate(tasks, 1):
            if progress is not None:
                progress(f"[{n}/{len(tasks)}] {task.name}")
            report = evaluation.run(task)
            reports.append(report)
            if progress is not None:
                progress.done()
                say(f"[{n}/{len(tasks)}] {line(report)}")
    finally:
        if progress is not None:
            progress.done()
        evaluation.close()
    result = summary(reports, time.monotonic() - start)
    print(json.dumps(result, indent=2 if sys.stdout.isatty() else None), flush=True)
    if progress is not None:
        say(f"{result['passed']} of {result['total']} tasks passed")
    if result["passed"] < result["total"]:
        raise Exit(1)
