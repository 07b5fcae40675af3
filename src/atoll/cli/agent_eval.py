"""``atoll agent eval``: run task files against the server's model and report how it did.

Each task gets a scratch app of its own (deleted afterwards unless kept): its starting app
is pushed and built, its seed runs on dev's database, each prompt is one agent turn over
the API, and once dev has built the turn's revision the checks send their requests to
dev's origin. A task whose turn or check fails is a failed task in the report, never an
error of the command; only what would fail every task alike (no model on the server, no
server) stops the run.
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from atoll.cli.agent_tasks import Answer, Check, TaskFile, expand, judge
from atoll.cli.client import ApiClient, ApiError, ConnectionFailed

STOP_GRACE_SECONDS = 60.0  # after a stop at the deadline, how long the turn may take to end
POLL_SECONDS = 0.3
MAX_ANSWER_BYTES = 1024 * 1024
CHECK_TIMEOUT_SECONDS = 60.0
FATAL = {"model_not_configured", "unauthorized", "forbidden"}  # would fail every task alike

Progress = Callable[[str], None]


class TaskFailed(Exception):
    """A task cannot go on (its starting app does not build, a turn did not end done...)."""


@dataclass
class TaskReport:
    """What one task did and spent."""

    name: str
    app: str
    passed: bool = False
    error: str | None = None  # why the task stopped before its checks, if it did
    failed_checks: list[dict[str, Any]] = field(default_factory=list)
    checks_passed: int = 0
    checks: int = 0
    turns: int = 0
    outcomes: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    tool_calls: int = 0
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    seconds: float = 0.0
    kept: bool = False

    def as_json(self) -> dict[str, Any]:
        """The report's entry for this task."""
        return {
            "name": self.name,
            "passed": self.passed,
            "error": self.error,
            "failed_checks": self.failed_checks,
            "checks": {"passed": self.checks_passed, "total": self.checks},
            "turns": self.turns,
            "outcomes": self.outcomes,
            "summaries": self.summaries,
            "tool_calls": self.tool_calls,
            "steps": self.steps,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.prompt_tokens + self.completion_tokens,
            "cost_usd": self.cost_usd,
            "seconds": round(self.seconds, 2),
            "app": self.app if self.kept else None,
        }


def scratch_name(task: str) -> str:
    """A fresh app name for a task's run: ``eval-<task>-<6 hex>`` within the slug rules."""
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", task.lower()))[:24].strip("-")
    return f"eval-{slug}-{secrets.token_hex(3)}" if slug else f"eval-{secrets.token_hex(3)}"


