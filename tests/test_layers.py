"""The package's layers only import downwards (ARCHITECTURE.md, "Layering")."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "atoll"

# Bottom to top. A module may import from its own layer or any layer below it.
LAYERS: list[set[str]] = [
    {"errors", "config", "names", "http_heads", "faults", "__init__"},
    {"store", "workspace", "sdui", "sdk"},
    {"builder", "dbservice", "runtime"},
    {"releases", "agent", "services"},
    {"api", "gateway", "ide", "deploy"},
    {"cli", "server", "docsgen"},
]


def layer_of(name: str) -> int:
    """The layer of a top-level module or subpackage of ``atoll``."""
    for i, members in enumerate(LAYERS):
        if name in members:
            return i
    raise AssertionError(f"atoll.{name} is in no layer; add it to LAYERS")


def imports_of(path: Path) -> set[str]:
    """The ``atoll.X`` names a module imports, at any depth in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "atoll" and len(parts) > 1:
                # ``from atoll import __version__`` names an attribute of the package itself.
                found.add("__init__" if parts[1].startswith("__") else parts[1])
    return found


def test_layers_only_import_downwards() -> None:
    violations = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        own = rel.parts[0].removesuffix(".py")
        if own == "__main__":
            continue
        for imported in imports_of(path) - {own}:
            if layer_of(imported) > layer_of(own):
                violations.append(f"{rel} imports atoll.{imported}")
    assert violations == []


def test_every_module_has_a_layer() -> None:
    for path in SRC.iterdir():
        if path.name.startswith(("_", ".")) and path.name != "__init__.py":
            continue
        if path.is_dir() and not (path / "__init__.py").exists():
            continue
        layer_of(path.name.removesuffix(".py"))


def test_the_check_itself_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from atoll.api import make_app\n")
    assert imports_of(bad) == {"api"}
    assert layer_of("api") > layer_of("store")


def test_api_and_gateway_never_import_each_other() -> None:
    # Both are given what they share (atoll.services) by server.py; neither is the other's.
    crossings = [
        f"{path.relative_to(SRC)} imports atoll.{other}"
        for own, other in (("api", "gateway"), ("gateway", "api"))
        for path in (SRC / own).rglob("*.py")
        if other in imports_of(path)
    ]
    assert crossings == []
