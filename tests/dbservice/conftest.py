"""Fixtures: real DB services over temporary data dirs (helpers live in ``running.py``)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atoll.dbservice import EngineLimits, ServiceOptions, create_database

from .running import (
    DATABASE,
    OTHER_DATABASE,
    Service,
    hrana_value,
    running_service,
    stmt,
)

__all__ = ["DATABASE", "OTHER_DATABASE", "Service", "hrana_value", "stmt"]

TEST_OPTIONS = ServiceOptions(
    limits=EngineLimits(statement_timeout=1.0, max_result_bytes=1024 * 1024, busy_timeout_ms=1000),
    stream_idle_timeout=5.0,
    max_body_bytes=16 * 1024 * 1024,
)


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    """Start services with given options; all are stopped at teardown."""
    with contextlib.ExitStack() as stack:
        count = 0

        def start(
            options: ServiceOptions = TEST_OPTIONS, databases: tuple[str, ...] = ()
        ) -> Service:
            nonlocal count
            data_dir = tmp_path / f"data{count}"
            count += 1
            data_dir.mkdir()
            for name in (DATABASE, OTHER_DATABASE, *databases):
                create_database(data_dir, name)
            return stack.enter_context(running_service(data_dir, options))

        yield start


@pytest.fixture
def service(start_service: Callable[..., Service]) -> Service:
    """One running service with databases DATABASE and OTHER_DATABASE."""
    return start_service()
