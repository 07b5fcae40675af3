"""Process trees inside the sandbox's pid namespace, read from its own /proc."""

from __future__ import annotations

import os
import signal


def children() -> dict[int, int]:
    """Every process in this sandbox's pid namespace, mapped to its parent."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
    return parents


def descendants(root: int, parents: dict[int, int]) -> list[int]:
    """Every process below ``root``."""
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        found.extend(kids)
        frontier.extend(kids)
    return found


def has_children() -> bool:
    """Whether this process has any child, running or ended (one cheap syscall)."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def reap_all() -> None:
    """Collect every ended child without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_tree(root: int, include_root: bool = True) -> None:
    """Stop then kill ``root`` and all its descendants (bounded; fork bombs stay frozen)."""
    seen: set[int] = set()
    for _ in range(50):
        tree = [*([root] if include_root else []), *descendants(root, children())]
        fresh = [p for p in tree if p not in seen]
        if not fresh:
            break
        for pid in fresh:
            seen.add(pid)
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
    for pid in seen:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
