"""Dependency layers: ``[python] dependencies`` resolved and installed once per lock by uv.

Only wheels are installed (``--no-build``): building a source distribution would run the
package's build code as root on the host.

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
import os
import shutil
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

from atoll.errors import BuildFailed

from .sandbox import LAYERS_DIR

INSTALL_TIMEOUT = 600.0


@dataclasses.dataclass(frozen=True)
class Layer:
    """An installed dependency layer."""

    digest: str
    path: Path

    @property
    def sandbox_path(self) -> str:
        """Where the layer's packages are inside the sandbox."""
        return f"{LAYERS_DIR}/{self.digest}/site"


def find_uv() -> str:
    """The uv executable next to this interpreter, or on PATH."""
    local = Path(sys.prefix) / "bin" / "uv"
    if local.exists():
        return str(local)
    found = shutil.which("uv")
    if found is None:
        raise BuildFailed("uv is not installed; it is needed to install [python] dependencies")
    return found


def lock_digest(lock: str) -> str:
    """The content address of a resolved lock (comments and blank lines ignored)."""
    lines = [line.split("#", 1)[0].strip() for line in lock.splitlines()]
    return hashlib.sha256("\n".join(sorted(x for x in lines if x)).encode()).hexdigest()


class DependencyLayers:
    """Resolve and install dependency layers under ``root``."""

    def __init__(
        self,
        root: Path,
        python: str | None = None,
        uv: str | None = None,
        locks: Path | None = None,
    ) -> None:
        self.root = root
        # Resolved locks live outside the mounted layers folder: they name other apps' deps.
        self.locks = locks or root.parent / "locks"
        self.python = python or sys.executable
        self._uv = uv
        self._locks: dict[str, asyncio.Lock] = {}
        self._resolved: dict[tuple[str, ...], str] = {}

    async def _run(self, *args: str, stdin: bytes | None = None) -> str:
        uv = self._uv or find_uv()
        proc = await asyncio.create_subprocess_exec(
            uv,
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), INSTALL_TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise BuildFailed("installing dependencies took too long") from None
        if proc.returncode != 0:
            message = err.decode(errors="replace").strip().splitlines()
            raise BuildFailed(
                "installing [python] dependencies failed: "
                + (message[-1] if message else f"uv exited with {proc.returncode}"),
                output="\n".join(message[-30:]),
            )
        return out.decode()

    async def resolve(self, requirements: Sequence[str]) -> str:
        """The pinned lock for ``requirements``, resolved once and then kept on disk.

        Keeping it means a restart neither needs the index nor picks up newer versions.
        """
        key = tuple(sorted(requirements))
        cached = self.locks / (lock_digest("\n".join(key)) + ".lock")
        if key not in self._resolved and cached.exists():
            self._resolved[key] = cached.read_text()
        if key not in self._resolved:
            self._resolved[key] = await self._run(
                "pip",
                "compile",
                "-",
                "--python",
                self.python,
                "--no-header",
                "--quiet",
                "--no-annotate",
                "--no-build",
                stdin="\n".join(requirements).encode(),
            )
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(self._resolved[key])
            tmp.replace(cached)
        return self._resolved[key]

    async def ensure(self, requirements: Sequence[str]) -> Layer | None:
        """The layer for ``requirements``, installed if needed; None when there are none."""
        if not requirements:
            return None
        return await self.ensure_lock(await self.resolve(requirements))

    async def ensure_lock(self, lock: str) -> Layer:
        """The layer for an already resolved lock, installed if needed."""
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
