"""Describe an app's functions from their source, never running them: an OpenAPI 3.1 document.

Input (stdin): ``{"files": ["functions/todos.py", ...], "title": "todo"}``, paths relative to
the working directory (the app's code folder). Output (stdout): ``{"openapi": {...},
"notes": [{file, line, message}]}``. The document has the shape of the one the runtime
serves from the imported modules (``atoll.sdk._openapi``): paths ``/api/<name>``, operation
ids ``<method>_<name>``, query parameters, the ``body`` parameter as the request body, the
return annotation as the 200 response. Parameters are sorted as ``atoll.sdk._binding`` fills
them. Classes the app defines itself (pydantic models, dataclasses, TypedDicts, enums) become
component schemas from their annotated fields; any other name is shown as it is written.

Run by ``atoll.builder.appdocs`` in a child interpreter (``python -I -S``) under resource
limits, so it imports nothing but the standard library and the document's fixed parts
(``atoll.sdk._openapi_shape``, which the runtime's document uses too), and tenant files are
only parsed.
"""

from __future__ import annotations

import ast
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script in a bare interpreter: the platform is not on its path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from atoll.sdk import _openapi_shape as shape  # noqa: E402  (the runtime's document has the same)

METHODS = ("get", "post", "put", "patch", "delete")
MAX_FILE_BYTES = 512 * 1024  # a function file or app module parsed
MAX_MODULES = 64  # app modules followed for the classes a function file imports
MAX_DEPTH = 24  # annotation nesting described before giving up
MAX_TEXT = 200  # characters of an annotation or default shown as written

_SCALARS = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "bytes": {"type": "string"},
    "None": {"type": "null"},
    "NoneType": {"type": "null"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "UUID": {"type": "string", "format": "uuid"},
    "Decimal": {"type": "number"},
    "Any": {},
    "object": {},
    "Request": {},
    "Response": {},
}
_OBJECTS = {"dict", "Dict", "Mapping", "MutableMapping", "OrderedDict", "defaultdict"}
_ARRAYS = {
    "list", "List", "Sequence", "MutableSequence", "set", "Set", "frozenset", "FrozenSet",
    "Iterable", "Collection", "tuple", "Tuple",
}  # fmt: skip
_WRAPPERS = {"Required", "NotRequired", "ReadOnly", "Final", "ClassVar"}
_FIELD_KEYWORDS = {
    "description": "description",
    "title": "title",
    "min_length": "minLength",
    "max_length": "maxLength",
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
    "pattern": "pattern",
    "examples": "examples",
}
_ENUM_BASES = {"Enum", "StrEnum", "IntEnum"}


class Unreadable(Exception):
    """A file could not be read or parsed; the message says why."""


