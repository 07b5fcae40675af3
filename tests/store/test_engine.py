"""The metadata store's engine: what its errors may say."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from atoll.store.engine import create_engine


def test_errors_never_quote_statement_parameters() -> None:
    engine = create_engine("sqlite://")
    with engine.connect() as conn, pytest.raises(sa.exc.OperationalError) as caught:
        conn.execute(sa.text("SELECT no_such_function(:value)"), {"value": "s3cret-value"})
    assert "no_such_function" in str(caught.value)  # the statement is still named
    assert "s3cret-value" not in str(caught.value)
