"""An app's releases: build the workspace head into the next one, list them, show one,
compare two; promote one to an environment, roll an environment back, and its history."""

from __future__ import annotations

import sys

from atoll.cli.commands import APP, ENV, Cli, command
from atoll.cli.output import Progress, fail, style, table, when
from atoll.cli.parsing import Arg

TYPE_CHECKING = False  # typing costs ~10 ms to import; the CLI starts for every command
if TYPE_CHECKING:
    from typing import Any


def _errors(release: dict[str, Any]) -> list[str]:
    return [
        ":".join(str(p) for p in (e.get("file"), e.get("line"), e.get("column")) if p)
        + (": " if e.get("file") else "")
        + str(e.get("message", ""))
        for e in release.get("errors") or []
    ]


@command(
    "release create",
    "Build the app's workspace head into its next release (v1, v2, ...).",
    APP,
    Arg("--notes", default="", metavar="TEXT", help="what this release is"),
    Arg(
        "--timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="how long to wait for the build (default: 600 s)",
    ),
    section="ship",
)
def release_create(cli: Cli) -> None:
    """``atoll release create``."""
    app = cli.app()
    client = cli.client()
    client.wait_longer(cli.args.timeout)
    progress = Progress()
    progress(f"building a release of {app} ...")
    try:
        got = client.json("POST", f"/apps/{app}/releases", json={"notes": cli.args.notes})
    finally:
        progress.done()
    version, status = got["version"], got["status"]
    seconds = got.get("duration_ms", 0) / 1000
    data = {"version": version, "status": status, "errors": got["errors"], "release": got}
    if status == "ready":
        human = f"{version} built in {seconds:.1f} s (r{got['revision_number']})"
        cli.out(data, style(human, "32", sys.stdout))
        return
    lines = [f"{version} did not build (r{got['revision_number']}); it deploys nowhere"]
    lines += _errors(got)
    cli.out(data, "\n".join(lines))
    sys.exit(1)


@command("release list", "The app's releases, newest first.", APP, section="ship")
def release_list(cli: Cli) -> None:
    """``atoll release list``."""
    app = cli.app()
    got = cli.client().json("GET", f"/apps/{app}/releases")
    rows = [
        [r["version"], r["status"], ", ".join(r.get("deployed_to") or []) or "-",
         f"r{r['revision_number']}", when(r["created_at"]), r["notes"]]
        for r in got["releases"]
    ]  # fmt: skip
    empty = f"no releases of {app} yet: 'atoll release create --app {app}' builds one"
    header = ["VERSION", "STATUS", "DEPLOYED TO", "REVISION", "CREATED", "NOTES"]
    cli.out(got, table(header, rows, empty))


@command(
    "release show",
    "One release: what it was built from, by whom, and its build log.",
    Arg("version", metavar="VERSION", help="v1, v2, ..."),
    APP,
    section="ship",
)
def release_show(cli: Cli) -> None:
    """``atoll release show``."""
    app = cli.app()
    version = cli.args.version
    got = cli.client().json("GET", f"/apps/{app}/releases/{_segment(version)}")
    if not isinstance(got, dict):
        fail("the server sent something that is not a release", 1)
    lines = [
        f"{got['version']}  {got['status']}",
        f"revision  r{got['revision_number']} ({got['revision'][:12]})",
        f"created   {when(got['created_at'])} by {got['created_by']}",
    ]
    if got.get("notes"):
        lines.append(f"notes     {_shown(got['notes'])}")
    build_log = got.get("build_log")
    if build_log:
        lines += ["", "build log:", *(f"  {_shown(line)}" for line in build_log.splitlines())]
    else:  # built before build logs were kept: its errors are all there is
        lines += [_shown(line) for line in _errors(got)]
    cli.out(got, "\n".join(lines))


@command(
    "release diff",
    "What differs between two releases: files, migrations, dependencies and config.",
    Arg("old", metavar="VERSION", help="the release to compare from (v1, v2, ...)"),
    Arg("new", metavar="VERSION", help="the release to compare to"),
    APP,
    Arg("--patch", action="store_true", help="show unified diffs of changed text files"),
    section="ship",
)
def release_diff(cli: Cli) -> None:
    """``atoll release diff``."""
    app = cli.app()
    old, new = _segment(cli.args.old), _segment(cli.args.new)
    params = {"patch": 1} if cli.args.patch else None
    got = cli.client().json("GET", f"/apps/{app}/releases/{old}/diff/{new}", params=params)
    if not isinstance(got, dict):
        fail("the server sent something that is not a release diff", 1)
    cli.out(got, "\n".join(diff_lines(got)))


