"""One turn of the agent: a prompt, the model's tool calls against the app's draft, the
builder's checks after every batch of edits fed back to it, and one revision at the end.

A turn ends when the model answers without tool calls and the checks pass, or when a limit
stops it: steps, tokens, cost, attempts at one error, or the stuck detector (the same call four
times, the same check error three times, two calls alternating three times each). Only a
turn whose edits pass the checks commits them, as one revision; a stopped or failed turn
commits nothing, so no half-applied batch of edits reaches the workspace.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from atoll.errors import AtollError
from atoll.releases.artifacts import installed_npm_version
from atoll.store.records import BuildError, Revision

from .app_tools import TOML, app_tools, with_dependency
from .autodeps import (
    allowed,
    missing_modules,
    npm_allowed,
    package_for,
    with_npm_dependencies,
)
from .checks import PACKAGE_JSON, check_draft, describe, new_npm_packages
from .draft import Draft
from .file_tools import file_tools
from .provider import ModelReply, Provider, Usage
from .tools import Toolbox

MAX_STEPS = 40  # model answers in one turn
ATTEMPTS_PER_ERROR = 3  # check results showing one error before the turn gives up
MAX_TOKENS = 400_000  # prompt and completion tokens in one turn


@dataclass(frozen=True)
class Limits:
    """What one turn may spend."""

    max_steps: int = MAX_STEPS
    attempts_per_error: int = ATTEMPTS_PER_ERROR
    max_tokens: int = MAX_TOKENS
    max_cost_usd: float | None = None  # at the model's configured prices; None: no limit


@dataclass(frozen=True)
class Event:
    """A step of a turn, as the CLI and the IDE show it."""

    kind: str  # text, tool_call, tool_result, checks, usage, done
    data: dict[str, Any]


@dataclass
class TurnResult:
    """How a turn ended."""

    outcome: str  # done, stopped, limit, stuck, failed
    summary: str
    revision: Revision | None = None
    changed: list[str] = field(default_factory=list)
    errors: list[BuildError] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    steps: int = 0


class StuckDetector:
    """Notices a model going round in circles (the patterns OpenHands stops on)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.errors: Counter[str] = Counter()

    def call(self, name: str, arguments: str) -> str | None:
        """Why the turn is stuck after this call, if it is."""
        try:
            key = name + json.dumps(json.loads(arguments or "{}"), sort_keys=True)
        except ValueError:
            key = name + arguments
        self.calls.append(key)
        if self.calls[-4:].count(key) == 4:
            return f"the same {name} call four times in a row"
        last = self.calls[-6:]
        if len(last) == 6 and len(set(last)) == 2 and all(last[i] != last[i + 1] for i in range(5)):
            return "two calls alternating three times each"
        return None

    def checked(self, errors: list[BuildError]) -> str | None:
        """Why the turn is stuck after these check results, if it is."""
        for error in {str(e) for e in errors}:
            self.errors[error] += 1
            if self.errors[error] >= 3:
                return f"the same error three times: {error[:200]}"
        return None


