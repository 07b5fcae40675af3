"""Component packages come from the operator's registry only: no paths, URLs, git or scripts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll.builder.components import build_components
from atoll.builder.deps import (
    check_lockfile,
    declared_dependencies,
    install_packages,
    packages_to_install,
)
from atoll.builder.frontend import build_frontend
from atoll.errors import AtollError, BadInput, BuildFailed
from tests.builder.files import write

from .npm_registry import NpmRegistry

needs_npm = pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None, reason="needs node and npm"
)

# Each of these makes npm read a path, a URL, a git repository or another package.
HOSTILE_SPECS = [
    "file:/etc",
    "file:../../..",
    "FILE:/etc",
    "link:../x",
    "git+https://example.invalid/x.git",
    "git+ssh://git@example.invalid:x.git",
    "git://example.invalid/x",
    "git@example.invalid:user/repo",
    "github:user/repo",
    "gitlab:user/repo",
    "bitbucket:user/repo",
    "gist:abc123",
    "user/repo",
    "user/repo#main",
    "https://example.invalid/x.tgz",
    "http://127.0.0.1:9/x.tgz",
    "npm:react@19",
    "npm:evil",
    "workspace:*",
    "portal:../x",
    ".",
    "..",
    "...",
    ".hidden",
    "./x",
    "../x",
    "~/x",
    "/etc",
    "C:x",
    "x.tgz",
    "pkg.tar",
    "pkg.TAR.GZ",
    "1.0.0\n",
    "1.0.0\r",
    "",
    "   ",
    "1" * 65,
    "ｌatest",
]


@pytest.mark.parametrize("spec", HOSTILE_SPECS)
def test_only_registry_versions_ranges_and_tags_are_accepted(spec: str) -> None:
    with pytest.raises(BadInput, match="is not a registry version") as info:
        packages_to_install(["x"], {"x": spec})
    assert "x" in info.value.message


@pytest.mark.parametrize(
    "spec",
    ["1.2.3", "^1.2.0", "~1.2", ">=1.2 <2 || ^3.0.0-beta.1", "1.x", "*", "latest", "next", "v1"],
)
def test_registry_specs_pass(spec: str) -> None:
    assert packages_to_install(["x"], {"x": spec}) == {"x": spec}


def test_declared_versions_must_be_strings(tmp_path: Path) -> None:
    (tmp_path / "components").mkdir()
    package = {"dependencies": {"x": {"version": "1"}}, "overrides": {"y": "file:/etc"}}
    (tmp_path / "components" / "package.json").write_text(json.dumps(package))
    with pytest.raises(BadInput, match="components/package.json: x must be a version string"):
        declared_dependencies(tmp_path)
    # Only ``dependencies`` is read: overrides, workspaces and the rest never reach npm.
    package["dependencies"] = {"x": "^1"}
    (tmp_path / "components" / "package.json").write_text(json.dumps(package))
    assert declared_dependencies(tmp_path) == {"x": "^1"}


REGISTRY = "https://npm.mirror.invalid/repo/"


def lock(*entries: tuple[str, dict[str, object]], root: dict[str, object] | None = None) -> bytes:
    """A lockfile (version 3) with these ``packages`` entries."""
    packages: dict[str, object] = {"": root or {"dependencies": {"x": "^1"}}}
    packages.update(entries)
    return json.dumps({"lockfileVersion": 3, "packages": packages}).encode()


def test_registry_lockfiles_pass() -> None:
    check_lockfile(lock(("node_modules/x", {"version": "1.0.0"})), REGISTRY)
    good = {"version": "1.2.3-beta.1", "resolved": REGISTRY + "x/-/x-1.2.3-beta.1.tgz"}
    check_lockfile(
        lock(("node_modules/x", good), ("node_modules/@s/y/node_modules/z", {"version": "2.0.0"})),
        REGISTRY,
    )


@pytest.mark.parametrize(
    "bad",
    [
        lock(("node_modules/x", {"version": "1.0.0", "resolved": "file:/etc"})),
        lock(("node_modules/x", {"version": "1.0.0", "resolved": "file:../../x"})),
        lock(("node_modules/x", {"version": "1.0.0", "resolved": "http://127.0.0.1:9/x.tgz"})),
        lock(("node_modules/x", {"resolved": "git+ssh://git@example.invalid/x.git#abc"})),
        lock(("node_modules/x", {"resolved": "https://npm.mirror.invalid/repo-evil/x.tgz"})),
        lock(("node_modules/x", {"resolved": "https://npm.mirror.invalid/repo/../other/x.tgz"})),
        lock(("node_modules/x", {"resolved": "https://npm.mirror.invalid/repo/%2e%2e/o/x.tgz"})),
        lock(("node_modules/x", {"resolved": "https://u:p@npm.mirror.invalid/repo/x.tgz"})),
        lock(("node_modules/x", {"resolved": ["not", "a", "string"]})),
        lock(("node_modules/x", {"link": True, "resolved": "../../outside"})),
        lock(("node_modules/x", {"version": "file:../x"})),
        lock(("node_modules/x", {"version": "1.0.0", "name": "other-package"})),
        lock(("../outside", {"version": "1.0.0"})),
        lock(("node_modules/../../outside", {"version": "1.0.0"})),
        lock(("packages/a", {"version": "1.0.0"})),
        lock(("/etc/x", {"version": "1.0.0"})),
        lock(("node_modules/x", "not an object")),  # type: ignore[arg-type]
        lock(root={"workspaces": ["../*"]}),
        lock(root={"dependencies": {"x": "file:/etc"}}),
        json.dumps({"lockfileVersion": 1, "dependencies": {"x": {"version": "file:/"}}}).encode(),
        json.dumps({"lockfileVersion": 3, "packages": []}).encode(),
        b"[]",
        b"{",
    ],
)
def test_lockfiles_may_only_install_from_the_registry(bad: bytes) -> None:
    with pytest.raises(BadInput, match="lockfile"):
        check_lockfile(bad, REGISTRY)


@pytest.fixture
def registries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[NpmRegistry, NpmRegistry]]:
    """The operator's registry (set in npm's own configuration) and an attacker's server."""
    operator, attacker = NpmRegistry(), NpmRegistry()
    monkeypatch.setenv("npm_config_registry", operator.url)
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    yield operator, attacker
    operator.close()
    attacker.close()


