"""Tenant code that attacks the platform, shared by the focused tests and the hostile app.

Each constant is the source of one function module, as a tenant would write it.
"""

# Writes a frame of its choosing on its own worker socket and exits, so the forged frame is
# the answer the platform reads. The socket is a local of the SDK's ``serve``. Each frame
# asks to retire the worker: the next call then never races the worker's exit.
FORGE = r"""
import json, os, struct, sys

def _worker_socket():
    frame = sys._getframe()
    while frame is not None and frame.f_code.co_name != "serve":
        frame = frame.f_back
    return frame.f_locals["sock"]

def _result(**fields):
    return json.dumps({"op": "result", "retire": True, **fields})

def _raw(fields):  # fields as JSON text, for what json.dumps cannot write
    return '{"op": "result", "retire": true, ' + fields + "}"

HEADS = {
    # hundreds of thousands of empty log entries
    "empty_logs": _raw('"status": 200, "logs": [' + ",".join(["{}"] * 300_000) + "]"),
    # as much log text as fits in one frame
    "big_logs": _result(status=200, stdout="o" * 65536, logs=[
        {"level": "info", "message": "m" * 4000,
         "fields": {f"f{i}": "v" * 4000 for i in range(8)}} for _ in range(25)]),
    "deep": _raw('"status": 200, "logs": ' + "[" * 100_000 + "]" * 100_000),
    "headers": _result(status=200, headers={f"h{i}": "v" for i in range(50_000)}),
    "typed_headers": _result(status=200, headers={
        "x-list": [1, 2], "x-object": {"a": "b"}, "x-number": 7, "x-ok": "yes",
        "x" * 300_000: "long name", "x-long": "v" * 300_000}),
    "status": _result(status="x" * 500_000),
    "detail": _result(status=500, error={
        "code": "boom", "message": "forged", "detail": {"self": 1, "message": "x"}}),
    "bad_logs": _result(status=200, logs=[
        {"level": ["x"] * 1000, "message": {"a": 1}, "ts": "now", "fields": [1, 2],
         "extra": "y" * 100_000}, "text", 7, None,
        {"level": "shout", "message": "kept", "ts": "now", "fields": {"a": 1, "b": "ok"},
         "extra": "y" * 1000}]),
}

def get(kind: str):
    head = HEADS[kind].encode()
    _worker_socket().sendall(struct.pack("!II", len(head), 0) + head)
    os._exit(0)

def post():
    return "fine"
"""

# Import-time code runs in the zygote: it can keep a copy of the control socket (inherited by
# every worker) and replace the SDK's own functions.
CONTROL = r"""
import array, json, os, socket, sys

import atoll._openapi
import atoll._zygote

CTRL = os.dup(int(sys.argv[-1]))

def _control():
    return socket.socket(fileno=os.dup(CTRL))

def get(kind: str):
    ctrl = _control()
    if kind == "exited":
        for worker in range(1, 40):
            ctrl.send(json.dumps({"op": "exited", "worker": worker, "signal": 999,
                                  "code": "x" * 1000}).encode())
        ctrl.send(json.dumps({"op": "exited", "worker": 1e999}).encode())
        os._exit(3)
    if kind == "fds":
        null = os.open("/dev/null", os.O_RDONLY)
        fds = array.array("i", [null] * 4)
        # (a sandbox may have only so many descriptors in flight: RLIMIT_NOFILE)
        for junk in (b"[" * 50_000, b'{"op": "worker", "worker": 1e999}', b'{"op": "pong"}'):
            for _ in range(15):
                try:
                    ctrl.sendmsg([junk], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                except OSError:  # gVisor lets no descriptor out (EINVAL): the junk alone
                    ctrl.send(junk)
        return "sent"
    return "fine"
"""

# Replaces the SDK's OpenAPI document with one nested past what the platform accepts.
OPENAPI = r"""
import atoll._openapi

def _document(modules, title):
    doc = {"openapi": "3.1.0"}
    for _ in range(200):
        doc = {"nested": doc}
    return doc

atoll._openapi.document = _document

def get():
    return "fine"
"""

