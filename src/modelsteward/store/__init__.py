"""Event and state storage. The embedded DuckDB store is the default."""

from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

__all__ = ["DuckDBStore", "quote_ident"]
