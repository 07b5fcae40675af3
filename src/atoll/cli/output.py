"""What the CLI prints: one-line errors, aligned tables, progress, colour on a terminal."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn, TextIO


class Exit(Exception):
    """Stop the command with this exit code (the message, if any, was printed)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def colour_on(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set (no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def style(text: str, code: str, stream: TextIO) -> str:
    """``text`` in an SGR style (``1`` bold, ``2`` dim, ``31`` red, ``32`` green...) on a tty."""
    return f"\033[{code}m{text}\033[0m" if colour_on(stream) else text


def say(line: str) -> None:
    """A line for the person on stderr (notes, hints), out of the way of stdout."""
    print(line, file=sys.stderr, flush=True)


def fail(message: str, code: int) -> NoReturn:
    """Print a one-line error on stderr and stop with ``code``."""
    error_line(message)
    raise Exit(code)


def confirm_deletion(kind: str, name: str, losing: str) -> None:
    """Ask on the terminal for ``name`` to be typed before it is deleted with ``losing``
    (commands skip this with ``--yes``); stop with 2 when there is no terminal to ask on,
    and with 1 when the answer is not ``name``."""
    if not sys.stdin.isatty():
        fail(f"refusing to delete {kind} {name} without --yes (no terminal to ask on)", 2)
    print(f"This deletes {kind} {name} with {losing}.", file=sys.stderr)
    try:
        typed = input(f"Type {name} to confirm: ").strip()
    except EOFError:
        typed = ""
    if typed != name:
        fail("not deleted", 1)


def error_line(message: str) -> None:
    """``atoll: error: ...`` on stderr, one line whatever the message holds."""
    # Messages carry what servers and tenants wrote: no escape sequences reach the terminal.
    text = " ".join(_clean(message).split())
    print(f"{style('atoll: error:', '1;31', sys.stderr)} {text}", file=sys.stderr, flush=True)


def emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    """One JSON object with ``--json``, else the human text."""
    import json

    text = json.dumps(data, default=str) if as_json else human
    if text:
        print(text, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "") -> str:
    """Rows aligned under their headers; ``empty`` when there are none."""
    if not rows:
        return empty
    cells = [[_clean(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    last = len(headers) - 1

    def line(values: Sequence[str]) -> str:
        return "  ".join(v if i == last else v.ljust(widths[i]) for i, v in enumerate(values))

    head = style(line(headers).rstrip(), "1", sys.stdout)
    return "\n".join([head] + [line(row).rstrip() for row in cells])


def when(value: Any) -> str:
    """An ISO timestamp from the API as ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return str(value or "")[:19].replace("T", " ")


def _clean(value: Any) -> str:
    if value is None:
        return "-"
    # Cells hold what a server or tenant wrote: no line breaks or control characters.
    return "".join(c if c.isprintable() else " " for c in str(value))


class Progress:
    """Progress of long work: one rewritten line on a terminal, plain lines otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False
        self.last = ""

    def __call__(self, line: str) -> None:
        """Show ``line`` (a plain line is only printed when it changed)."""
        if self.tty:
            width = max(20, _width() - 1)
            sys.stderr.write("\r\033[K" + line[:width])
            sys.stderr.flush()
            self.shown = True
        elif line != self.last:
            print(line, file=sys.stderr, flush=True)
        self.last = line

    def done(self) -> None:
        """Clear the progress line."""
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


def _width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        return 80
