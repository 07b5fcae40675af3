"""Issue 3's containment suite: each attack runs as a tenant function and is contained with a
clear error while another tenant keeps being served."""

from __future__ import annotations

import asyncio
import errno
import os
import time
from typing import Any

import pytest

from atoll.dbservice import DatabaseName, create_database
from atoll.errors import AtollError, FunctionTimeout, ResourceLimitHit, TenantCodeError
from atoll.runtime import AppRef, InvokeRequest, InvokeResponse
from tests.attacks import RAMFS, SOCKET_FAMILIES

from .conftest import TIERS, Harness

pytestmark = pytest.mark.sandbox

ATTACKS = {
    "atoll.toml": """
        [limits]
        timeout_seconds = 2
        memory_mb = 256
        processes = 24
        tmp_mb = 16
        file_size_mb = 8
        """,
    "functions/files.py": """
        import os

        def _try(fn):
            try:
                fn()
                return "ok"
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"

        def get(paths: list[str]):
            return {p: _try(lambda p=p: open(p, "rb").read(1)) for p in paths}

        def post(path: str):
            def write():
                with open(path, "w") as f:
                    f.write("pwned")
            return {"write": _try(write), "chmod": _try(lambda: os.chmod(path, 0o777))}

        def put(path: str):
            return _try(lambda: os.listdir(path))
        """,
    "functions/net.py": """
        import ctypes, socket, struct

        def get(host: str, port: int):
            s = socket.socket()
            s.settimeout(2)
            s.connect((host, port))
            return "connected"

        def post(host: str, port: int):
            # Bypass Python's socket module: the kernel must still refuse.
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
            addr = struct.pack("!HH4s8x", socket.AF_INET, port, socket.inet_aton(host))
            addr = struct.pack("=H", socket.AF_INET) + addr[2:]
            rc = libc.connect(fd, addr, len(addr))
            return {"rc": rc, "errno": ctypes.get_errno()}
        """,
    "functions/bomb.py": """
        import os, time

        def get():
            while True:
                os.fork()
        """,
    "functions/memory.py": """
        def get():
            block = bytearray(4 * 1024 ** 3)
            return len(block)

        def post():
            # Under the address-space limit but over the cgroup's memory limit.
            blocks = [bytearray(64 * 1024 ** 2) for _ in range(7)]
            return len(blocks)
        """,
    "functions/spin.py": """
        def get():
            while True:
                pass
        """,
    "functions/sleep.py": """
        import time

        def get():
            time.sleep(10 ** 6)
        """,
    "functions/filltmp.py": """
        def get():
            for n in range(1000):  # files under the file-size limit, until /tmp is full
                with open(f"/tmp/fill{n}", "wb") as f:
                    for _ in range(4):
                        f.write(b"x" * (1 << 20))
        """,
    "functions/shout.py": """
        import os, subprocess

        def get():
            chunk = "y" * (1 << 20)
            for _ in range(1024):
                print(chunk)
            return "done"

        def post():
            chunk = b"z" * (1 << 20)
            for _ in range(1024):
                os.write(1, chunk)  # below Python's sys.stdout

        def put():
            subprocess.run(["/usr/bin/echo", "from a subprocess"], check=True)
            return "ok"
        """,
    "functions/killall.py": """
        import os, signal

        def get():
            os.kill(-1, signal.SIGKILL)
            return "survived"
        """,
    "functions/syscalls.py": """
        import ctypes, ctypes.util

        libc = ctypes.CDLL(None, use_errno=True)

        def _errno(rc):
            return 0 if rc == 0 else ctypes.get_errno()

        def put():
            status = dict(
                line.split(":", 1) for line in open("/proc/self/status").read().splitlines()
            )
            seen = {k: status[k].strip() for k in ("Seccomp", "CapEff", "Uid")}
            # PR_GET_NO_NEW_PRIVS (gVisor's /proc/self/status has no NoNewPrivs line)
            seen["NoNewPrivs"] = str(libc.prctl(39, 0, 0, 0, 0))
            return seen

        def get():
            CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
            return {
                "ptrace": _errno(libc.ptrace(16, 1, 0, 0)),  # PTRACE_ATTACH to pid 1
                "mount": _errno(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
                "umount": _errno(libc.umount2(b"/app", 2)),
                "unshare_user": _errno(libc.unshare(CLONE_NEWUSER)),
                "unshare_ns": _errno(libc.unshare(CLONE_NEWNS | CLONE_NEWNET)),
                "setns": _errno(libc.setns(0, 0)),
                "keyctl": _errno(libc.syscall(250, 0, 0, 0, 0)),
                "bpf": _errno(libc.syscall(321, 0, 0, 0)),
                "perf_event_open": _errno(libc.syscall(298, 0, 0, -1, -1, 0)),
                "reboot": _errno(libc.syscall(169, 0, 0, 0, 0)),
                "init_module": _errno(libc.syscall(175, 0, 0, 0)),
                "kexec_load": _errno(libc.syscall(246, 0, 0, 0, 0)),
            }
        """,
    "functions/environ.py": """
        import os

        def get():
            procs = {}
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        procs[pid] = open(f"/proc/{pid}/environ").read()
                    except OSError as exc:
                        procs[pid] = type(exc).__name__
            return {"environ": dict(os.environ), "procs": procs, "uid": os.getuid()}
        """,
    "functions/families.py": SOCKET_FAMILIES,
    "functions/ramfs.py": RAMFS,
}