def diff_lines(got: dict[str, Any]) -> list[str]:
    """A release diff as a person reads it: a section per kind of difference, or ``no
    differences``; everything the tenant wrote is shown without control characters."""
    lines = [f"{got['old']} -> {got['new']}"]
    files = [line for f in got["files"] for line in _file_lines(f)]
    migrations = [f"  {_MARK[m['status']]} {m['file']} ({m['kind']})" for m in got["migrations"]]
    dependencies = [f"  {_MARK[d['status']]} {_dependency(d)}" for d in got["dependencies"]]
    config = [f"  {c['key']}: {_value(c['old'])} -> {_value(c['new'])}" for c in got["config"]]
    sections = [
        ("Files", files),
        ("Migrations", migrations),
        ("Dependencies", dependencies),
        ("Config", config),
    ]
    shown = [(title, rows) for title, rows in sections if rows]
    if not shown:
        lines.append("no differences")
    for title, rows in shown:
        lines += ["", title, *(_shown(row) for row in rows)]
    lines += [f"note: {_shown(n)}" for n in got.get("notes") or []]
    return lines


_MARK = {"added": "+", "removed": "-", "changed": "~", "modified": "~"}


def _file_lines(entry: dict[str, Any]) -> list[str]:
    old, new = entry.get("old_size"), entry.get("new_size")
    one = old if new is None else new
    size = f"{old} -> {new} bytes" if old is not None and new is not None else f"{one} bytes"
    lines = [f"  {_MARK[entry['status']]} {entry['path']} ({size})"]
    patch = entry.get("patch")
    if patch:
        lines += [f"    {line}" for line in patch.splitlines()]
    return lines


def _dependency(entry: dict[str, Any]) -> str:
    if entry["status"] == "changed":
        return f"{entry['name']}: {entry['old']} -> {entry['new']}"
    return str(entry["new"] if entry["status"] == "added" else entry["old"])


def _value(value: Any) -> str:
    """A setting's value as TOML-like text; ``(unset)`` where it is not set."""
    import json

    return "(unset)" if value is None else json.dumps(value)


def _shown(text: str) -> str:
    """``text`` without the control characters a terminal would act on (tenant content)."""
    return "".join(c if c.isprintable() or c == "\t" else "?" for c in text)


def _segment(version: str) -> str:
    """A version as one path segment (the server checks it)."""
    from urllib.parse import quote

    return quote(version, safe="")


@command(
    "promote",
    "Deploy a release to an environment: the same build, its database migrated first.",
    APP,
    Arg("--to", required=True, metavar="ENV", help="staging, prod or a created one"),
    Arg("--release", metavar="VERSION", help="the release (default: the newest that built)"),
    Arg("--from", dest="from_env", metavar="ENV", help="take the release ENV serves"),
    section="ship",
)
def promote(cli: Cli) -> None:
    """``atoll promote``."""
    app = cli.app()
    if cli.args.release and cli.args.from_env:
        fail("give --release or --from, not both", 2)
    body = {"release": cli.args.release, "from": cli.args.from_env}
    client = cli.client()
    client.wait_longer(600.0)  # migrations run first
    got = client.json("POST", f"/apps/{app}/envs/{cli.args.to}/promote", json=body)
    was = f" (was {got['previous']})" if got.get("previous") else ""
    cli.out(got, f"{got['env']} serves {got['release']}{was}: {got['url']}")


@command(
    "rollback",
    "Point an environment back at an earlier release (default: the one before).",
    APP,
    Arg("--env", required=True, metavar="ENV", help="staging, prod or a created one"),
    Arg("--to", metavar="VERSION", help="the release (default: what it served before)"),
    Arg(
        "--restore-db",
        action="store_true",
        help="if a destructive migration ran since that release, restore the database "
        "snapshot taken before it (rows written since are lost; they are counted)",
    ),
    section="ship",
)
def rollback(cli: Cli) -> None:
    """``atoll rollback``."""
    app = cli.app()
    body = {"to": cli.args.to, "restore_db": cli.args.restore_db}
    got = cli.client().json("POST", f"/apps/{app}/envs/{cli.args.env}/rollback", json=body)
    lines = [f"{got['env']} serves {got['release']} (was {got['previous']}): {got['url']}"]
    restored = got.get("restored_db")
    if restored:
        lines.append(
            f"database restored to snapshot {restored['snapshot']}, taken before "
            f"{restored['migration']}"
        )
        lost = restored["lost_rows"]
        lines.append(
            "rows written since and now lost: "
            + (", ".join(f"{t}: {n}" for t, n in sorted(lost.items())) or "none")
        )
        if restored.get("safety_snapshot"):
            lines.append(
                f"the content it replaced is kept as snapshot {restored['safety_snapshot']}"
            )
    cli.out(got, "\n".join(lines))


@command(
    "env history",
    "An environment's promotions and rollbacks, newest first.",
    APP,
    ENV,
    section="ship",
)
def env_history(cli: Cli) -> None:
    """``atoll env history``."""
    app = cli.app()
    got = cli.client().json("GET", f"/apps/{app}/envs/{cli.args.env}/history")
    rows = [
        [when(d["at"]), d["action"], d["from_release"] or "-", d["to_release"], d["result"],
         d["by"], d["detail"]]
        for d in got["deploys"]
    ]  # fmt: skip
    empty = f"nothing was deployed to {cli.args.env} yet"
    cli.out(got, table(["WHEN", "ACTION", "FROM", "TO", "RESULT", "BY", "DETAIL"], rows, empty))
