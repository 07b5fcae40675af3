"""Isolation tiers (issue 18): a gvisor tenant runs only on gVisor, and only where runsc works."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from atoll.errors import Unavailable
from atoll.runtime import InvokeResponse, RunscBackend

from .conftest import SESSION_UID_BASE, Harness, LoopThread, started_runtime

pytestmark = pytest.mark.sandbox

KERNEL = {
    "functions/kernel.py": """
        import os

        def get():
            return {"release": os.uname().release, "version": open("/proc/version").read()}
        """
}


def kernel(rt: Harness, tenant: str, isolation: str) -> dict[str, str]:
    result = rt.call(rt.app("kernel", KERNEL, tenant=tenant, isolation=isolation), "/api/kernel")
    assert isinstance(result, InvokeResponse), result
    seen: dict[str, str] = result.json()
    return seen


@pytest.mark.skipif(not RunscBackend.available(), reason="runsc not installed")
def test_a_gvisor_tenant_sees_gvisors_kernel_and_a_default_one_the_hosts(rt: Harness) -> None:
    host = os.uname()
    gvisor = kernel(rt, "vault", "gvisor")
    default = kernel(rt, "plain", "default")
    assert gvisor["release"] != host.release and host.version not in gvisor["version"]
    assert default["release"] == host.release and host.version in default["version"]
    assert rt.runtime.apps["vault/kernel/dev"].sandbox.backend.name == "runsc"  # type: ignore[union-attr]


def test_a_gvisor_tenant_is_refused_where_runsc_is_missing(
    loop_thread: LoopThread, tmp_path: Path
) -> None:
    with started_runtime(
        loop_thread, tmp_path, SESSION_UID_BASE + 9000, pool_size=1, runsc="/nonexistent/runsc"
    ) as h:
        assert "runsc" not in h.runtime.backends
        refused = h.call(h.app("kernel", KERNEL, tenant="vault", isolation="gvisor"), "/api/kernel")
        assert isinstance(refused, Unavailable), refused
        assert "gvisor" in refused.message and "not installed" in refused.message
        # Never run in bwrap instead: no instance of the app was started at all.
        assert (
            "vault/kernel/dev" not in h.runtime.apps
            or h.runtime.apps["vault/kernel/dev"].sandbox is None
        )
        served = h.call(h.app("kernel", KERNEL, tenant="plain"), "/api/kernel")
        assert isinstance(served, InvokeResponse), served
