"""A psycopg connection that answers like a DuckDB one, so modules need no per-engine branches.

:class:`PgConnection` ``.execute(sql, params)`` translates the statement
(:func:`~modelsteward.store.sql_translate.to_postgres`, cached), sends the parameters to the
server separately (``$n``, never interpolated) and returns a :class:`PgResult` with
``fetchall``/``fetchone``/``description`` and Arrow conversion. As in DuckDB, a write without
``RETURNING`` answers ``[(rows affected,)]``, a unique-key violation raises an exception that is
also a ``duckdb.ConstraintException``, ``NUMERIC`` results come back as ``int`` or ``float``, and
``register(name, arrow_table)`` makes an Arrow table queryable by name (a temporary table).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import psycopg
import psycopg.errors
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlglot
from psycopg.adapt import Dumper, Loader
from sqlglot import exp
from sqlglot.tokens import Tokenizer, TokenType

from modelsteward.errors import StoreError
from modelsteward.store.sql_translate import to_postgres

__all__ = ["PgConnection", "PgConstraintError", "PgResult", "arrow_to_pg_type", "binary_copy_data", "column_types", "configure_connection",
           "copy_rows"]

# PostgreSQL type oid -> Arrow type of a result column
_OID_ARROW: dict[int, pa.DataType] = {
    16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 700: pa.float32(), 701: pa.float64(),
    1700: pa.float64(), 25: pa.string(), 1043: pa.string(), 1042: pa.string(), 1114: pa.timestamp("us"),
    1184: pa.timestamp("us", "UTC"), 1082: pa.date32(), 1186: pa.duration("us"),
}
_DML = ("INSERT", "UPDATE", "DELETE", "MERGE")
_FILE_READER = re.compile(r"\b(read_parquet|read_csv_auto)\(\s*\?\s*\)", re.IGNORECASE)
_INSERT_TARGET = re.compile(r'^\s*INSERT\s+(?:OR\s+\w+\s+)?INTO\s+"?([A-Za-z_][A-Za-z0-9_]*)"?', re.IGNORECASE)
_UNNEST_INSERT = re.compile(r'^\s*INSERT\s+INTO\s+"?([A-Za-z_][A-Za-z0-9_]*)"?\s+SELECT\s+unnest\(\?\)', re.IGNORECASE)
_STAR_EXCLUDE = re.compile(r"\*\s*(EXCLUDE|EXCEPT)\s*\(", re.IGNORECASE)
_DESCRIBE = re.compile(r"^\s*DESCRIBE\s+(SELECT\b.*)$", re.IGNORECASE | re.DOTALL)


class PgConstraintError(duckdb.ConstraintException):
    """A key or constraint refused a write (also a ``duckdb.ConstraintException``, as modules catch that)."""


class _NumberLoader(Loader):
    """NUMERIC as DuckDB answers it: a whole number as ``int`` (``sum`` of BIGINT), else ``float``."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        if "." in text or "e" in text or "E" in text or text in ("NaN", "Infinity", "-Infinity"):
            return float(text)
        return int(text)


class _TextArray(list[Any]):
    """A list parameter of strings: sent as ``text[]`` (psycopg sends a str list untyped, and ``unnest`` of it is ambiguous)."""


