"""The HTML of an app's generated docs page, rendered from its docs document (no I/O).

Every name and text in the document comes from tenant code and is escaped here; the page
runs no script (the interactive try-it is a page of its own, Swagger UI).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
_MAX_TYPE_DEPTH = 6


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _anchor(kind: str, name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return f"{kind}-{safe}"


def type_text(schema: Any, depth: int = 0) -> str:
    """A JSON Schema as a short type, TypeScript-like (``Todo[]``, ``string | null``)."""
    if not isinstance(schema, dict) or depth > _MAX_TYPE_DEPTH:
        return "any"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    if isinstance(schema.get("anyOf"), list):
        return " | ".join(type_text(s, depth + 1) for s in schema["anyOf"]) or "any"
    if isinstance(schema.get("enum"), list):
        return " | ".join(json.dumps(v) for v in schema["enum"]) or "never"
    kind = schema.get("type")
    if kind == "array":
        if isinstance(schema.get("prefixItems"), list):
            return "[" + ", ".join(type_text(s, depth + 1) for s in schema["prefixItems"]) + "]"
        item = type_text(schema.get("items", {}), depth + 1)
        return f"({item})[]" if " " in item else f"{item}[]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"{{[key: string]: {type_text(extra, depth + 1)}}}"
        return "object"
    if isinstance(kind, str):
        shown = kind + (f" ({schema['format']})" if isinstance(schema.get("format"), str) else "")
        return shown
    return str(schema["title"]) if isinstance(schema.get("title"), str) else "any"


def _type_html(schema: Any) -> str:
    """``type_text`` with the names of the app's models linked to their description."""
    text = _e(type_text(schema))
    for name in sorted(_refs(schema), key=len, reverse=True):
        link = f'<a href="#{_anchor("model", name)}">{_e(name)}</a>'
        text = text.replace(_e(name), link, 1)
    return f"<code>{text}</code>"


def _refs(schema: Any, depth: int = 0) -> set[str]:
    if depth > _MAX_TYPE_DEPTH:
        return set()
    if isinstance(schema, dict):
        found = set()
        if isinstance(schema.get("$ref"), str):
            found.add(schema["$ref"].rsplit("/", 1)[-1])
        for value in schema.values():
            found |= _refs(value, depth + 1)
        return found
    if isinstance(schema, list):
        return set().union(*(_refs(v, depth + 1) for v in schema)) if schema else set()
    return set()


