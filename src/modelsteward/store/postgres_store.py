"""Events and state on PostgreSQL, shared by several ``steward serve`` processes.

Selected by a URL in ``steward.yaml`` (``store: postgresql://user@host/db``) or ``--store``;
:func:`~modelsteward.store.open.open_store` picks the engine. The same numbered migrations as the
embedded store run here, translated (:mod:`modelsteward.store.sql_translate`), each in a
transaction, under an advisory lock so servers starting together apply each one once.

How several processes stay correct on one database:

* **Ingest** (:meth:`PostgresStore.insert_predictions`, :meth:`~PostgresStore.insert_feedback`):
  one transaction per batch stages the rows with ``COPY``, writes them with ``INSERT ... ON
  CONFLICT DO NOTHING RETURNING`` the ids it wrote, then compares the content of every id it did
  *not* write with the stored row; a difference raises :class:`~modelsteward.errors.ConflictError`
  and rolls the batch back. Because the comparison runs after the insert (which waits for any
  concurrent writer of the same key), overlapping retries from several servers neither lose nor
  double-count a row, and a conflicting racer is still caught.
* **State** (:meth:`PostgresStore.transaction`): the modules were written for one writer, so a
  state transaction holds a transaction-scoped advisory lock: state writes from all servers are
  serialised as they are on DuckDB, while ingest and reads run in parallel on the pool.
* **Review claims** pick with ``FOR UPDATE SKIP LOCKED`` (:func:`~modelsteward.store.base.row_lock_clause`).
* **Scheduled monitoring** runs under :meth:`PostgresStore.try_exclusive` (``pg_try_advisory_lock``):
  a server that finds another one mid-pass skips its turn.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow as pa
from psycopg_pool import ConnectionPool

from modelsteward.config import ModelConfig
from modelsteward.errors import ConflictError, StoreError
from modelsteward.store.duckdb_store import _differs, _migrations, _prediction_conflict, _rows_in
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables
from modelsteward.store.postgres_conn import PgConnection, configure_connection, copy_rows
from modelsteward.store.sql_translate import COMPAT_FUNCTIONS, split_statements

__all__ = ["PostgresStore", "advisory_key", "redact_url"]



def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from a name.

    >>> advisory_key("modelsteward:migrations") == advisory_key("modelsteward:migrations")
    True
    """
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def redact_url(url: str) -> str:
    """The URL with its password hidden (for messages and ``store.path``).

    >>> redact_url("postgresql://app:s3cret@db:5432/steward")
    'postgresql://app:***@db:5432/steward'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


_MIGRATION_LOCK = advisory_key("modelsteward:migrations")
_STATE_LOCK = advisory_key("modelsteward:state")
_BATCH_ATTEMPTS = 3


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class PostgresStore(ModelTables):
    """Events and state in a PostgreSQL database, reached through a connection pool.

    ``url`` is a ``postgresql://`` URL (libpq parameters such as ``?host=/var/run/postgresql``
    work); ``pool_size`` bounds the connections this process opens.
    """

    dialect = "postgres"
    row_lock_clause = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, read_only: bool = False, pool_size: int = 8) -> None:
        self.url = url
        self.path = redact_url(url)
        options = "-c timezone=UTC" + (" -c default_transaction_read_only=on" if read_only else "")
        try:
            psycopg.connect(url, connect_timeout=10).close()  # fail fast, with the server's own reason
            self._pool = ConnectionPool(
                url, min_size=1, max_size=max(1, pool_size), open=True, timeout=30.0, configure=configure_connection,
                kwargs={"autocommit": True, "cursor_factory": psycopg.RawCursor, "options": options},
                name="modelsteward",
            )
            self._pool.wait(timeout=30.0)
        except Exception as exc:
            raise StoreError(
                f"cannot open the store {self.path}: {str(exc).replace(url, self.path).strip()}",
                hint="is the PostgreSQL server running, and may this user connect to the database? (psql with the same URL tells)",
            ) from None
        self._local = threading.local()
        self._write_lock = threading.RLock()  # one state transaction at a time in this process (see the module doc)
        if not read_only:
            self.migrate()

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current(self) -> PgConnection | None:
        return getattr(self._local, "conn", None)

    @contextmanager
    def _connection(self) -> Iterator[PgConnection]:
        """The thread's transaction connection if it is inside one, else a pooled autocommit one."""
        current = self._current()
        if current is not None:
            yield current
            return
        with self._pool.connection() as raw:
            yield PgConnection(raw)

    @contextmanager
    def _atomic(self, *, state_lock: bool) -> Iterator[PgConnection]:
        current = self._current()
        if current is not None:  # nested: a savepoint of the enclosing transaction
            with current.raw.transaction():
                yield current
            return
        with self._pool.connection() as raw, raw.transaction():
            con = PgConnection(raw)
            if state_lock:
                con.execute_native("SELECT pg_advisory_xact_lock($1)", [_STATE_LOCK])
            self._local.conn = con
            try:
                yield con
            finally:
                self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One atomic write: everything inside commits together or not at all.

        State writes from every process are serialised (a transaction-scoped advisory lock), as
        the modules expect of the one writer they were written for.
        """
        with self._write_lock, self._atomic(state_lock=True) as con:
            yield con

    @contextmanager
    def try_exclusive(self, name: str) -> Iterator[bool]:
        """Hold a named lock across every process for the block if no one else holds it; yields whether it did."""
        with self._pool.connection() as raw:
            got = raw.execute("SELECT pg_try_advisory_lock($1)", [advisory_key(name)]).fetchone()
            acquired = bool(got and got[0])
            try:
                yield acquired
            finally:
                if acquired:
                    raw.execute("SELECT pg_advisory_unlock($1)", [advisory_key(name)])

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        with self._connection() as con:
            return con.execute(sql, params).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self._connection() as con:
            return con.execute(sql, params).to_arrow_table()

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        with self._connection() as con:
            res = con.execute(sql, params)
            cols = [d[0] for d in res.description or []]
            return [dict(zip(cols, row, strict=True)) for row in res.fetchall()]

    def schema_version(self) -> int:
        return int(self.query("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0])

    def migrate(self) -> list[int]:
        """Apply the migrations this database has not seen yet; returns their numbers.

        An advisory lock makes servers that start together take turns: the first applies, the
        others find them applied.
        """
        applied = []
        with self._pool.connection() as raw:
            con = PgConnection(raw)
            con.execute_native("SELECT pg_advisory_lock($1)", [_MIGRATION_LOCK])
            try:
                con.execute_native("CREATE TABLE IF NOT EXISTS schema_migrations "
                                   "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)")
                raw.execute(COMPAT_FUNCTIONS)
                done = {r[0] for r in con.execute_native("SELECT version FROM schema_migrations").fetchall()}
                for version, name, sql in _migrations():
                    if version in done:
                        continue
                    with raw.transaction():
                        for statement in split_statements(sql):
                            con.execute_native(statement)
                        con.execute_native("INSERT INTO schema_migrations VALUES ($1, $2, $3)", [version, name, _now()])
                    applied.append(version)
            finally:
                con.execute_native("SELECT pg_advisory_unlock($1)", [_MIGRATION_LOCK])
        return applied

    # -- events ---------------------------------------------------------------------------
    def _stage(self, con: PgConnection, name: str, rows: pa.Table, like: str) -> None:
        """A temporary table with the columns of ``rows`` typed as in ``like`` (dropped at commit), filled by COPY."""
        col_list = ", ".join(quote_ident(c) for c in rows.schema.names)
        con.execute_native(f"CREATE TEMPORARY TABLE {quote_ident(name)} ON COMMIT DROP AS SELECT {col_list} FROM {like} WITH NO DATA")
        copy_rows(con.raw, quote_ident(name), rows)

    def _batch(self, write: Callable[[PgConnection], tuple[int, int]]) -> tuple[int, int]:
        """Run one batch write in its own transaction; retried when PostgreSQL breaks a deadlock between batches."""
        for attempt in range(_BATCH_ATTEMPTS):
            try:
                with self._atomic(state_lock=False) as con:
                    return write(con)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):
                if self._current() is not None or attempt == _BATCH_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def insert_predictions(self, model: ModelConfig, rows: pa.Table) -> tuple[int, int]:
        """Insert validated rows; returns (inserted, already present with identical content).

        An id already stored with different content raises :class:`ConflictError` and the whole
        batch is rolled back; safe against the same ids arriving through several servers at once.
        """
        table = self.predictions_table(model.name)
        names = rows.schema.names
        meta = rows.schema.metadata or {}
        compare = [c for c in names if (c != "ts" or meta.get(b"ts_given") != b"0") and c not in ("novelty", "prediction_id")]
        ts_default = datetime.fromisoformat(meta[b"ts_default"].decode()) if b"ts_default" in meta else None
        n_rows = _rows_in(rows)
        if rows.num_rows == 0:
            return 0, n_rows
        col_list = ", ".join(quote_ident(c) for c in names)

        def write(con: PgConnection) -> tuple[int, int]:
            self._stage(con, "_staged_predictions", rows, table)
            # In key order, so that batches sharing ids take their row locks in one order (no deadlock).
            written = {r[0] for r in con.execute_native(
                f"INSERT INTO {table} ({col_list}, ingested_at) SELECT {col_list}, $1 FROM _staged_predictions "
                "ORDER BY prediction_id ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id", [_now()]).fetchall()}
            if len(written) < rows.num_rows:
                self._check_predictions(con, table, compare, ts_default, written)
            return len(written), n_rows - len(written)

        return self._batch(write)

    def _check_predictions(self, con: PgConnection, table: str, compare: list[str], ts_default: datetime | None,
                           written: set[str]) -> None:
        """Compare the rows this batch did not write with the stored ones; a difference is a conflict."""
        cols = ", ".join(f"s.{quote_ident(c)}, p.{quote_ident(c)}" for c in compare)
        others = con.execute_native(
            f"SELECT s.prediction_id{', ' + cols if cols else ''} FROM _staged_predictions s "
            f"JOIN {table} p ON p.prediction_id = s.prediction_id ORDER BY 1").fetchall()
        clash = [r[0] for r in others if r[0] not in written and any(
            _differs(c, r[1 + 2 * i], r[2 + 2 * i], ts_default) for i, c in enumerate(compare))]
        if clash:
            raise _prediction_conflict(clash[:50])

    def insert_feedback(self, model: ModelConfig, rows: pa.Table) -> tuple[int, int]:
        """Insert validated feedback; returns (inserted, already present).

        A row without ``ts`` is stamped with the time of the write; when its id is already stored
        the stored time stands. An id stored with different content (or for another model)
        raises :class:`ConflictError` and nothing from the batch is written.
        """
        names = rows.schema.names
        n_rows = _rows_in(rows)
        if rows.num_rows == 0:
            return 0, n_rows
        col_list = ", ".join(quote_ident(c) for c in names)
        select_list = ", ".join("coalesce(ts, $2::TIMESTAMP)" if c == "ts" else quote_ident(c) for c in names)
        differs = " OR ".join(
            "(s.ts IS NOT NULL AND s.ts IS DISTINCT FROM f.ts)" if c == "ts"
            else f"s.{quote_ident(c)} IS DISTINCT FROM f.{quote_ident(c)}"
            for c in names if c != "feedback_id"
        )

        def write(con: PgConnection) -> tuple[int, int]:
            self._stage(con, "_staged_feedback", rows, "feedback")
            written = {r[0] for r in con.execute_native(
                f"INSERT INTO feedback (model, {col_list}, ingested_at) SELECT $1, {select_list}, $2 FROM _staged_feedback "
                "ORDER BY feedback_id ON CONFLICT (feedback_id) DO NOTHING RETURNING feedback_id", [model.name, _now()]).fetchall()}
            if len(written) < rows.num_rows:
                clash = [r[0] for r in con.execute_native(
                    "SELECT s.feedback_id FROM _staged_feedback s JOIN feedback f USING (feedback_id) "
                    f"WHERE f.model IS DISTINCT FROM $1 OR {differs} ORDER BY 1", [model.name]).fetchall() if r[0] not in written]
                if clash:
                    raise ConflictError(
                        "feedback id(s) already stored with different content: " + ", ".join(repr(i) for i in clash[:5]),
                        ids=clash[:50],
                        hint="a feedback id names one event; nothing from this batch was written",
                    )
            return len(written), n_rows - len(written)

        return self._batch(write)

    def count_predictions(self, model: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {self.predictions_table(model)}")[0][0])
