"""Isolation tiers (issue 18): a gvisor tenant runs only on gVisor, and only where runsc works."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from atoll.errors import Unavailable
from atoll.runtime import InvokeResponse, RunscBackend, SandboxSpec
from atoll.runtime.backends import find_backends
from atoll.runtime.gvisor import PLATFORMS
from atoll.runtime.sandbox import SDK_DIR, Mount

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


@pytest.mark.skipif(not RunscBackend.available(), reason="runsc not installed")
def test_start_up_probes_gvisor_platforms_and_picks_the_fastest_that_works(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "probes.json"
    # A short timeout: kvm may hang at boot (it does on this VM), and is killed then.
    report = find_backends("auto", cache, timeout=3.0)
    assert report.runsc is None and report.platform is not None, report
    tried = list(report.platforms)
    assert tried == [p for p in PLATFORMS if p in tried]  # fastest first
    assert report.platforms[report.platform] is None
    assert all(report.platforms[p] is not None for p in tried[: tried.index(report.platform)])
    assert report.platform in report.describe() and "bwrap yes" in report.describe()
    # The host keeps the results: the next start reads them instead of probing again.
    assert json.loads(cache.read_text())["platforms"] == report.platforms
    again = find_backends("auto", cache, timeout=3.0)
    assert again.platform == report.platform and again.platforms == report.platforms
    # The sandboxes the probes ran left no runsc process behind.
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _is_probe(p)]


def _is_probe(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"atoll-runsc-probe-" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not RunscBackend.available(), reason="runsc not installed")
def test_a_gvisor_sandbox_that_dies_leaves_no_container_behind(rt: Harness) -> None:
    ref = rt.app("dies", KERNEL, tenant="vault", isolation="gvisor")
    assert isinstance(rt.call(ref, "/api/kernel"), InvokeResponse)
    sandbox = rt.runtime.apps[ref.key].sandbox
    backend = rt.runtime.backends["runsc"]
    assert isinstance(backend, RunscBackend) and sandbox is not None
    container = sandbox.process.container
    assert container is not None and container in backend.containers()
    os.kill(sandbox.process.pid, signal.SIGKILL)  # runsc run dies: its sentry goes with it
    bundle = backend.root / "runsc-bundles" / container  # type: ignore[operator]
    deadline = time.monotonic() + 30
    # runsc delete runs on a thread after the sandbox ends; the bundle goes after it.
    while (container in backend.containers() or bundle.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert container not in backend.containers()  # runsc delete ran for it
    assert not bundle.exists()
    assert isinstance(rt.call(ref, "/api/kernel"), InvokeResponse)  # a fresh sandbox serves


@pytest.mark.skipif(not RunscBackend.available(), reason="runsc not installed")
def test_containers_left_by_a_killed_server_are_deleted_at_start(tmp_path: Path) -> None:
    root = tmp_path / "rt"
    root.mkdir()
    dead = RunscBackend(platform="ptrace")
    dead.prepare(root)
    # A stand-in SDK whose zygote only waits: the container stays up until it is killed.
    sdk = tmp_path / "sdk"
    (sdk / "atoll").mkdir(parents=True)
    (sdk / "atoll" / "__init__.py").write_text("")
    (sdk / "atoll" / "_zygote.py").write_text("import time\ndef main(argv):\n    time.sleep(600)\n")
    os.chmod(tmp_path, 0o755)
    spec = SandboxSpec(
        name="left",
        host_uid=0,
        python="/usr/bin/python3",
        mounts=(Mount(sdk, SDK_DIR),),
        tmp_bytes=1 << 20,
    )
    process = dead.start(spec)
    try:
        deadline = time.monotonic() + 30
        while not dead.containers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert dead.containers()
    finally:
        process.popen.kill()  # as if the server was SIGKILLed: nothing ran delete
        process.popen.wait()
        process.close()
    assert dead.containers(), "runsc keeps the stopped container's state"
    RunscBackend(platform="ptrace").prepare(root)  # the next server's start-up
    assert dead.containers() == [] and list((root / "runsc-bundles").iterdir()) == []
