"""Host folders that sandboxes see, all reachable by the unprivileged sandbox uids.

    <runtime_dir>/                  0711, the platform's own (``secure_directory``)
      python-<digest>/              hard-linked copy of the Python runtime (stdlib, libpython)
      sdk-<digest>/atoll/           the SDK, mounted as /opt/atoll/lib (import atoll)
      base-<digest>/                pydantic & friends, mounted as /opt/atoll/base
      layers/<digest>/              dependency layers (0711: reachable only by digest)
      locks/                        resolved dependency locks (0700: the platform's only)
      slots/<n>/                    0500, owned by the slot's uid: no one else can look in
      slots/<n>/app/                one sandbox's app code (/app inside)
      slots/<n>/run/                its sockets (/run/atoll inside)

Every sandbox runs what is in here, so the folder must be one no other local user could have
made or can change: it is created by this process or adopted only when it already is such a
folder, and ``.complete`` markers are trusted only on folders this process's user owns.

The Python runtime lives under /root here, which the sandbox uids cannot traverse, so it is
mirrored once with hard links (a copy when the file system differs).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import stat
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import atoll.sdk
from atoll.config import Settings
from atoll.errors import Unavailable

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


@functools.cache
def sandbox_modules() -> frozenset[str]:
    """The top-level modules every sandbox can import: the standard library as mirrored (the
    modules of this interpreter's library, less ``SKIP_STDLIB``), the base packages and the
    SDK's ``atoll``."""
    lib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    dynload = lib / "lib-dynload"
    extensions = {p.name.split(".")[0] for p in dynload.glob("*.so")} if dynload.is_dir() else set()
    names = set(sys.builtin_module_names) | {"__main__"}
    for name in sys.stdlib_module_names:
        if name in SKIP_STDLIB:
            continue
        if (lib / f"{name}.py").is_file() or (lib / name).is_dir() or name in extensions:
            names.add(name)
    base = {name.removesuffix(".py") for name in (*BASE_PACKAGES, *BASE_MODULES)}
    return frozenset(names | base | {"atoll"})


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


def preferred_runtime_dir(settings: Settings) -> Path:
    """Where the runtime of ``settings`` keeps its folders, when sandboxes can reach it."""
    return settings.runtime.runtime_dir or (settings.data_dir / "runtime")


def choose_runtime_dir(preferred: Path) -> Path:
    """``preferred`` if sandboxes can reach it, else a per-installation folder under /tmp.

    The fallback's name is predictable: ``secure_directory`` is what keeps a folder someone
    else made there from being used.
    """
    if reachable_by_others(preferred.parent if not preferred.exists() else preferred):
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path("/tmp") / f"atoll-runtime-{digest}"


def _unsafe_ancestor(folder: Path) -> str | None:
    """Why someone other than this user or root could swap entries below ``folder``, or None.

    A folder whose owner is someone else, or that others may write to, lets them rename what
    is in it. Sticky folders owned by root (like /tmp) are fine: others may add entries there
    but not move or remove ours.
    """
    euid = os.geteuid()
    for part in [folder, *folder.parents]:
        info = os.lstat(part)
        if info.st_uid not in (0, euid):
            return f"{part} belongs to uid {info.st_uid}"
        if info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX:
            return f"{part} can be written by other users (mode {stat.S_IMODE(info.st_mode):o})"
    return None


def secure_directory(path: Path, mode: int) -> Path:
    """``path`` as a folder of this process's user with ``mode``: made here, or refused.

    A missing folder is created exclusively (its missing parents too, 0755). One that exists
    is adopted only when it is a real folder (no symlink), owned by this process's user and
    not writable by group or others; every ancestor must be one only root or this user can
    change. Anything else is Unavailable naming the path. Returns the absolute path.
    """
    path = Path(os.path.abspath(path))
    if not os.path.lexists(path.parent):
        secure_directory(path.parent, 0o755)
    parent = path.parent.resolve(strict=True)
    if (reason := _unsafe_ancestor(parent)) is not None:
        raise Unavailable(
            f"refusing to use {path}: {reason}, so another local user could replace it",
            path=str(path),
        )
    target = parent / path.name
    with contextlib.suppress(FileExistsError):
        os.mkdir(target, 0o700)
    try:
        fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        what = "a symlink" if os.path.islink(target) else "not a folder"
        raise Unavailable(
            f"refusing to use {target}: it is {what} ({exc.strerror}); remove it",
            path=str(target),
        ) from exc
    try:
        info = os.fstat(fd)
        if info.st_uid != os.geteuid():
            raise Unavailable(
                f"refusing to use {target}: it belongs to uid {info.st_uid}, not to atoll's "
                f"uid {os.geteuid()} (created by another local user?); remove it",
                path=str(target),
                owner=info.st_uid,
            )
        if info.st_mode & 0o022:
            raise Unavailable(
                f"refusing to use {target}: other users can write to it "
                f"(mode {stat.S_IMODE(info.st_mode):o}); remove it",
                path=str(target),
            )
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return target


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


def is_complete(target: Path) -> bool:
    """Whether ``target`` is a finished build of ours; Unavailable when it is someone else's.

    The marker says "fully built", which only means something when this user made both the
    folder and the marker and no one else could have changed the folder since.
    """
    try:
        folder = os.lstat(target)
    except FileNotFoundError:
        return False
    marker_path = target / ".complete"
    try:
        marker: os.stat_result | None = os.lstat(marker_path)
    except FileNotFoundError:
        marker = None
    euid = os.geteuid()
    if not stat.S_ISDIR(folder.st_mode) or folder.st_uid != euid or folder.st_mode & 0o022:
        raise Unavailable(
            f"refusing to use {target}: not a folder of atoll's uid {euid} that only it can "
            f"change (owner uid {folder.st_uid}, mode {stat.S_IMODE(folder.st_mode):o})",
            path=str(target),
        )
    if marker is not None and (not stat.S_ISREG(marker.st_mode) or marker.st_uid != euid):
        raise Unavailable(
            f"refusing to trust {marker_path}: not a file of atoll's uid {euid}",
            path=str(marker_path),
        )
    return marker is not None


def _publish(target: Path, fill: Callable[[Path], None]) -> None:
    """Build ``target`` once: fill a temp folder, open its folders to the sandbox uids,
    mark it complete and rename it into place (a lost race to an identical build is fine)."""
    if is_complete(target):
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
        # Absolute and resolved: bwrap runs with cwd "/", so mount sources must be absolute.
        self.root = root = secure_directory(root, 0o711)
        self.layers = secure_directory(root / "layers", 0o711)
        self.slots = secure_directory(root / "slots", 0o711)
        # Resolved dependency locks (DependencyLayers keeps them here): they name other
        # apps' dependencies, so no one but the platform reads them.
        self.locks = secure_directory(root / "locks", 0o700)
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

    def slot(self, index: int, uid: int) -> Path:
        """A fresh, empty slot folder for sandbox ``index``, which runs as host ``uid``.

        The slot holds the tenant's code and the sockets to its database and egress proxies:
        only ``uid`` may enter it (0500, so it cannot rename what root put there either);
        bwrap, running as ``uid``, mounts ``app`` and ``run`` read-only.
        """
        path = self.slots / str(index)
        shutil.rmtree(path, ignore_errors=True)
        os.mkdir(path, 0o700)
        for name in ("app", "run"):
            os.mkdir(path / name)
            os.chmod(path / name, 0o755)
        os.chown(path, uid, uid)
        os.chmod(path, 0o500)
        return path
