"""bench/frontend.py runs end to end and prints one JSON object (its numbers are not judged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benches import run_bench


@pytest.mark.browser
def test_frontend_bench_prints_one_json_object() -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Chromium")
    result = run_bench("frontend.py", "--components", "3", "--runs", "1", timeout=240)
    assert result["components"] == 3
    sizes = result["bundle_gz_bytes"]
    assert (
        sizes["per_component_shared_react"]["median"]
        < sizes["per_component_inlined_react_and_react_dom_baseline"]["median"]
    )
    assert set(result["targets"]) == {
        "beyond_own_code_le_1024",
        "cold_build_le_20ms_per_component",
        "page_js_ratio_le_1_2",
        "runtime_without_charts_le_60kb",
    }
    design = result["design_system"]
    # Only the dashboard fetches the chart chunk; the page without charts does not.
    assert design["chart_chunk_gz_bytes_chart_pages_only"] > 0
    assert design["chart_files_fetched_by_page_without_charts"] == []
    assert design["runtime_css_js_gz_bytes_page_without_charts"] > 0
    for page in ("first_render_dashboard", "first_render_plain_builtins_baseline"):
        assert design[page]["cold_cache_ms"]["n"] == 1
