"""Bundling components with esbuild: shared React, shared chunks, hashes, errors, packages."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from atoll.builder.components import ComponentManifest, build_components, discover_components
from atoll.builder.deps import check_lockfile, package_name, packages_to_install
from atoll.errors import BadInput, BuildFailed
from tests.builder.files import write

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

COUNTER = """
import { useState } from "react";
import { label } from "./lib/label.js";
import "./Counter.css";
export default function Counter({ start = 0 }) {
  const [n, setN] = useState(start);
  return <button onClick={() => setN(n + 1)}>{label("n")} {n}</button>;
}
"""
HELLO = """
import { label } from "./lib/label.js";
export default function Hello({ who }: { who: string }) { return <p>{label(who)}</p>; }
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """An app with two components sharing components/lib, one with CSS."""
    return write(
        tmp_path / "app",
        {
            "components/Counter.jsx": COUNTER,
            "components/Counter.css": "button{background:red}",
            "components/Hello.tsx": HELLO,
            "components/lib/label.js": "export const label = (s) => `<${s}>`;",
            "components/notes.txt": "not a component",
        },
    )


def test_components_bundle_without_react(app: Path, tmp_path: Path) -> None:
    manifest = build_components(app, tmp_path / "out")
    assert set(manifest.components) == {"Counter", "Hello"}
    counter = manifest.components["Counter"]
    assert counter.source == "components/Counter.jsx"
    js = (tmp_path / "out" / counter.js).read_text()
    assert 'from"react"' in js.replace(" ", "")
    assert len(gzip.compress(js.encode())) < 1024
    assert "useState" in js and "createElement" not in js
    chunks = [f for f in manifest.files if f.startswith("chunks/")]
    assert len(chunks) == 1  # components/lib shared by both
    assert counter.css is not None and counter.css.startswith("Counter-")
    assert (tmp_path / "out" / counter.css).read_text() == "button{background:red}\n"
    entries = manifest.browser_entries()
    assert entries["Hello"] == {
        "js": "/_atoll/assets/" + manifest.components["Hello"].js,
        "css": None,
        "documentCss": None,
    }
    saved = json.loads((tmp_path / "out" / ".manifest.json").read_text())
    assert ComponentManifest.from_json(saved) == manifest
    for file in manifest.files:
        assert (tmp_path / "out" / file).is_file()


def test_names_are_content_hashed(app: Path, tmp_path: Path) -> None:
    first = build_components(app, tmp_path / "a")
    again = build_components(app, tmp_path / "b")
    assert first.files == again.files
    (app / "components" / "Hello.tsx").write_text(HELLO.replace("<p>", "<p className='x'>"))
    changed = build_components(app, tmp_path / "c")
    assert changed.components["Hello"].js != first.components["Hello"].js
    assert changed.components["Counter"].js == first.components["Counter"].js


def test_syntax_error_points_at_file_and_line(app: Path, tmp_path: Path) -> None:
    (app / "components" / "Hello.tsx").write_text(
        "export default function Hello() {\n  const x = ;\n  return x;\n}\n"
    )
    with pytest.raises(BuildFailed) as caught:
        build_components(app, tmp_path / "out")
    error = caught.value.detail["errors"][0]
    assert error["file"] == "components/Hello.tsx" and error["line"] == 2
    assert error["column"] == 13  # 1-based, as in the message: at the ";"
    assert "components/Hello.tsx:2:13:" in caught.value.message


def test_missing_module_points_at_the_import(app: Path, tmp_path: Path) -> None:
    (app / "components" / "Hello.tsx").write_text(
        'import x from "./nope.js";\nexport default () => x;\n'
    )
    with pytest.raises(BuildFailed, match=r"components/Hello.tsx:1:\d+: Could not resolve"):
        build_components(app, tmp_path / "out")


def test_inlined_react_is_refused(app: Path, tmp_path: Path) -> None:
    write(
        app,
        {
            "node_modules/react/index.js": "export const useState = () => [0, () => {}];",
            "components/Sneaky.jsx": (
                'import { useState } from "../node_modules/react/index.js";\n'
                "export default function Sneaky() { useState(); return null; }\n"
            ),
        },
    )
    with pytest.raises(BuildFailed, match="would inline its own React") as caught:
        build_components(app, tmp_path / "out")
    assert caught.value.detail["errors"][0]["file"] == "components/Sneaky.jsx"


def test_react_dom_server_is_not_shared(app: Path, tmp_path: Path) -> None:
    write(
        app,
        {
            "components/Ssr.jsx": (
                'import { renderToString } from "react-dom/server";\n'
                "export default () => renderToString(null);\n"
            )
        },
    )
    with pytest.raises(
        BuildFailed, match="'react-dom/server', which the shared bundle does not provide"
    ):
        build_components(app, tmp_path / "out")


def test_component_needs_a_default_export(app: Path, tmp_path: Path) -> None:
    write(app, {"components/Named.jsx": "export function Named() { return null; }\n"})
    with pytest.raises(BuildFailed, match="components/Named.jsx must `export default`"):
        build_components(app, tmp_path / "out")


def test_no_components_is_an_empty_manifest(tmp_path: Path) -> None:
    manifest = build_components(
        write(tmp_path / "app", {"pages/index.json": "{}"}), tmp_path / "out"
    )
    assert manifest.components == {} and manifest.files == []


def test_discovery_ignores_lowercase_files_and_subfolders(app: Path) -> None:
    write(app, {"components/helper.js": "", "components/lib/Widget.jsx": ""})
    assert discover_components(app) == {
        "Counter": "components/Counter.jsx",
        "Hello": "components/Hello.tsx",
    }