class _TextArrayDumper(Dumper):
    oid = 1009  # text[]

    def dump(self, obj: Any) -> bytes:
        items = ("NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in obj)
        return ("{" + ",".join(items) + "}").encode()


def configure_connection(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)
    conn.adapters.register_dumper(_TextArray, _TextArrayDumper)


def arrow_to_pg_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "TEXT"
    if pa.types.is_floating(t):
        return "DOUBLE PRECISION"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" if t.tz is None else "TIMESTAMPTZ"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_null(t):
        return "TEXT"
    raise StoreError(f"cannot stage an Arrow column of type {t} in PostgreSQL", hint="cast it to string, float64, int64, bool or timestamp")


def _param(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        items = [_param(x) for x in v]
        if any(isinstance(x, str) for x in items) and all(x is None or isinstance(x, str) for x in items):
            return _TextArray(items)
        return items
    if isinstance(v, np.ndarray):
        return [_param(x) for x in v.tolist()]
    return v


def _params(params: Sequence[Any] | dict[str, Any] | None) -> list[Any]:
    if params is None:
        return []
    if isinstance(params, dict):
        raise StoreError("named parameters are not supported on PostgreSQL", hint="pass parameters as a list for `?` marks")
    return [_param(v) for v in params]


class PgResult:
    """Rows of one statement, fetched; the answer DuckDB's ``execute`` gives."""

    def __init__(self, rows: list[tuple[Any, ...]], description: list[tuple[Any, ...]] | None, oids: list[int]) -> None:
        self._rows = rows
        self._pos = 0
        self.description = description
        self._oids = oids

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._pos = self._rows[self._pos:], len(self._rows)
        return rows

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._pos >= len(self._rows):
            return None
        self._pos += 1
        return self._rows[self._pos - 1]

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows = self._rows[self._pos:self._pos + size]
        self._pos += len(rows)
        return rows

    def to_arrow_table(self) -> pa.Table:
        return rows_to_arrow(self._rows, [d[0] for d in self.description or []], self._oids)

    fetch_arrow_table = to_arrow_table
    arrow = to_arrow_table


def rows_to_arrow(rows: list[tuple[Any, ...]], names: list[str], oids: list[int]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for values, oid in zip(columns, oids, strict=True):
        t = _OID_ARROW.get(oid)
        vals = [float(v) if isinstance(v, Decimal) else v for v in values]
        if t is not None and pa.types.is_timestamp(t) and t.tz is not None:
            vals = [v.astimezone(_dt.UTC) if isinstance(v, _dt.datetime) else v for v in vals]
        try:
            arrays.append(pa.array(vals, type=t) if t is not None else pa.array(vals))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays.append(pa.array(vals))
    return pa.Table.from_arrays(arrays, names=names)


class PgConnection:
    """One psycopg connection, spoken to in the package's (DuckDB) SQL."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._untyped: dict[str, list[str]] = {}  # registered table -> its all-null columns (typed by their first INSERT)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> PgResult:
        values = _params(params)
        if _FILE_READER.search(sql):
            sql, values = self._stage_files(sql, values)
        if self._untyped and (target := _INSERT_TARGET.match(sql)):
            self._type_untyped(target.group(1))
        if (unnest := _UNNEST_INSERT.match(sql)) is not None:
            sql = self._typed_unnest(sql, unnest.group(1))
        if _STAR_EXCLUDE.search(sql):
            sql = self._expand_star_exclude(sql)
        describe = _DESCRIBE.match(sql)
        if describe:  # DuckDB's DESCRIBE <query>: (column name, type) of each column
            res = self.execute_native(to_postgres(f"SELECT * FROM ({describe.group(1)}) AS _d LIMIT 0"), values)
            return PgResult([(d[0], str(d[1])) for d in res.description or []], [("column_name",), ("column_type",)], [25, 25])
        return self.execute_native(to_postgres(sql), values)

    def _type_untyped(self, target: str) -> None:
        """Give a registered table's all-null columns the types of the same-named columns of the table it is inserted into.

        Arrow's null type has no PostgreSQL twin (DuckDB casts it anywhere); TEXT would refuse to
        go into a TIMESTAMP column, so the column takes the target's type before the INSERT.
        """
        from modelsteward.store.duckdb_store import quote_ident

        types = dict(self.raw.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped", [quote_ident(target)]).fetchall())
        for name, columns in self._untyped.items():
            for c in [c for c in columns if c in types]:
                self.raw.execute(f"ALTER TABLE pg_temp.{quote_ident(name)} ALTER COLUMN {quote_ident(c)} TYPE {types[c]} USING NULL")
                columns.remove(c)
        self._untyped = {k: v for k, v in self._untyped.items() if v}

    def _typed_unnest(self, sql: str, target: str) -> str:
        """``INSERT INTO t SELECT unnest(?), ...``: each list cast to its column's array type (a list of None has none)."""
        from modelsteward.store.duckdb_store import quote_ident

        types = [r[0] for r in self.raw.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum", [quote_ident(target)]).fetchall()]
        parts = re.split(r"unnest\(\?\)", sql, flags=re.IGNORECASE)
        if len(parts) - 1 > len(types):
            return sql
        return parts[0] + "".join(f"unnest(CAST(? AS {types[i]}[]))" + part for i, part in enumerate(parts[1:]))

    def _expand_star_exclude(self, sql: str) -> str:
        """``SELECT * EXCLUDE (a, b) FROM src`` -> the columns of ``src`` but those, named.

        ``src`` is a table (its columns from the catalogue) or a derived table whose select list
        names its columns.
        """
        tree = sqlglot.parse_one(sql, read="duckdb")
        for select in list(tree.find_all(exp.Select)):
            star = next((e for e in select.expressions if isinstance(e, exp.Star) and e.args.get("except")), None)
            if star is None:
                continue
            source = select.args["from"].this if select.args.get("from") else None
            if select.args.get("joins") or source is None:
                raise StoreError("SELECT * EXCLUDE over a join cannot run on PostgreSQL", hint="name the columns")
            if isinstance(source, exp.Subquery) and not any(isinstance(e, exp.Star) for e in source.this.expressions):
                columns = [e.alias_or_name for e in source.this.expressions]
            elif isinstance(source, exp.Table):
                columns = [r[0] for r in self.raw.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    [source.sql(dialect="postgres")]).fetchall()]
            else:
                raise StoreError("SELECT * EXCLUDE needs a table or a derived table with named columns on PostgreSQL",
                                 hint="name the columns")
            dropped = {c.name for c in star.args["except"]}
            at = select.expressions.index(star)
            named = [exp.column(c, quoted=True) for c in columns if c not in dropped]
            select.set("expressions", select.expressions[:at] + named + select.expressions[at + 1:])
        return tree.sql(dialect="duckdb")

    def _stage_files(self, sql: str, values: list[Any]) -> tuple[str, list[Any]]:
        """``read_parquet(?)``/``read_csv_auto(?)``: the file read by DuckDB (the embedded store's parsing), as a temporary table."""
        from modelsteward.store.duckdb_store import quote_ident

        marks = [t.start for t in Tokenizer().tokenize(sql) if t.token_type == TokenType.PLACEHOLDER and t.text == "?"]
        out, dropped, last = [], [], 0
        for m in _FILE_READER.finditer(sql):
            index = marks.index(m.start() + m.group(0).index("?"))  # the parameter inside the call
            path = str(values[index])
            name = "_file_" + hashlib.sha256(f"{m.group(1)}:{path}".encode()).hexdigest()[:16]
            con = duckdb.connect(":memory:")
            try:
                rel = con.sql(f"SELECT * FROM {m.group(1)}(?)", params=[path])
                table = rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()
            finally:
                con.close()
            self.register(name, table)
            out.append(sql[last:m.start()] + quote_ident(name))
            last = m.end()
            dropped.append(index)
        out.append(sql[last:])
        kept = [v for i, v in enumerate(values) if i not in dropped]
        return "".join(out), kept

    def execute_native(self, sql: str, params: Sequence[Any] | None = None) -> PgResult:
        """Run PostgreSQL SQL as written (``$n`` parameters)."""
        try:
            cur = self.raw.execute(sql, list(params) if params else None)
        except psycopg.errors.IntegrityError as exc:
            raise PgConstraintError(str(exc).strip()) from exc
        if cur.description is None:
            status = (cur.statusmessage or "").split(" ", 1)[0]
            return PgResult([(cur.rowcount,)] if status in _DML else [], None, [])
        description = [(c.name, c.type_code, None, None, None, None, None) for c in cur.description]
        return PgResult(cur.fetchall(), description, [c.type_code for c in cur.description])

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> PgResult:
        rows = [_params(p) for p in seq]
        if not rows:
            return PgResult([], None, [])
        try:
            with self.raw.cursor() as cur:
                cur.executemany(to_postgres(sql), rows)
        except psycopg.errors.IntegrityError as exc:
            raise PgConstraintError(str(exc).strip()) from exc
        return PgResult([], None, [])

    def register(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table queryable as ``name`` (a temporary table of this connection)."""
        from modelsteward.store.identifiers import quote_ident, quote_source_column

        # (the columns of a staged file are named by the file: `x value` is a valid column there)
        cols = ", ".join(f"{quote_source_column(f.name)} {arrow_to_pg_type(f.type)}" for f in table.schema)
        self.raw.execute(f"DROP TABLE IF EXISTS pg_temp.{quote_ident(name)}")
        self.raw.execute(f"CREATE TEMPORARY TABLE {quote_ident(name)} ({cols})")
        copy_rows(self.raw, quote_ident(name), table)
        untyped = [f.name for f in table.schema if pa.types.is_null(f.type)]
        if untyped:
            self._untyped[name] = untyped
        else:
            self._untyped.pop(name, None)

    def unregister(self, name: str) -> None:
        from modelsteward.store.duckdb_store import quote_ident

        self._untyped.pop(name, None)
        self.raw.execute(f"DROP TABLE IF EXISTS pg_temp.{quote_ident(name)}")


_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension length
_EPOCH_2000_US = 946_684_800_000_000  # PostgreSQL counts timestamps in microseconds from 2000-01-01
_TEXT_TYPES = ("text", "character varying")
_COPY_SLICE = 50_000  # rows encoded at a time for a binary COPY


def column_types(raw: psycopg.Connection[Any], quoted_table: str) -> dict[str, str]:
    """Each column of a table (or temporary table) with its type as ``format_type`` names it."""
    with psycopg.RawCursor(raw) as cur:  # `$1` whatever the connection's cursor factory
        return dict(cur.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) "
            "AND attnum > 0 AND NOT attisdropped", [quoted_table]).fetchall())


def _fixed_fields(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Fixed-width big-endian values as binary COPY fields (a length, then the bytes; a NULL is length -1 alone)."""
    n, width = len(values), values.dtype.itemsize
    fields = np.empty((n, 4 + width), np.uint8)
    fields[:, :4] = np.where(valid, width, -1).astype(">i4").view(np.uint8).reshape(n, 4)
    fields[:, 4:] = values.view(np.uint8).reshape(n, width)
    lengths = np.where(valid, 4 + width, 4)
    data = fields if valid.all() else fields[np.arange(4 + width)[None, :] < lengths[:, None]]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data))])


