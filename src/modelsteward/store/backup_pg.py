"""The PostgreSQL side of ``steward backup`` / ``steward restore`` (:mod:`modelsteward.store.backup`).

A backup reads every table inside one ``REPEATABLE READ``, read-only transaction of its own
connection: one snapshot of the whole database, taken while servers keep writing (they are not
blocked: it takes no lock they wait for), streamed table by table through a server-side cursor.
Column types are written to the manifest in the same SQL type names a DuckDB backup uses, so a
backup of either store restores into either.

A restore writes into an empty database in one transaction: it takes the migrations' advisory
lock (a server starting meanwhile waits, then finds the schema in place), checks the database
holds no data, runs the migrations, creates each model's tables, loads every table with ``COPY``
and checks the counts; any failure rolls all of it back, migrations included, so the database is
as it was.

>>> pg_type_name("double precision"), pg_type_name("text[]"), pg_type_name("timestamp without time zone")
('DOUBLE', 'VARCHAR[]', 'TIMESTAMP')
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa

from modelsteward.errors import BackupError
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables
from modelsteward.store.postgres_conn import PgConnection, configure_connection, copy_rows
from modelsteward.store.postgres_store import advisory_key, redact_url
from modelsteward.store.sql_translate import COMPAT_FUNCTIONS, split_statements

__all__ = ["PgTransactionStore", "pg_restore_target", "pg_snapshot", "pg_type_name"]

# PostgreSQL's type names (format_type) -> the SQL type names a backup's manifest uses (DuckDB's)
_TYPE_NAMES = {
    "text": "VARCHAR", "character varying": "VARCHAR", "double precision": "DOUBLE", "real": "FLOAT",
    "bigint": "BIGINT", "integer": "INTEGER", "smallint": "SMALLINT", "boolean": "BOOLEAN", "date": "DATE",
    "timestamp without time zone": "TIMESTAMP", "timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
    "numeric": "DOUBLE", "interval": "INTERVAL", "json": "JSON", "jsonb": "JSON",
}
# result column type oid -> Arrow type; anything else is read as text
_OID_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 700: pa.float32(), 701: pa.float64(),
    1700: pa.float64(), 25: pa.string(), 1043: pa.string(), 1042: pa.string(), 1114: pa.timestamp("us"),
    1184: pa.timestamp("us", "UTC"), 1082: pa.date32(), 1186: pa.duration("us"),
    1009: pa.list_(pa.string()), 1015: pa.list_(pa.string()), 1022: pa.list_(pa.float64()), 1016: pa.list_(pa.int64()),
}
_SETUP_TABLES = frozenset({"schema_migrations", "models", "model_columns"})


def pg_type_name(format_type: str) -> str:
    """The manifest's SQL type name for a PostgreSQL column type (arrays as ``T[]``)."""
    if format_type.endswith("[]"):
        return pg_type_name(format_type[:-2]) + "[]"
    base = format_type.split("(", 1)[0].strip()
    return _TYPE_NAMES.get(base, "VARCHAR")


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10, cursor_factory=psycopg.RawCursor,
                              options="-c timezone=UTC")
    except psycopg.Error as exc:
        shown = redact_url(url)
        raise BackupError(f"cannot open the store {shown}: {str(exc).replace(url, shown).strip()}",
                          hint="is the PostgreSQL server running, and may this user connect to the database? "
                               "(psql with the same URL tells)") from None
    configure_connection(raw)
    return raw