def _table(head: Iterable[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="table-wrap">{table}</div>'


_REQUIRED = '<span class="pill req">required</span>'
_OPTIONAL = '<span class="muted">optional</span>'
_NO_EXPORT = ' <span class="pill warn">no default export</span>'


def _muted(text: str) -> str:
    return f' <span class="muted">{_e(text)}</span>' if text else ""


def _yes(flag: object) -> str:
    return _REQUIRED if flag else _OPTIONAL


def _default(schema: dict[str, Any]) -> str:
    if "default" in schema:
        return f"<code>{_e(json.dumps(schema['default']))}</code>"
    if "x-default" in schema:
        return f"<code>{_e(schema['x-default'])}</code>"
    return ""


_CONSTRAINTS = ("minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                "exclusiveMaximum", "pattern", "format")  # fmt: skip


def _constraints(schema: dict[str, Any]) -> str:
    shown = [f"{k} {json.dumps(schema[k])}" for k in _CONSTRAINTS if k in schema]
    return f'<span class="muted">{_e(", ".join(shown))}</span>' if shown else ""


def _operation(name: str, method: str, op: dict[str, Any]) -> str:
    params = _list(op.get("parameters"))
    rows = []
    for p in params:
        if not isinstance(p, dict):
            continue
        schema = _dict(p.get("schema"))
        rows.append(
            [
                f"<code>{_e(p.get('name', ''))}</code>",
                _e(p.get("in", "query")),
                _type_html(schema),
                _yes(p.get("required")),
                _default(schema) + " " + _constraints(schema),
            ]
        )
    body = op.get("requestBody") if isinstance(op.get("requestBody"), dict) else None
    if body is not None:
        schema = body.get("content", {}).get("application/json", {}).get("schema", {})
        rows.append(
            [
                "<code>body</code>",
                "JSON body",
                _type_html(schema),
                _yes(body.get("required")),
                _default(schema),
            ]
        )
    responses = _dict(op.get("responses"))
    ok = responses.get("200", {}) if isinstance(responses.get("200"), dict) else {}
    returns = ok.get("content", {}).get("application/json", {}).get("schema", {})
    operation_id = str(op.get("operationId", f"{method}_{name}"))
    description = op.get("description") if isinstance(op.get("description"), str) else ""
    summary = str(op.get("summary", ""))
    more = (
        f'<p class="desc">{_e(description)}</p>'
        if description and description.strip() != summary.strip()
        else ""
    )
    return (
        f'<div class="op" id="{_e(_anchor("op", operation_id))}">'
        f'<div class="op-head"><span class="method m-{_e(method)}">{_e(method.upper())}</span>'
        f'<code>/api/{_e(name)}</code><span class="summary">{_e(summary)}</span>'
        f'<a class="try" href="try#/{_e(name)}/{_e(operation_id)}">Try it</a></div>'
        f"{more}"
        + _table(
            ["Parameter", "In", "Type", "Required", "Default and rules"], rows, "No parameters."
        )
        + f'<p class="returns">Returns {_type_html(returns)}</p></div>'
    )


def _functions(openapi: dict[str, Any]) -> str:
    paths = _dict(openapi.get("paths"))
    cards = []
    for path, item in sorted(paths.items()):
        if not isinstance(item, dict):
            continue
        name = str(path).removeprefix("/api/")
        ops = "".join(
            _operation(name, m, item[m]) for m in METHODS if isinstance(item.get(m), dict)
        )
        summary = item.get("description") or item.get("summary") or ""
        cards.append(
            f'<article class="card" id="{_e(_anchor("function", name))}">'
            f"<h3><code>{_e(path)}</code></h3>"
            + (f'<p class="desc">{_e(summary)}</p>' if summary else "")
            + ops
            + "</article>"
        )
    if not cards:
        return '<p class="muted">This app has no functions.</p>'
    return "".join(cards)


def _models(openapi: dict[str, Any]) -> str:
    schemas = openapi.get("components", {}).get("schemas", {})
    cards = []
    for name, schema in sorted(schemas.items()) if isinstance(schemas, dict) else []:
        if name == "Error" or not isinstance(schema, dict):
            continue
        props = _dict(schema.get("properties"))
        required = set(schema.get("required") or [])
        rows = [
            [
                f"<code>{_e(field)}</code>",
                _type_html(prop),
                _yes(field in required),
                _default(prop) + " " + _constraints(prop),
                _e(prop.get("description", "")) if isinstance(prop, dict) else "",
            ]
            for field, prop in props.items()
        ]
        if "enum" in schema:
            table = f"<p>One of {_type_html({'enum': schema['enum']})}</p>"
        else:
            table = _table(
                ["Field", "Type", "Required", "Default and rules", "Description"],
                rows,
                "No fields.",
            )
        desc = schema.get("description")
        cards.append(
            f'<article class="card" id="{_e(_anchor("model", name))}">'
            f"<h3>{_e(name)}</h3>"
            + (f'<p class="desc">{_e(desc)}</p>' if isinstance(desc, str) else "")
            + table
            + "</article>"
        )
    return "".join(cards)


def _components(components: list[Any]) -> str:
    cards = []
    for c in components:
        if not isinstance(c, dict):
            continue
        props = _list(c.get("props"))
        rows = [
            [
                f"<code>{_e(p.get('name', ''))}</code>",
                f"<code>{_e(p.get('type') or 'any')}</code>",
                _yes(p.get("required")),
                f"<code>{_e(p['default'])}</code>" if p.get("default") is not None else "",
                _e(p.get("description", "")),
                f'<span class="muted">{_e(", ".join(p.get("sources") or []))}</span>',
            ]
            for p in props
            if isinstance(p, dict)
        ]
        flag = "" if c.get("exported") is not False else _NO_EXPORT
        desc = c.get("description")
        cards.append(
            f'<article class="card" id="{_e(_anchor("component", str(c.get("name"))))}">'
            f"<h3>{_e(c.get('name', ''))}{flag}</h3>"
            f'<p class="file">{_e(c.get("file", ""))}</p>'
            + (f'<p class="desc">{_e(desc)}</p>' if desc else "")
            + _table(
                ["Prop", "Type", "Required", "Default", "Description", "Found in"],
                rows,
                "No props found.",
            )
            + "</article>"
        )
    return "".join(cards) or '<p class="muted">This app has no components.</p>'


def _pages(pages: list[Any]) -> str:
    rows = []
    for page in pages:
        if not isinstance(page, dict):
            continue
        data = [
            f"<code>{_e(d.get('name'))}</code> &larr; "
            + (
                f"<code>{_e(d.get('method', 'GET'))} /api/{_e(d['function'])}</code>"
                if d.get("function")
                else '<span class="muted">a value</span>'
            )
            + _muted("?" + "&".join(d.get("query") or []) if d.get("query") else "")
            for d in page.get("data", [])
            if isinstance(d, dict)
        ]
        mounted = [
            f'<a href="#{_e(_anchor("component", str(c.get("name"))))}">{_e(c.get("name"))}</a>'
            + _muted(f"({', '.join(c.get('props') or [])})" if c.get("props") else "")
            for c in page.get("components", [])
            if isinstance(c, dict)
        ]
        calls = [
            f"<code>{_e(c.get('method'))} /api/{_e(c.get('function'))}</code>"
            for c in page.get("calls", [])
            if isinstance(c, dict)
        ]
        route = str(page.get("route", "/"))
        rows.append(
            [
                f'<a href="{_e(route)}" target="_blank" rel="noopener">'
                f"<code>{_e(route)}</code></a>",
                _e(page.get("title", "")),
                "<br>".join(data) or '<span class="muted">none</span>',
                "<br>".join(mounted) or '<span class="muted">none</span>',
                "<br>".join(calls) or '<span class="muted">none</span>',
            ]
        )
    table = _table(["Route", "Title", "Data", "Components", "Actions call"], rows, "No pages.")
    return f'<article class="card">{table}</article>'


def _database(database: dict[str, Any]) -> str:
    tables = _list(database.get("tables"))
    cards = []
    relations = []
    for t in tables:
        if not isinstance(t, dict):
            continue
        name = str(t.get("name", ""))
        keys = [k for k in t.get("foreignKeys", []) if isinstance(k, dict)]
        refs = {c: k for k in keys for c in k.get("columns", [])}
        rows = []
        for col in t.get("columns", []):
            if not isinstance(col, dict):
                continue
            marks = []
            if col.get("primaryKey"):
                marks.append('<span class="pill key">primary key</span>')
            key = refs.get(col.get("name"))
            if key is not None:
                target = str(key.get("table"))
                marks.append(
                    f'<span class="pill ref">&rarr; <a href="#{_e(_anchor("table", target))}">'
                    f"{_e(target)}</a></span>"
                )
            rows.append(
                [
                    f"<code>{_e(col.get('name'))}</code>",
                    f"<code>{_e(col.get('type') or 'any')}</code>",
                    "not null" if col.get("notNull") else '<span class="muted">null</span>',
                    f"<code>{_e(col['default'])}</code>" if col.get("default") is not None else "",
                    " ".join(marks),
                ]
            )
        for k in keys:
            to = ", ".join(str(c) if c is not None else "(primary key)" for c in k.get("to", []))
            on = [
                f"on {what} {k[field].lower()}"
                for what, field in (("delete", "onDelete"), ("update", "onUpdate"))
                if isinstance(k.get(field), str) and k[field] != "NO ACTION"
            ]
            relations.append(
                f"<li><code>{_e(name)}({_e(', '.join(map(str, k.get('columns', []))))})</code>"
                f" &rarr; <code>{_e(k.get('table'))}({_e(to)})</code>"
                + (f' <span class="muted">{_e(", ".join(on))}</span>' if on else "")
                + "</li>"
            )
        indexes = [
            f"<code>{_e(i.get('name'))}</code> ({_e(', '.join(map(str, i.get('columns', []))))})"
            + (" unique" if i.get("unique") else "")
            for i in t.get("indexes", [])
            if isinstance(i, dict)
        ]
        cards.append(
            f'<article class="card" id="{_e(_anchor("table", name))}"><h3>{_e(name)}</h3>'
            + _table(["Column", "Type", "Null", "Default", "Key"], rows, "No columns.")
            + (f'<p class="muted">Indexes: {"; ".join(indexes)}</p>' if indexes else "")
            + "</article>"
        )
    if not cards:
        return '<p class="muted">The migrations create no tables.</p>'
    shown = f'<ul class="relations">{"".join(relations)}</ul>' if relations else ""
    head = "<h3>Relations</h3>" + shown if shown else ""
    return head + "".join(cards)


def _notes(notes: list[Any]) -> str:
    items = [
        f"<li><strong>{_e(n.get('part', ''))}</strong>"
        + (f" <code>{_e(n['file'])}</code>" if n.get("file") else "")
        + (f":{_e(n['line'])}" if n.get("line") else "")
        + f": {_e(n.get('message', ''))}</li>"
        for n in notes
        if isinstance(n, dict)
    ]
    return f'<ul class="notes">{"".join(items)}</ul>'


def render_docs_page(document: dict[str, Any], where: str) -> str:
    """The docs page of one deployment (``where``: what it serves, e.g. ``prod, v3``)."""
    openapi = _dict(document.get("functions"))
    components = _list(document.get("components"))
    pages = _list(document.get("pages"))
    database = _dict(document.get("database"))
    notes = _list(document.get("notes"))
    title = str(document.get("title", "app"))
    models = _models(openapi)
    sections = [
        ("functions", "Functions", _functions(openapi)),
        *([("models", "Models", models)] if models else []),
        ("components", "Components", _components(components)),
        ("pages", "Pages", _pages(pages)),
        ("database", "Database", _database(database)),
        *([("notes", "Notes", _notes(notes))] if notes else []),
    ]
    nav = "".join(f'<a href="#{key}">{_e(label)}</a>' for key, label, _ in sections)
    body = "".join(
        f'<section id="{key}"><h2>{_e(label)}</h2>{content}</section>'
        for key, label, content in sections
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{_e(title)} &middot; docs</title>"
        '<link rel="stylesheet" href="/_atoll/docs/assets/appdocs.css"></head><body>'
        f'<header class="top"><div><h1>{_e(title)} <span class="muted">docs</span></h1>'
        f'<p class="muted">Generated from {_e(where)}: every function, component, page and '
        "table of this build.</p></div>"
        '<div class="links"><a class="btn" href="try">Try the API</a>'
        '<a href="openapi.json">openapi.json</a><a href="docs.json">docs.json</a></div></header>'
        f'<nav class="sections">{nav}</nav><main>{body}</main></body></html>\n'
    )


def render_try_page(title: str) -> str:
    """Swagger UI over the deployment's functions (its script and files are the platform's)."""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{_e(title)} &middot; try the API</title>"
        '<link rel="stylesheet" href="/_atoll/docs/assets/swagger-ui.css">'
        '<link rel="stylesheet" href="/_atoll/docs/assets/appdocs.css"></head><body class="try">'
        '<nav class="back"><a href="./">&larr; All docs</a></nav>'
        '<div id="swagger-ui" data-openapi-url="/_atoll/docs/openapi.json"></div>'
        '<script src="/_atoll/docs/assets/swagger-ui-bundle.js"></script>'
        '<script src="/_atoll/docs/assets/try.js"></script></body></html>\n'
    )
