"""A tiny npm registry on loopback for tests: packuments and tarballs from memory."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
import urllib.parse
from typing import Any


def tarball(files: dict[str, str]) -> bytes:
    """A package tarball holding ``files`` under ``package/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class NpmRegistry:
    """Serves published packages at ``url``; ``requests`` lists every path asked for."""

    def __init__(self) -> None:
        self.packages: dict[str, dict[str, Any]] = {}
        self.tarballs: dict[str, bytes] = {}
        self.requests: list[str] = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                registry.requests.append(self.path)
                path = urllib.parse.unquote(self.path.split("?", 1)[0]).lstrip("/")
                if path in registry.tarballs:
                    self._send(registry.tarballs[path], "application/octet-stream")
                elif path in registry.packages:
                    body = json.dumps(registry.packages[path]).encode()
                    self._send(body, "application/json")
                else:
                    self._send(b'{"error":"not found"}', "application/json", 404)

            def _send(self, body: bytes, kind: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, name: str, version: str, files: dict[str, str], **manifest: Any) -> None:
        """Publish ``name@version``: a package.json built from ``manifest`` plus ``files``."""
        package_json = {"name": name, "version": version, **manifest}
        data = tarball({"package.json": json.dumps(package_json), **files})
        file = f"{name}/-/{name.split('/')[-1]}-{version}.tgz"
        self.tarballs[file] = data
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        entry = self.packages.setdefault(name, {"name": name, "versions": {}})
        entry["versions"][version] = {
            **package_json,
            "dist": {
                "tarball": self.url + file,
                "integrity": integrity,
                "shasum": hashlib.sha1(data).hexdigest(),
            },
        }
        entry["dist-tags"] = {"latest": version}

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
