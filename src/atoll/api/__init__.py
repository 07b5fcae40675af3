"""The control plane's HTTP API (FastAPI)."""

from atoll.api.app import make_app

__all__ = ["make_app"]
