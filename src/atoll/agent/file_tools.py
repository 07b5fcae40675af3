"""The agent's tools over the app's files: list, read, search, write, edit, delete, rename,
and add a migration.

They work on the turn's ``Draft``. Writing follows its rules (an existing file must have
been read in this conversation and be unchanged since), an edit is an exact search and
replace that must match once (else the nearest candidates are shown with their line
numbers), and text that stands in for code ("rest of the code unchanged", a lone ``...``)
is refused, since it would replace the code it stands for.
"""

from __future__ import annotations

import difflib
import re

from pydantic import Field

from atoll.dbservice.migrations import parse_migration_filename
from atoll.errors import BadInput, Conflict, LimitExceeded, NotFound

from .draft import Draft, texts
from .tools import Args, Tool

MAX_LISTED = 500  # paths in one list_files answer
MAX_MATCHES = 100  # lines in one search answer
MAX_LINE_CHARS = 300  # of one matching line shown
MAX_PATTERN = 500  # characters of a search pattern
CANDIDATES = 3  # near matches shown when an edit's text is not found
MIGRATIONS = "migrations/"
_MIGRATION_FILE = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")

# Text models write instead of the code they mean to keep. Checked on new text only.
_PLACEHOLDERS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(rest|remainder) of (the )?(code|file|function|class|implementation|component)\b",
        r"\b(existing|previous|other|original) (code|content|functions?|imports?|methods?)"
        r"( (here|goes here|remains?|unchanged|stays?))?\s*(\.\.\.|…)",
        r"\b(code|content|everything else|implementation) (remains?|stays?|is) "
        r"(the same|unchanged)\b",
        r"\bunchanged\b.*(\.\.\.|…)|(\.\.\.|…).*\bunchanged\b",
        r"\b(same as before|as before)\s*(\.\.\.|…)?\s*$",
    )
]
_LONE_ELLIPSIS = re.compile(r"^\s*(#|//|--|/\*|<!--|\{/\*)?\s*(\.\.\.|…)\s*(\*/|-->|\*/\})?\s*$")