def _text(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _last_name(node: ast.AST) -> str | None:
    """``Name`` for ``Name`` and ``module.Name``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node: ast.AST) -> tuple[bool, Any]:
    """(True, value) when ``node`` is a JSON-ready literal."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False, None
    return True, value


@dataclass
class Module:
    """A parsed app file: its top-level classes and what its imported names point at."""

    rel: str
    tree: ast.Module
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    imported: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (module, name)
    modules: dict[str, str] = field(default_factory=dict)  # alias -> module


class Describer:
    """Describes the function files of one app; holds the component schemas found."""

    def __init__(self) -> None:
        self.notes: list[dict[str, Any]] = []
        self.schemas: dict[str, Any] = {}
        self._parsed: dict[str, Module | None] = {}
        self._named: dict[tuple[str, str], str] = {}  # (file, class) -> schema name

    def note(self, file: str | None, line: int | None, message: str) -> None:
        """Record what could not be described (the document stays usable)."""
        if len(self.notes) < 200:
            self.notes.append({"part": "functions", "file": file, "line": line, "message": message})

    # -- files --------------------------------------------------------------------------

    def parse(self, rel: str) -> Module:
        """The file ``rel`` parsed; ``Unreadable`` when it cannot be."""
        try:
            size = os.path.getsize(rel)
            if size > MAX_FILE_BYTES:
                raise Unreadable(f"larger than {MAX_FILE_BYTES // 1024} KB: not described")
            with open(rel, "rb") as f:
                tree = ast.parse(f.read(), rel)
        except SyntaxError as exc:
            raise Unreadable(f"does not parse: {exc.msg} (line {exc.lineno})") from None
        except (RecursionError, MemoryError):
            raise Unreadable("nests too deeply to parse") from None
        except (OSError, ValueError) as exc:
            raise Unreadable(f"cannot be read: {type(exc).__name__}") from None
        module = Module(rel, tree)
        for node in tree.body:
            if isinstance(node, ast.ClassDef):
                module.classes[node.name] = node
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    module.imported[alias.asname or alias.name] = (node.module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    module.modules[alias.asname or alias.name.split(".")[0]] = alias.name
        return module

    def app_module(self, dotted: str) -> Module | None:
        """The app's own module ``dotted`` (``models``, ``lib.shapes``), if it has one."""
        if dotted in self._parsed:
            return self._parsed[dotted]
        found: Module | None = None
        if len(self._parsed) < MAX_MODULES and all(p.isidentifier() for p in dotted.split(".")):
            base = dotted.replace(".", "/")
            for rel in (f"{base}.py", f"{base}/__init__.py"):
                if os.path.isfile(rel) and not os.path.islink(rel):
                    try:
                        found = self.parse(rel)
                    except Unreadable as exc:
                        self.note(rel, None, str(exc))
                    break
        self._parsed[dotted] = found
        return found

    # -- names to classes ---------------------------------------------------------------

    def find_class(
        self, module: Module, node: ast.AST, hops: int = 0
    ) -> tuple[Module, ast.ClassDef] | None:
        """The app class a name in ``module`` refers to (through ``from x import y``)."""
        if hops > 4:
            return None
        if isinstance(node, ast.Name):
            if node.id in module.classes:
                return module, module.classes[node.id]
            target = module.imported.get(node.id)
            if target is None:
                return None
            other = self.app_module(target[0])
            if other is None:
                return None
            return self.find_class(other, ast.Name(target[1]), hops + 1)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            dotted = module.modules.get(node.value.id)
            other = self.app_module(dotted) if dotted else None
            if other is not None:
                return self.find_class(other, ast.Name(node.attr), hops + 1)
        return None

    def class_ref(self, module: Module, cls: ast.ClassDef) -> dict[str, Any]:
        """A ``$ref`` to the component schema of an app class (described once)."""
        key = (module.rel, cls.name)
        name = self._named.get(key)
        if name is None:
            name = cls.name
            if name in self.schemas or name == "Error":
                name = f"{module.rel.removesuffix('.py').replace('/', '.')}.{cls.name}"
            self._named[key] = name
            self.schemas[name] = {}  # reserved: a class that refers to itself finds it
            self.schemas[name] = self.class_schema(module, cls)
        return {"$ref": f"#/components/schemas/{name}"}

    # -- schemas ------------------------------------------------------------------------

    def schema(self, module: Module, node: ast.AST | None, depth: int = 0) -> dict[str, Any]:
        """A JSON Schema for an annotation written in ``module`` (``{}``: any value)."""
        if node is None:
            return {}
        if depth > MAX_DEPTH:
            return {"title": _text(node)}
        if isinstance(node, ast.Constant):
            if node.value is None:
                return {"type": "null"}
            if isinstance(node.value, str):  # a forward reference
                try:
                    inner = ast.parse(node.value, mode="eval").body
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    return {"title": node.value[:MAX_TEXT]}
                return self.schema(module, inner, depth + 1)
            return {"title": _text(node)}
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            members = [*self._union_members(node.left), *self._union_members(node.right)]
            return {"anyOf": [self.schema(module, m, depth + 1) for m in members]}
        if isinstance(node, ast.Subscript):
            return self._generic(module, node, depth)
        found = self.find_class(module, node)
        if found is not None:
            return self.class_ref(*found)
        name = _last_name(node)
        if name in _SCALARS:
            return dict(_SCALARS[name])
        if name in _OBJECTS:
            return {"type": "object"}
        if name in _ARRAYS:
            return {"type": "array", "items": {}}
        return {"title": _text(node)}

    def _union_members(self, node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return [*self._union_members(node.left), *self._union_members(node.right)]
        return [node]

    def _generic(self, module: Module, node: ast.Subscript, depth: int) -> dict[str, Any]:
        name = _last_name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if name == "Optional" and args:
            return {"anyOf": [self.schema(module, args[0], depth + 1), {"type": "null"}]}
        if name == "Union":
            return {"anyOf": [self.schema(module, a, depth + 1) for a in args]}
        if name == "Literal":
            values = [v for ok, v in map(_literal, args) if ok]
            return {"enum": values}
        if name == "Annotated" and args:
            found = self.schema(module, args[0], depth + 1)
            for extra in args[1:]:
                found.update(_field_keywords(extra))
            return found
        if name in _WRAPPERS and args:
            return self.schema(module, args[0], depth + 1)
        if name in _OBJECTS:
            found = {"type": "object"}
            if len(args) == 2:
                found["additionalProperties"] = self.schema(module, args[1], depth + 1)
            return found
        if name in _ARRAYS:
            if name in ("tuple", "Tuple") and not (
                len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value is ...
            ):
                items = [self.schema(module, a, depth + 1) for a in args]
                return {"type": "array", "prefixItems": items, "minItems": len(items)}
            return {"type": "array", "items": self.schema(module, args[0], depth + 1)}
        return {"title": _text(node)}

    def class_schema(self, module: Module, cls: ast.ClassDef) -> dict[str, Any]:
        """The schema of an app class from its annotated fields (or its members, for an enum)."""
        bases = {_last_name(b) for b in cls.bases}
        doc = ast.get_docstring(cls)
        described: dict[str, Any] = {"title": cls.name}
        if doc:
            described["description"] = doc.strip()
        if bases & _ENUM_BASES:
            values = []
            for stmt in cls.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                    ok, value = _literal(stmt.value)
                    if ok:
                        values.append(value)
            return {**described, "enum": values}
        kind = self._kind(module, cls, set())
        if kind is None:
            self.note(module.rel, cls.lineno, f"class {cls.name}: not a model, shown by its name")
            return described
        properties: dict[str, Any] = {}
        required: list[str] = []
        total = not any(
            k.arg == "total" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in cls.keywords
        )
        for owner, name, stmt in self._fields(module, cls, 0):
            if kind == "pydantic" and name.startswith("_"):
                continue
            annotation = stmt.annotation
            wrapper = (
                _last_name(annotation.value) if isinstance(annotation, ast.Subscript) else None
            )
            if wrapper == "ClassVar":
                continue
            prop = self.schema(owner, annotation)
            is_required = _field_default(stmt.value, prop)
            if kind == "typeddict":
                is_required = (
                    total if wrapper not in ("Required", "NotRequired") else (wrapper == "Required")
                )
            properties[name] = prop
            if is_required:
                required.append(name)
        return {**described, "type": "object", "properties": properties, "required": required}

    def _kind(self, module: Module, cls: ast.ClassDef, seen: set[str]) -> str | None:
        """``pydantic``, ``dataclass`` or ``typeddict``: how the class is a model, if it is."""
        for decorator in cls.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if _last_name(target) == "dataclass":
                return "dataclass"
        for base in cls.bases:
            name = _last_name(base)
            if name in ("BaseModel", "RootModel"):
                return "pydantic"
            if name == "TypedDict":
                return "typeddict"
            found = self.find_class(module, base)
            if found is not None and found[1].name not in seen:
                kind = self._kind(found[0], found[1], seen | {cls.name})
                if kind is not None:
                    return kind
        return None

    def _fields(
        self, module: Module, cls: ast.ClassDef, depth: int
    ) -> list[tuple[Module, str, ast.AnnAssign]]:
        """The annotated fields of a class (module, name, statement), its app bases' first."""
        found: list[tuple[Module, str, ast.AnnAssign]] = []
        if depth < 8:
            for base in cls.bases:
                parent = self.find_class(module, base)
                if parent is not None:
                    found += self._fields(parent[0], parent[1], depth + 1)
        for stmt in cls.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                name = stmt.target.id
                found = [f for f in found if f[1] != name]
                found.append((module, name, stmt))
        return found

    # -- operations ---------------------------------------------------------------------

    def operation(self, module: Module, name: str, method: str, handler: ast.AST) -> dict[str, Any]:
        """The OpenAPI operation of one handler."""
        op: dict[str, Any] = {
            "operationId": f"{method}_{name}",
            "tags": [name],
            "summary": f"{method.upper()} {name}",
            "parameters": [],
            "responses": shape.responses(),
        }
        if not isinstance(handler, ast.FunctionDef | ast.AsyncFunctionDef):
            op["description"] = "Not documented: the handler is not a `def` in this file."
            self.note(module.rel, getattr(handler, "lineno", None), f"{method}: not a def")
            return op
        doc = ast.get_docstring(handler)
        if doc:
            op["summary"] = doc.strip().split("\n")[0]
            op["description"] = doc.strip()
        for arg, default in _arguments(handler.args):
            annotation = arg.annotation
            if arg.arg == "request" or _last_name(annotation or ast.Pass()) == "Request":
                continue
            schema = self.schema(module, annotation)
            if default is not None:
                ok, value = _literal(default)
                if ok:
                    schema["default"] = value
                else:
                    schema["x-default"] = _text(default)
            if arg.arg == "body":
                op["requestBody"] = {
                    "required": default is None,
                    "content": {"application/json": {"schema": schema}},
                }
                continue
            op["parameters"].append(
                {
                    "name": arg.arg,
                    "in": "query",
                    "required": default is None and not _optional(annotation),
                    "schema": schema,
                }
            )
        if handler.returns is not None:
            content = op["responses"]["200"]["content"]["application/json"]
            content["schema"] = self.schema(module, handler.returns)
        return op

    def function(self, rel: str) -> tuple[str, dict[str, Any]] | None:
        """``/api/<name>`` and its path item, for one function file."""
        name = os.path.basename(rel)[:-3]
        try:
            module = self.parse(rel)
        except Unreadable as exc:
            self.note(rel, None, str(exc))
            return None
        self._parsed.setdefault(f"functions.{name}", module)
        handlers: dict[str, ast.AST] = {}
        for node in module.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name in METHODS:
                    handlers[node.name] = node
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and target.id in METHODS:
                        handlers[target.id] = _aliased(module, node.value) or node
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if (alias.asname or alias.name) in METHODS:
                        handlers[alias.asname or alias.name] = node
        item: dict[str, Any] = {}
        doc = ast.get_docstring(module.tree)
        if doc:
            item["summary"] = doc.strip().split("\n")[0]
            item["description"] = doc.strip()
        for method in METHODS:
            if method in handlers:
                try:
                    item[method] = self.operation(module, name, method, handlers[method])
                except (RecursionError, MemoryError, ValueError) as exc:
                    self.note(rel, None, f"{method}: not described ({type(exc).__name__})")
        if not any(m in item for m in METHODS):
            self.note(rel, None, "no get, post, put, patch or delete handler")
            return None
        return f"/api/{name}", item


def _aliased(module: Module, value: ast.AST | None) -> ast.AST | None:
    """The ``def`` a handler assignment (``get = list_items``) names, if it names one."""
    if isinstance(value, ast.Name):
        for node in module.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == value.id:
                return node
    return None


def _arguments(args: ast.arguments) -> list[tuple[ast.arg, ast.expr | None]]:
    """Each parameter a handler is called with by name, and its default (None: none)."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    pairs = list(zip(positional, [*defaults, *args.defaults], strict=True))
    pairs += list(zip(args.kwonlyargs, args.kw_defaults, strict=True))
    return pairs


def _optional(annotation: ast.AST | None) -> bool:
    """Whether an annotation admits None (``X | None``, ``Optional[X]``)."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    if isinstance(annotation, ast.Constant) and annotation.value is None:
        return True
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return _optional(annotation.left) or _optional(annotation.right)
    if isinstance(annotation, ast.Subscript):
        name = _last_name(annotation.value)
        if name == "Optional":
            return True
        if name == "Union":
            inner = annotation.slice
            args = inner.elts if isinstance(inner, ast.Tuple) else [inner]
            return any(_optional(a) for a in args)
    return _last_name(annotation) in ("None", "NoneType")


def _field_keywords(node: ast.AST) -> dict[str, Any]:
    """JSON Schema keywords from a ``Field(...)`` call's constraints."""
    found: dict[str, Any] = {}
    if isinstance(node, ast.Call) and _last_name(node.func) == "Field":
        for keyword in node.keywords:
            key = _FIELD_KEYWORDS.get(keyword.arg or "")
            if key is not None:
                ok, value = _literal(keyword.value)
                if ok:
                    found[key] = value
    return found


def _field_default(value: ast.AST | None, prop: dict[str, Any]) -> bool:
    """Whether a field without ``value`` is required; its default and ``Field`` constraints
    are put into ``prop``."""
    if value is None:
        return True
    if isinstance(value, ast.Call) and _last_name(value.func) in ("Field", "field"):
        prop.update(_field_keywords(value))
        given: ast.AST | None = value.args[0] if value.args else None
        for keyword in value.keywords:
            if keyword.arg == "default":
                given = keyword.value
            elif keyword.arg in ("default_factory", "factory"):
                return False
        if given is None or (isinstance(given, ast.Constant) and given.value is ...):
            return True
        value = given
    ok, literal = _literal(value)
    if ok:
        prop["default"] = literal
    else:
        prop["x-default"] = _text(value)
    return False


def describe(files: list[str], title: str) -> dict[str, Any]:
    """The OpenAPI document of the function files, and notes on what was left out."""
    describer = Describer()
    paths: dict[str, Any] = {}
    for rel in sorted(files):
        try:
            found = describer.function(rel)
        except (RecursionError, MemoryError):
            describer.note(rel, None, "nests too deeply to describe")
            continue
        if found is not None:
            paths[found[0]] = found[1]
    return {"openapi": shape.document(title, paths, describer.schemas), "notes": describer.notes}


# Tenant files are parsed here on the host: bound what describing them may take.
MEMORY_LIMIT = 1 << 30
CPU_SECONDS = 20


def main() -> None:
    """Read the request from stdin, write the document to stdout."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    warnings.simplefilter("ignore")
    sys.setrecursionlimit(2000)
    request = json.load(sys.stdin)
    files = [f for f in request.get("files", []) if isinstance(f, str)]
    json.dump(describe(files, str(request.get("title", "functions"))), sys.stdout)


if __name__ == "__main__":
    main()
