"""Dependency layers: installed once per resolved lock with uv, importable in the sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import http.server
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from atoll.errors import BuildFailed
from atoll.runtime import InvokeResponse
from atoll.runtime.deps import DependencyLayers, lock_digest, uv_environment

from .conftest import Harness

pytestmark = pytest.mark.sandbox

USES_SIX = {
    "atoll.toml": '[python]\ndependencies = ["six==1.16.0"]\n',
    "functions/dep.py": """
        import six

        def get():
            return {"six": six.__version__, "file": six.__file__}
        """,
}


def test_lock_digest_ignores_comments_and_order() -> None:
    assert lock_digest("b==1\n# comment\na==2\n") == lock_digest("a==2  # via x\nb==1\n")


def test_dependencies_are_installed_into_a_shared_read_only_layer(rt: Harness) -> None:
    first = rt.call(rt.app("deps1", USES_SIX), "/api/dep", timeout=300)
    assert isinstance(first, InvokeResponse), first
    data = first.json()
    assert isinstance(data, dict) and data["six"] == "1.16.0"
    assert str(data["file"]).startswith("/opt/atoll/layers/")
    second = rt.call(rt.app("deps2", USES_SIX, tenant="t2"), "/api/dep", timeout=300)
    assert isinstance(second, InvokeResponse) and second.json() == data  # same layer
    layers = [p for p in rt.runtime.layout.layers.iterdir() if p.is_dir()]
    assert len(layers) == 1
    # The resolved lock is kept (outside the mounted layers folder) for the next restart.
    [lock] = rt.runtime.layers.locks.glob("*.lock")
    assert "six==1.16.0" in lock.read_text()


def test_code_built_with_a_lock_runs_its_pins_not_its_requirements(rt: Harness) -> None:
    # The requirement alone would resolve to the newest six; the build's lock wins.
    files = {**USES_SIX, "atoll.toml": '[python]\ndependencies = ["six"]\n'}
    ref = dataclasses.replace(rt.app("locked", files), python_lock="six==1.15.0\n")
    got = rt.call(ref, "/api/dep", timeout=300)
    assert isinstance(got, InvokeResponse), got
    assert got.json()["six"] == "1.15.0"  # type: ignore[index]
    # A lock that pins nothing (markers excluded every requirement): no layer at all.
    bare = rt.app("locked-empty", {**files, "functions/dep.py": NO_SIX})
    got = rt.call(dataclasses.replace(bare, python_lock=""), "/api/dep", timeout=60)
    assert isinstance(got, InvokeResponse), got
    assert got.json() == {"paths": []}


NO_SIX = """
import sys


def get():
    return {"paths": [p for p in sys.path if p.startswith("/opt/atoll/layers")]}
"""


def test_install_failure_is_a_clear_build_error(tmp_path: Path) -> None:
    layers = DependencyLayers(tmp_path / "layers", locks=tmp_path / "locks")
    with pytest.raises(BuildFailed) as info:
        asyncio.run(layers.ensure(["atoll-no-such-package-zz9==0.0.1"]))
    assert "installing [python] dependencies failed" in info.value.message
    assert "atoll-no-such-package-zz9" in info.value.detail["output"]


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers 404 to everything and remembers the paths it was asked for."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[tuple[int, list[str]]]:
    """A loopback HTTP server (a stand-in index or an attacker's target): port, paths asked."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], server.paths  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_hostile_dependency_entries_never_reach_uv(
    rt: Harness, tmp_path: Path, listener: tuple[int, list[str]]
) -> None:
    port, asked = listener
    secret = tmp_path / "root-only"
    secret.write_text("TOP-SECRET-LINE\n")
    secret.chmod(0o600)
    entries = [
        f"-r {secret}",
        f"-c {secret}",
        f"--requirement={secret}",
        f"-r http://127.0.0.1:{port}/reqs.txt",
        f"--find-links http://127.0.0.1:{port}/",
        f"--index-url http://127.0.0.1:{port}/simple",
        f"--extra-index-url http://127.0.0.1:{port}/simple",
        f"six @ http://127.0.0.1:{port}/six-1.16.0-py2.py3-none-any.whl",
        f"six @ file://{secret}",
    ]
    for number, entry in enumerate(entries):
        toml = f"[python]\ndependencies = [{json.dumps(entry)}]\n"
        files = {"atoll.toml": toml, "functions/f.py": "def get():\n    return 1\n"}
        result = rt.call(rt.app(f"hostile{number}", files), "/api/f", timeout=120)
        assert isinstance(result, BuildFailed), (entry, result)
        assert "top-secret" not in json.dumps(result.to_dict()).lower()
        assert result.status == 422
        assert result.message.startswith(f"[python] dependencies: {entry!r} is not a plain")
    assert asked == []  # nothing was fetched from loopback