def _binary_fields(column: pa.Array, pg_type: str) -> pa.Array | None:
    """One column as binary COPY fields, one per row; None when its Arrow type does not match ``pg_type`` byte for byte."""
    n, t = len(column), column.type
    valid = np.ones(n, bool) if column.null_count == 0 else column.is_valid().to_numpy(zero_copy_only=False)
    if pg_type == "double precision" and pa.types.is_float64(t):
        return _fixed_fields(column.fill_null(0.0).to_numpy().astype(">f8"), valid)
    if pg_type == "timestamp without time zone" and t == pa.timestamp("us"):
        return _fixed_fields((column.cast(pa.int64()).fill_null(0).to_numpy() - _EPOCH_2000_US).astype(">i8"), valid)
    if pg_type == "bigint" and pa.types.is_int64(t):
        return _fixed_fields(column.fill_null(0).to_numpy().astype(">i8"), valid)
    if pg_type == "boolean" and pa.types.is_boolean(t):
        return _fixed_fields(column.fill_null(False).to_numpy(zero_copy_only=False).astype(np.uint8), valid)
    if pg_type in _TEXT_TYPES and (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)):
        text = column.cast(pa.large_binary()).fill_null(b"")
        lengths = pc.binary_length(column.cast(pa.large_string())).fill_null(-1).to_numpy(zero_copy_only=False).astype(">i4")
        prefix = pa.Array.from_buffers(pa.binary(4), n, [None, pa.py_buffer(lengths.view(np.uint8))]).cast(pa.large_binary())
        return pc.binary_join_element_wise(prefix, text, pa.scalar(b"", pa.large_binary()))
    return None