class PgTransactionStore(ModelTables):
    """A store whose every statement runs in one open transaction of one connection.

    ``transaction()`` inside it is a savepoint. It offers what the backup code asks of a store:
    ``query``, ``query_arrow``, ``transaction``, ``schema_version``, ``register_model``, and for
    speed ``arrow_batches`` (a server-side cursor), ``sql_columns`` and ``copy_arrow`` (``COPY``).
    """

    dialect = "postgres"
    engine_name = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any], url: str) -> None:
        self.raw = raw
        self.con = PgConnection(raw)
        self.path = redact_url(url)

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        with self.raw.transaction():
            yield self.con

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self.con.execute(sql, params).to_arrow_table()

    def schema_version(self) -> int:
        return int(self.query("SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0])

    def sql_columns(self, table: str) -> list[tuple[str, str]]:
        """(name, manifest SQL type) of a table's columns, in their order."""
        rows = self.con.execute_native(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", [quote_ident(table)]).fetchall()
        return [(str(n), pg_type_name(str(t))) for n, t in rows]

    @contextmanager
    def arrow_batches(self, sql: str, batch_rows: int) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
        """Rows of ``sql`` streamed through a server-side cursor, as Arrow batches of one schema."""
        from modelsteward.store.sql_translate import to_postgres

        with self.raw.cursor(name="steward_backup_" + uuid.uuid4().hex[:8]) as cur:
            cur.execute(to_postgres(sql))
            first = cur.fetchmany(batch_rows)
            desc = cur.description or []
            types = [_OID_ARROW.get(d.type_code, pa.string()) for d in desc]
            schema = pa.schema([pa.field(d.name, t) for d, t in zip(desc, types, strict=True)])

            def batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
                cols = list(zip(*rows, strict=True)) if rows else [() for _ in types]
                arrays = [pa.array([v if v is None or t != pa.string() or isinstance(v, str) else str(v) for v in col], type=t)
                          for col, t in zip(cols, types, strict=True)]
                return pa.RecordBatch.from_arrays(arrays, schema=schema)

            def batches() -> Iterator[pa.RecordBatch]:
                rows = first
                while rows:
                    yield batch(rows)
                    rows = cur.fetchmany(batch_rows)

            yield schema, batches()

    def copy_arrow(self, table: str, rows: pa.Table) -> None:
        """Append ``rows`` to ``table`` with ``COPY`` (columns by name)."""
        copy_rows(self.raw, quote_ident(table), rows)


@contextmanager
def pg_snapshot(url: str) -> Iterator[PgTransactionStore]:
    """The database at ``url`` as one consistent, read-only snapshot (a ``REPEATABLE READ`` transaction)."""
    raw = _connect(url)
    try:
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.read_only = True
        with raw.transaction():
            yield PgTransactionStore(raw, url)
    finally:
        raw.close()


def _filled_tables(store: PgTransactionStore) -> list[tuple[str, int]]:
    tables = [str(r[0]) for r in store.con.execute_native(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").fetchall()]
    counts = [(t, int(store.con.execute_native(f"SELECT count(*) FROM {quote_ident(t)}").fetchall()[0][0])) for t in tables]
    return [(t, n) for t, n in counts if n and t not in _SETUP_TABLES]


def _migrate(store: PgTransactionStore) -> None:
    """The numbered migrations this database lacks, inside the caller's transaction (as ``PostgresStore.migrate`` runs them)."""
    from modelsteward.store.duckdb_store import _migrations

    con = store.con
    con.execute_native("CREATE TABLE IF NOT EXISTS schema_migrations "
                       "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)")
    store.raw.execute(COMPAT_FUNCTIONS)
    done = {r[0] for r in con.execute_native("SELECT version FROM schema_migrations").fetchall()}
    for version, name, sql in _migrations():
        if version not in done:
            for statement in split_statements(sql):
                con.execute_native(statement)
            con.execute_native("INSERT INTO schema_migrations VALUES ($1, $2, now() AT TIME ZONE 'UTC')", [version, name])


@contextmanager
def pg_restore_target(url: str, force: bool) -> Iterator[PgTransactionStore]:
    """An empty, migrated PostgreSQL store inside one transaction: committed when the block ends, else rolled back.

    Refuses a database that holds data (``force`` does not apply: a PostgreSQL database is
    not replaced; drop and create it, or restore into a new one).
    """
    raw = _connect(url)
    try:
        with raw.transaction():
            store = PgTransactionStore(raw, url)
            # servers that start meanwhile wait for this transaction, then find the migrations applied
            store.con.execute_native("SELECT pg_advisory_xact_lock($1)", [advisory_key("modelsteward:migrations")])
            filled = _filled_tables(store)
            if filled:
                listed = ", ".join(f"{t}: {n}" for t, n in filled[:3])
                what = "--force does not replace a PostgreSQL database; " if force else ""
                raise BackupError(f"{store.path} is not empty ({listed}{', …' if len(filled) > 3 else ''} rows); nothing was restored",
                                  hint=f"{what}restore into an empty database (createdb steward_restored, then "
                                       "--store postgresql://.../steward_restored), or drop this one's tables first "
                                       "(back it up first with `steward backup`)")
            _migrate(store)
            yield store
    finally:
        raw.close()
