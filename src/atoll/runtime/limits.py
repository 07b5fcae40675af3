"""Per-app limits and settings from ``atoll.toml``, merged within the platform's maxima.

I/O-free except ``load_app_config``, which only reads the one file.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from atoll.config import RuntimeSettings
from atoll.errors import BuildFailed
from atoll.names import is_valid_slug

from .requirements import requirement_lines

# Field defaults only (no environment): for callers that pass no settings.
_DEFAULT_RUNTIME = RuntimeSettings.model_construct()

MiB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class AppLimits:
    """What one app's functions may use; every field can be set under ``[limits]``."""

    timeout_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 256
    processes: int = 32
    open_files: int = 256
    file_size_mb: int = 16
    tmp_mb: int = 64
    concurrency: int = 4
    queue: int = 10_000
    cpu_cores: float = 1.0
    queue_wait_seconds: float = 2.0

    @property
    def address_space_bytes(self) -> int:
        """RLIMIT_AS: room for the interpreter and shared libraries above ``memory_mb``."""
        return (self.memory_mb + 512) * MiB

    def rlimits(self) -> dict[str, int]:
        """The rlimits every process of the app's sandbox runs under."""
        return {
            "RLIMIT_AS": self.address_space_bytes,
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_FSIZE": self.file_size_mb * MiB,
            "RLIMIT_CORE": 0,
        }


def maxima(settings: RuntimeSettings) -> AppLimits:
    """The largest limits the platform allows any app."""
    return AppLimits(
        timeout_seconds=settings.max_timeout_seconds,
        cpu_seconds=int(settings.max_timeout_seconds),
        memory_mb=settings.max_memory_mb,
        processes=settings.max_processes,
        open_files=1024,
        file_size_mb=64,
        tmp_mb=settings.max_tmp_mb,
        concurrency=settings.max_concurrency,
        queue=settings.max_queued_calls,
        cpu_cores=2.0,
        queue_wait_seconds=settings.max_queue_wait_seconds,
    )


def merge_limits(requested: Mapping[str, Any], ceiling: AppLimits) -> AppLimits:
    """Defaults overridden by ``[limits]``, each value clamped to ``ceiling``; the wait
    budget also to the app's timeout.

    Unknown keys and values of the wrong type are a BuildFailed naming the key.
    """
    defaults = AppLimits()
    fields = {f.name: f for f in dataclasses.fields(AppLimits)}
    values: dict[str, Any] = {}
    for key, value in requested.items():
        if key not in fields:
            raise BuildFailed(f"unknown key [limits] {key}", key=key, known=sorted(fields))
        kind = type(getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BuildFailed(f"[limits] {key} must be a number", key=key)
        if value <= 0:
            raise BuildFailed(f"[limits] {key} must be positive", key=key)
        values[key] = kind(min(value, getattr(ceiling, key)))
    merged = dataclasses.replace(defaults, **values)
    clamped = {f: min(getattr(merged, f), getattr(ceiling, f)) for f in fields if f not in values}
    merged = dataclasses.replace(merged, **clamped)
    if merged.queue_wait_seconds > merged.timeout_seconds:
        merged = dataclasses.replace(merged, queue_wait_seconds=merged.timeout_seconds)
    return merged


@dataclasses.dataclass(frozen=True)
class AppConfig:
    """The parts of ``atoll.toml`` the runtime needs."""

    limits: AppLimits = AppLimits()
    egress: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()


# A DNS name, an IPv4 address or the inside of "[v6]": letters, digits, ".", "-", ":".
_EGRESS_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")
MAX_EGRESS_ENTRIES = 64


def parse_host_port(entry: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) split and checked."""
    host, sep, port = entry.rpartition(":")
    host = host.strip("[]")
    # ASCII only: str.isdigit() also accepts digits like "²" that int() refuses.
    if (
        not sep
        or not _EGRESS_HOST.fullmatch(host)
        or not (port.isascii() and port.isdigit())
        or not 0 < int(port) < 65536
    ):
        raise BuildFailed(
            f'[egress] allow entries are "host:port", got {entry[:100]!r}', entry=entry[:100]
        )
    return host.lower(), int(port)


MAX_DOCS_HIDDEN = 32


def docs_hidden_in(data: Mapping[str, Any]) -> tuple[str, ...]:
    """``[docs] hide_in``: the environments whose origin does not serve the app's generated
    docs (``/_atoll/docs/``); checked names of environments."""
    docs = data.get("docs", {})
    if not isinstance(docs, dict):
        raise BuildFailed("[docs] must be a table")
    unknown = sorted(set(docs) - {"hide_in"})
    if unknown:
        raise BuildFailed(f"[docs] has no setting {unknown[0][:40]!r} (only hide_in)")
    hidden = docs.get("hide_in", [])
    if (
        not isinstance(hidden, list)
        or len(hidden) > MAX_DOCS_HIDDEN
        or not all(isinstance(e, str) and is_valid_slug(e) for e in hidden)
    ):
        raise BuildFailed(
            f"[docs] hide_in must be a list of at most {MAX_DOCS_HIDDEN} environment names, "
            'e.g. ["prod"]'
        )
    return tuple(hidden)


def app_docs_hidden_in(code_dir: Path) -> tuple[str, ...]:
    """``[docs] hide_in`` of a built app's ``atoll.toml`` (its build checked it)."""
    path = code_dir / "atoll.toml"
    try:
        return docs_hidden_in(tomllib.loads(path.read_text()))
    except FileNotFoundError:
        return ()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, BuildFailed):
        return ("*",)  # unreadable now: serve nothing rather than guess


def parse_app_config(
    data: Mapping[str, Any], ceiling: AppLimits, settings: RuntimeSettings | None = None
) -> AppConfig:
    """An AppConfig from parsed ``atoll.toml`` data (dependency caps from ``settings``)."""
    settings = settings or _DEFAULT_RUNTIME
    limits = data.get("limits", {})
    egress = data.get("egress", {})
    python = data.get("python", {})
    if not isinstance(limits, dict) or not isinstance(egress, dict) or not isinstance(python, dict):
        raise BuildFailed("[limits], [egress] and [python] must be tables")
    allow = egress.get("allow", [])
    deps = python.get("dependencies", [])
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise BuildFailed("[egress] allow must be a list of strings")
    # Entries become lines of the requirements file uv reads: plain requirements only.
    requirements = requirement_lines(
        deps,
        max_count=settings.max_python_dependencies,
        max_length=settings.max_python_dependency_length,
    )
    if len(allow) > MAX_EGRESS_ENTRIES:
        raise BuildFailed(f"[egress] allow lists at most {MAX_EGRESS_ENTRIES} host:port entries")
    for entry in allow:
        parse_host_port(entry)
    docs_hidden_in(data)  # checked with the rest; the gateway reads it where it serves docs
    return AppConfig(merge_limits(limits, ceiling), tuple(allow), requirements)


def load_app_config(
    code_dir: Path, ceiling: AppLimits, settings: RuntimeSettings | None = None
) -> AppConfig:
    """The AppConfig of the app in ``code_dir`` (defaults when it has no ``atoll.toml``)."""
    path = code_dir / "atoll.toml"
    if not path.is_file():
        return AppConfig(limits=merge_limits({}, ceiling))
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BuildFailed(f"atoll.toml is not valid TOML: {exc}") from exc
    return parse_app_config(data, ceiling, settings)