# Holds more connections to the egress proxy than one sandbox may, then asks for targets
# nobody listed, many times.
EGRESS_FLOOD = r"""
import select, socket, time

PROXY = "/run/atoll/egress.sock"

def _connect():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(PROXY)
    return sock

def get(connections: int, refused: int):
    held = [_connect() for _ in range(connections)]  # each sends nothing
    busy, deadline = set(), time.monotonic() + 10
    while time.monotonic() < deadline:
        ready, _, _ = select.select([s for s in held if s not in busy], [], [], 0.5)
        for sock in ready:
            if sock.recv(100).startswith(b"HTTP/1.1 503"):
                busy.add(sock)
        if not ready and busy:
            break
    for sock in held:
        sock.close()
    forbidden = 0
    for i in range(refused):
        for _ in range(100):  # until the proxy has seen the held ones go
            with _connect() as sock:
                try:
                    sock.sendall(b"CONNECT u%d.example:443 HTTP/1.1\r\n\r\n" % i,
                                 socket.MSG_NOSIGNAL)
                    answer = sock.recv(100)
                except OSError:  # closed after a 503, before the head was sent
                    answer = b"HTTP/1.1 503"
            if not answer.startswith(b"HTTP/1.1 503"):
                break
            time.sleep(0.01)
        forbidden += answer.startswith(b"HTTP/1.1 403")
    return {"busy": len(busy), "forbidden": forbidden}
"""

# Opens sockets of every kind of family, in Python and below it.
SOCKET_FAMILIES = r"""
import ctypes, errno, socket

libc = ctypes.CDLL(None, use_errno=True)

def _errno(call):
    try:
        call()
        return "ok"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

def _raw(family, kind):
    fd = libc.socket(family, kind, 0)  # below Python's socket module
    return "ok" if fd >= 0 else errno.errorcode[ctypes.get_errno()]

def get():
    S = socket
    return {
        "vsock": _errno(lambda: S.socket(S.AF_VSOCK, S.SOCK_STREAM).close()),
        "netlink": _errno(lambda: S.socket(S.AF_NETLINK, S.SOCK_RAW, 0).close()),
        "packet": _errno(lambda: S.socket(S.AF_PACKET, S.SOCK_RAW, 0).close()),
        "alg": _errno(lambda: S.socket(S.AF_ALG, S.SOCK_SEQPACKET, 0).close()),
        "vsock_libc": _raw(S.AF_VSOCK, S.SOCK_STREAM),
        "netlink_libc": _raw(S.AF_NETLINK, S.SOCK_RAW),
        "vsock_pair": _errno(lambda: S.socketpair(S.AF_VSOCK, S.SOCK_STREAM)),
        "unix": _errno(lambda: S.socket(S.AF_UNIX, S.SOCK_STREAM).close()),
        "inet": _errno(lambda: S.socket(S.AF_INET, S.SOCK_DGRAM).close()),
        "inet6": _errno(lambda: S.socket(S.AF_INET6, S.SOCK_DGRAM).close()),
        "unix_pair": _errno(lambda: [s.close() for s in S.socketpair()]),
    }
"""

# Fills tmpfs folders until they refuse; lists the mount points it can write to.
RAMFS = r"""
import errno, os

def _fill(folder, most_mb):
    written = 0
    try:
        for n in range(most_mb // 4):  # files under the file-size limit
            with open(f"{folder}/fill{n}", "wb") as f:
                for _ in range(4):
                    f.write(b"x" * (1 << 20))
                    written += 1
        return {"error": None, "mb": written}
    except OSError as exc:
        return {"error": errno.errorcode.get(exc.errno), "mb": written}

def _clean(folder):
    for name in os.listdir(folder):
        if name.startswith("fill"):
            os.unlink(os.path.join(folder, name))

def get(folders: list[str], most_mb: int):
    try:
        return {folder: _fill(folder, most_mb) for folder in folders}
    finally:
        for folder in folders:
            _clean(folder)

def put():
    writable = []
    for line in open("/proc/self/mountinfo"):
        point = line.split()[4]
        probe = os.path.join(point, ".atoll-probe")
        try:
            os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except OSError:
            continue
        os.unlink(probe)
        writable.append(point)
    return sorted(writable)
"""

