"""Percentiles shared by the benchmarks."""

from __future__ import annotations


def pct(samples: list[float], q: float, digits: int = 3) -> float:
    """The q-th percentile of ``samples`` (nearest rank), rounded to ``digits``."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return round(ordered[index], digits)
