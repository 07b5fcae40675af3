"""The control plane's HTTP API (FastAPI)."""

from atoll.api.app import make_app
from atoll.api.platform import ControlPlane

__all__ = ["ControlPlane", "make_app"]
