"""Task files of ``atoll agent eval``: their format, how a folder of them is read, and how
a check's expectations are judged against an answer.

A task is a folder holding ``task.toml`` (a prompt or several, checks, optionally a seed)
and, optionally, a starting app next to it. Task files are untrusted input: a file too
large, a key not in the format, a starting app that is a link or lies outside the task's
folder is refused with one line naming the file, before anything reaches a server. The
judging here does no I/O.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from atoll.errors import AtollError

TASK_FILE = "task.toml"
MAX_TASK_BYTES = 64 * 1024
MAX_TASKS = 500
MAX_PROMPT_CHARS = 20_000  # what the server takes in one turn
MAX_SEED_CHARS = 64 * 1024
MAX_PATTERN_CHARS = 500
MAX_SHOWN = 200  # characters of an answer quoted in a failed check's reason

NAME = r"^[a-z0-9][a-z0-9._-]{0,62}$"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,40})\}")


class TaskFileError(AtollError):
    """A task file (or a tasks folder) that cannot be run, and why."""

    code = "bad_task_file"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Prompt = Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]


class Check(_Strict):
    """One HTTP request to the app's dev environment and what its answer must show."""

    name: str = Field("", max_length=200)
    request: str = Field(description="'METHOD /path?query', e.g. 'POST /api/books'")
    body: Any = Field(None, description="sent as the JSON body")
    status: int = Field(200, ge=100, le=599)
    expect_json: Any = Field(None, alias="json", description="a subset the JSON answer holds")
    contains: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=20
    )
    excludes: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=20
    )
    matches: str | None = Field(None, max_length=MAX_PATTERN_CHARS)
    length: int | None = Field(None, ge=0, description="items of the JSON list at length_at")
    length_at: str = Field("", max_length=200)
    save: dict[str, str] = Field(default_factory=dict, max_length=20)

    @field_validator("contains", "excludes", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("request")
    @classmethod
    def _request(cls, value: str) -> str:
        method, _, path = value.strip().partition(" ")
        path = path.strip()
        if method.upper() not in METHODS:
            raise ValueError(f"starts with one of {', '.join(METHODS)}, not {method[:20]!r}")
        if not path.startswith("/") or len(path) > 2000 or not path.isprintable() or " " in path:
            raise ValueError("names a path that starts with '/' (no spaces), e.g. 'GET /api/x'")
        return f"{method.upper()} {path}"

    @field_validator("matches")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a regular expression: {exc}") from None
        return value

    @field_validator("save")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,40}", name):
                raise ValueError(f"{name[:50]!r} is not a variable name (letters, digits, _)")
        return value

    @property
    def method(self) -> str:
        return self.request.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.request.split(" ", 1)[1]

    @property
    def title(self) -> str:
        """How a report names the check."""
        return self.name or self.request


class Task(_Strict):
    """One task file: what to ask, what to start from, what must hold afterwards."""

    name: str | None = Field(None, pattern=NAME)
    description: str = Field("", max_length=2000)
    prompt: Prompt | None = None
    prompts: list[Prompt] | None = Field(None, min_length=1, max_length=20)
    app: str | None = Field(None, max_length=200, description="the starting app's folder")
    seed: str = Field("", max_length=MAX_SEED_CHARS, description="SQL run on dev before")
    max_steps: int = Field(40, ge=1, le=200)
    timeout: float | None = Field(None, gt=0, le=24 * 3600)
    checks: list[Check] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_way_to_ask(self) -> Task:
        if (self.prompt is None) == (self.prompts is None):
            raise ValueError("give either prompt or prompts (one of them)")
        return self

    @property
    def turns(self) -> list[str]:
        """The prompts, one per turn."""
        return [self.prompt] if self.prompt is not None else list(self.prompts or [])


@dataclass(frozen=True)
class TaskFile:
    """A task as read from its folder."""

    name: str
    path: Path  # the task.toml
    task: Task
    app: Path | None  # the starting app's folder, checked to lie inside the task's


# -- reading a folder of tasks ------------------------------------------------------------


def load_tasks(folder: Path, only: str | None = None) -> list[TaskFile]:
    """Every task under ``folder`` (a folder of task folders, or one task folder), sorted by
    name; with ``only``, those whose name matches the glob. ``TaskFileError`` for the first
    file that cannot be run, or when there is none."""
    if not folder.is_dir():
        raise TaskFileError(f"{folder}: no such folder")
    if (folder / TASK_FILE).exists():
        found = [folder / TASK_FILE]
    else:
        found = sorted(
            child / TASK_FILE
            for child in folder.iterdir()
            if child.is_dir() and not child.is_symlink() and (child / TASK_FILE).exists()
        )
    if not found:
        raise TaskFileError(f"{folder}: no tasks (each task is a folder holding {TASK_FILE})")
    if len(found) > MAX_TASKS:
        raise TaskFileError(f"{folder}: {len(found)} tasks; at most {MAX_TASKS} run at once")
    tasks = [load_task(path) for path in found]
    names: dict[str, Path] = {}
    for task in tasks:
        if task.name in names:
            raise TaskFileError(f"{task.path}: the name {task.name!r} is {names[task.name]}'s too")
        names[task.name] = task.path
    if only is not None:
        tasks = [t for t in tasks if fnmatch.fnmatchcase(t.name, only)]
        if not tasks:
            raise TaskFileError(f"{folder}: no task's name matches {only!r}")
    return tasks


