"""Issue 10, item 2: everything a worker or zygote sends back is untrusted.

Tenant code runs in the worker (and, at import time, in the zygote): it can write its own
frames on the worker's socket and its own messages on the zygote's control socket. Each attack
here must end in a clean error (never a platform crash), keep what the platform stores bounded,
and leave another tenant's function answering.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from typing import Any

import pytest

from atoll.errors import AtollError, TenantCodeError
from atoll.runtime import AppRef, InvokeRequest, InvokeResponse
from tests.attacks import CONTROL, EGRESS_FLOOD, FORGE, OPENAPI

from .conftest import TIERS, Harness

pytestmark = pytest.mark.sandbox


NEIGHBOUR = {"functions/hello.py": "def get():\n    return {'hello': 'b'}\n"}


@pytest.fixture(scope="module", params=TIERS)
def rt(rt: Harness, request: pytest.FixtureRequest) -> Harness:
    """The shared runtime, with this module's attacking apps on one isolation tier."""
    return rt.on_tier(request.param)


@pytest.fixture(scope="module")
def neighbour(rt: Harness) -> AppRef:
    ref = rt.app("calm", NEIGHBOUR, tenant="good", isolation="default")
    assert isinstance(rt.call(ref, "/api/hello"), InvokeResponse)
    return ref


@pytest.fixture(scope="module")
def forger(rt: Harness) -> AppRef:
    return rt.app("frame-forger", {"functions/forge.py": FORGE}, tenant="evil")


def attack(
    rt: Harness, ref: AppRef, neighbour: AppRef, path: str, query: dict[str, str] | None = None
) -> InvokeResponse | AtollError:
    """Call ``path`` while the neighbour is called in a loop; it must always be answered.

    Anything but an InvokeResponse or an AtollError (a platform crash) fails the test.
    """

    async def scenario() -> tuple[InvokeResponse | AtollError, list[object]]:
        done = asyncio.Event()
        served: list[object] = []

        async def neighbour_loop() -> None:
            while True:
                served.append(await rt._call(neighbour, InvokeRequest("GET", "/api/hello")))
                if done.is_set():
                    return
                await asyncio.sleep(0.01)

        loop_task = asyncio.ensure_future(neighbour_loop())
        try:
            result = await rt._call(ref, InvokeRequest("GET", path, tuple((query or {}).items())))
        finally:
            done.set()
            await loop_task
        return result, served

    result, served = rt.loop.run(scenario(), timeout=120)
    bad = [r for r in served if not (isinstance(r, InvokeResponse) and r.status == 200)]
    assert served and bad == [], f"the neighbour failed during {path}: {bad[:3]}"
    return result


