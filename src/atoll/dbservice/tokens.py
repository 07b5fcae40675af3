"""Database tokens: Ed25519-signed JWTs naming one database, a mode and an expiry.

The key pair lives under ``<data_dir>/dbservice/`` (private key mode 0600). The claims are
``db`` (the database name), ``gen`` (the database's generation id, so the token dies with
the database), ``a`` (``ro`` or ``rw``, as in sqld), ``exp``, ``iat`` and, for tokens minted
for an API caller, ``by`` (the API token that asked; revoking it revokes them). The
audience is fixed so that no other JWT of the platform is accepted here.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from atoll.errors import BadInput, Unauthorized

from .generations import database_generation
from .names import DatabaseName
from .revocations import RevocationList, is_minter

Mode = Literal["ro", "rw"]
AUDIENCE = "atoll-db"
MAX_TTL_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token allows."""

    database: str
    mode: Mode
    expires_at: int
    generation: str
    minted_by: str | None = None


def key_path(data_dir: Path) -> Path:
    """Where the service's Ed25519 private key is kept."""
    return data_dir / "dbservice" / "jwt-ed25519.pem"


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """Load the signing key, creating it (mode 0600) on first use."""
    path = key_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        try:
            os.link(tmp, path)  # fails if another process won the race; theirs is kept
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{path} does not hold an Ed25519 private key")
    return key


class TokenIssuer:
    """Signs tokens for the databases under one data dir, bound to their generation ids."""

    def __init__(self, key: Ed25519PrivateKey, data_dir: Path) -> None:
        self._key = key
        self._data_dir = data_dir

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> TokenIssuer:
        """The issuer using the data dir's key pair."""
        return cls(load_or_create_key(data_dir), data_dir)

    def public_key(self) -> Ed25519PublicKey:
        """The key that verifies this issuer's tokens."""
        return self._key.public_key()

    def issue(
        self,
        database: str,
        mode: Mode,
        ttl_seconds: int,
        *,
        minted_by: str | None = None,
        generation: str | None = None,
    ) -> str:
        """A token for one existing database (``tenant--app--env``), read-only or read-write.

        It is bound to the database's current generation unless ``generation`` names an
        earlier one (a holder that must not follow the name to a new database);
        ``minted_by`` names the API token it is for, whose revocation revokes it too.
        """
        name = DatabaseName.parse(database)
        if mode not in ("ro", "rw"):
            raise BadInput(f"token mode must be 'ro' or 'rw', not {mode!r}", mode=mode)
        if not 0 < ttl_seconds <= MAX_TTL_SECONDS:
            raise BadInput("token lifetime out of range", ttl_seconds=ttl_seconds)
        if minted_by is not None and not is_minter(minted_by):
            raise BadInput(f"invalid token minter {minted_by!r}", minted_by=minted_by)
        if generation is None:
            generation = database_generation(self._data_dir, name)
        now = int(time.time())
        claims: dict[str, object] = {
            "db": database,
            "gen": generation,
            "a": mode,
            "iat": now,
            "exp": now + ttl_seconds,
            "aud": AUDIENCE,
        }
        if minted_by is not None:
            claims["by"] = minted_by
        return jwt.encode(claims, self._key, algorithm="EdDSA")


class TokenVerifier:
    """Checks database tokens (signature, expiry, revocation; the caller checks generation)."""

    def __init__(
        self,
        key: Ed25519PublicKey,
        revocations: RevocationList | None = None,
        cache_size: int = 4096,
    ) -> None:
        self._key = key
        self._revocations = revocations
        # Verifying a signature costs ~0.2 ms; clients send the same token on every request.
        # Only the signature check is cached: revocation is looked up on every call.
        self._cache: OrderedDict[str, TokenClaims] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> TokenVerifier:
        """The verifier for the data dir's key pair and revocation list."""
        return cls(load_or_create_key(data_dir).public_key(), RevocationList(data_dir))

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; Unauthorized if missing, expired, revoked or forged."""
        claims = self._cache.get(token)
        if claims is not None and claims.expires_at <= time.time():
            del self._cache[token]
            claims = None
        if claims is None:
            claims = self._verify(token)
            self._cache[token] = claims
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(token)
        if self._revocations is not None and self._revocations.is_revoked(claims.minted_by):
            del self._cache[token]
            raise Unauthorized(
                "database token was revoked (the API token that minted it was revoked)",
                hrana_code="TOKEN_REVOKED",
            )
        return claims

    def _verify(self, token: str) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                options={"require": ["exp", "db", "gen", "a", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("database token has expired", hrana_code="TOKEN_EXPIRED") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(
                "database token is invalid", hrana_code="TOKEN_INVALID", reason=str(exc)
            ) from exc
        database, mode, generation = claims.get("db"), claims.get("a"), claims.get("gen")
        minted_by = claims.get("by")
        if (
            not isinstance(database, str)
            or mode not in ("ro", "rw")
            or not isinstance(generation, str)
            or not (minted_by is None or is_minter(minted_by))
        ):
            raise Unauthorized("database token has bad claims", hrana_code="TOKEN_INVALID")
        return TokenClaims(
            database=database,
            mode=mode,
            expires_at=int(claims["exp"]),
            generation=generation,
            minted_by=minted_by,
        )
