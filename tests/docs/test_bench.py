"""bench/docs.py runs and prints its one JSON object (its numbers are not judged)."""

from __future__ import annotations

from tests.benches import run_bench


def test_the_docs_bench_prints_its_measures() -> None:
    result = run_bench("docs.py", "--runs", "1", timeout=600)
    todo = result["apps"]["todo"]
    assert todo["documented"] == {
        "operations": 4,
        "components": 1,
        "pages": 1,
        "tables": 1,
        "notes": 0,
    }
    assert todo["docs_p50_ms"] > 0 and todo["frontend_build_p50_ms"] > 0
    assert set(result["site_ms"]) == {
        "python_start_baseline",
        "docsgen_check",
        "mkdocs_build_strict",
    }