def binary_copy_data(table: pa.Table, pg_types: Sequence[str], *, header: bool = True, trailer: bool = True) -> bytes | None:
    """The rows of ``table`` in PostgreSQL's binary ``COPY`` format, built column by column in Arrow and numpy.

    None when a column's Arrow type is not the one its PostgreSQL column stores (the caller
    falls back to CSV). The server parses binary fields without reading numbers from text.
    Without ``header``/``trailer``: the tuples alone, to send a large table in slices.

    >>> import datetime as dt
    >>> t = pa.table({"v": [1.5, None], "s": ["a", None], "ts": [dt.datetime(2000, 1, 1, 0, 0, 1), None]})
    >>> data = binary_copy_data(t, ["double precision", "text", "timestamp without time zone"])
    >>> data[19:21], data[21:25], data[25:33].hex(), data[33:38], data[38:50].hex()
    (b'\\x00\\x03', b'\\x00\\x00\\x00\\x08', '3ff8000000000000', b'\\x00\\x00\\x00\\x01a', '0000000800000000000f4240')
    >>> data[50:], binary_copy_data(pa.table({"n": [1]}), ["integer"]) is None
    (b'\\x00\\x03\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff', True)
    """
    n = table.num_rows
    fields = [_binary_fields(c.combine_chunks(), t) for c, t in zip(table.columns, pg_types, strict=True)]
    if any(f is None for f in fields):
        return None
    count = np.full(n, len(fields), ">i2").view(np.uint8)
    tuples = pc.binary_join_element_wise(pa.Array.from_buffers(pa.binary(2), n, [None, pa.py_buffer(count)]).cast(pa.large_binary()),
                                         *fields, pa.scalar(b"", pa.large_binary()))
    offsets = np.frombuffer(tuples.buffers()[1], np.int64)[tuples.offset:tuples.offset + n + 1]
    body = tuples.buffers()[2]
    payload = body[int(offsets[0]):int(offsets[-1])].to_pybytes() if n and body is not None else b""
    return (_COPY_HEADER if header else b"") + payload + (b"\xff\xff" if trailer else b"")


