"""Secret values masked out of what the platform keeps and shows of a function's run: its
captured output, its log lines and its error (message and traceback).

A best-effort guard against a secret printed by mistake, not against code that means to
leak one (it can encode it first). Values shorter than ``MIN_MASKED_CHARS`` are left alone:
masking them would garble unrelated text and tell what the secret is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MASK = "***"
MIN_MASKED_CHARS = 4
_MAX_DEPTH = 16


def _forms(secret: str) -> set[str]:
    """The ways a secret shows in text: as it is, and escaped as ``repr`` and JSON write it
    (a traceback shows an exception's arguments through ``repr``)."""
    return {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1]}


class SecretMask:
    """Replaces every secret value in text with ``***``."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms = {
            form for secret in secrets if len(secret) >= MIN_MASKED_CHARS for form in _forms(secret)
        }
        # Longest first: a secret that contains another is masked whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, value: str) -> str:
        """``value`` with every secret in it masked."""
        return value if self._pattern is None else self._pattern.sub(MASK, value)

    def value(self, value: Any, depth: int = 0) -> Any:
        """A JSON-like value with every string in it (keys too) masked; a copy when it
        holds a container (None past ``_MAX_DEPTH`` levels: never kept unmasked)."""
        if isinstance(value, str):
            return self.text(value)
        if depth >= _MAX_DEPTH:
            return None
        if isinstance(value, dict):
            return {self.value(k, depth + 1): self.value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item, depth + 1) for item in value]
        return value


NO_SECRETS = SecretMask()