class Evaluation:
    """Runs tasks one after the other against one server."""

    def __init__(
        self,
        connect: Callable[[], ApiClient],
        timeout: float,
        keep: bool = False,
        progress: Progress = lambda _line: None,
    ) -> None:
        self.connect = connect  # a new client (a turn's stream owns its connection)
        self.client = connect()
        self.timeout = timeout
        self.keep = keep
        self.progress = progress

    def close(self) -> None:
        self.client.close()

    def run(self, task: TaskFile) -> TaskReport:
        """Run one task in a scratch app; its report. Raises only for what would fail
        every task alike (no model, a refused token, no server)."""
        report = TaskReport(task.name, scratch_name(task.name))
        start = time.monotonic()
        deadline = start + (task.task.timeout or self.timeout)
        self.client.json("POST", "/apps", json={"name": report.app})
        try:
            self._steps(task, report, deadline)
        except TaskFailed as exc:
            report.error = str(exc)
        except ApiError as exc:
            if exc.error_code in FATAL:
                raise
            report.error = f"{exc.message} ({exc.error_code}, HTTP {exc.http_status})"
        finally:
            report.seconds = time.monotonic() - start
            self._clean_up(report)
        report.passed = report.error is None and not report.failed_checks
        return report

    def _steps(self, task: TaskFile, report: TaskReport, deadline: float) -> None:
        if task.app is not None:
            from atoll.cli import sync

            self.progress(f"{task.name}: pushing the starting app")
            pushed = sync.push(
                self.client, report.app, task.app, f"start of task {task.name}", remember=False
            )
            self._wait_for_dev(report.app, pushed["revision"], deadline, "the starting app")
        if task.task.seed:
            self.progress(f"{task.name}: seeding dev's database")
            self.client.json(
                "POST", f"/apps/{report.app}/envs/dev/db/exec", json={"sql": task.task.seed}
            )
        revision = None
        for n, prompt in enumerate(task.task.turns, 1):
            self.progress(f"{task.name}: turn {n} of {len(task.task.turns)}")
            result = self._turn(report, prompt, task.task.max_steps, deadline)
            revision = result.get("revision") or revision
            if result.get("outcome") != "done":
                raise TaskFailed(f"turn {n} ended {result.get('outcome')}: {result.get('summary')}")
        if revision is not None:
            self._wait_for_dev(report.app, revision, deadline, "the agent's revision")
        env = self.client.json("GET", f"/apps/{report.app}/envs/dev")
        self.progress(f"{task.name}: checks")
        self._checks(task.task.checks, env["url"], report, deadline)

    # -- a turn --------------------------------------------------------------------------

    def _turn(
        self, report: TaskReport, prompt: str, max_steps: int, deadline: float
    ) -> dict[str, Any]:
        """One turn over the API, stopped at the deadline; its result event."""
        events: queue.Queue[dict[str, Any] | Exception | None] = queue.Queue()
        body = {"prompt": prompt, "max_steps": max_steps}
        path = f"/apps/{report.app}/agent/turns"
        threading.Thread(target=self._pump, args=(path, body, events), daemon=True).start()
        report.turns += 1
        stopped = False
        while True:
            wait = deadline - time.monotonic()
            if stopped:
                wait += STOP_GRACE_SECONDS
            try:
                item = events.get(timeout=max(0.01, wait))
            except queue.Empty:
                if stopped:
                    report.outcomes.append("timeout")
                    raise TaskFailed("the turn did not stop after the task's deadline") from None
                self._stop(report.app)
                stopped = True
                continue
            if isinstance(item, Exception):
                raise item
            if item is None:
                raise TaskFailed("the server ended the turn without a result")
            kind = item.get("kind")
            if kind == "tool_call":
                report.tool_calls += 1
            elif kind == "error":
                report.outcomes.append("error")
                raise TaskFailed(f"the turn failed: {item.get('message')} ({item.get('code')})")
            elif kind == "result":
                self._account(report, item, stopped)
                return item

    def _pump(
        self,
        path: str,
        body: dict[str, Any],
        events: queue.Queue[dict[str, Any] | Exception | None],
    ) -> None:
        client = self.connect()
        try:
            for event in client.events(path, json=body):
                events.put(event)
        except Exception as exc:  # handed to the waiting thread, which raises it
            events.put(exc)
        finally:
            client.close()
            events.put(None)

    def _stop(self, app: str) -> None:
        try:
            self.client.json("POST", f"/apps/{app}/agent/stop")
        except ApiError:
            pass  # the turn ended meanwhile: its result is on its way

    def _account(self, report: TaskReport, result: dict[str, Any], stopped: bool) -> None:
        outcome = str(result.get("outcome"))
        report.outcomes.append("timeout" if stopped and outcome != "done" else outcome)
        report.summaries.append(str(result.get("summary") or "")[:500])
        report.steps += _int(result.get("steps"))
        found = result.get("usage")
        usage: dict[str, Any] = found if isinstance(found, dict) else {}
        report.prompt_tokens += _int(result.get("prompt_tokens", usage.get("prompt_tokens")))
        report.completion_tokens += _int(
            result.get("completion_tokens", usage.get("completion_tokens"))
        )
        cost = usage.get("cost_usd", result.get("cost_usd"))
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            report.cost_usd = (report.cost_usd or 0.0) + float(cost)

    # -- dev and its checks --------------------------------------------------------------

    def _wait_for_dev(self, app: str, revision: str, deadline: float, what: str) -> None:
        """Until dev built ``revision``; ``TaskFailed`` when its build failed or the deadline
        passed first."""
        while True:
            build = self.client.json("GET", f"/apps/{app}/envs/dev").get("build") or {}
            if build.get("revision") == revision and build.get("state") in ("ready", "failed"):
                break
            if time.monotonic() > deadline:
                raise TaskFailed(f"dev was still building {what} at the task's deadline")
            time.sleep(POLL_SECONDS)
        if build["state"] == "failed":
            errors = "; ".join(_build_error(e) for e in (build.get("errors") or [])[:5])
            raise TaskFailed(f"{what} does not build: {errors}")

    def _checks(self, checks: list[Check], url: str, report: TaskReport, deadline: float) -> None:
        saved: dict[str, Any] = {}
        report.checks = len(checks)
        for check in checks:
            if time.monotonic() > deadline:
                raise TaskFailed(f"the task's deadline passed before check {check.title!r}")
            try:
                answer = request(url, check, saved)
            except (OSError, http.client.HTTPException) as exc:
                problems = [f"no answer from dev: {exc or type(exc).__name__}"]
            else:
                problems = judge(check, answer, saved)
            if problems:
                report.failed_checks.append({"check": check.title, "reasons": problems})
            else:
                report.checks_passed += 1

    def _clean_up(self, report: TaskReport) -> None:
        if self.keep:
            report.kept = True
            return
        try:
            self.client.json("DELETE", f"/apps/{report.app}")
        except (ApiError, ConnectionFailed) as exc:
            report.kept = True
            self.progress(f"{report.name}: could not delete {report.app}: {exc.message}")