# Response headers that would reach beyond the app's own origin or belong to the platform.
HOSTILE_HEADERS = r"""
import atoll


def get(many: int = 0) -> atoll.Response:
    r = atoll.Response("ok")
    # Assigned after construction: the keys keep their case, so several Set-Cookie arrive.
    r.headers = {
        "content-type": "text/html",
        "Set-Cookie": "a=1; Domain=localhost; Path=/",
        "SET-COOKIE": 'b=2; domain=".LOCALHOST"; HttpOnly',
        "set-cookie": "c=3; Path=/; Domain=dev--shop--acme.localhost",
        "Clear-Site-Data": '"cookies", "storage"',
        "Alt-Svc": 'h2=":9999"',
        "Content-Length": "0",
        "Transfer-Encoding": "chunked",
        "Connection": "close",
        "X-Inject": "a\r\nSet-Cookie: evil=1; Domain=localhost",
        "X-Atoll-Request-Id": "forged",
        "X-Atoll-Revision": "forged",
        "Server-Timing": "db;dur=1",
        "X-Eur": "\u20ac",
    }
    r.headers.update({f"x-h{i}": "v" for i in range(many)})
    return r
"""

# Tries to lift or leave its database's quota, fills it, then holds its tenant's streams.
DATABASE_ESCAPES = r'''
import json
import socket

import atoll

ESCAPES = {
    "lift_quota": "PRAGMA max_page_count = 4294967294",
    "lift_quota_schema": "PRAGMA main.max_page_count = 4294967294",
    "page_size": "PRAGMA page_size = 65536",
    "attach_file": "ATTACH DATABASE '/etc/passwd' AS x",
    "attach_memory": "ATTACH DATABASE ':memory:' AS m",
    "vacuum_into": "VACUUM INTO '/tmp/escape.sqlite'",
    "temp_table": "CREATE TEMP TABLE spill (b BLOB)",
    "temp_schema_table": "CREATE TABLE temp.spill (b BLOB)",
    "temp_trigger": "CREATE TRIGGER temp.tr AFTER INSERT ON main.hoard BEGIN SELECT 1; END",
    "load_extension": "SELECT load_extension('/tmp/x.so')",
}


def _raw(requests, baton=None):
    """One Hrana pipeline on the database socket, past atoll.db's bookkeeping."""
    body = json.dumps({"baton": baton, "requests": requests}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect("/run/atoll/db.sock")
        s.sendall(
            b"POST /v2/pipeline HTTP/1.1\r\nhost: db\r\n"
            b"content-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (len(body), body)
        )
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(payload or b"{}")


def _try(sql):
    try:
        atoll.db.execute(sql)
        return "ran"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def post():
    out = {}
    atoll.db.execute("CREATE TABLE IF NOT EXISTS hoard (b BLOB)")
    for name, sql in ESCAPES.items():
        out[name] = _try(sql)
    inserted, out["quota_error"] = 0, None
    while inserted < 10_000:
        try:
            atoll.db.execute("INSERT INTO hoard VALUES (randomblob(1000000))")
            inserted += 1
        except Exception as exc:
            out["quota_error"] = f"{type(exc).__name__}: {exc}"
            break
    out["inserted_mb"] = inserted
    out["rows_after"] = atoll.db.execute("SELECT count(*) AS n FROM hoard")[0]["n"]
    atoll.db.execute("DELETE FROM hoard")
    held, out["stream_refusal"] = [], None
    for _ in range(500):
        status, body = _raw(
            [
                {"type": "execute", "stmt": {"sql": "BEGIN TRANSACTION READONLY"}},
                {"type": "execute", "stmt": {"sql": "SELECT count(*) FROM hoard"}},
            ]
        )
        if status != 200 or any(r["type"] == "error" for r in body["results"]):
            out["stream_refusal"] = {"status": status, "code": body.get("code"),
                                     "message": body.get("message")}
            break
        held.append(body["baton"])
    out["held"] = held
    return out


def get():
    return _try("SELECT 1")


def delete(body: dict):
    for baton in body["held"]:
        _raw([{"type": "close"}], baton)
    return "released"
'''