def copy_rows(raw: psycopg.Connection[Any], quoted_table: str, table: pa.Table, *, csv: bool = False) -> None:
    """``COPY`` an Arrow table into ``quoted_table`` (its columns by name).

    In PostgreSQL's binary format when every column's Arrow type is the one the table stores
    (:func:`binary_copy_data`); otherwise, or with ``csv``, as CSV written by Arrow's C++
    writer (strings always quoted, so an empty string stays empty and a null, written bare,
    stays null). Either is several times faster than adapting each value in Python.
    """
    from modelsteward.store.identifiers import quote_source_column

    col_list = ", ".join(quote_source_column(c) for c in table.schema.names)  # (a staged file's own names)
    types = {} if csv else column_types(raw, quoted_table)
    pg_types = [types.get(c, "") for c in table.schema.names]
    first = binary_copy_data(table.slice(0, _COPY_SLICE), pg_types, trailer=False) if not csv else None
    if first is not None:  # the rest in slices of the same COPY: the encoded rows never all sit in memory
        with raw.cursor() as cur, cur.copy(f"COPY {quoted_table} ({col_list}) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(first)
            for at in range(_COPY_SLICE, table.num_rows, _COPY_SLICE):
                copy.write(binary_copy_data(table.slice(at, _COPY_SLICE), pg_types, header=False, trailer=False) or b"")
            copy.write(b"\xff\xff")
        return
    buffer = pa.BufferOutputStream()
    pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    with raw.cursor() as cur, cur.copy(f"COPY {quoted_table} ({col_list}) FROM STDIN WITH (FORMAT csv)") as copy:
        copy.write(buffer.getvalue().to_pybytes())