NEIGHBOUR = {"functions/hello.py": "def get():\n    return {'hello': 'b'}\n"}


@pytest.fixture(scope="module")
def attacker(rt: Harness) -> AppRef:
    return rt.app("attacker", ATTACKS, tenant="evil")


@pytest.fixture(scope="module", params=TIERS)
def rt(rt: Harness, request: pytest.FixtureRequest) -> Harness:
    """The shared runtime, with this module's attacking apps on one isolation tier."""
    return rt.on_tier(request.param)


@pytest.fixture(scope="module")
def neighbour(rt: Harness) -> AppRef:
    ref = rt.app("hello", NEIGHBOUR, tenant="good", isolation="default")
    assert isinstance(rt.call(ref, "/api/hello"), InvokeResponse)
    return ref


def attack(
    rt: Harness,
    attacker: AppRef,
    neighbour: AppRef,
    path: str,
    method: str = "GET",
    query: dict[str, Any] | None = None,
) -> InvokeResponse | AtollError:
    """Run one attack while tenant B is called in a loop; B must always be answered."""

    async def scenario() -> tuple[InvokeResponse | AtollError, list[object]]:
        done = asyncio.Event()
        served: list[object] = []

        async def neighbour_loop() -> None:
            for _ in range(2000):
                resp = await rt._call(neighbour, InvokeRequest("GET", "/api/hello"))
                served.append(resp)
                if done.is_set():
                    return
                await asyncio.sleep(0.02)

        loop_task = asyncio.ensure_future(neighbour_loop())
        items = tuple((k, str(v)) for k, vs in (query or {}).items() for v in _list(vs))
        result = await rt._call(attacker, InvokeRequest(method, path, items))
        done.set()
        await loop_task
        return result, served

    result, served = rt.loop.run(scenario(), timeout=120)
    assert served, "the neighbour was never called"
    bad = [r for r in served if not (isinstance(r, InvokeResponse) and r.status == 200)]
    assert bad == [], f"neighbour failed during {path}: {bad[:3]}"
    return result


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def body(result: InvokeResponse | AtollError) -> Any:
    assert isinstance(result, InvokeResponse), result
    return result.json()