def component_app(root: Path, package: str) -> Path:
    """An app with one component that imports ``package``."""
    source = (
        f'import {{ value }} from "{package}";\nexport default function W() {{ return value; }}\n'
    )
    return write(root, {"components/Widget.jsx": source})


MODULE = {"index.js": "export const value = 'from the registry';\n"}


@needs_npm
def test_packages_of_packages_cannot_point_npm_elsewhere(
    registries: tuple[NpmRegistry, NpmRegistry], tmp_path: Path
) -> None:
    operator, attacker = registries
    for n, dependency in enumerate(
        [
            attacker.url + "payload.tgz",
            "git+" + attacker.url + "repo.git",
            "file:../../..",
            "someuser/somerepo",
        ]
    ):
        name = f"evil-{n}"
        operator.publish(
            name, "1.0.0", MODULE, type="module", main="index.js", dependencies={"dep": dependency}
        )
        app = component_app(tmp_path / f"app{n}", name)
        with pytest.raises(BuildFailed, match="installing component packages failed") as info:
            build_components(app, tmp_path / f"out{n}", deps_dir=tmp_path / f"deps{n}")
        shown = json.dumps(info.value.to_dict())
        assert "127.0.0.1" not in shown and str(tmp_path) not in shown
    assert attacker.requests == []


@needs_npm
def test_the_tenants_npmrc_and_package_fields_are_not_honoured(
    registries: tuple[NpmRegistry, NpmRegistry], tmp_path: Path
) -> None:
    operator, attacker = registries
    marker = tmp_path / "script-ran"
    operator.publish(
        "tiny-reg",
        "1.0.0",
        MODULE,
        type="module",
        main="index.js",
        scripts={"preinstall": f"touch {marker}", "postinstall": f"touch {marker}"},
    )
    npmrc = f"registry={attacker.url}\nignore-scripts=false\nscript-shell=/bin/sh\n"
    package = {
        "dependencies": {"tiny-reg": "^1.0.0"},
        "overrides": {"tiny-reg": attacker.url + "x.tgz"},
        "workspaces": ["../../*"],
        "devDependencies": {"y": "file:/etc"},
    }
    app = component_app(tmp_path / "app", "tiny-reg")
    write(
        app,
        {
            ".npmrc": npmrc,
            "components/.npmrc": npmrc,
            "components/package.json": json.dumps(package),
        },
    )
    manifest = build_components(app, tmp_path / "out", deps_dir=tmp_path / "deps")
    assert manifest.packages == {"tiny-reg": "^1.0.0"}
    js = (tmp_path / "out" / manifest.components["Widget"].js).read_text()
    assert "from the registry" in js
    assert attacker.requests == [] and not marker.exists()
    assert "/tiny-reg" in operator.requests
    # The lockfile kept for the next build passes the check, and the next build uses it.
    assert manifest.lockfile is not None
    check_lockfile(manifest.lockfile.encode(), operator.url)


@needs_npm
def test_a_kept_lockfile_pointing_elsewhere_is_refused(
    registries: tuple[NpmRegistry, NpmRegistry], tmp_path: Path
) -> None:
    operator, attacker = registries
    operator.publish("tiny-reg", "1.0.0", MODULE, type="module", main="index.js")
    app = component_app(tmp_path / "app", "tiny-reg")
    entry = {"version": "1.0.0", "resolved": attacker.url + "tiny-reg-1.0.0.tgz"}
    poisoned = lock(("node_modules/tiny-reg", entry), root={"dependencies": {"tiny-reg": "*"}})
    with pytest.raises(BadInput, match="lockfile installs node_modules/tiny-reg"):
        build_components(app, tmp_path / "out", deps_dir=tmp_path / "deps", lockfile=poisoned)
    assert attacker.requests == []


def test_local_packages_cannot_be_switched_on_by_an_app(tmp_path: Path) -> None:
    """``allow_local_packages`` is for tests: the build the platform runs never passes it."""
    if shutil.which("node") is None:
        pytest.skip("needs node")
    app = component_app(tmp_path / "app", "tiny-local")
    write(app, {"components/package.json": json.dumps({"dependencies": {"tiny-local": "file:/"}})})
    with pytest.raises(BadInput, match="is not a registry version"):
        build_frontend(app, tmp_path / "out", deps_dir=tmp_path / "deps")


def test_an_npm_that_cannot_refuse_git_and_urls_is_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An older npm ignores the allow-* settings: it would fetch before any check."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "npm-calls"
    fake = bin_dir / "npm"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        'if [ "$1" = config ]; then\n'
        "  echo registry=https://npm.mirror.invalid/\n"
        "  for key in allow-git allow-remote allow-file allow-directory; do\n"
        '    echo "$key=undefined"\n'
        "  done\n"
        "fi\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with pytest.raises(AtollError, match="does not know allow-git, allow-remote"):
        install_packages({"x": "^1"}, tmp_path / "deps")
    assert "install" not in log.read_text()
