"""Metadata store: SQLAlchemy tables, the engine, Alembic migrations and repositories."""

from atoll.store.engine import open_store
from atoll.store.tables import metadata

__all__ = ["metadata", "open_store"]
