"""The example apps built and served by the local stand-in, with their functions in memory."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from atoll.builder.frontend import AppFrontend, build_frontend
from atoll.builder.platform import PlatformAssets

from .local_gateway import FakeFunction, make_app, serve, todo_functions

EXAMPLES = Path(__file__).parents[2] / "examples"
CUSTOMERS = [
    ("Ada Lovelace", "Analytical Engines", "won", 48000, "Grace", "2026-11-28"),
    ("Alan Turing", "Bletchley Labs", "proposal", 32000, "Linus", "2026-11-27"),
    ("Grace Hopper", "Compiler Co", "qualified", 21000, "Ada", "2026-11-25"),
    ("Edsger Dijkstra", "Shortest Path BV", "lead", 9000, "Grace", "2026-11-24"),
    ("Barbara Liskov", "Substitution Inc", "won", 36000, "Linus", "2026-11-22"),
    ("Donald Knuth", "TeX Works", "proposal", 27000, "Ada", "2026-11-21"),
    ("Margaret Hamilton", "Apollo Software", "won", 54000, "Grace", "2026-11-19"),
    ("Ken Thompson", "Unix Systems", "lost", 15000, "Linus", "2026-11-18"),
    ("Radia Perlman", "Spanning Trees", "qualified", 18000, "Ada", "2026-11-15"),
    ("John McCarthy", "Lisp Machines", "lead", 7000, "Grace", "2026-11-14"),
]
MONTHS = [("Jun", 61000, 88000), ("Jul", 72000, 94000), ("Aug", 68000, 101000)]


def crm_functions() -> dict[str, FakeFunction]:
    """``customers`` and ``overview`` of examples/crm over an in-memory table."""
    rows: list[dict[str, Any]] = [
        {"id": i + 1, "name": n, "company": c, "email": f"{n.split()[0].lower()}@x.example"}
        | {"stage": s, "value": v, "owner": o, "updated": u}
        for i, (n, c, s, v, o, u) in enumerate(CUSTOMERS)
    ]

    def customers(method: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        if method == "GET":
            q, stage = query.get("q", "").lower(), query.get("stage", "")
            return 200, [
                r
                for r in rows
                if (q in r["name"].lower() or q in r["company"].lower())
                and (not stage or r["stage"] == stage)
            ]
        if method == "POST":
            fields = {"name": "String should have at least 1 character"}
            problems = [f"{k}\n  {m}" for k, m in fields.items() if not (body or {}).get(k)]
            if "@" not in str((body or {}).get("email", "")):
                problems.append("email\n  String should match pattern '^[^@]+@[^@]+$'")
            if problems:
                message = f"parameter 'body': {len(problems)} validation errors for NewCustomer\n"
                error = {"code": "validation_failed", "message": message + "\n".join(problems)}
                return 422, {"error": error}
            row = {"id": len(rows) + 100, "stage": "lead", "owner": "You", "updated": "2026-12-01"}
            rows.insert(0, row | {k: body.get(k) for k in ("name", "company", "email", "value")})
            return 200, rows[0]
        if method == "DELETE":
            rows[:] = [r for r in rows if r["id"] != int(query["id"])]
            return 200, {"deleted": int(query["id"])}
        return 405, {"error": {"code": "method_not_allowed", "message": method}}

    def overview(method: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        stages = sorted({r["stage"] for r in rows})
        by_stage = [
            {"stage": s, "value": sum(r["value"] for r in rows if r["stage"] == s)} for s in stages
        ]
        won = sum(r["value"] for r in rows if r["stage"] == "won")
        return 200, {
            "customers": len(rows),
            "open_value": "$129,000",
            "won_value": f"${won:,}",
            "win_rate": 60,
            "months": [{"month": m, "won": w, "pipeline": p} for m, w, p in MONTHS],
            "by_stage": by_stage,
        }

    return {"customers": customers, "overview": overview}


def build_example(name: str, root: Path, platform: PlatformAssets) -> AppFrontend:
    """examples/<name> built the way a release is."""
    shutil.copytree(EXAMPLES / name, root / "app")
    build_frontend(root / "app", root / "out")
    return AppFrontend.load(root / "out", platform)


@contextmanager
def serve_example(frontend: AppFrontend, name: str) -> Iterator[str]:
    """A built example served with fresh in-memory functions; yields its base URL."""
    functions = todo_functions() if name == "todo" else crm_functions()
    with serve(make_app(frontend, functions)) as url:
        yield url
