"""Dependency layers: installed once per resolved lock with uv, importable in the sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from atoll.errors import BuildFailed
from atoll.runtime import InvokeResponse
from atoll.runtime.deps import DependencyLayers, lock_digest

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


def test_install_failure_is_a_clear_build_error(tmp_path: Path) -> None:
    layers = DependencyLayers(tmp_path / "layers", locks=tmp_path / "locks")
    with pytest.raises(BuildFailed) as info:
        asyncio.run(layers.ensure(["atoll-no-such-package-zz9==0.0.1"]))
    assert "installing [python] dependencies failed" in info.value.message
    assert "atoll-no-such-package-zz9" in info.value.detail["output"]
