"""Dependency layers: ``[python] dependencies`` resolved and installed once per lock by uv.

Only wheels are installed (``--no-build``): building a source distribution would run the
package's build code as root on the host. uv reads only what the platform gives it: checked
requirement lines (``requirements.py``), the operator's index, no config files, and a
working folder of the platform's; tenants see its output only as ``installer_summary``.

A layer is ``<layers>/<sha256 of the resolved lock>/site`` and is shared by every app whose
dependencies resolve to the same lock. Sandboxes see the layers folder read-only at
``/opt/atoll/layers``; it is mode 0711, so a layer is reachable only by its digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import hashlib
import logging
import os
import shutil
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from atoll.config import Settings
from atoll.errors import BuildFailed

from .layout import RuntimeLayout, choose_runtime_dir, preferred_runtime_dir
from .requirements import installer_summary, pinned_lines, requirement_line
from .sandbox import LAYERS_DIR

log = logging.getLogger("atoll.runtime")

INSTALL_TIMEOUT = 600.0
LOCK_FILE = "python.lock"  # a build's resolved pins, kept with its built artifacts


@dataclasses.dataclass(frozen=True)
class Layer:
    """An installed dependency layer."""

    digest: str
    path: Path

    @property
    def sandbox_path(self) -> str:
        """Where the layer's packages are inside the sandbox."""
        return f"{LAYERS_DIR}/{self.digest}/site"

    def modules(self) -> set[str]:
        """The top-level modules the layer holds (packages, modules, extension modules)."""
        found: set[str] = set()
        for entry in (self.path / "site").iterdir():
            name = entry.name
            if entry.is_dir():
                if "." not in name and name not in ("__pycache__", "bin"):
                    found.add(name)
            elif name.endswith((".py", ".so")):
                found.add(name.split(".")[0])
        return found


def find_uv() -> str:
    """The uv executable next to this interpreter, or on PATH."""
    local = Path(sys.prefix) / "bin" / "uv"
    if local.exists():
        return str(local)
    found = shutil.which("uv")
    if found is None:
        raise BuildFailed("uv is not installed; it is needed to install [python] dependencies")
    return found


# uv settings from the environment that only affect how it talks to the network; every other
# UV_ variable (indexes, find-links, config files, ...) is dropped: the index is a setting.
_UV_TRANSPORT = frozenset(
    {"UV_CACHE_DIR", "UV_NATIVE_TLS", "UV_SYSTEM_CERTS", "UV_HTTP_TIMEOUT", "UV_OFFLINE"}
)


def uv_environment(environ: Mapping[str, str], index_url: str | None) -> dict[str, str]:
    """The environment uv runs in: the platform's, with package sources from settings only."""
    env = {
        key: value
        for key, value in environ.items()
        if not key.startswith(("UV_", "PIP_")) or key in _UV_TRANSPORT
    }
    env["UV_NO_CONFIG"] = "1"
    if index_url:
        # An environment variable, not an argument: index URLs may carry credentials.
        env["UV_DEFAULT_INDEX"] = index_url
    return env


def lock_digest(lock: str) -> str:
    """The content address of a resolved lock (comments and blank lines ignored)."""
    lines = [line.split("#", 1)[0].strip() for line in lock.splitlines()]
    return hashlib.sha256("\n".join(sorted(x for x in lines if x)).encode()).hexdigest()


def dependency_layers(settings: Settings) -> DependencyLayers:
    """The layers the runtime of ``settings`` mounts, for a build to install into (the
    runtime's own ``DependencyLayers`` is the same folders)."""
    layout = RuntimeLayout(choose_runtime_dir(preferred_runtime_dir(settings)))
    return DependencyLayers(layout.layers, index_url=settings.runtime.python_index_url)


