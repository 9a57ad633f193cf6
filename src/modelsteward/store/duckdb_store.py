"""The embedded store: one DuckDB file holding events (predictions, feedback) and state.

Schema changes are numbered migrations (``migrations/NNNN_name.sql``) applied at open, each in
its own transaction and recorded in ``schema_migrations``. Each registered model gets a
prediction table whose feature columns are typed from ``steward.yaml`` (DOUBLE for numeric,
VARCHAR for categorical), so distributions can be tested inside the engine.

Writes go through one connection guarded by a lock (DuckDB allows one writing process per
file); each write is one transaction, committed before the call returns, so an acknowledged
write survives a crash of the process.

A long reader (the server's monitoring pass) can read apart from the writers: inside
:meth:`DuckDBStore.reads_apart` its plain reads run on a cursor of its own thread (a second
connection to the same database, reading a committed snapshot) without the store's lock, and
its writes take the caller's write lock before the store's, so ingest waits only for them.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from modelsteward.config import ModelConfig
from modelsteward.errors import ConflictError, StoreError
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables

__all__ = ["DuckDBStore", "held_writes", "quote_ident"]

_READ = re.compile(r"\s*(SELECT|WITH|FROM)\b", re.IGNORECASE)
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|COPY|ATTACH|DETACH|SET|RESET|CHECKPOINT|VACUUM|"
                     r"IMPORT|EXPORT|INSTALL|LOAD|PRAGMA|BEGIN|COMMIT|ROLLBACK|RETURNING|MERGE|TRUNCATE)\b", re.IGNORECASE)


SMALL_BATCH = 16  # at most this many rows take the point-lookup path of insert_predictions (past ~20 rows, a
# parameterised VALUES list costs more than registering an Arrow table: 12.6 against 2.7 ms for 32 rows, bench of H1)


def _differs(column: str, new: Any, old: Any, ts_default: datetime | None) -> bool:
    if column == "ts" and ts_default is not None and new == ts_default:
        return False  # a row given no timestamp never conflicts on time
    return bool(new != old)


def _prediction_conflict(ids: list[str]) -> ConflictError:
    return ConflictError(
        f"{len(ids)}{'+' if len(ids) == 50 else ''} prediction id(s) already stored with different content: "
        + ", ".join(map(repr, ids[:5])),
        ids=ids,
        hint="a prediction id names one prediction; use a new id for a new prediction. Nothing from this batch was written",
    )


@functools.lru_cache(maxsize=1024)
def _plain_read(sql: str) -> bool:
    """A statement that only reads: it may run on a reader's own cursor (anything doubtful counts as a write).

    >>> _plain_read("SELECT count(*) FROM window_metrics"), _plain_read("UPDATE alerts SET state = 'x'")
    (True, False)
    """
    return bool(_READ.match(sql)) and not _WRITES.search(sql)


@functools.lru_cache(maxsize=256)
def _column_list_cached(names: tuple[str, ...]) -> str:
    return ", ".join(quote_ident(c) for c in names)


def _column_list(names: Sequence[str]) -> str:
    """Quoted, validated column names (cached: the same few layouts are written again and again)."""
    return _column_list_cached(tuple(names))


def held_writes(store: Any) -> contextlib.AbstractContextManager[None]:
    """``store.writes_held()`` on a DuckDB store (see :meth:`DuckDBStore.writes_held`); nothing to hold elsewhere.

    >>> with held_writes(DuckDBStore(":memory:")):
    ...     pass
    """
    return store.writes_held() if isinstance(store, DuckDBStore) else contextlib.nullcontext()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("modelsteward.store") / "migrations"
    out = []
    for entry in folder.iterdir():
        m = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(out)


class DuckDBStore(ModelTables):
    """Events and state in one DuckDB database (a file, or ``":memory:"``).

    >>> store = DuckDBStore(":memory:")
    >>> store.schema_version() >= 1
    True
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot open the store {self.path}: {exc}",
                hint="is another process writing to it? DuckDB allows one writer per file; use the server for shared access",
            ) from None
        self._con.execute("SET enable_progress_bar = false").fetchall()  # the CLI draws its own
        self._lock = threading.RLock()
        self._local = threading.local()  # per thread: the reader's cursor and write lock (reads_apart), write depth
        if not read_only:
            self.migrate()

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        connect = sys.modules.get("modelsteward.engines.connect")  # (only if engines were used: no Ibis import here)
        if connect is not None:
            connect.release_store_engines(self)
        with self._lock:
            self._con.close()

    def __enter__(self) -> DuckDBStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def reads_apart(self, write_lock: Any) -> Iterator[None]:
        """Within this block, this thread's plain reads leave the store's lock; its writes take ``write_lock`` first.

        For a long pass that reads much and writes little while other threads write (the server's
        monitoring pass against ingest). ``write_lock`` is the lock those other writers hold
        around each of their writes (the server's Monitor lock), each write committed before they
        release it. The reads run on a cursor of this thread, outside both locks; each reads the
        committed state when it starts (autocommit). Before each read the thread takes and
        releases ``write_lock`` once: a write stamped before the read (``ingested_at``) has then
        committed and is seen, so a window stamped ``computed_at`` before its reads misses no row
        stamped earlier. Writes (:meth:`transaction`, the inserts, any statement that is not a
        plain ``SELECT``) hold ``write_lock`` then the store's lock, in the order the other
        writers take them, and read their own uncommitted state on the store's connection.

        >>> import threading
        >>> store, lock = DuckDBStore(":memory:"), threading.Lock()
        >>> with store.reads_apart(lock):
        ...     store.query("SELECT 41 + 1")
        [(42,)]
        """
        local = self._local
        if getattr(local, "write_lock", None) is not None:
            raise StoreError("reads_apart is already active on this thread", hint="leave the outer block first")
        with self._lock:
            cursor = self._con.cursor()
        cursor.execute("SET enable_progress_bar = false").fetchall()
        local.write_lock, local.cursor = write_lock, cursor
        try:
            yield
        finally:
            local.write_lock = local.cursor = None
            cursor.close()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The store's lock, preceded by the reader's write lock on a thread inside :meth:`reads_apart`."""
        local = self._local
        outer = getattr(local, "write_lock", None)
        depth = getattr(local, "depth", 0)
        if outer is not None and depth == 0:
            outer.acquire()
        local.depth = depth + 1
        try:
            with self._lock:
                yield
        finally:
            local.depth = depth
            if outer is not None and depth == 0:
                outer.release()

    @contextmanager
    def writes_held(self) -> Iterator[None]:
        """Reads and writes of this block together under the write lock (a read-modify-write of shared state).

        Inside :meth:`reads_apart`, the monitoring pass's alert and trigger phase reads alert
        states and writes new ones: a request (an acknowledgement, an approval) must not come
        in between. Elsewhere it is the store's lock alone.
        """
        with self._writing():
            yield

    def _reader(self, sql: str) -> duckdb.DuckDBPyConnection | None:
        """This thread's own cursor for a plain read inside :meth:`reads_apart` (outside a write), else None."""
        local = self._local
        cursor = getattr(local, "cursor", None)
        depth: int = getattr(local, "depth", 0)
        if cursor is None or depth or not _plain_read(sql):
            return None
        self.before_read()
        return cursor

    def before_read(self) -> None:
        """Inside :meth:`reads_apart`: wait for the write in progress elsewhere (see there); otherwise nothing."""
        local = self._local
        outer = getattr(local, "write_lock", None)
        if outer is not None and not getattr(local, "depth", 0):
            with outer:
                pass

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One atomic write: everything inside commits together or not at all."""
        with self._writing():
            self._con.execute("BEGIN TRANSACTION").fetchall()
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK").fetchall()
                raise
            else:
                self._con.execute("COMMIT").fetchall()

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        cursor = self._reader(sql)
        if cursor is not None:
            return cursor.execute(sql, params or []).fetchall()
        with self._writing():
            return self._con.execute(sql, params or []).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        cursor = self._reader(sql)
        if cursor is not None:
            return self._arrow(cursor, sql, params)
        with self._writing():
            return self._arrow(self._con, sql, params)

    @staticmethod
    def _arrow(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None) -> pa.Table:
        rel = con.sql(sql, params=list(params or []))
        if hasattr(rel, "to_arrow_table"):  # DuckDB 2: a relation reads straight into Arrow
            return rel.to_arrow_table()
        res = con.execute(sql, params or [])
        # DuckDB 1.x results: fetch_arrow_table (older: arrow)
        for name in ("fetch_arrow_table", "arrow"):
            fetch = getattr(res, name, None)
            if fetch is not None:
                return fetch()
        raise StoreError(f"this DuckDB ({duckdb.__version__}) cannot return Arrow tables")

    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._reader(sql)
        if cursor is not None:
            cur = cursor.execute(sql, params or [])
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
        with self._writing():
            cur = self._con.execute(sql, params or [])
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def schema_version(self) -> int:
        return int(self.query("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0])

    def migrate(self) -> list[int]:
        """Apply the migrations this store has not seen yet; returns their numbers."""
        with self._writing():
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            ).fetchall()
            done = {r[0] for r in self._con.execute("SELECT version FROM schema_migrations").fetchall()}
            applied = []
            for version, name, sql in _migrations():
                if version in done:
                    continue
                with self.transaction() as con:
                    con.execute(sql).fetchall()
                    con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, _now()]).fetchall()
                applied.append(version)
            return applied

    # -- events ---------------------------------------------------------------------------
    def insert_predictions(self, model: ModelConfig, rows: pa.Table) -> tuple[int, int]:
        """Insert validated rows; returns (inserted, already present with identical content).

        An id already stored with different content raises :class:`ConflictError` and the
        whole batch is rolled back.
        """
        table = self.predictions_table(model.name)
        names = rows.schema.names
        meta = rows.schema.metadata or {}
        # A novelty score depends on the reference of the moment, not on what the prediction said.
        compare = [c for c in names if (c != "ts" or meta.get(b"ts_given") != b"0") and c != "novelty"]
        # A row that was given no timestamp carries ``ts_default`` (the time of validation): its
        # time is not part of what it says, so it never conflicts with the time stored first.
        ts_default = datetime.fromisoformat(meta[b"ts_default"].decode()) if b"ts_default" in meta else None
        if rows.num_rows <= SMALL_BATCH:  # the request path: no SQL to build for the comparison below
            return self._insert_small(table, rows, compare, ts_default, _rows_in(rows))
        differs = " OR ".join(
            ("(s.ts IS DISTINCT FROM p.ts AND s.ts IS DISTINCT FROM ?::TIMESTAMP)" if c == "ts" and ts_default is not None
             else f"s.{quote_ident(c)} IS DISTINCT FROM p.{quote_ident(c)}")
            for c in compare if c != "prediction_id"
        )
        clash_params = [ts_default] if ts_default is not None and "ts" in compare else []
        col_list = ", ".join(quote_ident(c) for c in names)
        n_rows = _rows_in(rows)
        with self._writing():
            self._con.register("_staged_predictions", rows)  # outside the transaction: an aborted one refuses every statement
            try:  # optimistic: a batch of new ids is one INSERT, checked by the primary key alone
                with self.transaction() as con:
                    inserted = con.execute(f"INSERT INTO {table} ({col_list}, ingested_at) SELECT {col_list}, ? FROM _staged_predictions",
                                           [_now()]).fetchall()[0][0]
                return int(inserted), n_rows - int(inserted)
            except duckdb.ConstraintException:
                pass  # some id is stored already (a retry, or a clash): rolled back; compare, then write the new rows
            finally:
                self._con.unregister("_staged_predictions")
            return self._insert_checked(table, rows, col_list, differs, clash_params, n_rows)

    def _insert_checked(self, table: str, rows: pa.Table, col_list: str, differs: str, clash_params: list[Any],
                        n_rows: int) -> tuple[int, int]:
        """A batch of which some ids are stored: identical rows are skipped, a clash refuses the whole batch."""
        with self.transaction() as con:
            con.register("_staged_predictions", rows)
            try:
                # First the ids alone (a narrow join); the content is compared only when some
                # ids are stored already, and a batch of new ids takes a plain INSERT.
                stored = con.execute(
                    f"SELECT count(*) FROM _staged_predictions s SEMI JOIN {table} p USING (prediction_id)"
                ).fetchall()[0][0]
                if stored:
                    clash = con.execute(
                        f"SELECT s.prediction_id FROM _staged_predictions s JOIN {table} p USING (prediction_id) "
                        f"WHERE {differs} ORDER BY 1 LIMIT 50",
                        clash_params,
                    ).fetchall()
                    if clash:
                        raise _prediction_conflict([r[0] for r in clash])
                on_conflict = " ON CONFLICT DO NOTHING" if stored else ""
                inserted = con.execute(
                    f"INSERT INTO {table} ({col_list}, ingested_at) SELECT {col_list}, ? FROM _staged_predictions{on_conflict}",
                    [_now()],
                ).fetchall()[0][0]
            finally:
                con.unregister("_staged_predictions")
        return int(inserted), n_rows - int(inserted)

    def _insert_small(self, table: str, rows: pa.Table, compare: list[str], ts_default: datetime | None, n_rows: int) -> tuple[int, int]:
        """The request-path write: one parameterised INSERT, optimistic about the ids.

        Registering an Arrow table and hash-joining it with the whole prediction table costs
        milliseconds that grow with the table. Here the rows go straight into a plain INSERT;
        only if the primary key refuses it (an id is stored already: a retry, or a conflict) are
        the stored rows looked up through the key and compared. One statement is atomic, and
        the store's lock keeps the look-up and the write together (DuckDB admits one writing
        process), so no ON CONFLICT clause is needed (it doubles the cost of a one-row write).
        """
        names = rows.schema.names
        records = rows.to_pylist()
        if not records:
            return 0, n_rows
        with self._writing():
            try:
                return self._insert_values(table, names, records), n_rows - len(records)
            except duckdb.ConstraintException:
                pass  # some id is stored already: compare, then write only the new rows
            ids = [r["prediction_id"] for r in records]
            cols = _column_list(names)
            marks = ", ".join("?" for _ in ids)
            stored = {r["prediction_id"]: r for r in self.query_dicts(f"SELECT {cols} FROM {table} WHERE prediction_id IN ({marks})", ids)}
            clash = sorted({
                r["prediction_id"] for r in records if r["prediction_id"] in stored
                and any(_differs(c, r[c], stored[r["prediction_id"]][c], ts_default) for c in compare if c != "prediction_id")
            })
            if clash:
                raise _prediction_conflict(clash[:50])
            fresh = [r for r in records if r["prediction_id"] not in stored]
            inserted = self._insert_values(table, names, fresh) if fresh else 0
        return inserted, n_rows - inserted

    def _insert_values(self, table: str, names: list[str], records: list[dict[str, Any]]) -> int:
        row_marks = "(" + ", ".join("?" for _ in range(len(names) + 1)) + ")"
        now = _now()
        params = [v for r in records for v in (*(r[c] for c in names), now)]
        sql = f"INSERT INTO {table} ({_column_list(names)}, ingested_at) VALUES {', '.join(row_marks for _ in records)}"
        return int(self._con.execute(sql, params).fetchall()[0][0])

    def insert_feedback(self, model: ModelConfig, rows: pa.Table) -> tuple[int, int]:
        """Insert validated feedback; returns (inserted, already present).

        A row without ``ts`` is stamped with the time of the write; when its id is already
        stored, the stored time stands (a retry of the same event is not a different event).
        """
        names = rows.schema.names
        differs = " OR ".join(
            "(s.ts IS NOT NULL AND s.ts IS DISTINCT FROM f.ts)" if c == "ts"
            else f"s.{quote_ident(c)} IS DISTINCT FROM f.{quote_ident(c)}"
            for c in names if c != "feedback_id"
        )
        col_list = ", ".join(quote_ident(c) for c in names)
        select_list = ", ".join("coalesce(ts, ?::TIMESTAMP)" if c == "ts" else quote_ident(c) for c in names)
        with self.transaction() as con:
            con.register("_staged_feedback", rows)
            try:
                clash = con.execute(
                    "SELECT s.feedback_id FROM _staged_feedback s JOIN feedback f USING (feedback_id) "
                    f"WHERE f.model IS DISTINCT FROM ? OR {differs} LIMIT 50",
                    [model.name],
                ).fetchall()
                if clash:
                    raise ConflictError(
                        "feedback id(s) already stored with different content: " + ", ".join(repr(r[0]) for r in clash[:5]),
                        ids=[r[0] for r in clash],
                        hint="a feedback id names one event; nothing from this batch was written",
                    )
                before = con.execute("SELECT count(*) FROM feedback").fetchall()[0][0]
                now = _now()
                params: list[Any] = [model.name] + ([now] if "ts" in names else []) + [now]
                con.execute(
                    f"INSERT INTO feedback (model, {col_list}, ingested_at) SELECT ?, {select_list}, ? FROM _staged_feedback "
                    "ON CONFLICT DO NOTHING",
                    params,
                ).fetchall()
                after = con.execute("SELECT count(*) FROM feedback").fetchall()[0][0]
            finally:
                con.unregister("_staged_feedback")
        inserted = int(after - before)
        return inserted, _rows_in(rows) - inserted

    def count_predictions(self, model: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {self.predictions_table(model)}")[0][0])


def _rows_in(rows: pa.Table) -> int:
    """Rows the caller sent: copies collapsed during validation count as duplicates too."""
    given = (rows.schema.metadata or {}).get(b"rows_in")
    return max(int(given), rows.num_rows) if given else rows.num_rows
