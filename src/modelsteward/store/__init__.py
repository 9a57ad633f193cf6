"""Event and state storage. The embedded DuckDB store is the default; a ``postgresql://`` URL opens PostgreSQL."""

from modelsteward.store.base import Store
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident
from modelsteward.store.open import open_store

__all__ = ["DuckDBStore", "Store", "open_store", "quote_ident"]