class Turn:
    """Runs one prompt to its end against ``draft`` with ``provider``."""

    def __init__(
        self,
        provider: Provider,
        draft: Draft,
        tenant: str,
        system: str,
        history: list[dict[str, Any]] | None = None,
        limits: Limits | None = None,
        on_event: Callable[[Event], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        author: str = "agent",
        context: str = "",
    ) -> None:
        self.provider = provider
        self.draft = draft
        self.tenant = tenant
        self.system = system
        self.history = list(history or [])
        self.limits = limits or Limits()
        self.on_event = on_event or (lambda _event: None)
        self.should_stop = should_stop or (lambda: False)
        self.author = author
        self.context = context  # the context pack the prompt is sent with
        self.toolbox = Toolbox(file_tools(draft) + app_tools(draft, tenant))
        self.messages: list[dict[str, Any]] = []
        self._tried: set[str] = set()  # modules whose package the platform added
        self._unpinned: set[str] = set()  # npm packages it added, at * until installed

    def run(self, prompt: str) -> TurnResult:
        self.messages = [
            {"role": "system", "content": self.system},
            *self.history,
            {
                "role": "user",
                "content": f"{self.context}\n\n## Request\n{prompt}" if self.context else prompt,
            },
        ]
        usage = Usage()
        stuck = StuckDetector()
        attempts: Counter[str] = Counter()
        checked_at: list[str] | None = None  # the draft's changes when last checked
        errors: list[BuildError] = []
        specs = self.toolbox.specs()
        for step in range(1, self.limits.max_steps + 1):
            if self.should_stop():
                return self._end("stopped", "stopped on request", usage, step - 1, errors)
            reply = self.provider.complete(
                self.messages, specs, lambda text: self._emit("text", text=text)
            )
            usage = usage + reply.usage
            self._emit(
                "usage",
                prompt=usage.prompt_tokens,
                completion=usage.completion_tokens,
                cost_usd=round(usage.cost_usd, 6),
            )
            self.messages.append(_assistant(reply))
            if usage.tokens > self.limits.max_tokens:
                return self._end("limit", "the turn's token budget ran out", usage, step, errors)
            budget = self.limits.max_cost_usd
            if budget is not None and usage.cost_usd > budget:
                text = f"the turn's cost budget (${budget:g}) ran out"
                return self._end("limit", text, usage, step, errors)
            for call in reply.tool_calls:
                why = stuck.call(call.name, call.arguments)
                self._emit("tool_call", id=call.id, name=call.name, arguments=call.arguments)
                result = self.toolbox.call(call.name, call.arguments)
                self._emit("tool_result", id=call.id, ok=result.ok, text=result.text[:2000])
                self.messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": result.text}
                )
                if why is not None:
                    return self._end("stuck", f"stopped: {why}", usage, step, errors)
            changes = self._fingerprint()
            if changes and changes != checked_at:
                errors, note = self._check()
                checked_at = self._fingerprint()
                self._emit("checks", errors=[str(e) for e in errors])
                why = stuck.checked(errors)
                if why is not None:
                    return self._end("stuck", f"stopped: {why}", usage, step, errors)
                for error in {str(e) for e in errors}:
                    attempts[error] += 1
                    if attempts[error] > self.limits.attempts_per_error:
                        tries = self.limits.attempts_per_error
                        text = f"gave up after {tries} attempts at: {error[:200]}"
                        return self._end("limit", text, usage, step, errors)
                told = "Checks after your edits: " + note + describe(errors)
                self.messages.append({"role": "user", "content": told})
                continue  # the model sees the checks before it may end the turn
            if not reply.tool_calls:
                if errors:
                    self.messages.append(
                        {"role": "user", "content": "The checks still fail: " + describe(errors)}
                    )
                    continue
                return self._finish(reply.text, usage, step)
        return self._end(
            "limit",
            f"stopped after {self.limits.max_steps} steps",
            usage,
            self.limits.max_steps,
            errors,
        )

    def _check(self) -> tuple[list[BuildError], str]:
        """The builder's checks on the draft, after the platform added the packages its
        imports need (what it added is said in the note for the model)."""
        added, denied = self._npm_packages()
        if denied:
            # Nothing is installed for a batch that imports a package the operator denies.
            return denied, ""
        errors = check_draft(self.draft, self.tenant)
        notes = []
        if added:
            self._emit("dependencies", added=[f"{name} (npm)" for name in added])
            notes.append(f"The platform added to {PACKAGE_JSON}: {', '.join(added)}. ")
            self._unpinned.update(added)
        if not errors and self._unpinned and self._pin_npm():
            errors = check_draft(self.draft, self.tenant)  # with the pins
        python = self._auto_dependencies(errors, self._tried)
        if python:
            self._emit("dependencies", added=python)
            notes.append(f"The platform added to [python] dependencies: {', '.join(python)}. ")
            errors = check_draft(self.draft, self.tenant)
        return errors, "".join(notes)

    def _npm_packages(self) -> tuple[list[str], list[BuildError]]:
        """List the npm packages the turn brings in in ``components/package.json`` (at
        ``*`` until a check installed them); the errors for packages the operator denies."""
        policy = self.draft.cp.settings.agent
        wanted = new_npm_packages(self.draft)
        denied = [
            BuildError(
                PACKAGE_JSON,
                None,
                None,
                f"the operator does not let the agent add the npm package {name!r} "
                "(ATOLL_AGENT_NPM_PACKAGES_ALLOW / _DENY): use another package or none",
            )
            for name in wanted
            if not npm_allowed(name, policy)
        ]
        if denied or not wanted or not policy.auto_dependencies:
            return [], denied
        try:
            self.draft.write(PACKAGE_JSON, with_npm_dependencies(self._package_json(), wanted))
        except AtollError:
            return [], []  # components/package.json does not parse: the checks say so
        return wanted, []

    def _pin_npm(self) -> bool:
        """Pin the npm packages the platform added to the versions a check installed
        (``^x.y.z``); whether any was pinned."""
        pins = {}
        for name in sorted(self._unpinned):
            version = installed_npm_version(self.draft.cp, self.draft.app, name)
            if version is not None:
                pins[name] = f"^{version}"
        if not pins:
            return False
        try:
            self.draft.write(PACKAGE_JSON, with_npm_dependencies(self._package_json(), pins))
        except AtollError:
            return False
        self._unpinned -= set(pins)
        return True

    def _package_json(self) -> bytes:
        exists = self.draft.exists(PACKAGE_JSON)
        return self.draft.content(PACKAGE_JSON) if exists else b""

    def _auto_dependencies(self, errors: list[BuildError], tried: set[str]) -> list[str]:
        """Add the package of each import nothing provides to ``[python] dependencies``
        (once per module, within the operator's policy); what was added."""
        policy = self.draft.cp.settings.agent
        if not policy.auto_dependencies:
            return []
        added: list[str] = []
        for module in missing_modules(errors):
            if module in tried:
                continue
            tried.add(module)
            package = package_for(module)
            if not allowed(package, policy):
                continue
            current = self.draft.content(TOML).decode() if self.draft.exists(TOML) else ""
            try:
                updated, new = with_dependency(current, package)
            except AtollError:
                return added  # atoll.toml does not parse: the checks say so
            if new:
                self.draft.write(TOML, updated.encode())
                added.append(f"{package} (for import {module})")
        return added

    def _fingerprint(self) -> list[str]:
        return [
            f"{p}:{len(self.draft.changes[p] or b'')}:{hash(self.draft.changes[p])}"
            for p in self.draft.changed_paths()
        ]

    def _finish(self, text: str, usage: Usage, steps: int) -> TurnResult:
        changed = self.draft.changed_paths()
        revision = (
            self.draft.commit(self.author, _first_line(text) or "agent turn") if changed else None
        )
        result = TurnResult("done", text.strip() or "done", revision, changed, [], usage, steps)
        self._emit(
            "done", outcome="done", revision=revision.id if revision else None, changed=changed
        )
        return result

    def _end(
        self, outcome: str, summary: str, usage: Usage, steps: int, errors: list[BuildError]
    ) -> TurnResult:
        """A turn that ends without committing: what it changed stays uncommitted."""
        changed = self.draft.changed_paths()
        if changed:
            summary += f"; nothing was committed (changed but not kept: {', '.join(changed[:20])})"
        self._emit("done", outcome=outcome, summary=summary)
        return TurnResult(outcome, summary, None, changed, errors, usage, steps)

    def _emit(self, kind: str, **data: Any) -> None:
        self.on_event(Event(kind, data))


def _assistant(reply: ModelReply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ]
    return message


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:200]
