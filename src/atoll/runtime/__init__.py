"""Sandboxed function runtime: bwrap/runsc backends, warm pool, zygotes, workers, egress, logs.

The gateway uses ``Runtime`` with ``AppRef``/``InvokeRequest``/``InvokeResponse`` values;
see ``docs/runtime.md``.
"""

from .database import DatabaseLink, DatabaseTarget, InProcessService, InProcessTarget
from .gvisor import RunscBackend
from .limits import AppConfig, AppLimits, load_app_config, merge_limits
from .logs import LogStore
from .runtime import Runtime
from .sandbox import BwrapBackend, SandboxBackend, SandboxSpec
from .types import AppRef, InvokeRequest, InvokeResponse, error_response

__all__ = [
    "AppConfig",
    "AppLimits",
    "AppRef",
    "BwrapBackend",
    "DatabaseLink",
    "DatabaseTarget",
    "InProcessService",
    "InProcessTarget",
    "InvokeRequest",
    "InvokeResponse",
    "LogStore",
    "Runtime",
    "RunscBackend",
    "SandboxBackend",
    "SandboxSpec",
    "error_response",
    "load_app_config",
    "merge_limits",
]