def load_task(path: Path) -> TaskFile:
    """One ``task.toml``, checked; ``TaskFileError`` naming the file and the problem."""
    data = _read_toml(path)
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        raise TaskFileError(f"{path}: {_problem(exc)}") from None
    name = task.name or path.parent.name
    if not re.fullmatch(NAME, name):
        raise TaskFileError(
            f"{path}: the folder name {name[:60]!r} is no task name; set name = '...' "
            "(lower-case letters, digits, '.', '_' and '-')"
        )
    app = _app_folder(path, task.app) if task.app is not None else None
    return TaskFile(name, path, task, app)


def _read_toml(path: Path) -> dict[str, Any]:
    if path.is_symlink() or not path.is_file():
        raise TaskFileError(f"{path}: not a regular file")
    with path.open("rb") as f:
        raw = f.read(MAX_TASK_BYTES + 1)
    if len(raw) > MAX_TASK_BYTES:
        raise TaskFileError(f"{path}: larger than {MAX_TASK_BYTES // 1024} KB")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise TaskFileError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaskFileError(f"{path}: not TOML: {exc}") from None


def _problem(exc: ValidationError) -> str:
    """The first problem pydantic found, as ``key: message``."""
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "not a key of task files"
    elif error["type"] == "missing":
        message = "missing"
    message = message.removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def _app_folder(path: Path, app: str) -> Path:
    """The starting app's folder: relative, inside the task's folder, not through a link."""
    from atoll.cli.sync import LOCAL_LIMITS
    from atoll.workspace.folders import scan_folder

    parts = Path(app).parts
    if not app or Path(app).is_absolute() or ".." in parts:
        raise TaskFileError(f"{path}: app must be a folder inside the task's, not {app!r}")
    root = path.parent.resolve()
    target = path.parent / app
    walked = path.parent
    for part in parts:
        walked = walked / part
        if walked.is_symlink():
            raise TaskFileError(f"{path}: app {app!r} goes through a link ({walked})")
    if not target.is_dir() or root not in target.resolve().parents:
        raise TaskFileError(f"{path}: app {app!r} is not a folder inside {path.parent}")
    try:
        scan_folder(target, LOCAL_LIMITS)
    except AtollError as exc:
        raise TaskFileError(f"{path}: app {app!r}: {exc.message}") from None
    return target


# -- judging an answer -------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What the app answered a check's request."""

    status: int
    text: str


def expand(value: Any, saved: dict[str, Any]) -> Any:
    """``value`` with ``${name}`` replaced by what earlier checks saved: a string that is just
    one ``${name}`` becomes that value itself (a number stays a number)."""
    if isinstance(value, str):
        whole = _VAR.fullmatch(value)
        if whole and whole.group(1) in saved:
            return saved[whole.group(1)]
        return _VAR.sub(lambda m: str(saved.get(m.group(1), m.group(0))), value)
    if isinstance(value, list):
        return [expand(v, saved) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, saved) for k, v in value.items()}
    return value


def judge(check: Check, answer: Answer, saved: dict[str, Any]) -> list[str]:
    """Why the answer fails the check (nothing: it passes); what the check saves goes into
    ``saved``."""
    if answer.status != check.status:
        return [f"status {answer.status}, expected {check.status}: {_quote(answer.text)}"]
    problems = [
        f"the answer does not contain {c!r}" for c in check.contains if c not in answer.text
    ]
    problems += [f"the answer contains {x!r}" for x in check.excludes if x in answer.text]
    if check.matches is not None and re.search(check.matches, answer.text) is None:
        problems.append(f"the answer does not match /{check.matches}/: {_quote(answer.text)}")
    needs_json = check.expect_json is not None or check.length is not None or check.save
    if not needs_json:
        return problems
    try:
        data = json.loads(answer.text)
    except ValueError:
        return [*problems, f"the answer is not JSON: {_quote(answer.text)}"]
    if check.expect_json is not None:
        wanted = expand(check.expect_json, saved)
        where = subset_mismatch(wanted, data)
        if where is not None:
            problems.append(f"the JSON answer differs at {where}: {_quote(answer.text)}")
    if check.length is not None:
        found = pick(data, check.length_at)
        size = len(found) if isinstance(found, list) else None
        if size != check.length:
            at = f" at {check.length_at!r}" if check.length_at else ""
            got = f"{size} items" if size is not None else "no list"
            problems.append(f"expected a list of {check.length}{at}, got {got}")
    for name, at in check.save.items():
        found = pick(data, at)
        if found is None:
            problems.append(f"nothing at {at!r} to save as {name}: {_quote(answer.text)}")
        saved[name] = found
    return problems


def subset_mismatch(wanted: Any, got: Any, where: str = "$") -> str | None:
    """Where ``got`` fails to hold ``wanted`` (None: it holds it). Objects hold the keys
    wanted; a list holds each wanted item somewhere; other values are equal (a boolean is
    no number)."""
    if isinstance(wanted, dict):
        if not isinstance(got, dict):
            return where
        for key, value in wanted.items():
            if key not in got:
                return f"{where}.{key} (missing)"
            found = subset_mismatch(value, got[key], f"{where}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(wanted, list):
        if not isinstance(got, list):
            return where
        for n, item in enumerate(wanted):
            if not any(subset_mismatch(item, g) is None for g in got):
                return f"{where}[{n}] (no such item)"
        return None
    if isinstance(wanted, bool) or isinstance(got, bool):
        return None if wanted is got else where
    return None if wanted == got else where


def pick(data: Any, path: str) -> Any:
    """The value at a dotted path (``items.0.id``; empty: all of ``data``), or None."""
    for part in [p for p in path.split(".") if p]:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat[:MAX_SHOWN] + ("..." if len(flat) > MAX_SHOWN else ""))
