"""Tailwind in components: the classes a component uses compiled into its own stylesheet."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atoll.builder.components import ComponentManifest, build_components
from atoll.builder.esbuild import find_node_modules
from atoll.builder.tailwind import (
    MAX_CANDIDATES,
    class_candidates,
    is_signal,
    shadow_safe,
    tailwind_version,
)
from atoll.errors import BuildFailed
from tests.builder.files import write

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

CARD = """
import { tone } from "./lib/tone.js";
export default function Card({ title }) {
  return (
    <div className="p-4 text-red-600 rounded-lg shadow">
      <h2 className={tone}>{title}</h2>
      <span className="bg-[#123456] w-[calc(100%-2rem)] md:hover:underline">!</span>
    </div>
  );
}
"""
# Written without Tailwind: its own CSS, inline styles and words Tailwind also knows.
PLAIN = """
import "./Plain.css";
export default function Plain({ hidden }) {
  const style = { display: "inline-block", transition: "opacity 1s ease-in-out" };
  return <p className="plain flex" style={style} hidden={hidden}>The table is fixed</p>;
}
"""


def css_of(out: Path, manifest: ComponentManifest, name: str) -> str:
    """The shadow-root stylesheet of a component ('' when it has none)."""
    file = manifest.components[name].css
    return (out / file).read_text() if file else ""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write(
        tmp_path / "app",
        {
            "components/Card.jsx": CARD,
            "components/lib/tone.js": 'export const tone = "font-bold tracking-tight";',
            "components/Plain.jsx": PLAIN,
            "components/Plain.css": "p { color: green }",
        },
    )


def test_utilities_a_component_uses_are_in_its_stylesheet(app: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = build_components(app, out)
    css = css_of(out, manifest, "Card")
    for rule in (
        ".p-4 {",
        "padding: calc(var(--spacing) * 4);",
        ".text-red-600 {",
        "color: var(--color-red-600);",
        ".rounded-lg {",
        ".shadow {",
        "box-shadow: var(--tw-inset-shadow)",
        ".font-bold {",  # from the module the component imports
        ".tracking-tight {",
        ".bg-\\[\\#123456\\] {",  # arbitrary values
        "background-color: #123456;",
        "width: calc(100% - 2rem);",
        ".md\\:hover\\:underline:hover",
    ):
        assert rule in css, rule
    assert "--color-red-600: oklch(" in css  # the theme variables it reads, on :root, :host
    assert "html, :host {" in css  # preflight, inside this sheet only
    assert manifest.components["Card"].document_css is None
    assert manifest.tailwind == tailwind_version(find_node_modules())
    saved = json.loads((out / ".manifest.json").read_text())
    assert ComponentManifest.from_json(saved) == manifest


def test_a_component_without_tailwind_gets_none(app: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest = build_components(app, out)
    assert css_of(out, manifest, "Plain") == "p{color:green}\n"
    (app / "components" / "Card.jsx").unlink()
    alone = build_components(app, tmp_path / "alone")
    assert alone.tailwind is None
    assert "tailwindcss" not in css_of(tmp_path / "alone", alone, "Plain")


def test_own_css_comes_after_tailwind_so_it_wins(app: Path, tmp_path: Path) -> None:
    (app / "components" / "Card.css").write_text(".p-4 { padding: 3px }")
    (app / "components" / "Card.jsx").write_text('import "./Card.css";\n' + CARD)
    manifest = build_components(app, tmp_path / "out")
    css = css_of(tmp_path / "out", manifest, "Card")
    assert css.index("@layer utilities") < css.index(".p-4{padding:3px}")


def test_property_registrations_become_declarations_in_the_root(app: Path, tmp_path: Path) -> None:
    manifest = build_components(app, tmp_path / "out")
    css = css_of(tmp_path / "out", manifest, "Card")
    assert "@property" not in css  # ignored in shadow roots; nothing hoisted to the page
    assert manifest.components["Card"].document_css is None
    head = css[: css.index("/*! tailwindcss")]
    assert head.startswith("@layer properties {\n  :host, *, ::before, ::after, ::backdrop {")
    assert "--tw-shadow: 0 0 #0000;" in head
    assert "--tw-shadow-color: initial;" in head  # registered without an initial value


def test_shadow_safe_keeps_other_rules_in_order() -> None:
    css = (
        "@layer utilities { .a { --tw-x: 1px } }\n"
        '@property --tw-x { syntax: "<length>"; inherits: false; initial-value: 0px; }\n'
        '@property --tw-y { syntax: "*"; inherits: false }\n'
        "@font-face { font-family: X; src: url(x.woff2) }\n"
    )
    safe = shadow_safe(css)
    assert safe.splitlines()[:4] == [
        "@layer properties {",
        "  :host, *, ::before, ::after, ::backdrop {",
        "    --tw-x: 0px;",
        "    --tw-y: initial;",
    ]
    assert "@property" not in safe
    assert safe.index("@layer utilities") < safe.index("@font-face")


def test_candidates_are_words_of_strings_and_templates() -> None:
    source = """
    const cls = cn('p-4', active && "bg-[url('/a.png')]", `grid-cols-[repeat(3,1fr)] ${x}`);
    <div className="md:hover:bg-blue-500/50 -mt-2 !font-bold [&>*]:p-2">Hello World</div>
    """
    found = class_candidates(source)
    assert {
        "p-4",
        "bg-[url('/a.png')]",
        "grid-cols-[repeat(3,1fr)]",
        "md:hover:bg-blue-500/50",
        "-mt-2",
        "!font-bold",
        "[&>*]:p-2",
    } <= found
    assert "World" not in found and "cn" in found
    assert not any(len(c) > 200 for c in class_candidates("p-" + "x" * 300))


def test_signals_are_utilities_with_a_value_or_a_variant() -> None:
    assert all(map(is_signal, ["p-4", "md:flex", "bg-[#333]", "-mt-2", "!text-red-600"]))
    assert not any(map(is_signal, ["flex", "hidden", "inline-block", "ease-in-out", "shadow"]))


def test_huge_candidate_sets_are_a_build_error(tmp_path: Path) -> None:
    words = " ".join(f"w-[{i}px]" for i in range(MAX_CANDIDATES + 1))
    app = write(
        tmp_path / "app",
        {
            "components/Huge.jsx": (
                'import { words } from "./lib/words.js";\n'
                "export default () => <p className={words}>x</p>;\n"
            ),
            "components/lib/words.js": f'export const words = "{words}";\n',
        },
    )
    with pytest.raises(BuildFailed) as caught:
        build_components(app, tmp_path / "out")
    error = caught.value.detail["errors"][0]
    assert error["file"] == "components/Huge.jsx"
    assert f"Tailwind reads at most {MAX_CANDIDATES}" in error["message"]


def test_generated_css_is_bounded(tmp_path: Path) -> None:
    words = " ".join(f"content-['{'x' * 180}{i}']" for i in range(8000))
    app = write(
        tmp_path / "app",
        {"components/Big.jsx": f'export default () => <p className="{words}">x</p>;\n'},
    )
    with pytest.raises(BuildFailed) as caught:
        build_components(app, tmp_path / "out")
    error = caught.value.detail["errors"][0]
    assert error["file"] == "components/Big.jsx"
    assert "Tailwind: the generated CSS is" in error["message"]


def test_tenant_cannot_make_the_compiler_read_files(tmp_path: Path) -> None:
    """At-rules in a component's strings are only words: no file is read or run."""
    marker = tmp_path / "ran"
    evil = f"require('fs').writeFileSync({str(marker)!r}, 'x'); module.exports = () => {{}};"
    app = write(
        tmp_path / "app",
        {
            "components/evil.cjs": evil,
            "components/secret.css": ".p-4 { color: hotpink }",
            "components/Sneaky.jsx": (
                'const a = \'@import "./secret.css"; @plugin "./evil.cjs"\';\n'
                "const c = '@config \"./evil.cjs\"';\n"
                "const b = '@source \"/etc\"; [@import:url(./secret.css)] @tailwind';\n"
                'export default () => <p className="p-4 @container">{a}{b}{c}</p>;\n'
            ),
        },
    )
    manifest = build_components(app, tmp_path / "out")
    css = css_of(tmp_path / "out", manifest, "Sneaky")
    assert ".p-4 {" in css and "@container" in css  # the real utility (a container query)
    for text in ("hotpink", "@plugin", "@config", "@source", "@import", "/etc"):
        assert text not in css
    assert not marker.exists()
