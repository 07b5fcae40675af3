"""A package index on loopback serving wheels made in the test (PEP 503 simple pages)."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def make_wheel(folder: Path, name: str, version: str, module: str, source: str) -> Path:
    """A pure-Python wheel of ``name`` holding ``module/__init__.py`` with ``source``."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        f"{module}/__init__.py": source.encode(),
        f"{dist}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: atoll-tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextmanager
def local_index(wheels: list[Path]) -> Iterator[str]:
    """A running index of ``wheels``: its ``/simple`` URL."""
    by_name: dict[str, list[Path]] = {}
    for wheel in wheels:
        project = wheel.name.split("-")[0].replace("_", "-").lower()
        by_name.setdefault(project, []).append(wheel)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            parts = [p for p in self.path.split("?")[0].split("/") if p]
            if parts[:1] == ["simple"] and len(parts) == 2 and parts[1] in by_name:
                links = "".join(
                    f'<a href="/files/{w.name}#sha256={_sha(w)}">{w.name}</a>\n'
                    for w in by_name[parts[1]]
                )
                self._send(200, f"<html><body>\n{links}</body></html>".encode(), "text/html")
                return
            if parts[:1] == ["files"] and len(parts) == 2:
                found = [w for ws in by_name.values() for w in ws if w.name == parts[1]]
                if found:
                    self._send(200, found[0].read_bytes(), "application/octet-stream")
                    return
            self._send(404, b"not found", "text/plain")

        def do_HEAD(self) -> None:  # noqa: N802 (uv asks whether a wheel supports ranges)
            self._head_only = True
            self.do_GET()

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if not getattr(self, "_head_only", False):
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
