"""Split a component's CSS into its shadow-root sheet and the rules hoisted to the document.

``@font-face`` and ``@property`` are ignored inside shadow roots, so they move to the
document, renamed with the component's scope so two components (or the page) cannot clash:
font family ``Fancy`` becomes ``Fancy__Counter`` and ``--angle`` becomes
``--angle__Counter``, and every reference in the component's CSS follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HOISTED = ("@font-face", "@property")
_FONT_DECL = re.compile(r"(?<![\w-])(font-family|font)(\s*:\s*)([^;{}]*)", re.IGNORECASE)
_FAMILY_IN_FACE = re.compile(r"(font-family\s*:\s*)(\"[^\"]*\"|'[^']*'|[^;}]+)", re.IGNORECASE)
_PROPERTY_HEAD = re.compile(r"@property\s+(--[\w-]+)", re.IGNORECASE)
_SCOPE_OK = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def css_imports(rules: list[str]) -> list[str]:
    """The ``@import`` rules among top-level rules (shadow-root stylesheets ignore them)."""
    return [rule for rule in rules if rule.lower().startswith("@import")]


@dataclass(frozen=True)
class ScopedCss:
    """The sheet adopted by each shadow root, and the rules for the document.

    The runtime adopts its ``:host`` reset, in a layer of its own, before ``shadow``, so a
    component's own ``:host`` rules (layered or not) win over the reset.
    """

    shadow: str
    document: str
    imports: tuple[str, ...] = ()


def _skip_string_or_comment(css: str, i: int) -> int:
    """If a string or comment starts at ``i``, the index just after it; else ``i``."""
    ch = css[i]
    if ch in "\"'":
        j = i + 1
        while j < len(css) and css[j] != ch:
            j += 2 if css[j] == "\\" else 1
        return min(j + 1, len(css))
    if css.startswith("/*", i):
        end = css.find("*/", i + 2)
        return len(css) if end < 0 else end + 2
    return i


def _block_end(css: str, open_brace: int) -> int:
    """Index just after the ``}`` matching the ``{`` at ``open_brace``."""
    depth = 0
    i = open_brace
    while i < len(css):
        j = _skip_string_or_comment(css, i)
        if j != i:
            i = j
            continue
        if css[i] == "{":
            depth += 1
        elif css[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(css)


def split_top_level(css: str) -> tuple[list[str], list[str]]:
    """Top-level ``@font-face``/``@property`` rules, and everything else, in order."""
    hoisted: list[str] = []
    kept: list[str] = []
    i = 0
    start = 0
    while i < len(css):
        j = _skip_string_or_comment(css, i)
        if j != i:
            i = j
            continue
        if css[i] == "{":
            end = _block_end(css, i)
            rule = css[start:end]
            head = rule.lstrip().lower()
            (hoisted if head.startswith(_HOISTED) else kept).append(rule.strip())
            i = start = end
            continue
        if css[i] == ";" and css[start:i].lstrip().startswith("@"):
            kept.append(css[start : i + 1].strip())  # @import / @charset / @layer a, b;
            start = i + 1
        i += 1
    tail = css[start:].strip()
    if tail:
        kept.append(tail)
    return hoisted, kept


def _family_name(value: str) -> str:
    value = value.strip()
    if value[:1] in "\"'" and value[-1:] == value[:1]:
        return value[1:-1]
    return " ".join(value.split())


def _rename_families(css: str, renames: dict[str, str]) -> str:
    if not renames:
        return css

    def fix_value(match: re.Match[str]) -> str:
        value = match.group(3)
        for old, new in renames.items():
            quoted = re.compile(r"([\"'])" + re.escape(old) + r"\1")
            value = quoted.sub(f'"{new}"', value)
            bare = re.compile(r"(?<![\w\"'-])" + re.escape(old) + r"(?![\w\"'-])")
            value = bare.sub(f'"{new}"', value)
        return match.group(1) + match.group(2) + value

    return _FONT_DECL.sub(fix_value, css)


def _rename_properties(css: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        css = re.sub(re.escape(old) + r"(?![\w-])", new, css)
    return css


def scope_css(css: str, scope: str) -> ScopedCss:
    """Scope a component's bundled CSS; ``scope`` is usually the component's name."""
    if not _SCOPE_OK.match(scope):
        raise ValueError(f"bad CSS scope {scope!r}")
    hoisted, kept = split_top_level(css)
    families: dict[str, str] = {}
    properties: dict[str, str] = {}
    for rule in hoisted:
        if rule.lower().startswith("@font-face"):
            for match in _FAMILY_IN_FACE.finditer(rule):
                name = _family_name(match.group(2))
                families[name] = f"{name}__{scope}"
        else:
            head = _PROPERTY_HEAD.match(rule)
            if head:
                properties[head.group(1)] = f"{head.group(1)}__{scope}"
    document_rules: list[str] = []
    for rule in hoisted:
        if rule.lower().startswith("@font-face"):
            rule = _FAMILY_IN_FACE.sub(
                lambda m: f'{m.group(1)}"{families[_family_name(m.group(2))]}"', rule
            )
        document_rules.append(_rename_properties(rule, properties))
    shadow = _rename_properties(_rename_families("\n".join(kept), families), properties)
    document = "\n".join(document_rules)
    return ScopedCss(
        shadow=shadow + ("\n" if shadow else ""),
        document=document,
        imports=tuple(css_imports(kept)),
    )
