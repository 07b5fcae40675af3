"""Revoked minters: API tokens whose database tokens are refused from now on.

A database token minted for a caller names the API token that asked for it (claim ``by``).
Revoking that API token writes a marker file ``<data_dir>/dbservice/revoked/<by>``; the
verifier looks for it on every request (one ``stat``), so a revocation holds at once, in
every process serving the data dir, and across restarts. Markers outlive any token they
can refuse (a year and a day) and are then pruned.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from atoll.errors import BadInput

#: Longer than any database token lives (tokens.MAX_TTL_SECONDS), so pruning refuses no less.
KEEP_SECONDS = 366 * 24 * 3600
_MINTER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def is_minter(value: object) -> bool:
    """True if ``value`` can name a minter (and so a marker file)."""
    return isinstance(value, str) and _MINTER.match(value) is not None


class RevocationList:
    """The minters whose database tokens are revoked, kept as files under the data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "dbservice" / "revoked"

    def revoke(self, minted_by: str) -> None:
        """Refuse every database token ``minted_by`` minted, from the next request on."""
        if not is_minter(minted_by):
            raise BadInput(f"invalid token minter {minted_by!r}", minted_by=minted_by)
        self.folder.mkdir(parents=True, exist_ok=True)
        marker = self.folder / minted_by
        if not marker.exists():
            tmp = self.folder / f".{minted_by}.{secrets.token_hex(8)}"
            tmp.touch()
            os.replace(tmp, marker)
        self.prune()

    def is_revoked(self, minted_by: str | None) -> bool:
        """True if tokens minted by ``minted_by`` are refused (None: minted by the platform)."""
        if minted_by is None:
            return False
        return (self.folder / minted_by).exists()

    def prune(self) -> None:
        """Drop markers older than any token they could still refuse."""
        horizon = time.time() - KEEP_SECONDS
        for marker in self.folder.iterdir():
            try:
                if marker.stat().st_mtime < horizon:
                    marker.unlink()
            except FileNotFoundError:
                pass
