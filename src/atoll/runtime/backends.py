"""Which sandbox backends this host has, and which gVisor platform works here.

``find_backends`` is run once at start-up: bwrap when bubblewrap and seccomp are there,
runsc when the binary is; for runsc every platform the binary offers is probed with a
throw-away sandbox and a timeout (kvm can hang at boot under a VM even with /dev/kvm), and
the fastest that works is used. Probe results are kept in a host-wide cache keyed on the
runsc binary and the kernel, so each host probes once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from atoll.errors import Unavailable

from .gvisor import PLATFORMS, RunscBackend, probe
from .sandbox import BwrapBackend, SandboxBackend

NAMES = ("bwrap", "runsc")
# A tenant's isolation tier -> the backend that runs it ("default": the platform default).
TIERS = {"default": None, "bwrap": "bwrap", "gvisor": "runsc"}


def backend_name(isolation: str, default: str) -> str:
    """The backend for tier ``isolation`` (Unavailable for an unknown tier)."""
    if isolation in ("", "default"):
        return default
    if isolation not in TIERS:
        raise Unavailable(f"unknown isolation tier {isolation!r}", known=list(TIERS))
    return TIERS[isolation] or default


@dataclasses.dataclass
class BackendReport:
    """What start-up found: usable backends, and for runsc each platform's probe."""

    bwrap: str | None  # None: usable; else why not
    runsc: str | None
    platforms: dict[str, str | None]  # platform -> None (works) or why not
    platform: str | None  # the one chosen
    executable: str | None = None  # the runsc binary found

    def describe(self) -> str:
        """One line for the start-up report."""
        parts = [f"bwrap {'yes' if self.bwrap is None else 'no (' + self.bwrap + ')'}"]
        if self.runsc is not None:
            parts.append(f"runsc no ({self.runsc})")
        else:
            tried = ", ".join(
                f"{name} {'ok' if why is None else 'no: ' + why}"
                for name, why in self.platforms.items()
            )
            parts.append(f"runsc yes, platform {self.platform} ({tried})")
        return "; ".join(parts)


def offered_platforms(executable: str) -> list[str]:
    """The platforms this runsc build knows, fastest first."""
    try:
        result = subprocess.run(
            [executable, "help", "platforms"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = set(result.stdout.decode(errors="replace").split())
    return [name for name in PLATFORMS if name in names]


def _cache_key(executable: str) -> str:
    info = os.stat(executable)
    uname = os.uname()
    parts = [executable, info.st_size, info.st_mtime_ns, uname.release, uname.version]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def probe_platforms(executable: str, cache: Path | None, timeout: float) -> dict[str, str | None]:
    """Each offered platform: None when a trivial sandbox ran on it, else why not."""
    key = _cache_key(executable)
    if cache is not None:
        with contextlib.suppress(OSError, ValueError):
            known = json.loads(cache.read_text())
            if isinstance(known, dict) and known.get("key") == key:
                cached = known.get("platforms")
                if isinstance(cached, dict):
                    return {str(k): (None if v is None else str(v)) for k, v in cached.items()}
    results: dict[str, str | None] = {}
    folder = Path(tempfile.mkdtemp(prefix="atoll-runsc-probe-"))
    try:
        for platform in offered_platforms(executable):
            results[platform] = probe(executable, platform, folder, timeout)
            if results[platform] is None:
                break  # fastest first: the rest would be slower
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if cache is not None and results:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps({"key": key, "platforms": results}))
            tmp.replace(cache)
    return results


def find_backends(
    platform: str, cache: Path | None, timeout: float, runsc: str = "runsc"
) -> BackendReport:
    """Probe this host (blocking: seconds the first time on a host with kvm that hangs)."""
    bwrap = None if BwrapBackend.available() else "bubblewrap or seccomp missing"
    executable = shutil.which(runsc)
    if executable is None:
        return BackendReport(bwrap, f"{runsc} not installed", {}, None)
    if platform != "auto":
        return BackendReport(bwrap, None, {platform: None}, platform, executable)
    results = probe_platforms(executable, cache, timeout)
    working = [name for name, why in results.items() if why is None]
    if not working:
        return BackendReport(bwrap, "no gVisor platform works here", results, None, executable)
    return BackendReport(bwrap, None, results, working[0], executable)


def make_backend(name: str, report: BackendReport | None = None) -> SandboxBackend:
    """The backend called ``name``; Unavailable when it cannot run here."""
    if name not in NAMES:
        raise Unavailable(f"unknown sandbox backend {name!r}", known=list(NAMES))
    if name == "bwrap":
        if not BwrapBackend.available():
            raise Unavailable("sandbox backend 'bwrap' is not available on this host")
        return BwrapBackend()
    why = "runsc is not installed" if not RunscBackend.available() else None
    if report is not None and report.runsc is not None:
        why = report.runsc
    if why is not None:
        raise Unavailable(f"gVisor (runsc) cannot run tenant code on this host: {why}")
    platform = report.platform if report is not None and report.platform else "ptrace"
    return RunscBackend(report.executable if report is not None else None, platform)