def test_uv_only_uses_the_operators_index(tmp_path: Path, listener: tuple[int, list[str]]) -> None:
    """The operator's index setting wins over uv config files and UV_ variables around it."""
    port, asked = listener
    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    attacker.paths = []  # type: ignore[attr-defined]
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    elsewhere = f"http://127.0.0.1:{attacker.server_address[1]}"
    try:
        # A uv.toml above the folder uv runs in, and UV_ settings in the platform's environment.
        (tmp_path / "uv.toml").write_text(f'index-url = "{elsewhere}/simple"\n')
        environ = dict(os.environ)
        environ.update(
            UV_INDEX_URL=f"{elsewhere}/simple",
            UV_EXTRA_INDEX_URL=f"{elsewhere}/extra",
            UV_FIND_LINKS=f"{elsewhere}/links",
        )
        layers = DependencyLayers(
            tmp_path / "layers",
            locks=tmp_path / "locks",
            index_url=f"http://127.0.0.1:{port}/simple",
            environ=environ,
        )
        with pytest.raises(BuildFailed) as info:
            asyncio.run(layers.ensure(["atoll-no-such-package-zz9==0.0.1"]))
    finally:
        attacker.shutdown()
        attacker.server_close()
    assert any(p.startswith("/simple/atoll-no-such-package-zz9") for p in asked)
    assert attacker.paths == []  # type: ignore[attr-defined]
    # Neither the operator's index address nor host paths reach the tenant.
    shown = json.dumps(info.value.to_dict())
    assert "127.0.0.1" not in shown and str(tmp_path) not in shown
    assert "atoll-no-such-package-zz9" in info.value.detail["output"]


def test_a_cached_lock_is_checked_before_it_is_installed(
    tmp_path: Path, listener: tuple[int, list[str]]
) -> None:
    port, asked = listener
    secret = tmp_path / "root-only"
    secret.write_text("TOP-SECRET-LINE\n")
    layers = DependencyLayers(
        tmp_path / "layers", locks=tmp_path / "locks", index_url=f"http://127.0.0.1:{port}/simple"
    )
    cached = tmp_path / "locks" / (lock_digest("six==1.16.0") + ".lock")
    cached.parent.mkdir()
    cached.write_text(f"-r {secret}\nsix==1.16.0\n")
    # The poisoned cache is dropped and the requirements resolved again (at the index).
    with pytest.raises(BuildFailed) as info:
        asyncio.run(layers.ensure(["six==1.16.0"]))
    assert "top-secret" not in json.dumps(info.value.to_dict()).lower()
    assert any(p.startswith("/simple/six") for p in asked)
    assert not cached.exists()
    # A lock handed in directly is held to the same rule.
    with pytest.raises(BuildFailed, match="not a pinned package"):
        asyncio.run(layers.ensure_lock(f"six==1.16.0\n-r {secret}\n"))
    assert not (tmp_path / "layers").exists() or not any((tmp_path / "layers").iterdir())


def test_uv_environment_keeps_transport_settings_and_drops_package_sources() -> None:
    env = uv_environment(
        {
            "PATH": "/usr/bin",
            "HOME": "/root",
            "HTTPS_PROXY": "http://proxy.invalid:3128",
            "UV_CACHE_DIR": "/var/cache/uv",
            "UV_INDEX_URL": "http://127.0.0.1:9/simple",
            "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple",
            "UV_EXTRA_INDEX_URL": "http://127.0.0.1:9/extra",
            "UV_FIND_LINKS": "/root",
            "UV_CONFIG_FILE": "/tmp/uv.toml",
            "UV_INSECURE_HOST": "127.0.0.1",
            "PIP_FIND_LINKS": "/opt/wheels",
        },
        index_url="https://mirror.invalid/simple",
    )
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/root",
        "HTTPS_PROXY": "http://proxy.invalid:3128",
        "UV_CACHE_DIR": "/var/cache/uv",
        "UV_NO_CONFIG": "1",
        "UV_DEFAULT_INDEX": "https://mirror.invalid/simple",
    }
    assert "UV_DEFAULT_INDEX" not in uv_environment({"UV_DEFAULT_INDEX": "x"}, index_url=None)


def test_concurrent_requests_share_one_resolution(
    tmp_path: Path, listener: tuple[int, list[str]]
) -> None:
    """Many requests to an app whose dependencies fail start one uv, not one each."""
    port, asked = listener
    index = f"http://127.0.0.1:{port}/simple"
    wanted = ["atoll-no-such-package-zz9==0.0.1"]
    alone = DependencyLayers(tmp_path / "a", locks=tmp_path / "la", index_url=index)
    with pytest.raises(BuildFailed):
        asyncio.run(alone.ensure(wanted))
    one_run = len(asked)
    assert one_run > 0
    asked.clear()
    layers = DependencyLayers(tmp_path / "b", locks=tmp_path / "lb", index_url=index)

    async def many() -> list[object]:
        calls = [layers.ensure(wanted) for _ in range(6)]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(many())
    assert all(isinstance(r, BuildFailed) for r in results)
    assert len(asked) == one_run