def test_npm_packages_are_installed_per_app_with_a_lockfile(app: Path, tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("needs npm")
    pkg = write(
        tmp_path / "pkgs" / "tiny-greet",
        {
            "package.json": json.dumps(
                {
                    "name": "tiny-greet",
                    "version": "1.2.3",
                    "type": "module",
                    "main": "index.js",
                    "peerDependencies": {"react": "*"},
                }
            ),
            "index.js": (
                'import { createElement } from "react";\n'
                'export const greet = (who) => createElement("b", null, "hi " + who);\n'
            ),
        },
    )
    write(
        app,
        {
            "components/Greeter.jsx": (
                'import { greet } from "tiny-greet";\n'
                'export default function Greeter() { return greet("you"); }\n'
            ),
            "components/package.json": json.dumps({"dependencies": {"tiny-greet": f"file:{pkg}"}}),
        },
    )
    with pytest.raises(BadInput, match="is not a registry version"):
        build_components(app, tmp_path / "out", deps_dir=tmp_path / "deps")
    manifest = build_components(
        app, tmp_path / "out", deps_dir=tmp_path / "deps", allow_local_packages=True
    )
    assert manifest.packages == {"tiny-greet": f"file:{pkg}"}
    assert manifest.lockfile is not None and "tiny-greet" in manifest.lockfile
    assert not (tmp_path / "deps" / "node_modules" / "react").exists()
    js = (tmp_path / "out" / manifest.components["Greeter"].js).read_text()
    assert "hi " in js and 'from"react"' in js.replace(" ", "")
    again = build_components(
        app,
        tmp_path / "out2",
        deps_dir=tmp_path / "deps",
        lockfile=manifest.lockfile.encode(),
        allow_local_packages=True,
    )
    assert again.lockfile == manifest.lockfile


def test_package_names() -> None:
    assert package_name("lodash/fp") == "lodash"
    assert package_name("@scope/pkg/sub") == "@scope/pkg"
    assert packages_to_install(
        ["react", "react-dom/client", "@atoll/ui", "clsx", "lodash/fp"], {"clsx": "^2"}
    ) == {"clsx": "^2", "lodash": "*"}
    with pytest.raises(BadInput, match="Node.js module"):
        packages_to_install(["node:fs"])
    with pytest.raises(BadInput, match="not an npm package"):
        packages_to_install(["Bad Name"])
    for spec in ("file:/etc", "link:../x", "git+https://h/x.git", "https://h/x.tgz", "a/b"):
        with pytest.raises(BadInput, match="not a registry version"):
            packages_to_install(["x"], {"x": spec})
    assert packages_to_install(["x", "y"], {"x": ">=1.2 <2 || ^3.0.0-beta.1", "y": "latest"}) == {
        "x": ">=1.2 <2 || ^3.0.0-beta.1",
        "y": "latest",
    }


@pytest.mark.parametrize(
    "source",
    [
        'import secret from "{outside}/secret.json";\nexport default () => secret.key;\n',
        'import "./Leak.css";\nexport default () => null;\n',
        'import s from "../../outside/secret.json";\nexport default () => s.key;\n',
    ],
)
def test_files_outside_the_app_cannot_be_bundled(app: Path, tmp_path: Path, source: str) -> None:
    outside = tmp_path / "outside"
    write(outside, {"secret.json": '{"key": "TOP-SECRET"}', "font.woff2": "TOP-SECRET"})
    write(
        app,
        {
            "components/Leak.jsx": source.format(outside=outside),
            "components/Leak.css": f"@font-face{{font-family:X;src:url({outside}/font.woff2)}}",
        },
    )
    with pytest.raises(BuildFailed, match="is outside the app"):
        build_components(app, tmp_path / "out")
    assert not any("TOP-SECRET" in p.read_text() for p in (tmp_path / "out").rglob("*.js"))


def test_symlinks_out_of_the_app_are_refused(app: Path, tmp_path: Path) -> None:
    write(tmp_path / "outside", {"secret.json": '{"key": "TOP-SECRET"}'})
    (app / "components" / "lib" / "linked.json").symlink_to(tmp_path / "outside" / "secret.json")
    leak = 'import s from "./lib/linked.json";\nexport default () => s.key;\n'
    write(app, {"components/Leak.jsx": leak})
    with pytest.raises(BuildFailed, match="is outside the app"):
        build_components(app, tmp_path / "out")


def test_lockfiles_may_only_point_at_the_registry() -> None:
    registry = "https://npm.mirror.invalid/"
    good = {
        "lockfileVersion": 3,
        "packages": {
            "": {},
            "node_modules/clsx": {
                "version": "2.1.1",
                "resolved": registry + "clsx/-/clsx-2.1.1.tgz",
            },
        },
    }
    check_lockfile(json.dumps(good).encode(), registry)
    for entry in (
        {"resolved": "file:/etc"},
        {"resolved": "https://evil.example/x.tgz"},
        {"link": True},
    ):
        bad = {"lockfileVersion": 3, "packages": {"node_modules/x": entry}}
        with pytest.raises(BadInput, match="lockfile installs node_modules/x"):
            check_lockfile(json.dumps(bad).encode(), registry)
    with pytest.raises(BadInput, match="not valid JSON"):
        check_lockfile(b"{", registry)


def test_css_imports_by_url_are_reported(app: Path, tmp_path: Path) -> None:
    write(
        app,
        {
            "components/Counter.css": (
                '@import url("https://fonts.example/css?family=Inter");\nbutton{color:red}'
            )
        },
    )
    manifest = build_components(app, tmp_path / "out")
    (warning,) = manifest.warnings
    assert warning.startswith("Counter: @import")
    assert "https://fonts.example/css?family=Inter" in warning and "is ignored" in warning