def test_host_files_are_not_visible(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    paths = [
        "/etc/shadow",
        "/etc/passwd",
        "/root/.bashrc",
        "/proc/1/root/etc/shadow",
        str(rt.runtime.settings.data_dir / "logs" / "good" / "hello" / "dev.jsonl"),
        os.path.abspath("pyproject.toml"),
        # gVisor's state (container states, bundles, the skeleton root) and the runtime folder
        str(rt.runtime.layout.root / "runsc-state"),
        str(rt.runtime.layout.root / "runsc-bundles"),
        str(rt.runtime.layout.root / "slots"),
    ]
    seen = body(attack(rt, attacker, neighbour, "/api/files", query={"paths": paths}))
    assert all(v != "ok" for v in seen.values()), seen
    assert seen["/etc/shadow"].startswith("FileNotFoundError")
    listed = body(
        attack(rt, attacker, neighbour, "/api/files", "PUT", {"path": str(rt.runtime.layout.root)})
    )
    assert listed.startswith("FileNotFoundError"), listed


def test_other_apps_code_and_database_are_not_visible(
    rt: Harness, attacker: AppRef, neighbour: AppRef
) -> None:
    victim_code = str(neighbour.code_dir / "functions" / "hello.py")
    victim_db = str(
        create_database(rt.runtime.settings.data_dir, DatabaseName("good", "hello", "dev"))
    )
    seen = body(
        attack(rt, attacker, neighbour, "/api/files", query={"paths": [victim_code, victim_db]})
    )
    assert all(v.startswith("FileNotFoundError") for v in seen.values()), seen
    # Dependency layers are reachable by digest only; the folder cannot be listed.
    listing = body(
        attack(rt, attacker, neighbour, "/api/files", "PUT", {"path": "/opt/atoll/layers"})
    )
    assert listing.startswith("PermissionError")


def test_symlinks_and_special_files_in_the_code_are_not_followed(
    rt: Harness, neighbour: AppRef
) -> None:
    ref = rt.app("linker", {"functions/files.py": ATTACKS["functions/files.py"]}, tenant="evil")
    os.symlink("/etc/shadow", ref.code_dir / "shadow")
    os.symlink(neighbour.code_dir, ref.code_dir / "victim")
    os.mkfifo(ref.code_dir / "fifo")
    shadow_mode = os.stat("/etc/shadow").st_mode
    paths = ["/app/shadow", "/app/victim/functions/hello.py", "/app/fifo"]
    seen = body(attack(rt, ref, neighbour, "/api/files", query={"paths": paths}))
    assert all(v.startswith("FileNotFoundError") for v in seen.values()), seen
    assert os.stat("/etc/shadow").st_mode == shadow_mode


def test_app_code_is_read_only(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    seen = body(
        attack(rt, attacker, neighbour, "/api/files", "POST", {"path": "/app/functions/files.py"})
    )
    # bwrap: EROFS. gVisor checks the file's owner before the mount's read-only flag.
    for attempt in ("write", "chmod"):
        refused = ("Read-only file system", "Permission denied", "Operation not permitted")
        assert any(reason in seen[attempt] for reason in refused), seen
    assert (
        (attacker.code_dir / "functions" / "files.py").read_text().lstrip().startswith("import os")
    )


@pytest.mark.parametrize(
    "target", ["127.0.0.1:8000", "127.0.0.1:8081", "1.1.1.1:80"], ids=["control", "db", "outside"]
)
def test_direct_connections_fail_clearly(
    rt: Harness, attacker: AppRef, neighbour: AppRef, target: str
) -> None:
    host, port = target.split(":")
    err = attack(rt, attacker, neighbour, "/api/net", query={"host": host, "port": port})
    assert isinstance(err, TenantCodeError) and err.status == 500
    assert err.message.startswith("PermissionError: Atoll sandbox: direct network connection")
    assert "[egress] allow" in err.message


def test_kernel_refuses_connections_that_bypass_python(
    rt: Harness, attacker: AppRef, neighbour: AppRef, http_servers: list[int]
) -> None:
    # A server really listens on the host's loopback; the sandbox's loopback is its own.
    local = body(
        attack(
            rt,
            attacker,
            neighbour,
            "/api/net",
            "POST",
            {"host": "127.0.0.1", "port": http_servers[0]},
        )
    )
    assert local == {"rc": -1, "errno": errno.ECONNREFUSED}
    outside = body(
        attack(rt, attacker, neighbour, "/api/net", "POST", {"host": "1.1.1.1", "port": 80})
    )
    # No route (bwrap: an empty network namespace; gVisor: --network=none).
    assert outside["rc"] == -1 and outside["errno"] in (errno.ENETUNREACH, errno.EHOSTUNREACH)


def test_fork_bomb(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    err = attack(rt, attacker, neighbour, "/api/bomb")
    assert isinstance(err, ResourceLimitHit | FunctionTimeout), err
    if isinstance(err, ResourceLimitHit):
        assert err.status == 507 and err.detail["limit"] == "processes"


def test_allocating_4_gib(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    err = attack(rt, attacker, neighbour, "/api/memory")
    assert isinstance(err, ResourceLimitHit) and err.status == 507
    assert err.detail["limit"] == "memory_mb"


def test_memory_over_the_cgroup_limit(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    if "memory" not in rt.runtime.cgroups.available:
        pytest.skip("no memory cgroup on this host")
    err = attack(rt, attacker, neighbour, "/api/memory", "POST")
    assert isinstance(err, ResourceLimitHit) and err.status == 507
    assert err.detail["limit"] == "memory_mb"


def test_cpu_spin_past_the_timeout(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    err = attack(rt, attacker, neighbour, "/api/spin")
    assert isinstance(err, FunctionTimeout) and err.status == 504
    assert "longer than 2 s" in err.message


def test_sleep_forever(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    err = attack(rt, attacker, neighbour, "/api/sleep")
    assert isinstance(err, FunctionTimeout) and err.status == 504


def test_filling_tmp(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    err = attack(rt, attacker, neighbour, "/api/filltmp")
    assert isinstance(err, ResourceLimitHit) and err.status == 507
    assert "No space left on device" in err.message


def test_printing_1_gib(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    resp = attack(rt, attacker, neighbour, "/api/shout")
    assert body(resp) == "done"
    assert isinstance(resp, InvokeResponse)
    [entry] = rt.runtime.logs.read(attacker.key, request_id=resp.request_id)
    assert entry["truncated"] is True
    assert len(entry["stdout"]) <= 64 * 1024


def test_printing_1_gib_to_the_stdout_file_descriptor(
    rt: Harness, attacker: AppRef, neighbour: AppRef
) -> None:
    err = attack(rt, attacker, neighbour, "/api/shout", "POST")
    assert isinstance(err, ResourceLimitHit) and err.detail["limit"] == "file_size_mb"
    resp = rt.call(attacker, "/api/shout", "PUT")
    assert isinstance(resp, InvokeResponse)
    [entry] = rt.runtime.logs.read(attacker.key, request_id=resp.request_id)
    assert entry["stdout"] == "from a subprocess\n"


def test_kill_everything(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    assert isinstance(rt.call(attacker, "/api/files", query={"paths": "/app"}), InvokeResponse)
    before = rt.runtime.apps[attacker.key].cold_starts
    sandbox = rt.runtime.apps[attacker.key].sandbox
    assert sandbox is not None
    result = attack(rt, attacker, neighbour, "/api/killall")
    # The signal reaches only the attacker's own sandbox. Under bwrap its zygote dies, which
    # ends the sandbox; under gVisor the zygote is the sandbox's init (pid 1), which kill(-1)
    # spares, so only the workers die. The caller gets the worker's last words or a clear 500.
    zygote_is_init = rt.isolation == "gvisor"
    if isinstance(result, TenantCodeError):
        assert "sandbox ended" in result.message or (
            zygote_is_init and "killed by SIGKILL" in result.message
        ), result
    else:
        assert body(result) == "survived"
    for _ in range(500):  # the sandbox ends moments after its zygote is killed
        if sandbox.dead:
            break
        time.sleep(0.01)
    assert sandbox.dead != zygote_is_init
    again = rt.call(attacker, "/api/files", query={"paths": "/app/atoll.toml"})
    assert body(again) == {"/app/atoll.toml": "ok"}
    assert (rt.runtime.apps[attacker.key].cold_starts > before) != zygote_is_init


def test_ptrace_mount_unshare_and_friends_are_refused(
    rt: Harness, attacker: AppRef, neighbour: AppRef
) -> None:
    seen = body(attack(rt, attacker, neighbour, "/api/syscalls"))
    assert seen == {name: errno.EPERM for name in seen}, seen
    status = body(attack(rt, attacker, neighbour, "/api/syscalls", "PUT"))
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2"
    assert status["CapEff"] == "0000000000000000"
    assert status["Uid"].split()[0] == "1000"


def test_no_platform_secrets_in_the_environment(
    rt: Harness, attacker: AppRef, neighbour: AppRef
) -> None:
    os.environ["ATOLL_TEST_PLATFORM_SECRET"] = "do-not-leak"
    try:
        seen = body(attack(rt, attacker, neighbour, "/api/environ"))
    finally:
        del os.environ["ATOLL_TEST_PLATFORM_SECRET"]
    assert set(seen["environ"]) <= {"PATH", "HOME", "LANG", "PYTHONHASHSEED", "ATOLL_ENV"}
    assert seen["uid"] != 0
    everything = repr(seen)
    assert "do-not-leak" not in everything
    assert "TOKEN" not in everything and "SECRET" not in everything


def test_cpu_time_limit(rt: Harness, neighbour: AppRef) -> None:
    hog = rt.app(
        "cpuhog",
        {
            "atoll.toml": "[limits]\ncpu_seconds = 1\ntimeout_seconds = 20\n",
            "functions/spin.py": ATTACKS["functions/spin.py"],
        },
        tenant="evil",
    )
    err = attack(rt, hog, neighbour, "/api/spin")
    assert isinstance(err, ResourceLimitHit) and err.detail["limit"] == "cpu_seconds"


FORGER = """
    import json, os, socket, stat, struct

    def _frame(header):
        head = json.dumps(header).encode()
        return struct.pack("!II", len(head), 0) + head

    def get(kind: str):
        forged = {
            "error": {"op": "result", "status": 500, "error": [1, 2], "headers": "x"},
            "status": {"op": "result", "status": "teapot", "headers": {"a": 1}},
            "detail": {"op": "result", "status": 500, "error": {"message": 3,
                       "detail": {"message": "dup", "code": 1}}},
        }[kind]
        for fd in range(3, 64):
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    s = socket.socket(fileno=os.dup(fd))
                    if s.type == socket.SOCK_STREAM and s.family == socket.AF_UNIX:
                        s.sendall(_frame(forged))
                        os._exit(0)
            except OSError:
                pass
        return "no socket found"
    """


@pytest.mark.parametrize("kind", ["error", "status", "detail"])
def test_forged_replies_from_tenant_code_fail_cleanly(
    rt: Harness, neighbour: AppRef, kind: str
) -> None:
    ref = rt.app("forger", {"functions/forge.py": FORGER}, tenant="evil")
    err = attack(rt, ref, neighbour, "/api/forge", query={"kind": kind})
    assert isinstance(err, TenantCodeError), err


def test_garbage_on_the_zygote_control_socket_is_ignored(rt: Harness, neighbour: AppRef) -> None:
    noisy = """
        import json, socket, sys

        ctrl = socket.socket(fileno=int(sys.argv[-1]))
        for junk in (b"not json", b"[1, 2]", json.dumps({"op": "worker", "worker": "x"}).encode(),
                     json.dumps({"op": "exited", "worker": {}}).encode(),
                     json.dumps({"op": "specialized", "functions": 7}).encode()):
            ctrl.send(junk)
        ctrl.detach()

        def get():
            return "still fine"
        """
    ref = rt.app("ctrljunk", {"functions/junk.py": noisy}, tenant="evil")
    result = attack(rt, ref, neighbour, "/api/junk")
    assert isinstance(result, InvokeResponse | AtollError)
    again = rt.call(ref, "/api/junk")
    assert isinstance(again, InvokeResponse | AtollError)


def test_writing_to_the_worker_socket_between_calls_is_cut_off(
    rt: Harness, neighbour: AppRef
) -> None:
    flooder = """
        import os, socket, stat, threading, time

        def _flood():
            time.sleep(0.2)  # after this call has been answered
            for fd in range(3, 64):
                try:
                    if stat.S_ISSOCK(os.fstat(fd).st_mode):
                        s = socket.socket(fileno=os.dup(fd))
                        if s.family == socket.AF_UNIX and s.type == socket.SOCK_STREAM:
                            chunk = b"x" * 65536
                            for _ in range(16 * 1024):  # up to 1 GiB
                                s.sendall(chunk)
                except OSError:
                    pass

        def get():
            threading.Thread(target=_flood, daemon=True).start()
            return os.getpid()
        """
    ref = rt.app("flooder", {"functions/flood.py": flooder}, tenant="evil")
    first = attack(rt, ref, neighbour, "/api/flood")
    assert isinstance(first, InvokeResponse) and first.status == 200
    time.sleep(1.0)  # the flood runs; the platform stops reading and drops that worker
    instance = rt.runtime.apps[ref.key]
    assert all(len(w.protocol.buffer) == 0 for w in instance.workers)
    again = rt.call(ref, "/api/flood")
    assert isinstance(again, InvokeResponse) and again.status == 200
    assert again.json() != first.json()  # a fresh worker: the flooding one was let go


def test_only_unix_and_ip_sockets_open(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    # AF_VSOCK is not confined by the network namespace; netlink and the rest are kernel
    # surface a function has no use for. Refused with an errno, the process lives on.
    seen = body(attack(rt, attacker, neighbour, "/api/families"))
    allowed = {"unix", "inet", "inet6", "unix_pair"}
    assert {k: seen[k] for k in allowed} == dict.fromkeys(allowed, "ok"), seen
    assert {k: v for k, v in seen.items() if k not in allowed} == {
        k: "EAFNOSUPPORT" for k in seen if k not in allowed
    }


def test_dev_shm_is_sized_like_tmp(rt: Harness, attacker: AppRef, neighbour: AppRef) -> None:
    # The attacker's tmp_mb is 16: four times that is refused, not kept in the host's RAM.
    seen = body(
        attack(
            rt, attacker, neighbour, "/api/ramfs", query={"folders": ["/dev/shm"], "most_mb": 64}
        )
    )
    assert seen["/dev/shm"]["error"] == "ENOSPC", seen
    assert seen["/dev/shm"]["mb"] <= 16


def test_tmp_and_dev_shm_are_the_only_writable_places(
    rt: Harness, attacker: AppRef, neighbour: AppRef
) -> None:
    assert body(attack(rt, attacker, neighbour, "/api/ramfs", "PUT")) == ["/dev/shm", "/tmp"]


def test_full_tmpfs_mounts_end_in_enospc_not_in_the_oom_killer(
    rt: Harness, neighbour: AppRef
) -> None:
    # tmpfs pages are charged to the sandbox's memory cgroup: it has room for them on top of
    # memory_mb, so filling /tmp and /dev/shm to the brim is a clean ENOSPC.
    ref = rt.app(
        "ramfill",
        {
            "atoll.toml": "[limits]\nmemory_mb = 64\ntmp_mb = 64\nfile_size_mb = 8\n",
            "functions/ramfs.py": ATTACKS["functions/ramfs.py"],
        },
        tenant="evil",
    )
    folders = ["/tmp", "/dev/shm"]
    seen = body(attack(rt, ref, neighbour, "/api/ramfs", query={"folders": folders, "most_mb": 96}))
    assert {f: seen[f]["error"] for f in folders} == dict.fromkeys(folders, "ENOSPC"), seen
    assert all(60 <= seen[f]["mb"] <= 64 for f in folders), seen
