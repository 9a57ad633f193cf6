"""The store interface the rest of the package uses, whatever the engine behind it.

Two implementations: :class:`~modelsteward.store.duckdb_store.DuckDBStore` (the embedded
default, one writing process) and :class:`~modelsteward.store.postgres_store.PostgresStore`
(several ``steward serve`` processes on one database). The modules write their SQL once, in
DuckDB's dialect with ``?`` parameters; the PostgreSQL store translates it
(:mod:`modelsteward.store.sql_translate`). Where the engines must differ, the modules ask the
store through the helpers here (:func:`dialect`, :func:`row_lock_clause`, :func:`try_exclusive`)
rather than testing the class.

>>> from modelsteward.store import open_store
>>> isinstance(open_store(":memory:"), Store)
True
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from modelsteward.config import ModelConfig

__all__ = ["Store", "dialect", "row_lock_clause", "try_exclusive"]


@runtime_checkable
class Store(Protocol):
    """What a store offers: SQL in three result shapes, transactions, migrations, event writes."""

    path: str  # a file path, ":memory:", or a PostgreSQL URL with the password hidden

    def close(self) -> None: ...

    def transaction(self) -> AbstractContextManager[Any]:
        """One atomic write; yields a connection whose ``execute(sql, params)`` returns a result with ``fetchall``."""
        ...

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]: ...

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table: ...

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]: ...

    def schema_version(self) -> int: ...

    def migrate(self) -> list[int]: ...

    def register_model(self, model: ModelConfig) -> None: ...

    def model_names(self) -> list[str]: ...

    def require_model(self, name: str) -> None: ...

    def insert_predictions(self, model: ModelConfig, rows: pa.Table) -> tuple[int, int]: ...

    def insert_feedback(self, model: ModelConfig, rows: pa.Table) -> tuple[int, int]: ...

    def count_predictions(self, model: str) -> int: ...


def dialect(store: object) -> str:
    """``"postgres"`` for a PostgreSQL store, ``"duckdb"`` otherwise.

    >>> from modelsteward.store import open_store
    >>> dialect(open_store(":memory:"))
    'duckdb'
    """
    return str(getattr(store, "dialect", "duckdb"))


def row_lock_clause(store: object) -> str:
    """What to append to a ``SELECT`` that picks rows to claim, so two processes never pick the same one.

    PostgreSQL: ``" FOR UPDATE SKIP LOCKED"`` (a row another transaction is claiming is passed
    over); DuckDB: nothing (one process writes the file, under the store's lock).
    """
    return str(getattr(store, "row_lock_clause", ""))


@contextmanager
def try_exclusive(store: object, name: str) -> Iterator[bool]:
    """Hold the named lock across every process sharing the store, if free; yields whether this one holds it.

    On DuckDB the file has one writing process, so the answer is always yes.

    >>> from modelsteward.store import open_store
    >>> with try_exclusive(open_store(":memory:"), "monitoring-cycle") as mine:
    ...     mine
    True
    """
    lock = getattr(store, "try_exclusive", None)
    if lock is None:
        yield True
        return
    with lock(name) as acquired:
        yield bool(acquired)
