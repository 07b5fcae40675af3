"""A crash in the middle of a push loses nothing and leaves nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import ATOLL, Served, start_server, stop_server


def test_kill_9_during_push(served: Served, tmp_path: Path) -> None:
    token = served.tenant("acme")
    first = tmp_path / "first"
    first.mkdir()
    (first / "keep.txt").write_text("committed before the crash\n")
    served.cli("app", "create", "shop", "--from", str(first), token=token)
    before = json.loads(served.cli("pull", str(tmp_path / "copy"), "--app", "shop", "--json",
                                   token=token).stdout)["revision"]  # fmt: skip

    big = tmp_path / "big"
    big.mkdir()
    for i in range(40):
        (big / f"part-{i:02}.bin").write_bytes(os.urandom(1024 * 1024))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATOLL_")}
    env |= {"ATOLL_SERVER": served.url, "ATOLL_TOKEN": token}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    blobs = served.data_dir / "apps"
    existing = {p for p in blobs.rglob("*") if p.is_file()}
    with subprocess.Popen(
        [str(ATOLL), "push", str(big), "--app", "shop", "--force"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as push:
        # Kill the server as soon as the upload is under way, before the commit.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(p not in existing for p in blobs.rglob("*") if p.is_file()):
                break
            time.sleep(0.01)
        os.killpg(served.process.pid, signal.SIGKILL)
        served.process.wait()
        _, err = push.communicate(timeout=60)
        assert push.returncode == 3, err  # the CLI says it lost the server, in one line
        assert "atoll: error:" in err

    again = start_server(served.data_dir, served.log)
    try:
        state = json.loads(again.cli("app", "list", "--json", token=token).stdout)["apps"][0]
        assert state["head_revision"] == before  # the half-sent push left no revision
        copy = tmp_path / "after"
        again.cli("pull", str(copy), "--app", "shop", token=token)
        assert sorted(p.name for p in copy.iterdir() if not p.name.startswith(".")) == ["keep.txt"]
        # No partial blob survived under a final name: every stored blob matches its hash.
        import hashlib

        for path in (served.data_dir / "apps").rglob("blobs/*/*"):
            if path.is_file() and not path.name.startswith("."):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                assert digest == path.parent.name + path.name
        pushed = json.loads(again.cli("push", str(big), "--app", "shop", "--force", "--json",
                                      token=token).stdout)  # fmt: skip
        assert pushed["created"] is True
    finally:
        stop_server(again.process)
