"""``steward backup`` / ``steward restore``: a logical, engine-neutral snapshot of a store.

A backup is a folder (or one uncompressed ``.tar`` file holding the same folder)::

    manifest.json              format version, modelsteward and schema versions, created time,
                               and per table: rows, column names and types, sha256 of its file
    tables/<table>.parquet     every table of the store, as listed by the catalog (state, events,
                               per-model prediction and reference tables, schema_migrations)

The tables are read through the store's query interface, inside one transaction, so the
snapshot is consistent even while others write (a PostgreSQL store); a DuckDB file is opened
read-only, which DuckDB refuses while another process (``steward serve``) writes to it.

A restore checks the manifest and every file (sha256, row count and columns in the Parquet
footer) before anything is written, refuses a backup whose schema is newer than this code,
rebuilds the schema with the product's own code (the numbered migrations, then each model's
tables from its stored configuration, so keys and indexes come back too), loads the rows by
column name, checks every table's row count, and only then moves the new file into place
(a temporary file renamed over the target). Tables of a newer schema than the backup's stay
empty; their migrations are recorded as applied at restore time.

A PostgreSQL store (a ``postgresql://`` URL) is read as one ``REPEATABLE READ`` snapshot while
servers keep writing, and restored into an empty database in one transaction (migrations
included), so a failed restore leaves it as it was; a backup of either engine restores into
either (:mod:`modelsteward.store.backup_pg`). What depends on the engine is kept in the section
marked "engine specifics".

>>> import tempfile, pathlib
>>> from modelsteward.store.duckdb_store import DuckDBStore
>>> tmp = tempfile.TemporaryDirectory()
>>> folder = pathlib.Path(tmp.name)
>>> with DuckDBStore(folder / "a.duckdb") as store:
...     manifest = backup_store(store, folder / "snap")
>>> manifest.schema_version == code_schema_version(), "schema_migrations" in manifest.table_names()
(True, True)
>>> restore_store(folder / "snap", folder / "b.duckdb").rows == manifest.total_rows()
True
>>> tmp.cleanup()
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward.errors import BackupError, StoreError
from modelsteward.store.base import dialect
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident
from modelsteward.store.open import is_postgres_url

__all__ = [
    "FORMAT_VERSION",
    "BackupManifest",
    "RestoreResult",
    "TableEntry",
    "backup_path",
    "backup_store",
    "code_schema_version",
    "read_manifest",
    "restore_store",
]

FORMAT = "modelsteward-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH_ROWS = 50_000
# Tables a fresh store fills by itself: a store holding rows in these only is still empty.
SETUP_TABLES = frozenset({"schema_migrations", "models", "model_columns"})
_SQL_TYPE = re.compile(r"[A-Z][A-Z0-9_ ]{0,40}(\(\d{1,3}(, ?\d{1,3})?\))?(\[\])?")

Progress = Callable[[str, int, int], None]
"""``progress(table, rows_done, rows_total)``, called after each batch of rows."""


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _package_version() -> str:
    from modelsteward import __version__

    return str(__version__)


@dataclass(frozen=True)
class TableEntry:
    """One table of a backup: its file, rows, columns (name, SQL type, Arrow type) and checksum."""

    name: str
    file: str
    rows: int
    columns: list[dict[str, str]]
    sha256: str
    bytes: int

    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]


@dataclass(frozen=True)
class BackupManifest:
    """What ``manifest.json`` says (also ``steward backup --json``'s output)."""

    format_version: int
    modelsteward_version: str
    schema_version: int
    engine: str
    created_at: str
    tables: list[TableEntry] = field(default_factory=list)
    format: str = FORMAT

    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did: the store written, tables and rows loaded, migrations run after."""

    store: str
    tables: int
    rows: int
    schema_version: int
    backup_schema_version: int
    replaced: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- catalog (plain SQL through the store's query interface: DuckDB and PostgreSQL alike) ----
def list_tables(store: Any) -> list[str]:
    """Every base table of the store's current schema, by name."""
    rows = store.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_catalog = current_database() AND table_type = 'BASE TABLE' ORDER BY table_name")
    return [str(r[0]) for r in rows]


def table_columns(store: Any, table: str) -> list[tuple[str, str]]:
    """(name, SQL type) of a table's columns, in their order."""
    if hasattr(store, "sql_columns"):  # PostgreSQL: its type names written as the manifest names them
        return list(store.sql_columns(table))
    rows = store.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_catalog = current_database() AND table_name = ? ORDER BY ordinal_position", [table])
    return [(str(n), str(t)) for n, t in rows]


# -- backup ---------------------------------------------------------------------------------
def backup_store(store: Any, out: str | Path, *, progress: Progress | None = None, batch_rows: int = BATCH_ROWS) -> BackupManifest:
    """Write every table of ``store`` to ``out`` (a new folder, or a ``.tar`` file) with its manifest.

    The folder (or tar file) appears only when complete: it is written under a temporary name
    and renamed.
    """
    out = Path(out)
    if dialect(store) == "postgres" and not hasattr(store, "arrow_batches"):  # a PostgresStore: read one snapshot
        from modelsteward.store.backup_pg import pg_snapshot

        with pg_snapshot(store.url) as snapshot:
            return backup_store(snapshot, out, progress=progress, batch_rows=batch_rows)
    if out.exists() and (out.is_file() or any(out.iterdir())):
        raise BackupError(f"{out} exists and is not empty", hint="name a new folder or .tar file for the backup (--out)")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    part = work.with_name(work.name + ".part")
    try:
        (work / "tables").mkdir()
        entries: list[TableEntry] = []
        with store.transaction():  # one snapshot of every table (PostgreSQL: inside a REPEATABLE READ one)
            tables = list_tables(store)
            if "schema_migrations" not in tables:
                raise BackupError(f"{getattr(store, 'path', 'the store')} is not a modelsteward store (it has no schema_migrations table)",
                                  hint="give the store file that steward.yaml's `store:` names")
            schema_version = int(store.schema_version())
            totals = {t: int(store.query(f"SELECT count(*) FROM {quote_ident(t)}")[0][0]) for t in tables}
            for table in tables:
                entries.append(_write_table(store, table, totals[table], work, progress, batch_rows))
        manifest = BackupManifest(FORMAT_VERSION, _package_version(), schema_version, _engine_name(store),
                                  _utcnow().isoformat(timespec="seconds") + "Z", entries)
        (work / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
        if out.suffix.lower() == ".tar":
            with tarfile.open(part, "w") as tar:
                tar.add(work / MANIFEST, arcname=MANIFEST)
                for e in entries:
                    tar.add(work / e.file, arcname=e.file)
            os.replace(part, out)
        else:
            if out.exists():
                out.rmdir()  # empty: checked above
            os.replace(work, out)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _discard(part)


def _write_table(store: Any, table: str, total: int, work: Path, progress: Progress | None, batch_rows: int) -> TableEntry:
    rel = f"tables/{table}.parquet"
    path = work / rel
    columns = table_columns(store, table)
    done = 0
    with _arrow_batches(store, f"SELECT * FROM {quote_ident(table)}", batch_rows) as (schema, batches):
        schema = _plain_schema(schema)
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            for batch in batches:
                writer.write_batch(batch.cast(schema) if batch.schema != schema else batch)
                done += batch.num_rows
                if progress is not None:
                    progress(table, done, total)
    if progress is not None and total == 0:
        progress(table, 0, 0)
    if done != total:
        raise BackupError(f"table {table}: read {done} rows where count(*) said {total}",
                          hint="the store changed during the backup outside its transaction; run the backup again")
    arrow_types = {f.name: str(f.type) for f in schema}
    cols = [{"name": n, "type": t, "arrow_type": arrow_types.get(n, "")} for n, t in columns]
    return TableEntry(table, rel, done, cols, _sha256(path), path.stat().st_size)


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    """Views (string_view) become plain strings: every Parquet reader takes them."""
    fields = [pa.field(f.name, pa.string() if f.type == pa.string_view() else f.type, nullable=f.nullable) for f in schema]
    return pa.schema(fields)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def backup_path(store_path: str | Path, out: str | Path, *, progress: Progress | None = None) -> BackupManifest:
    """Back up the DuckDB file at ``store_path`` (opened read-only), or the PostgreSQL database at that URL, to ``out``."""
    if is_postgres_url(store_path):
        from modelsteward.store.backup_pg import pg_snapshot

        with pg_snapshot(str(store_path)) as snapshot:
            return backup_store(snapshot, out, progress=progress)
    store = open_for_backup(store_path)
    try:
        return backup_store(store, out, progress=progress)
    finally:
        store.close()


# -- reading and checking a backup ------------------------------------------------------------
@contextlib.contextmanager
def opened_backup(source: str | Path) -> Iterator[Path]:
    """The backup's folder: ``source`` itself, or a temporary extraction of a ``.tar`` file."""
    source = Path(source)
    if source.is_dir():
        yield source
        return
    if not source.is_file():
        raise BackupError(f"no backup at {source}", hint="give the folder or .tar file that `steward backup --out` wrote")
    try:
        tar = tarfile.open(source, "r")  # noqa: SIM115 - closed by the `with` below
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{source} is not a readable tar file: {exc}",
                          hint="give the folder or .tar file that `steward backup` wrote") from None
    with tar, tempfile.TemporaryDirectory(prefix="steward-restore-") as tmp:
        for member in tar.getmembers():
            name = member.name
            if not (member.isfile() or member.isdir()) or name.startswith("/") or ".." in Path(name).parts:
                raise BackupError(f"{source}: member {name!r} is not a plain file inside the backup",
                                  hint="this is not a backup written by `steward backup`; nothing was restored")
        tar.extractall(tmp, filter="data")
        yield Path(tmp)


def read_manifest(folder: str | Path) -> BackupManifest:
    """Parse and check ``manifest.json`` (its shape, names and versions; not yet the files)."""
    path = Path(folder) / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{path} is missing", hint="give the folder or .tar file that `steward backup` wrote") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}", hint="the manifest was damaged; use another copy of the backup") from None
    try:
        if raw.get("format") != FORMAT:
            raise ValueError(f"format is {raw.get('format')!r}, expected {FORMAT!r}")
        if raw["format_version"] != FORMAT_VERSION:
            raise ValueError(f"format_version is {raw['format_version']!r}; this modelsteward reads version {FORMAT_VERSION}")
        tables = []
        for t in raw["tables"]:
            name = str(t["name"])
            quote_ident(name)
            if t["file"] != f"tables/{name}.parquet":
                raise ValueError(f"table {name}: file {t['file']!r} should be 'tables/{name}.parquet'")
            cols = [{"name": str(c["name"]), "type": str(c["type"]), "arrow_type": str(c.get("arrow_type", ""))} for c in t["columns"]]
            for c in cols:
                quote_ident(c["name"])
                if not _SQL_TYPE.fullmatch(c["type"]):
                    raise ValueError(f"table {name}: column {c['name']} has type {c['type']!r}, not a SQL type name")
            rows = int(t["rows"])
            if rows < 0:
                raise ValueError(f"table {name}: rows is {rows}")
            tables.append(TableEntry(name, t["file"], rows, cols, str(t["sha256"]), int(t["bytes"])))
        manifest = BackupManifest(int(raw["format_version"]), str(raw["modelsteward_version"]), int(raw["schema_version"]),
                                  str(raw["engine"]), str(raw["created_at"]), tables)
    except (KeyError, TypeError, ValueError, StoreError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise BackupError(f"{path}: {what}", hint="the manifest is damaged or was edited; use another copy of the backup") from None
    if len(set(manifest.table_names())) != len(manifest.tables):
        raise BackupError(f"{path}: a table is listed twice", hint="the manifest was edited; use another copy of the backup")
    return manifest


def verify_files(folder: Path, manifest: BackupManifest) -> None:
    """Every table file matches the manifest: sha256, then row count and column names in its footer."""
    for t in manifest.tables:
        path = folder / t.file
        if not path.is_file():
            raise BackupError(f"table {t.name}: {t.file} is missing from the backup", hint="use a complete copy of the backup")
        digest = _sha256(path)
        if digest != t.sha256:
            raise BackupError(f"table {t.name}: {t.file} has sha256 {digest[:16]}…, the manifest says {t.sha256[:16]}…; "
                              "the file was changed or damaged after the backup",
                              hint="use another copy of the backup; nothing was restored")
        try:
            meta = pq.ParquetFile(path).metadata
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError) as exc:
            raise BackupError(f"table {t.name}: {t.file} is not a readable Parquet file: {exc}",
                              hint="use another copy of the backup; nothing was restored") from None
        if meta.num_rows != t.rows or names != t.column_names():
            raise BackupError(f"table {t.name}: {t.file} holds {meta.num_rows} rows with columns {names}, the manifest says "
                              f"{t.rows} rows with {t.column_names()}", hint="the manifest was edited; use another copy of the backup")


