"""Content-addressed blob storage on disk: one file per SHA-256, written atomically."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from atoll.errors import BadRequest, NotFound

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def sha256_hex(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def check_sha(sha: str) -> str:
    """Return ``sha`` if it is a lowercase hex SHA-256, else raise ``BadRequest``."""
    if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
        raise BadRequest("not a lowercase hex SHA-256 digest", sha256=str(sha)[:80])
    return sha


class BlobStore:
    """Blobs of one app under ``root``; identical content is stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha: str) -> Path:
        check_sha(sha)
        return self.root / sha[:2] / sha[2:]

    def has(self, sha: str) -> bool:
        """Whether the blob is stored."""
        return self._path(sha).is_file()

    def size(self, sha: str) -> int:
        """The blob's size in bytes."""
        try:
            return self._path(sha).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {sha} not found", sha256=sha) from None

    def get(self, sha: str) -> bytes:
        """The blob's content."""
        try:
            return self._path(sha).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {sha} not found", sha256=sha) from None

    def put(self, data: bytes, sha: str | None = None) -> str:
        """Store ``data`` (a no-op if present) and return its SHA-256 (``sha`` if given)."""
        sha = sha or sha256_hex(data)
        target = self._path(sha)
        if target.is_file():
            return sha
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temp file and rename, so a crash never leaves a partial blob under its
        # final name.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha

    def touch(self, sha: str) -> None:
        """Mark the blob as just used (an upload nothing names yet is kept an hour from here)."""
        try:
            os.utime(self._path(sha))
        except FileNotFoundError:
            pass

    def stored(self) -> Iterator[tuple[str, int, float]]:
        """Every blob: its SHA-256, size and modification time."""
        if not self.root.is_dir():
            return
        for group in os.scandir(self.root):
            if not group.is_dir(follow_symlinks=False) or len(group.name) != 2:
                continue
            for entry in os.scandir(group.path):
                sha = group.name + entry.name
                if entry.is_file(follow_symlinks=False) and _SHA_RE.fullmatch(sha):
                    info = entry.stat(follow_symlinks=False)
                    yield sha, info.st_size, info.st_mtime

    def remove(self, sha: str) -> None:
        """Delete the blob (nothing happens if it is not there)."""
        self._path(sha).unlink(missing_ok=True)

    def destroy(self) -> None:
        """Remove every blob (used when the app is deleted)."""
        shutil.rmtree(self.root, ignore_errors=True)
