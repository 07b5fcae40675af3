"""What may reach an installer: plain Python requirements, pinned locks, and safe output.

Pure functions. ``[python] dependencies`` entries go to uv as lines of a requirements
file, where a line can also be an option (``-r /any/file``), a URL or a path; only plain
requirement specifiers (name, extras, version specifiers, markers) pass, re-rendered by
``packaging``. Installer output is shown to tenants only through ``installer_summary``.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from atoll.errors import BuildFailed

# Everything a name, extras, version specifiers and markers need, and nothing that a
# requirements file gives meaning to: no "-" options at the start, "@" / "/" / ":" (URLs,
# paths), "#" (comments), "\" (line continuations), "$" (variable expansion), line breaks.
_ALLOWED = re.compile(r"[A-Za-z0-9 ._\-\[\],<>=!~*;()'\"+]+")
_PINNED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!_-]+")
# uv reads a "name" with an archive's suffix as a file in its working folder.
_ARCHIVES = tuple(".whl .zip .tar .tgz .tbz .tlz .txz .gz .bz2 .lz .lzma .xz .zst".split())
_SHOWN = 100  # characters of a refused entry quoted back in the error
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
_PATHLIKE = re.compile(r"\S*[/\\]\S*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

EXAMPLE = 'use a name with optional extras, versions and markers, e.g. "requests>=2.31"'


def _shown(entry: str) -> str:
    return entry if len(entry) <= _SHOWN else entry[:_SHOWN] + "..."


def _refuse(entry: str, reason: str) -> BuildFailed:
    shown = _shown(entry)
    return BuildFailed(
        f"[python] dependencies: {shown!r} is not a plain requirement ({reason}); {EXAMPLE}",
        entry=shown,
    )


def _problem(entry: str) -> str | None:
    """Why ``entry`` cannot be a plain requirement line, judged on its characters alone."""
    if not entry.strip():
        return "it is empty"
    if entry.lstrip().startswith("-"):
        return "installer options are not allowed"
    if any(c in entry for c in "\r\n\x00\x0b\x0c\x85\u2028\u2029"):
        return "line breaks are not allowed"
    if "\\" in entry:
        return "backslashes are not allowed"
    if "#" in entry:
        return "comments are not allowed"
    if "$" in entry:
        return "variables are not allowed"
    if "@" in entry or "://" in entry:
        return "URLs and direct references are not allowed; the platform chooses the index"
    if "/" in entry or entry.lstrip().startswith("."):
        return "paths are not allowed"
    if not _ALLOWED.fullmatch(entry):
        bad = next(c for c in entry if not _ALLOWED.fullmatch(c))
        return f"the character {bad!r} is not allowed"
    return None


def requirement_line(entry: str) -> str:
    """``entry`` as a normalized requirement line, or a BuildFailed naming it."""
    problem = _problem(entry)
    if problem is not None:
        raise _refuse(entry, problem)
    try:
        requirement = Requirement(entry)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "it does not parse"
        raise _refuse(entry, f"it does not parse: {reason}") from None
    if requirement.url is not None:
        raise _refuse(entry, "URLs and direct references are not allowed")
    if requirement.name.lower().endswith(_ARCHIVES):
        raise _refuse(entry, "file names are not allowed")
    line = str(requirement)
    # The rendering is what uv reads: check it as strictly as the input.
    problem = _problem(line)
    if problem is not None:
        raise _refuse(entry, problem)
    return line


def requirement_lines(entries: object, *, max_count: int, max_length: int) -> tuple[str, ...]:
    """Every ``[python] dependencies`` entry checked and normalized; BuildFailed otherwise."""
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise BuildFailed("[python] dependencies must be a list of strings")
    if len(entries) > max_count:
        raise BuildFailed(
            f"[python] dependencies lists {len(entries)} entries; at most {max_count} are allowed",
            count=len(entries),
            limit=max_count,
        )
    lines = []
    for entry in entries:
        if len(entry) > max_length:
            raise _refuse(entry, f"it is longer than {max_length} characters")
        lines.append(requirement_line(entry))
    return tuple(lines)


def pinned_lines(lock: str) -> list[str]:
    """The ``name==version`` lines of a resolved lock; BuildFailed on anything else.

    A lock is installed with ``-r``: re-checking it keeps every line a plain pin even when
    it comes from a cache on disk or an installer that misbehaved.
    """
    pins = []
    for number, raw in enumerate(lock.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        if _PINNED.fullmatch(line) is None or not _is_version(version):
            # The line itself is not quoted back: it came from the installer, not the tenant.
            raise BuildFailed(
                f"the resolved dependency lock has a line that is not a pinned package (line "
                f"{number})",
                line=number,
            )
        pins.append(f"{name}=={version}")
    return pins


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def installer_summary(output: str, *, max_lines: int = 20, max_line_length: int = 200) -> str:
    """Installer output as tenants may see it: no paths, URLs or control characters.

    Keeps the last ``max_lines`` lines (resolution errors end the output), each shortened.
    The full output is for the operator's log only.
    """
    lines = []
    for raw in output.splitlines():
        line = _ANSI.sub("", raw)
        line = _CONTROL.sub("", line)
        line = _URL.sub("<url>", line)
        line = _PATHLIKE.sub("<path>", line).rstrip()
        if not line.strip():
            continue
        if len(line) > max_line_length:
            line = line[:max_line_length] + "..."
        lines.append(line)
    return "\n".join(lines[-max_lines:])
