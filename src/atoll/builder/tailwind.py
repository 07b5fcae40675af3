"""Tailwind CSS for components: the utilities a component's own sources name, compiled into
its shadow-root stylesheet.

The candidates are the class-like words of the component file and the app's own modules it
imports; the platform's ``tailwindcss`` package turns the ones it knows into CSS, in the same
``driver.mjs`` run that bundles the components (it knows which files each bundle took). The
compiler's input is the platform's fixed ``@import "tailwindcss"``: nothing a tenant writes is
read as a stylesheet, so no ``@import``, ``@plugin``, ``@config`` or ``@source`` of theirs can
make the build read a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from atoll.builder.css_scope import split_top_level
from atoll.builder.esbuild import BuildMessage, build_failed
from atoll.errors import AtollError

MAX_CANDIDATES = 20_000  # distinct class-like words of one component
MAX_CANDIDATE_LENGTH = 200  # longer words are not class names
MAX_CSS_CHARS = 1_000_000  # Tailwind CSS of one component
# Hyphenated utilities that are also CSS values (`display: "inline-block"`, a transition's
# `ease-in-out`): words a component styled by its own CSS and inline styles uses too.
CSS_VALUE_UTILITIES = frozenset(
    "inline-block inline-flex inline-grid inline-table flow-root list-item table-caption "
    "table-cell table-column table-column-group table-footer-group table-header-group "
    "table-row table-row-group line-through break-all ease-in ease-out ease-in-out "
    "ease-linear".split()
)
_WORDS = re.compile(r"[^\s\"`{};\\]+")
# Inside a word, quotes, parentheses and commas end a candidate unless in brackets
# (`cn('p-4',` but `bg-[url('/a.png')]`, `grid-cols-[repeat(3,1fr)]`).
_CANDIDATE = re.compile(r"(?:[^\[\]'(),]|\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\])+")
_SCRIPT = re.compile(r"\.(jsx|tsx|js|ts|mjs|cjs|mts|cts)$")
_SHAPE = re.compile(r"^[!-]?[a-z0-9@\[*]")
_PROPERTY = re.compile(r"@property\s+(--[\w-]+)\s*\{(.*)\}\s*$", re.DOTALL)
_INITIAL = re.compile(r"initial-value\s*:\s*([^;}]*)")
# Shadow roots ignore @property, so its initial values become plain declarations: the
# fallback Tailwind itself uses where @property is missing, plus the host.
_INITIAL_SELECTOR = ":host, *, ::before, ::after, ::backdrop"


def class_candidates(text: str) -> set[str]:
    """The class-like words of a source file (every one Tailwind could know)."""
    found: set[str] = set()
    for word in _WORDS.findall(text):
        for candidate in _CANDIDATE.findall(word):
            if len(candidate) <= MAX_CANDIDATE_LENGTH and _SHAPE.match(candidate):
                found.add(candidate)
    return found


def is_signal(candidate: str) -> bool:
    """Whether a compiled ``candidate`` shows Tailwind use: a variant, value or arbitrary part
    (``md:flex``, ``p-4``, ``bg-[#333]``), not a lone word like ``flex`` or ``hidden`` or a CSS
    value like ``inline-block`` that plain code writes too."""
    bare = candidate.lstrip("!-")
    return any(c in bare for c in "-:[") and bare not in CSS_VALUE_UTILITIES


def shadow_safe(css: str) -> str:
    """Tailwind's CSS with each ``@property`` turned into a plain initial declaration.

    Shadow roots ignore ``@property``, and shadows, rings, transforms and gradients read
    ``--tw-*`` properties whose registered initial value they need; declared on every
    element instead (in Tailwind's lowest layer), they behave the same inside the root.
    """
    hoisted, kept = split_top_level(css)
    declarations: list[str] = []
    for rule in hoisted:
        match = _PROPERTY.match(rule)
        if match is None:
            kept.append(rule)  # an @font-face: the component's scoping hoists it
            continue
        initial = _INITIAL.search(match.group(2))
        value = initial.group(1).strip() if initial and initial.group(1).strip() else "initial"
        declarations.append(f"{match.group(1)}: {value};")
    if declarations:
        body = "\n    ".join(declarations)
        # First, so `properties` is the lowest of Tailwind's layers and utilities override it.
        kept.insert(0, f"@layer properties {{\n  {_INITIAL_SELECTOR} {{\n    {body}\n  }}\n}}")
    return "\n".join(kept) + "\n"


def tailwind_version(node_modules: Path) -> str | None:
    """The installed ``tailwindcss`` version, or None when it is not installed."""
    package = node_modules / "tailwindcss" / "package.json"
    if not package.is_file():
        return None
    return str(json.loads(package.read_text())["version"])


def _script_files(src_dir: Path) -> list[Path]:
    """The app's script files a component could import (not packages, not dotfolders)."""
    return sorted(
        path
        for path in src_dir.rglob("*")
        if _SCRIPT.search(path.name)
        and path.is_file()
        and not any(
            p == "node_modules" or p.startswith(".") for p in path.relative_to(src_dir).parts
        )
    )


def tailwind_request(
    src_dir: Path, entries: Mapping[str, str], node_modules: Path
) -> dict[str, Any] | None:
    """What the driver needs to compile the components' Tailwind CSS with their bundle: each
    script file's candidates and signals (the driver unions those of the files a component's
    bundle took). None when no file has a signal: nothing to compile, no Tailwind work."""
    files: dict[str, dict[str, list[str]]] = {}
    for path in _script_files(src_dir):
        # One file over the limit already puts its components over it: keep one word more.
        candidates = sorted(class_candidates(path.read_text(errors="replace")))
        candidates = candidates[: MAX_CANDIDATES + 1]
        signals = [c for c in candidates if is_signal(c)]
        if candidates:
            rel = path.relative_to(src_dir).as_posix()
            files[rel] = {"candidates": candidates, "signals": signals}
    if not any(words["signals"] for words in files.values()):
        return None
    if tailwind_version(node_modules) is None:
        raise AtollError("tailwindcss is not installed; run `npm ci` at the repository root")
    return {
        "entries": dict(entries),
        "files": files,
        "maxCandidates": MAX_CANDIDATES,
        "maxChars": MAX_CSS_CHARS,
    }


def tailwind_results(reply: Mapping[str, Any], entries: Mapping[str, str]) -> dict[str, str]:
    """Component name -> its Tailwind CSS (shadow-safe), from the driver's reply; a component
    that does not use Tailwind has none. Errors are ``BuildFailed`` at the component's file."""
    results: dict[str, dict[str, Any]] = reply.get("tailwind") or {}
    problems = [
        BuildMessage(f"Tailwind: {out['error']}", file=entries[name], line=1)
        for name, out in results.items()
        if out.get("error")
    ]
    if problems:
        raise build_failed("components failed to build", problems)
    return {name: shadow_safe(out["css"]) for name, out in results.items() if out.get("css")}
