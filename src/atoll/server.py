"""``atoll serve``: every platform process in one event loop on this machine."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import uvicorn

from atoll.api import ControlPlane, make_app
from atoll.api.bootstrap import DEMO_APP, DEMO_TENANT, ensure_admin_token, ensure_demo
from atoll.config import Settings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _serve(servers: list[uvicorn.Server]) -> None:
    await asyncio.gather(*(s.serve() for s in servers))


def serve(settings: Settings, demo: bool = False) -> None:
    """Run the control plane (and, as they land, the gateway and DB service) until stopped."""
    cp = ControlPlane.open(settings)
    admin = ensure_admin_token(cp)
    api = make_app(cp)
    base = f"http://{settings.host}:{settings.port}"
    _say(f"atoll: data dir      {settings.data_dir.resolve()}")
    _say(f"atoll: control plane {base}/api/v1  (docs {base}/api/docs)")
    _say(f"atoll: admin token   {admin}  (kept in {settings.admin_token_path})")
    if demo:
        token = ensure_demo(cp, EXAMPLES / DEMO_APP)
        _say(f"atoll: demo tenant   {DEMO_TENANT}, app {DEMO_APP}, token {token}")
    servers = [
        uvicorn.Server(
            uvicorn.Config(
                api,
                host=settings.host,
                port=settings.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )
    ]
    asyncio.run(_serve(servers))
