"""``atoll.db`` in a function when ``atoll serve`` sends database requests over HTTP
(``ATOLL_DATABASE_IN_PROCESS=0``, the path used when the DB service runs elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Served, start_server, stop_server
from tests.e2e.test_sdk_db import test_atoll_db_in_a_function as notes_flow


@pytest.fixture
def served_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """``atoll serve`` whose functions reach its DB service over loopback HTTP."""
    monkeypatch.setenv("ATOLL_DATABASE_IN_PROCESS", "0")
    served = start_server(tmp_path / "data", tmp_path / "serve.log")
    yield served
    stop_server(served.process)


def test_atoll_db_in_a_function_over_http(served_over_http: Served, tmp_path: Path) -> None:
    notes_flow(served_over_http, tmp_path)