def deep_size(value: object) -> int:
    """Bytes held by a JSON-like value and everything in it."""
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k) + deep_size(v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        size += sum(deep_size(v) for v in value)
    return size


def still_serves(rt: Harness, ref: AppRef) -> None:
    """The app itself keeps working after the attack (on a fresh worker)."""
    again = rt.call(ref, "/api/forge", "POST")
    assert isinstance(again, InvokeResponse) and again.json() == "fine", again


def last_entry(rt: Harness, ref: AppRef) -> dict[str, Any]:
    return rt.runtime.logs.read(ref.key, 1)[-1]


def test_forged_log_entries_are_capped(rt: Harness, neighbour: AppRef, forger: AppRef) -> None:
    result = attack(rt, forger, neighbour, "/api/forge", {"kind": "empty_logs"})
    assert isinstance(result, InvokeResponse) and result.status == 200, result
    entry = last_entry(rt, forger)
    assert len(entry["logs"]) <= 1000 and entry["truncated"] is True
    assert deep_size(entry) < 512 * 1024
    still_serves(rt, forger)


def test_log_memory_per_environment_stays_bounded_in_bytes(
    rt: Harness, neighbour: AppRef, forger: AppRef
) -> None:
    logs = rt.runtime.logs
    for _ in range(12):
        result = attack(rt, forger, neighbour, "/api/forge", {"kind": "big_logs"})
        assert isinstance(result, InvokeResponse), result
    held = logs.in_memory(forger.key)
    assert held and deep_size(held) <= logs.settings.bytes_per_environment
    # The newest entry is complete in memory; older ones are still in the file.
    assert held[-1]["stdout"] == "o" * 65536
    assert len(logs.read(forger.key, 12)) == 12


def test_deeply_nested_json_kills_the_worker_cleanly(
    rt: Harness, neighbour: AppRef, forger: AppRef
) -> None:
    result = attack(rt, forger, neighbour, "/api/forge", {"kind": "deep"})
    assert isinstance(result, TenantCodeError), result
    assert "worker protocol" in result.message
    still_serves(rt, forger)


def test_forged_headers_are_counted_and_typed(
    rt: Harness, neighbour: AppRef, forger: AppRef
) -> None:
    result = attack(rt, forger, neighbour, "/api/forge", {"kind": "headers"})
    assert isinstance(result, TenantCodeError), result
    assert result.detail["limit"] == "max_response_headers"
    result = attack(rt, forger, neighbour, "/api/forge", {"kind": "typed_headers"})
    assert isinstance(result, InvokeResponse), result
    assert [name for name, _ in result.headers] == ["x-ok", "x-atoll-request-id"]


def test_a_forged_status_is_not_stored(rt: Harness, neighbour: AppRef, forger: AppRef) -> None:
    result = attack(rt, forger, neighbour, "/api/forge", {"kind": "status"})
    assert isinstance(result, TenantCodeError) and "invalid HTTP status" in result.message
    assert len(result.message) < 1000
    entry = last_entry(rt, forger)
    assert entry["status"] == 500 and deep_size(entry) < 64 * 1024


def test_a_forged_error_detail_cannot_break_the_error(
    rt: Harness, neighbour: AppRef, forger: AppRef
) -> None:
    result = attack(rt, forger, neighbour, "/api/forge", {"kind": "detail"})
    assert isinstance(result, TenantCodeError) and result.message == "forged", result
    assert result.detail["request_id"]


def test_malformed_log_records_are_dropped_or_coerced(
    rt: Harness, neighbour: AppRef, forger: AppRef
) -> None:
    result = attack(rt, forger, neighbour, "/api/forge", {"kind": "bad_logs"})
    assert isinstance(result, InvokeResponse), result
    entry = last_entry(rt, forger)
    assert entry["logs"] == [{"level": "info", "message": "kept", "fields": {"b": "ok"}}]
    assert entry["truncated"] is True


WRONG_SOCKET = """
    import socket

    import atoll._zygote

    _real_send = atoll._zygote._send

    def _send(ctrl, message, fds=None):
        if message.get("op") == "worker":
            datagram, _other = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                return _real_send(ctrl, message, [datagram.fileno()])
            except OSError:  # gVisor lets no descriptor out of the sandbox (EINVAL)
                pass
        _real_send(ctrl, message, fds)

    atoll._zygote._send = _send

    def get():
        return "served"
    """


def host_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_forged_exit_reports_are_checked(rt: Harness, neighbour: AppRef) -> None:
    ref = rt.app("exits", {"functions/ctl.py": CONTROL}, tenant="evil")
    result = attack(rt, ref, neighbour, "/api/ctl", {"kind": "exited"})
    assert isinstance(result, TenantCodeError), result
    assert "x" * 100 not in repr(result.detail)
    again = rt.call(ref, "/api/ctl", query={"kind": "fine"})
    assert isinstance(again, InvokeResponse) and again.json() == "fine", again


def test_fds_and_garbage_on_the_control_socket_are_closed(rt: Harness, neighbour: AppRef) -> None:
    ref = rt.app("fdspam", {"functions/ctl.py": CONTROL}, tenant="evil")
    assert isinstance(rt.call(ref, "/api/ctl", query={"kind": "fine"}), InvokeResponse)
    before = host_fds()
    result = attack(rt, ref, neighbour, "/api/ctl", {"kind": "fds"})
    assert isinstance(result, InvokeResponse) and result.json() == "sent", result
    # 45 messages with 4 descriptors each arrived; none of them stays open in the platform.
    assert host_fds() - before < 20
    again = rt.call(ref, "/api/ctl", query={"kind": "fine"})
    assert isinstance(again, InvokeResponse) and again.json() == "fine", again


def test_a_socket_sent_by_the_zygote_is_never_used(rt: Harness, neighbour: AppRef) -> None:
    # Worker sockets are made by the host and sent in; one the zygote sends back with its
    # announcement (here a datagram socket of its own) is closed unread.
    ref = rt.app("wrongsock", {"functions/w.py": WRONG_SOCKET}, tenant="evil")
    before = host_fds()
    result = attack(rt, ref, neighbour, "/api/w")
    assert isinstance(result, InvokeResponse) and result.json() == "served", result
    workers = rt.runtime.apps[ref.key].workers
    assert workers and all(w.sock.type == socket.SOCK_STREAM for w in workers)
    assert host_fds() - before < 10


def test_worker_sockets_are_not_inherited_by_platform_children(rt: Harness) -> None:
    ref = rt.app("cloexec", NEIGHBOUR)
    assert isinstance(rt.call(ref, "/api/hello"), InvokeResponse)
    workers = rt.runtime.apps[ref.key].workers
    assert workers and all(not w.sock.get_inheritable() for w in workers)


def test_a_forged_openapi_document_is_refused(rt: Harness, neighbour: AppRef) -> None:
    ref = rt.app("openapi", {"functions/o.py": OPENAPI}, tenant="evil")
    result = attack(rt, ref, neighbour, "/api/openapi.json")
    assert isinstance(result, TenantCodeError), result
    assert "OpenAPI" in result.message
    again = rt.call(ref, "/api/o")
    assert isinstance(again, InvokeResponse) and again.json() == "fine", again


def test_egress_proxy_floods_are_bounded(
    rt: Harness, neighbour: AppRef, http_servers: list[int]
) -> None:
    toml = f'[egress]\nallow = ["127.0.0.1:{http_servers[0]}"]\n'
    ref = rt.app("egressflood", {"atoll.toml": toml, "functions/f.py": EGRESS_FLOOD}, "evil")
    cap = rt.runtime.settings.proxies.egress_max_connections
    result = attack(rt, ref, neighbour, "/api/f", {"connections": str(cap + 20), "refused": "300"})
    assert isinstance(result, InvokeResponse), result
    assert result.json() == {"busy": 20, "forbidden": 300}
    proxy = rt.runtime.apps[ref.key].proxy
    assert proxy is not None and proxy.refused_count == 300
    assert len(proxy.refused) <= 64
