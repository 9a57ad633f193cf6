"""Events and state on PostgreSQL, shared by several ``steward serve`` processes.

Selected by a URL in ``steward.yaml`` (``store: postgresql://user@host/db``) or ``--store``;
:func:`~modelsteward.store.open.open_store` picks the engine. The same numbered migrations as the
embedded store run here, translated (:mod:`modelsteward.store.sql_translate`), each in a
transaction, under an advisory lock so servers starting together apply each one once.

How several processes stay correct on one database:

* **Ingest** (:meth:`PostgresStore.insert_predictions`, :meth:`~PostgresStore.insert_feedback`):
  one transaction per batch. A batch of new ids (the usual case) goes in with one binary ``COPY``
  straight into the table, in key order, under a savepoint; the primary key stops it at the first
  id already stored (or committed meanwhile by another server), the savepoint is undone, and the
  batch takes the staged path: ``COPY`` into a temporary table, ``INSERT ... ON CONFLICT DO
  NOTHING`` in key order, then the staged rows compared in SQL with the stored ones; a difference
  raises :class:`~modelsteward.errors.ConflictError` and rolls the batch back. Because both
  paths wait for any concurrent writer of the same key before deciding, overlapping retries from
  several servers neither lose nor double-count a row, and a conflicting racer is still caught.
  ``synchronous_commit`` stays as the server sets it (on by default): an acknowledged batch
  survives a crash. After many rows the table's planner statistics are refreshed (``ANALYZE``).
* **Monitoring queries** read a window of a prediction table through a BRIN index on ``ts``
  (:meth:`PostgresStore.register_model`); an engine's connection takes the session settings of
  :attr:`PostgresStore.monitoring_url` (no JIT, a larger ``work_mem``).
* **State** (:meth:`PostgresStore.transaction`): the modules were written for one writer, so a
  state transaction holds a transaction-scoped advisory lock: state writes from all servers are
  serialised as they are on DuckDB, while ingest and reads run in parallel on the pool.
* **Review claims** pick with ``FOR UPDATE SKIP LOCKED`` (:func:`~modelsteward.store.base.row_lock_clause`).
* **Scheduled monitoring** runs under :meth:`PostgresStore.try_exclusive` (``pg_try_advisory_lock``):
  a server that finds another one mid-pass skips its turn.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg_pool import ConnectionPool

from modelsteward.config import ModelConfig
from modelsteward.errors import ConflictError, StoreError
from modelsteward.store.duckdb_store import _migrations, _prediction_conflict, _rows_in
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables
from modelsteward.store.postgres_conn import PgConnection, configure_connection, copy_rows
from modelsteward.store.sql_translate import COMPAT_FUNCTIONS, split_statements

__all__ = ["MONITORING_SETTINGS", "PostgresStore", "advisory_key", "redact_url"]

# Session settings for the monitoring queries (one wide aggregate per window, a scan per subject), from their
# EXPLAIN (ANALYZE) at 1M rows: JIT compiled the ~60 aggregate expressions for 2.8 s of a 10.7 s query (and
# runs each once); at the default work_mem (4MB) the sort by window spilled 200 MB to disk. Per session, not
# per server: ingest and state queries keep the server's defaults.
MONITORING_SETTINGS = {"jit": "off", "work_mem": "128MB"}



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
_ANALYSE_MIN_ROWS = 100_000  # ANALYZE a table after this many new rows from this process...
_ANALYSE_GROWTH = 0.5  # ... and at least this share of the rows it had at the last ANALYZE
# The columns the monitoring queries filter and join on (the row count comes with any of them); all 30 cost ~5x more
_ANALYSED_COLUMNS = ("ts, prediction_id", "model, prediction_id, ts")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sorted_stamped(rows: pa.Table, key: str, now: datetime | None = None) -> pa.Table:
    """The rows in key order with their ``ingested_at``, as they go into the table."""
    ordered = rows.take(pc.sort_indices(rows, [(key, "ascending")]))
    return ordered.append_column("ingested_at", pa.repeat(pa.scalar(now or _now(), pa.timestamp("us")), rows.num_rows))


class PostgresStore(ModelTables):
    """Events and state in a PostgreSQL database, reached through a connection pool.

    ``url`` is a ``postgresql://`` URL (libpq parameters such as ``?host=/var/run/postgresql``
    work); ``pool_size`` bounds the connections this process opens.
    """

    dialect = "postgres"
    row_lock_clause = " FOR UPDATE SKIP LOCKED"
    staged_ingest = False  # True: every batch through a staging table and CSV (the path before direct COPY; benchmarks compare)

    def __init__(self, url: str, *, read_only: bool = False, pool_size: int = 8) -> None:
        self.url = url
        self.path = redact_url(url)
        options = "-c timezone=UTC -c jit=off" + (" -c default_transaction_read_only=on" if read_only else "")
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
        self._analyse_lock = threading.Lock()
        self._unanalysed: dict[str, int] = {}  # table -> rows this process wrote since it last ran ANALYZE on it
        self._analysed_rows: dict[str, int] = {}  # table -> its rows at that ANALYZE
        if not read_only:
            self.migrate()

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        connect = sys.modules.get("modelsteward.engines.connect")  # (only if engines were used: no Ibis import here)
        if connect is not None:
            connect.release_store_engines(self)
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
        copy_rows(con.raw, quote_ident(name), rows, csv=self.staged_ingest)

    def _copy_new(self, con: PgConnection, table: str, rows: pa.Table, key: str) -> bool:
        """``COPY`` a batch straight into ``table`` if none of its ids is stored yet; False (nothing written) otherwise.

        The first stored id stops the COPY with a unique violation, undone to a savepoint; the
        caller then takes the staged path, which tells duplicates from conflicts. The rows are in
        key order, so two batches copying overlapping ids wait on each other in one order and
        cannot deadlock; a concurrent batch still uncommitted makes the COPY wait for its outcome.
        """
        first = rows.column(key)[0].as_py()  # a batch sent again (a retry) is found by one index probe, before any encoding
        if con.execute_native(f"SELECT 1 FROM {table} WHERE {quote_ident(key)} = $1", [first]).fetchall():
            return False
        try:
            with con.raw.transaction():
                copy_rows(con.raw, table, rows)
        except psycopg.errors.UniqueViolation:
            return False
        return True

    def _after_write(self, table: str, result: tuple[int, int]) -> tuple[int, int]:
        """Refresh the planner's statistics of ``table`` once this process has written many rows since it last did.

        The monitoring queries are planned from them: a table analysed when it was nearly empty
        gets plans for a few rows (no parallel scan, nested loops) until autovacuum comes by.
        Runs after the batch committed, on a connection of its own; ANALYZE does not block writers.
        Only the columns the queries filter and join on are analysed (autovacuum does the rest).
        """
        if result[0] == 0 or self._current() is not None:
            return result
        with self._analyse_lock:
            pending = self._unanalysed.get(table, 0) + result[0]
            due = pending >= max(_ANALYSE_MIN_ROWS, _ANALYSE_GROWTH * self._analysed_rows.get(table, 0))
            self._unanalysed[table] = 0 if due else pending
        if due:
            with self._pool.connection() as raw:
                raw.execute(f"ANALYZE {table} ({_ANALYSED_COLUMNS[table == 'feedback']})")
                got = raw.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)", [table]).fetchone()
            with self._analyse_lock:
                self._analysed_rows[table] = max(0, int(got[0])) if got else 0
        return result

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
            if not self.staged_ingest and self._copy_new(con, table, _sorted_stamped(rows, "prediction_id"), "prediction_id"):
                self._local.written_ids = set(rows.column("prediction_id").to_pylist())
                return rows.num_rows, n_rows - rows.num_rows
            self._stage(con, "_staged_predictions", rows, table)
            # In key order, so that batches sharing ids take their row locks in one order (no deadlock).
            ids = {r[0] for r in con.execute_native(
                f"INSERT INTO {table} ({col_list}, ingested_at) SELECT {col_list}, $1 FROM _staged_predictions "
                "ORDER BY prediction_id ON CONFLICT (prediction_id) DO NOTHING RETURNING prediction_id", [_now()]).fetchall()}
            self._local.written_ids = ids
            if len(ids) < rows.num_rows:
                self._check_predictions(con, table, compare, ts_default)
            return len(ids), n_rows - len(ids)

        return self._after_write(table, self._batch(write))

    def _check_predictions(self, con: PgConnection, table: str, compare: list[str], ts_default: datetime | None) -> None:
        """Compare the staged rows with the stored ones, in the database; a difference is a conflict.

        The rows this batch wrote are stored as staged, so only those it did not write can
        differ (a batch holds each id once: the validation collapses copies). A row given no
        timestamp (stamped ``ts_default``) never conflicts on time.
        """
        differs = " OR ".join(
            "(s.ts IS DISTINCT FROM p.ts AND s.ts IS DISTINCT FROM $1::TIMESTAMP)" if c == "ts" and ts_default is not None
            else f"s.{quote_ident(c)} IS DISTINCT FROM p.{quote_ident(c)}" for c in compare)
        if not differs:
            return
        params = [ts_default] if ts_default is not None and "ts" in compare else []
        clash = [r[0] for r in con.execute_native(
            f"SELECT s.prediction_id FROM _staged_predictions s JOIN {table} p ON p.prediction_id = s.prediction_id "
            f"WHERE {differs} ORDER BY 1 LIMIT 50", params).fetchall()]
        if clash:
            raise _prediction_conflict(clash)

    def written_ids(self) -> set[str] | None:
        """The prediction ids this thread's last :meth:`insert_predictions` stored (None before any).

        Exact with several servers writing the same ids at once: an id in the batch but not here
        was stored by an earlier write, of this server or another (``server/group_commit.py``
        answers each request with it).
        """
        ids = getattr(self._local, "written_ids", None)
        return set(ids) if ids is not None else None

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
            if not self.staged_ingest:
                now = _now()
                stamped = _sorted_stamped(rows, "feedback_id", now)
                if "ts" in names:
                    at = stamped.schema.get_field_index("ts")
                    stamped = stamped.set_column(at, "ts", pc.fill_null(stamped.column("ts"), pa.scalar(now, pa.timestamp("us"))))
                stamped = stamped.append_column("model", pa.repeat(pa.scalar(model.name, pa.string()), stamped.num_rows))
                if self._copy_new(con, "feedback", stamped, "feedback_id"):
                    return rows.num_rows, n_rows - rows.num_rows
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

        return self._after_write("feedback", self._batch(write))

    def register_model(self, model: ModelConfig) -> None:
        """Create or update a model's tables (:meth:`ModelTables.register_model`), plus a BRIN index on ``ts``.

        The monitoring queries read one window at a time (``ts >= start AND ts < end``).
        Predictions arrive in about time order, so a BRIN index (the least and greatest ``ts`` of
        each 128 pages: kilobytes for millions of rows, next to nothing per insert) lets a scan
        of a week skip the pages of other weeks, where a B-tree would cost every insert.
        """
        super().register_model(model)
        table = self.predictions_table(model.name)
        with self.transaction() as con:
            con.execute_native(f"CREATE INDEX IF NOT EXISTS {quote_ident(table.strip(chr(34)) + '_ts_brin')} ON {table} USING brin (ts)")

    @property
    def monitoring_url(self) -> str:
        """The URL with the session settings for the monitoring queries (an engine's connection; see :data:`MONITORING_SETTINGS`).

        >>> PostgresStore.with_settings("postgresql://app@db/steward?sslmode=require", {"jit": "off", "work_mem": "128MB"})
        'postgresql://app@db/steward?sslmode=require&options=-c%20jit%3Doff%20-c%20work_mem%3D128MB'
        """
        return self.with_settings(self.url, MONITORING_SETTINGS)

    @staticmethod
    def with_settings(url: str, settings: dict[str, str]) -> str:
        """``url`` with libpq ``options`` that set ``settings`` for each session it opens (after any options it had)."""
        base, _, query = url.partition("?")
        pairs = [p for p in query.split("&") if p]
        given = [unquote(p.split("=", 1)[1]) for p in pairs if p.startswith("options=")]
        options = " ".join(given + [f"-c {k}={v}" for k, v in settings.items()])
        return base + "?" + "&".join([p for p in pairs if not p.startswith("options=")] + ["options=" + quote(options, safe="")])

    def count_predictions(self, model: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {self.predictions_table(model)}")[0][0])
