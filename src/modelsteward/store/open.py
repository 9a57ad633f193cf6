"""Open the store a configuration names: a DuckDB file (the default) or a PostgreSQL URL.

>>> store = open_store(":memory:")
>>> type(store).__name__, store.schema_version() >= 1
('DuckDBStore', True)
>>> is_postgres_url("postgresql://steward@db/steward"), is_postgres_url("steward.duckdb")
(True, False)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelsteward.store.base import Store
from modelsteward.store.duckdb_store import DuckDBStore

__all__ = ["is_postgres_url", "open_store"]


def is_postgres_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path = ":memory:", *, read_only: bool = False, **options: Any) -> Store:
    """A :class:`~modelsteward.store.postgres_store.PostgresStore` for a ``postgresql://`` URL, else a DuckDB store at the path."""
    if is_postgres_url(target):
        try:
            from modelsteward.store.postgres_store import PostgresStore
        except ImportError as exc:  # psycopg is a dependency, but a trimmed install may lack it
            from modelsteward.errors import StoreError

            raise StoreError(f"a PostgreSQL store needs psycopg: {exc}", hint="pip install 'psycopg[binary,pool]'") from None
        return PostgresStore(str(target), read_only=read_only, **options)
    return DuckDBStore(target, read_only=read_only)