def request(url: str, check: Check, saved: dict[str, Any]) -> Answer:
    """Send a check's request to the origin ``url`` (a ``*.localhost`` origin is reached on
    the loopback address, as browsers do)."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    loopback = host == "localhost" or host.endswith(".localhost")
    address = "127.0.0.1" if loopback else host
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(address, parts.port, timeout=CHECK_TIMEOUT_SECONDS)
    else:
        connection = http.client.HTTPConnection(address, parts.port, timeout=CHECK_TIMEOUT_SECONDS)
    headers = {"Host": parts.netloc, "User-Agent": "atoll-agent-eval"}
    body = None
    if check.body is not None:
        body = json.dumps(expand(check.body, saved)).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(check.method, str(expand(check.path, saved)), body, headers)
        reply = connection.getresponse()
        data = reply.read(MAX_ANSWER_BYTES)
        return Answer(reply.status, data.decode("utf-8", "replace"))
    finally:
        connection.close()


def summary(reports: list[TaskReport], seconds: float) -> dict[str, Any]:
    """The run's JSON report: each task, then the totals."""
    passed = sum(r.passed for r in reports)
    costs = [r.cost_usd for r in reports if r.cost_usd is not None]
    prompt = sum(r.prompt_tokens for r in reports)
    completion = sum(r.completion_tokens for r in reports)
    return {
        "tasks": [r.as_json() for r in reports],
        "passed": passed,
        "total": len(reports),
        "pass_rate": round(passed / len(reports), 4) if reports else 0.0,
        "turns": sum(r.turns for r in reports),
        "tool_calls": sum(r.tool_calls for r in reports),
        "tokens": {"prompt": prompt, "completion": completion, "total": prompt + completion},
        "cost_usd": round(sum(costs), 6) if costs else None,
        "seconds": round(seconds, 2),
    }


def line(report: TaskReport) -> str:
    """One task's result as a person reads it."""
    tokens = report.prompt_tokens + report.completion_tokens
    spent = (
        f"{report.turns} turn(s), {report.tool_calls} tool call(s), {tokens} tokens, "
        f"{report.seconds:.0f} s"
    )
    if report.passed:
        return f"passed {report.name} ({spent})"
    why = report.error or "; ".join(
        f"{f['check']}: {f['reasons'][0]}" for f in report.failed_checks[:2]
    )
    return f"FAILED {report.name} ({spent}): {why}"


def _build_error(error: dict[str, Any]) -> str:
    where = ":".join(
        str(p) for p in (error.get("file"), error.get("line"), error.get("column")) if p
    )
    return f"{where}: {error.get('message')}" if where else str(error.get("message"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
