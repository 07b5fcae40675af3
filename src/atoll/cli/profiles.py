"""Named profiles (server + token) kept by ``atoll login`` in the user's config dir.

The file is ``$XDG_CONFIG_HOME/atoll/config.json`` (``~/.config/atoll/config.json``),
mode 0600 in a 0700 folder: it holds API tokens. Which server and token a command uses:

    tenant commands   --server/--token, else the profile named by --profile or
                      ATOLL_PROFILE (it must exist), else ATOLL_SERVER/ATOLL_TOKEN, else
                      the default profile's
    admin commands    the same, except that the token comes from the ``admin`` profile (or
                      ATOLL_ADMIN_TOKEN, or ./.atoll/admin.token) before ATOLL_TOKEN, so an
                      exported tenant token does not turn admin commands into 403s
"""

from __future__ import annotations

import json
import os

from atoll.errors import AtollError

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from typing import Any

DEFAULT_SERVER = "http://127.0.0.1:8000"
ADMIN = "admin"


class ProfileError(AtollError):
    """The config file cannot be read or written, or names no such profile."""

    code = "profile"


def config_path() -> str:
    """Where profiles are kept."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "atoll", "config.json")


def load() -> dict[str, Any]:
    """The config: ``{"default": NAME, "profiles": {NAME: {"server", "token"}}}``."""
    path = config_path()
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {"default": None, "profiles": {}}
    except (OSError, ValueError) as exc:
        raise ProfileError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
        raise ProfileError(f"{path} is not an atoll config file")
    data.setdefault("profiles", {})
    data.setdefault("default", None)
    return data


def save(data: dict[str, Any]) -> str:
    """Write the config atomically, readable by this user only; returns its path."""
    path = config_path()
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)  # also when it existed wider
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def profile(data: dict[str, Any], name: str | None) -> dict[str, str]:
    """A profile's settings (empty when it does not exist)."""
    if not name:
        return {}
    found = data["profiles"].get(name)
    return {k: v for k, v in found.items() if isinstance(v, str)} if isinstance(found, dict) else {}


class Credentials:
    """The server and token a command talks with, and where each came from."""

    __slots__ = ("server", "token", "source")

    def __init__(self, server: str, token: str | None, source: str) -> None:
        self.server = server
        self.token = token
        self.source = source


def resolve(
    server: str | None, token: str | None, profile_name: str | None, admin: bool
) -> Credentials:
    """The credentials for a command, from its flags, the environment and the profiles."""
    env = os.environ
    # A profile named on the command line or in ATOLL_PROFILE must exist and is used as is.
    explicit = profile_name or env.get("ATOLL_PROFILE") or None
    data = load() if explicit or _has_config() else {"default": None, "profiles": {}}
    if explicit and explicit not in data["profiles"]:
        raise ProfileError(
            f"no profile named {explicit!r}; 'atoll login --profile {explicit}' creates it"
        )
    chosen = explicit or data.get("default")
    picked = profile(data, explicit) if explicit else {}
    fallback = profile(data, chosen)
    admin_profile = profile(data, ADMIN) if admin and not explicit else {}
    candidates: list[tuple[str | None, str]] = [(token, "--token")]
    candidates.append((picked.get("token"), f"profile {explicit}"))
    if admin:
        candidates.append((env.get("ATOLL_ADMIN_TOKEN"), "ATOLL_ADMIN_TOKEN"))
        candidates.append((admin_profile.get("token"), f"profile {ADMIN}"))
        candidates.append((_local_admin_token(), "./.atoll/admin.token"))
    candidates.append((env.get("ATOLL_TOKEN"), "ATOLL_TOKEN"))
    if not admin:
        candidates.append((fallback.get("token"), f"profile {chosen}"))
    chosen_token, source = next(((t, s) for t, s in candidates if t), (None, "nothing"))
    servers = [
        server,
        picked.get("server"),
        env.get("ATOLL_SERVER"),
        admin_profile.get("server") if source == f"profile {ADMIN}" else None,
        fallback.get("server"),
        DEFAULT_SERVER,
    ]
    return Credentials(next(s for s in servers if s), chosen_token, source)


def _has_config() -> bool:
    return os.path.exists(config_path())


def _local_admin_token() -> str | None:
    try:
        with open(os.path.join(".atoll", "admin.token"), encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None
