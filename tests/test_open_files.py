"""``atoll serve`` and the open-file limit its connection caps live within."""

from __future__ import annotations

import resource
from collections.abc import Iterator

import pytest

from atoll.config import HttpLimits
from atoll.http_heads import ConnectionLedger
from atoll.server import ledger_report, raise_open_files


@pytest.fixture
def restored() -> Iterator[tuple[int, int]]:
    """This process's open-file limits, put back after the test."""
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    yield limits
    resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def test_the_soft_open_file_limit_is_raised_to_the_hard_one(restored: tuple[int, int]) -> None:
    _, hard = restored
    if hard == resource.RLIM_INFINITY or hard < 512:
        pytest.skip(f"hard open-file limit {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    assert raise_open_files() == hard
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)


def test_a_warning_only_when_the_limit_lowers_a_cap() -> None:
    limits = HttpLimits()
    assert ledger_report(limits, ConnectionLedger(limits, 20_000), 20_000) == []
    assert ledger_report(limits, ConnectionLedger(limits), None) == []
    (line,) = ledger_report(limits, ConnectionLedger(limits, 1024), 1024)
    assert "open-file limit 1024" in line and "at most 256 connections" in line