# -- restore --------------------------------------------------------------------------------
def restore_store(source: str | Path, target: str | Path, *, force: bool = False, progress: Progress | None = None) -> RestoreResult:
    """Restore the backup at ``source`` (folder or ``.tar``) into a new DuckDB file, or an empty PostgreSQL database, at ``target``.

    A DuckDB ``target`` that holds data is refused unless ``force``; it is replaced only once the
    new file is complete and its row counts checked. A PostgreSQL ``target`` (a URL) must hold no
    data; it is written in one transaction, committed only once every count is checked.
    """
    if is_postgres_url(target):
        return _restore_postgres(source, str(target), force, progress)
    target = Path(target)
    with opened_backup(source) as folder:
        manifest = _checked_backup(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        with _held_target(target, force) as replaced:
            tmp = target.with_name(f".{target.name}.restore-{uuid.uuid4().hex[:8]}")
            try:
                store = DuckDBStore(tmp)
                try:
                    notes = load_backup(store, folder, manifest, progress=progress)
                    version = store.schema_version()
                    _checkpoint(store)
                finally:
                    store.close()
                _discard(target.with_name(target.name + ".wal"))  # a stale log must not replay over the new file
                os.replace(tmp, target)
            finally:
                _discard(tmp)
                _discard(tmp.with_name(tmp.name + ".wal"))
    return RestoreResult(str(target), len(manifest.tables), manifest.total_rows(), version, manifest.schema_version, replaced, notes)


def load_backup(store: Any, folder: Path, manifest: BackupManifest, *, progress: Progress | None = None) -> list[str]:
    """Load a checked backup into a freshly migrated, empty ``store``; returns notes on what was adapted.

    Each model's tables are created by ``register_model`` from the configuration the backup
    stored (so their keys come back); a table nobody creates (a reference sample) is created
    from the manifest's column types.
    """
    from modelsteward.config import ModelConfig

    notes: list[str] = []
    entries = {t.name: t for t in manifest.tables}
    if "models" in entries:
        for config_json in pq.read_table(folder / entries["models"].file, columns=["config"]).column("config").to_pylist():
            try:
                store.register_model(ModelConfig.model_validate_json(config_json))
            except (ValueError, StoreError) as exc:
                notes.append(f"a model's stored configuration does not validate ({str(exc)[:200]}); its tables were "
                             "created from the manifest, without keys")
    existing = set(list_tables(store))
    for t in manifest.tables:
        table = quote_ident(t.name)
        if t.name not in existing:
            cols = ", ".join(f"{quote_ident(c['name'])} {c['type']}" for c in t.columns)
            store.query(f"CREATE TABLE {table} ({cols})")
        else:
            have = {n for n, _ in table_columns(store, t.name)}
            for c in t.columns:
                if c["name"] not in have:
                    store.query(f"ALTER TABLE {table} ADD COLUMN {quote_ident(c['name'])} {c['type']}")
                    notes.append(f"table {t.name}: column {c['name']} is not in this version's schema; kept as {c['type']}")
        try:
            with store.transaction() as con:
                if t.name == "schema_migrations":  # migrations newer than the backup's ran at restore time: keep them
                    store.query(f"DELETE FROM {table} WHERE version <= ?", [manifest.schema_version])
                else:
                    store.query(f"DELETE FROM {table}")
                _load_table(store, con, t, folder / t.file, progress)
        except (duckdb.Error, pa.ArrowException, *_driver_errors()) as exc:
            raise BackupError(f"table {t.name}: its rows could not be loaded: {str(exc).splitlines()[0][:300]}",
                              hint="nothing was replaced; the backup does not fit this schema (duplicate keys?)") from None
    for t in manifest.tables:
        where = " WHERE version <= ?" if t.name == "schema_migrations" else ""
        params = [manifest.schema_version] if where else []
        n = int(store.query(f"SELECT count(*) FROM {quote_ident(t.name)}{where}", params)[0][0])
        if n != t.rows:
            raise BackupError(f"table {t.name}: {n} rows restored, the manifest says {t.rows}",
                              hint="nothing was replaced; check the backup (did a table hold duplicate keys?)")
    return notes


def _load_table(store: Any, con: Any, t: TableEntry, path: Path, progress: Progress | None) -> None:
    done = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
        _insert_batch(store, con, t.name, t.column_names(), batch)
        done += batch.num_rows
        if progress is not None:
            progress(t.name, done, t.rows)
    if progress is not None and t.rows == 0:
        progress(t.name, 0, 0)


# -- engine specifics: the only code that knows which engine is below (PostgreSQL's in backup_pg) --
def _checked_backup(folder: Path) -> BackupManifest:
    manifest = read_manifest(folder)
    verify_files(folder, manifest)
    if manifest.schema_version > code_schema_version():
        raise BackupError(f"the backup has schema version {manifest.schema_version}, newer than this modelsteward's "
                          f"{code_schema_version()} (made by modelsteward {manifest.modelsteward_version})",
                          hint=f"restore it with modelsteward {manifest.modelsteward_version} or later")
    return manifest


def _restore_postgres(source: str | Path, url: str, force: bool, progress: Progress | None) -> RestoreResult:
    """Everything checked first (manifest, files, versions, an empty target), then one transaction writes it all."""
    from modelsteward.store.backup_pg import pg_restore_target

    with opened_backup(source) as folder:
        manifest = _checked_backup(folder)
        with pg_restore_target(url, force) as store:
            notes = load_backup(store, folder, manifest, progress=progress)
            version = store.schema_version()
            path = store.path
    return RestoreResult(path, len(manifest.tables), manifest.total_rows(), version, manifest.schema_version, False, notes)


def _driver_errors() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return ()
    return (psycopg.Error,)



def code_schema_version() -> int:
    """The newest migration this code knows."""
    from modelsteward.store.duckdb_store import _migrations

    return max(v for v, _, _ in _migrations())


def _engine_name(store: Any) -> str:
    return "duckdb" if isinstance(store, DuckDBStore) else str(getattr(store, "engine_name", type(store).__name__))


@contextlib.contextmanager
def _arrow_batches(store: Any, sql: str, batch_rows: int) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
    """Rows of ``sql`` as Arrow batches: streamed from DuckDB or the store's ``arrow_batches``, else whole from ``query_arrow``."""
    if hasattr(store, "arrow_batches"):
        with store.arrow_batches(sql, batch_rows) as streamed:
            yield streamed
        return
    con = getattr(store, "_con", None) if isinstance(store, DuckDBStore) else None
    if con is None:
        table = store.query_arrow(sql)
        yield table.schema, iter(table.to_batches(max_chunksize=batch_rows))
        return
    rel = con.sql(sql)
    # DuckDB 2 reads a relation into a batch reader; DuckDB 1.x fetches record batches from a result
    reader = rel.to_arrow_reader(batch_rows) if hasattr(rel, "to_arrow_reader") else con.execute(sql).fetch_record_batch(batch_rows)
    try:
        yield reader.schema, iter(reader)
    finally:
        for _ in reader:  # drain: DuckDB allows no new query while a result is open
            pass


def _insert_batch(store: Any, con: Any, table: str, columns: list[str], batch: pa.RecordBatch) -> None:
    cols = ", ".join(quote_ident(c) for c in columns)
    if isinstance(store, DuckDBStore):
        con.register("_restore_batch", pa.Table.from_batches([batch]))
        try:
            con.execute(f"INSERT INTO {quote_ident(table)} ({cols}) SELECT {cols} FROM _restore_batch").fetchall()
        finally:
            con.unregister("_restore_batch")
        return
    if hasattr(store, "copy_arrow"):
        store.copy_arrow(table, pa.Table.from_batches([batch]).select(columns))
        return
    rows = batch.to_pylist()
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        store.query(f"INSERT INTO {quote_ident(table)} ({cols}) VALUES {', '.join(marks for _ in chunk)}",
                    [r[c] for r in chunk for c in columns])


def _checkpoint(store: Any) -> None:
    if isinstance(store, DuckDBStore):
        store.query("CHECKPOINT")  # everything in the main file: the rename moves one complete file


def _locked_hint(path: Path) -> str:
    return (f"stop the process that has it open (a running `steward serve` on {path}), run this again, then start it; "
            "DuckDB lets no other process open a file while one writes to it. To keep serving, restore to a new path "
            "(--store) and point `store:` in steward.yaml at it when you restart. A PostgreSQL store is backed up while it serves.")


def open_for_backup(store_path: str | Path) -> DuckDBStore:
    """Open a DuckDB file read-only for a backup; a file in use by a server gets a message that says what to do."""
    path = Path(store_path)
    if not path.is_file():
        raise BackupError(f"no store at {path}", hint="give the store file (--store) or a steward.yaml whose `store:` names it (-c)")
    try:
        return DuckDBStore(path, read_only=True)
    except StoreError as exc:
        raise _open_error(f"cannot read the store {path}", path, exc) from None


def _open_error(doing: str, path: Path, exc: StoreError) -> BackupError:
    text = str(exc.message)
    if "lock" not in text.lower():
        return BackupError(f"{doing}: {text.splitlines()[0][:300]}", hint=f"is {path} a modelsteward store (a DuckDB file)?")
    m = re.search(r"PID \d+", text)
    who = f"{m.group(0)} holds its lock" if m else "another process holds its lock"
    return BackupError(f"{doing}: it is in use ({who})", hint=_locked_hint(path))


@contextlib.contextmanager
def _held_target(target: Path, force: bool) -> Iterator[bool]:
    """Check the target is free (and empty, unless ``force``) and hold it read-only until the rename.

    Holding the file keeps a server from opening it meanwhile; yields whether a store is replaced.
    """
    if not target.exists():
        yield False
        return
    try:
        store = DuckDBStore(target, read_only=True)
    except StoreError as exc:
        raise _open_error(f"cannot restore over {target}", target, exc) from None
    try:
        filled = [(t, n) for t in list_tables(store) if t not in SETUP_TABLES
                  for n in [int(store.query(f"SELECT count(*) FROM {quote_ident(t)}")[0][0])] if n]
        if filled and not force:
            listed = ", ".join(f"{t}: {n}" for t, n in filled[:3])
            raise BackupError(f"{target} is not empty ({listed}{', …' if len(filled) > 3 else ''} rows)",
                              hint="restore into a new path (--store new.duckdb), or pass --force to replace this store "
                                   "(its content is lost: back it up first with `steward backup`)")
        yield True  # held until the rename is done: a server cannot open the file meanwhile
    finally:
        store.close()


def _discard(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