class DependencyLayers:
    """Resolve and install dependency layers under ``root``."""

    def __init__(
        self,
        root: Path,
        python: str | None = None,
        uv: str | None = None,
        locks: Path | None = None,
        *,
        index_url: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        # Resolved locks live outside the mounted layers folder: they name other apps' deps.
        self.locks = locks or root.parent / "locks"
        self.python = python or sys.executable
        self._uv = uv
        self._env = uv_environment(os.environ if environ is None else environ, index_url)
        self._locks: dict[str, asyncio.Lock] = {}
        self._resolved: dict[tuple[str, ...], str] = {}
        self._pending: dict[tuple[str, ...], asyncio.Future[str]] = {}

    async def _run(self, *args: str, stdin: bytes | None = None) -> str:
        uv = self._uv or find_uv()
        # uv looks for config files from its working folder up: run it in one of ours.
        self.locks.mkdir(parents=True, exist_ok=True)
        proc = await asyncio.create_subprocess_exec(
            uv,
            *args,
            "--no-config",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=self.locks,
            env=self._env,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), INSTALL_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise BuildFailed("installing dependencies took too long") from None
        if proc.returncode != 0:
            text = err.decode(errors="replace")
            log.warning("uv %s exited with %s:\n%s", " ".join(args[:2]), proc.returncode, text)
            # Tenants get a summary without host paths, URLs (the index may carry a token)
            # or anything quoted from files; the operator's log has all of it.
            summary = installer_summary(text)
            # uv wraps long lines to the terminal's width: one line for the message.
            short = " ".join(summary.split())
            short = short if len(short) <= 400 else "..." + short[-400:]
            raise BuildFailed(
                "installing [python] dependencies failed: "
                + (short or f"uv exited with {proc.returncode}"),
                output=summary,
            )
        return out.decode(errors="replace")

    async def resolve(self, requirements: Sequence[str]) -> str:
        """The pinned lock for ``requirements``, resolved once and then kept on disk.

        Keeping it means a restart neither needs the index nor picks up newer versions.
        Each requirement is checked again here: they become lines of a requirements file.
        """
        key = tuple(sorted(requirement_line(r) for r in requirements))
        if key in self._resolved:
            return self._resolved[key]
        # Every request to an app that is not running yet asks for its layer: concurrent
        # requests share one uv run (and its failure) instead of starting one each.
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._resolve(key))
            self._pending[key] = pending

            def forget(done: asyncio.Future[str]) -> None:
                self._pending.pop(key, None)
                if not done.cancelled():
                    done.exception()  # mark it seen: every waiter may have been cancelled

            pending.add_done_callback(forget)
        return await asyncio.shield(pending)

    async def _resolve(self, key: tuple[str, ...]) -> str:
        cached = self.locks / (lock_digest("\n".join(key)) + ".lock")
        lock = _read_lock(cached)
        if lock is None:
            resolved = await self._run(
                "pip",
                "compile",
                "-",
                "--python",
                self.python,
                "--no-header",
                "--quiet",
                "--no-annotate",
                "--no-build",
                stdin=("\n".join(key) + "\n").encode(),
            )
            lock = "".join(f"{pin}\n" for pin in pinned_lines(resolved))
            tmp = cached.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(lock)
            tmp.replace(cached)
        self._resolved[key] = lock
        return lock

    async def ensure(self, requirements: Sequence[str]) -> Layer | None:
        """The layer for ``requirements``, installed if needed; None when there are none."""
        if not requirements:
            return None
        lock = await self.resolve(requirements)
        # Markers can exclude every requirement on this platform: nothing to install.
        return await self.ensure_lock(lock) if lock else None

    def lock_and_install(self, requirements: Sequence[str]) -> tuple[str, Layer | None]:
        """For a build, on a thread without an event loop: the pinned lock of
        ``requirements`` and its layer, installed (None when the lock pins nothing)."""

        async def both() -> tuple[str, Layer | None]:
            lock = await self.resolve(requirements)
            return lock, (await self.ensure_lock(lock) if lock else None)

        return asyncio.run(both())

    def install_lock(self, lock: str) -> Layer:
        """``ensure_lock`` for a build, on a thread without an event loop."""
        return asyncio.run(self.ensure_lock(lock))

    async def ensure_lock(self, lock: str) -> Layer:
        """The layer for an already resolved lock (pinned lines only), installed if needed."""
        # Only ``name==version`` lines are ever written where ``uv pip install -r`` reads.
        lock = "".join(f"{pin}\n" for pin in pinned_lines(lock))
        digest = lock_digest(lock)
        layer = Layer(digest, self.root / digest)
        if (layer.path / ".complete").exists():
            return layer
        lock_obj = self._locks.setdefault(digest, asyncio.Lock())
        async with lock_obj:
            if (layer.path / ".complete").exists():
                return layer
            self.root.mkdir(parents=True, exist_ok=True)
            with open(self.root / f".{digest}.lock", "w") as guard:
                # Other platform processes may install the same layer: one at a time.
                await asyncio.to_thread(fcntl.flock, guard, fcntl.LOCK_EX)
                try:
                    if not (layer.path / ".complete").exists():
                        await self._install(lock, layer)
                finally:
                    fcntl.flock(guard, fcntl.LOCK_UN)
        return layer

    async def _install(self, lock: str, layer: Layer) -> None:
        tmp = layer.path.with_name(layer.digest + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "site").mkdir(parents=True)
        (tmp / "requirements.lock").write_text(lock)
        await self._run(
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build",
            "--python",
            self.python,
            "--target",
            str(tmp / "site"),
            "-r",
            str(tmp / "requirements.lock"),
        )
        for root, dirs, files in os.walk(tmp):
            for name in dirs + files:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    continue  # never chmod through a link that points at the host
                mode = os.lstat(path).st_mode
                os.chmod(path, 0o755 if stat.S_ISDIR(mode) else mode | 0o444)
        os.chmod(tmp, 0o755)
        (tmp / ".complete").write_text("")
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(layer.path)
        tmp.rename(layer.path)


def _read_lock(path: Path) -> str | None:
    """A cached lock in normalized form, or None (and the file removed) when it is unusable."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("dropping unreadable dependency lock %s: %s", path, exc)
        path.unlink(missing_ok=True)
        return None
    try:
        pins = pinned_lines(text)
    except BuildFailed:
        # Written by an older platform or by someone else: resolve again instead of
        # handing uv a line that is not a pin.
        log.warning("dropping dependency lock %s: it holds lines that are not pins", path)
        path.unlink(missing_ok=True)
        return None
    return "".join(f"{pin}\n" for pin in pins)
