"""Host folders that sandboxes see, all reachable by the unprivileged sandbox uids.

    <runtime_dir>/                  0711
      python-<digest>/              hard-linked copy of the Python runtime (stdlib, libpython)
      sdk-<digest>/atoll/           the SDK, mounted as /opt/atoll/lib (import atoll)
      base-<digest>/                pydantic & friends, mounted as /opt/atoll/base
      layers/<digest>/              dependency layers (0711: reachable only by digest)
      slots/<n>/app/                one sandbox's app code (/app inside)
      slots/<n>/run/                its sockets (/run/atoll inside)

The Python runtime lives under /root here, which the sandbox uids cannot traverse, so it is
mirrored once with hard links (a copy when the file system differs).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import atoll.sdk

SKIP_STDLIB = {
    "site-packages",
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "config-3.11-x86_64-linux-gnu",
}
BASE_PACKAGES = ("pydantic", "pydantic_core", "typing_extensions", "annotated_types")
BASE_MODULES = ("typing_extensions.py", "typing_inspection")


def reachable_by_others(path: Path) -> bool:
    """Whether every ancestor of ``path`` can be traversed by an arbitrary uid."""
    current = path.resolve()
    for part in [current, *current.parents]:
        try:
            mode = part.stat().st_mode
        except FileNotFoundError:
            continue
        if not mode & stat.S_IXOTH:
            return False
    return True


def choose_runtime_dir(preferred: Path) -> Path:
    """``preferred`` if sandboxes can reach it, else a per-installation folder under /tmp."""
    if reachable_by_others(preferred.parent if not preferred.exists() else preferred):
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path("/tmp") / f"atoll-runtime-{digest}"


def _link_or_copy(src: str, dst: str) -> None:
    if os.path.islink(src):
        os.symlink(os.readlink(src), dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    os.chmod(dst, os.stat(dst).st_mode | stat.S_IROTH)


def mirror(src: Path, dst: Path, skip: set[str] | frozenset[str] = frozenset()) -> None:
    """Make ``dst`` a world-readable hard-linked copy of ``src`` (once; marked when done)."""

    def fill(tmp: Path) -> None:
        if src.is_dir():
            shutil.copytree(
                src,
                tmp,
                copy_function=_link_or_copy,
                ignore=lambda d, names: [n for n in names if n in skip],
                symlinks=True,
                dirs_exist_ok=True,
            )
        else:
            _link_or_copy(str(src), str(tmp / src.name))

    _publish(dst, fill)


def _digest(*parts: object) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:16]


def _publish(target: Path, fill: Callable[[Path], None]) -> None:
    """Build ``target`` once: fill a temp folder, open its folders to the sandbox uids,
    mark it complete and rename it into place (a lost race to an identical build is fine)."""
    if (target / ".complete").exists():
        return
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")  # processes may race
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    fill(tmp)
    for root, dirs, _files in os.walk(tmp):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o755)
    os.chmod(tmp, 0o755)
    (tmp / ".complete").write_text("")
    try:
        tmp.rename(target)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)


class RuntimeLayout:
    """The folders above, created on demand."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root = root.resolve()  # bwrap runs with cwd "/": mount sources are absolute
        os.chmod(self.root, 0o711)
        self.layers = root / "layers"
        self.layers.mkdir(exist_ok=True)
        os.chmod(self.layers, 0o711)
        self.slots = root / "slots"
        self.slots.mkdir(exist_ok=True)
        os.chmod(self.slots, 0o711)
        self.python_prefix = Path(sys.base_prefix)
        self.python_exe = Path(sys.executable).resolve()
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        self.python_version = version
        self.python = root / f"python-{_digest(self.python_prefix, sys.version)}"
        self.sdk = root / f"sdk-{_digest(*self._sdk_stamp())}"
        self.base = root / f"base-{_digest(*self._base_stamp())}"

    def _sdk_stamp(self) -> list[object]:
        sdk_dir = Path(atoll.sdk.__file__).parent
        return [
            (p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(sdk_dir.glob("*.py"))
        ]

    def _base_stamp(self) -> list[object]:
        site = Path(sysconfig.get_paths()["purelib"])
        return [(n, (site / n).exists()) for n in BASE_PACKAGES] + [str(site)]

    def prepare(self) -> None:
        """Mirror the Python runtime, the SDK and the base packages (idempotent)."""
        _publish(self.python, self._fill_python)
        _publish(self.sdk, self._fill_sdk)
        _publish(self.base, self._fill_base)

    def _fill_python(self, tmp: Path) -> None:
        lib = f"lib/python{self.python_version}"
        mirror(self.python_prefix / lib, tmp / lib, SKIP_STDLIB)
        for so in (self.python_prefix / "lib").glob("libpython*"):
            if so.is_file():
                _link_or_copy(str(so), str(tmp / "lib" / so.name))
        (tmp / "bin").mkdir(parents=True, exist_ok=True)
        _link_or_copy(str(self.python_exe), str(tmp / "bin" / "python3"))

    def _fill_sdk(self, tmp: Path) -> None:
        (tmp / "atoll").mkdir(parents=True)
        sdk_dir = Path(atoll.sdk.__file__).parent
        for p in sdk_dir.glob("*.py"):
            shutil.copy2(p, tmp / "atoll" / p.name)
        import compileall

        compileall.compile_dir(str(tmp), quiet=1, ddir="/opt/atoll/lib")
        for root, _dirs, files in os.walk(tmp):
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)

    def _fill_base(self, tmp: Path) -> None:
        site = Path(sysconfig.get_paths()["purelib"])
        for name in (*BASE_PACKAGES, *BASE_MODULES):
            if (site / name).is_dir():
                mirror(site / name, tmp / name)
            elif (site / name).exists():
                _link_or_copy(str(site / name), str(tmp / name))

    def python_in_sandbox(self) -> str:
        """The interpreter's path inside the sandbox (same prefix as on the host)."""
        return str(self.python_prefix / "bin" / "python3")

    def slot(self, index: int) -> Path:
        """A fresh, empty slot folder for sandbox ``index``."""
        path = self.slots / str(index)
        shutil.rmtree(path, ignore_errors=True)
        (path / "app").mkdir(parents=True)
        (path / "run").mkdir()
        os.chmod(path, 0o755)
        os.chmod(path / "app", 0o755)
        os.chmod(path / "run", 0o755)
        return path