def placeholder(text: str) -> str | None:
    """The first line of ``text`` that stands in for code instead of being code, if any."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if _LONE_ELLIPSIS.match(line):
            return stripped
        comment = re.match(r"^\s*(#|//|--|/\*|\*|<!--|\{/\*)", line)
        if comment and any(p.search(stripped) for p in _PLACEHOLDERS):
            return stripped
    return None


def _refuse_placeholder(path: str, text: str) -> None:
    found = placeholder(text)
    if found is not None:
        raise BadInput(
            f"refused: {path} would contain {found[:80]!r}, which stands in for code. Write "
            "the code itself; to change part of a file, use edit_file on that part only",
            path=path,
        )


def _text(draft: Draft, path: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text ({len(data)} bytes)", path=path) from None


def _numbered(lines: list[str], start: int) -> str:
    width = len(str(start + len(lines)))
    return "\n".join(f"{n:>{width}}| {line}" for n, line in enumerate(lines, start))


# -- arguments ---------------------------------------------------------------------------


class ListArgs(Args):
    prefix: str = Field("", description="Only paths that start with this (e.g. 'functions/').")


class ReadArgs(Args):
    path: str = Field(description="The file's path in the app, e.g. 'functions/todos.py'.")
    start_line: int | None = Field(None, ge=1, description="First line to show (1-based).")
    end_line: int | None = Field(None, ge=1, description="Last line to show (inclusive).")


class SearchArgs(Args):
    pattern: str = Field(description="A Python regular expression, searched line by line.")
    prefix: str = Field("", description="Only files whose path starts with this.")


class WriteArgs(Args):
    path: str = Field(description="The new file's path.")
    content: str = Field(description="The whole content of the new file.")


class MigrationArgs(Args):
    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,59}$",
        description="What it does, in lower case with underscores, e.g. add_due_date.",
    )
    sql: str = Field(description="The SQL statements of the migration.")


class EditArgs(Args):
    path: str = Field(description="The file to change (read it first).")
    search: str = Field(description="Text that occurs exactly once in the file, copied exactly.")
    replace: str = Field(description="What to put in its place.")


class DeleteArgs(Args):
    path: str = Field(description="The file to delete (read it first).")


class RenameArgs(Args):
    path: str = Field(description="The file to move (read it first).")
    to: str = Field(description="Its new path (must not exist yet).")


# -- the tools ---------------------------------------------------------------------------


def file_tools(draft: Draft) -> list[Tool]:
    """The file tools of a turn, bound to its draft."""

    def list_files(args: ListArgs) -> str:
        paths = [p for p in draft.paths() if p.startswith(args.prefix)]
        if not paths:
            return "no files" + (f" under {args.prefix!r}" if args.prefix else "")
        shown = [f"{p} ({draft.size(p)} B)" for p in paths[:MAX_LISTED]]
        more = len(paths) - MAX_LISTED
        return "\n".join(shown) + (f"\n... and {more} more" if more > 0 else "")

    def read_file(args: ReadArgs) -> str:
        data = draft.read(args.path)
        lines = _text(draft, args.path, data).splitlines()
        start = args.start_line or 1
        end = min(args.end_line or len(lines), len(lines))
        if lines and start > len(lines):
            raise BadInput(
                f"{args.path} has {len(lines)} lines; start_line {start} is past its end"
            )
        header = f"{args.path} ({len(lines)} lines)"
        if not lines:
            return header + ": empty"
        if (start, end) != (1, len(lines)):
            header += f", lines {start}-{end}"
        return header + "\n" + _numbered(lines[start - 1 : end], start)

    def search(args: SearchArgs) -> str:
        if len(args.pattern) > MAX_PATTERN:
            raise LimitExceeded(f"the pattern is longer than {MAX_PATTERN} characters")
        try:
            pattern = re.compile(args.pattern)
        except re.error as exc:
            raise BadInput(f"the pattern is not a valid regular expression: {exc}") from None
        found: list[str] = []
        for path in texts(p for p in draft.paths() if p.startswith(args.prefix)):
            try:
                text = draft.content(path).decode("utf-8")
            except UnicodeDecodeError:
                continue
            for n, line in enumerate(text.splitlines(), 1):
                if pattern.search(line[:10_000]):
                    found.append(f"{path}:{n}: {line.strip()[:MAX_LINE_CHARS]}")
                    if len(found) > MAX_MATCHES:
                        return "\n".join(found[:MAX_MATCHES]) + "\n... more matches not shown"
        return "\n".join(found) if found else "no matches"

    def write_file(args: WriteArgs) -> str:
        if draft.exists(args.path):
            raise Conflict(
                f"{args.path} exists: change it with edit_file (after reading it), or delete "
                "it first to replace it whole",
                path=args.path,
            )
        _refuse_placeholder(args.path, args.content)
        draft.write(args.path, args.content.encode("utf-8"))
        return f"wrote {args.path} ({len(args.content.splitlines())} lines)"

    def add_migration(args: MigrationArgs) -> str:
        versions = [
            parse_migration_filename(p.removeprefix(MIGRATIONS))[0]
            for p in draft.paths()
            if p.startswith(MIGRATIONS) and _MIGRATION_FILE.match(p.removeprefix(MIGRATIONS))
        ]
        path = f"{MIGRATIONS}{max(versions, default=0) + 1:04d}_{args.name}.sql"
        _refuse_placeholder(path, args.sql)
        sql = args.sql if args.sql.endswith("\n") else args.sql + "\n"
        draft.write(path, sql.encode("utf-8"))
        return f"wrote {path}; the checks dry-run it on a copy of the dev database"

    def edit_file(args: EditArgs) -> str:
        current = draft.check_writable(args.path)
        if current is None:
            raise NotFound(f"{args.path} does not exist: create it with write_file")
        text = _text(draft, args.path, current)
        if not args.search:
            raise BadInput("search is empty: copy the exact text to replace from the file")
        count = text.count(args.search)
        if count == 0:
            raise NotFound(_not_found(args.path, text, args.search))
        if count > 1:
            found = re.finditer(re.escape(args.search), text)
            lines = list(dict.fromkeys(text[: m.start()].count("\n") + 1 for m in found))
            raise Conflict(
                f"the search text occurs {count} times in {args.path} (lines "
                f"{', '.join(map(str, lines[:20]))}): include more of the lines around the one "
                "to change, so it occurs once"
            )
        _refuse_placeholder(args.path, args.replace)
        at = text.index(args.search)
        line = text[:at].count("\n") + 1
        draft.write(args.path, (text[:at] + args.replace + text[at + len(args.search) :]).encode())
        return f"edited {args.path} at line {line}"

    def delete_file(args: DeleteArgs) -> str:
        if draft.check_writable(args.path) is None:
            raise NotFound(f"{args.path} does not exist")
        draft.delete(args.path)
        return f"deleted {args.path}"

    def rename_file(args: RenameArgs) -> str:
        data = draft.check_writable(args.path)
        if data is None:
            raise NotFound(f"{args.path} does not exist")
        if draft.exists(args.to):
            raise Conflict(f"{args.to} exists already")
        draft.write(args.to, data)
        draft.delete(args.path)
        return f"renamed {args.path} to {args.to}"

    return [
        Tool("list_files", "List the app's files with their sizes.", ListArgs, list_files),
        Tool(
            "read_file",
            "Read a file (or a range of its lines), with line numbers. A file must be read "
            "before it is changed.",
            ReadArgs,
            read_file,
        ),
        Tool(
            "search",
            "Search the app's files line by line with a regular expression.",
            SearchArgs,
            search,
        ),
        Tool("write_file", "Create a new file with its whole content.", WriteArgs, write_file),
        Tool(
            "edit_file",
            "Change a file you have read: replace text that occurs exactly once with new text.",
            EditArgs,
            edit_file,
        ),
        Tool(
            "add_migration",
            "Add the next migration (migrations/NNNN_name.sql, numbered after the last one) "
            "to change the database schema or its data; never edit an applied migration.",
            MigrationArgs,
            add_migration,
        ),
        Tool("delete_file", "Delete a file you have read.", DeleteArgs, delete_file),
        Tool("rename_file", "Move a file you have read to a new path.", RenameArgs, rename_file),
    ]


def _not_found(path: str, text: str, search: str) -> str:
    """Why an edit's search text was not found, with the nearest candidates and their lines."""
    lines = text.splitlines()
    want = search.splitlines() or [search]
    size = len(want)
    scored: list[tuple[float, int]] = []
    joined = "\n".join(want)
    for start in range(0, max(1, len(lines) - size + 1)):
        window = "\n".join(lines[start : start + size])
        ratio = difflib.SequenceMatcher(None, joined, window, autojunk=False).quick_ratio()
        if ratio > 0.5:
            scored.append((ratio, start))
    scored.sort(key=lambda s: (-s[0], s[1]))
    best: list[tuple[float, int]] = []
    for _quick, start in scored:
        if len(best) == CANDIDATES:
            break
        window = "\n".join(lines[start : start + size])
        exact = difflib.SequenceMatcher(None, joined, window, autojunk=False).ratio()
        if exact > 0.6 and all(abs(start - s) >= size for _, s in best):
            best.append((exact, start))
    message = f"the search text was not found in {path}"
    if not best:
        return message + ": read the file again and copy the text exactly"
    shown = "\n".join(
        f"--- lines {s + 1}-{s + size} ({round(r * 100)}% alike):\n"
        + _numbered(lines[s : s + size], s + 1)
        for r, s in sorted(best, key=lambda b: -b[0])
    )
    return message + "; the nearest text (copy it exactly, whitespace included):\n" + shown
