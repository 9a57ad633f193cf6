"""Backup and restore round-trip a store: checked table by table, row by row, with DuckDB SQL.

The comparison never goes through the backup code: both files are attached to one plain
DuckDB connection and every table is compared as a multiset (EXCEPT ALL both ways), with its
column names and types, its keys and its indexes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import modelsteward.cli.backup  # noqa: F401  (registers `steward backup` / `steward restore`)
from modelsteward.cli import main
from modelsteward.demo import run_demo
from modelsteward.errors import BackupError
from modelsteward.server.auth import create_token, create_user
from modelsteward.store.backup import backup_path, read_manifest, restore_store
from modelsteward.store.duckdb_store import DuckDBStore, _migrations


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course lab's eight weeks (predictions, feedback, windows, drift, alerts, incidents), plus a user and a token."""
    folder = tmp_path_factory.mktemp("demo")
    result = run_demo(folder)
    with DuckDBStore(result.store) as store:
        create_user(store, "carol", "reviewer", "carol's long password")
        create_token(store, name="ingest-bot", scopes=["ingest"])
    return Path(result.store)


@pytest.fixture
def store_copy(demo_store: Path, tmp_path: Path) -> Path:
    path = tmp_path / "original.duckdb"
    shutil.copy(demo_store, path)
    return path


def _tables(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute("SELECT table_name, column_name, data_type FROM information_schema.columns "
                       "WHERE table_catalog = ? AND table_schema = 'main' ORDER BY table_name, ordinal_position", [db]).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for t, c, ty in rows:
        out.setdefault(t, []).append((c, ty))
    return out


def assert_same_store(a: Path, b: Path) -> dict[str, int]:
    """Every table of ``a`` is in ``b`` with the same columns, types, rows, keys and indexes; returns rows per table."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        ta, tb = _tables(con, "a"), _tables(con, "b")
        assert ta == tb
        counts = {}
        for table, columns in ta.items():
            cols = ", ".join(f'"{c}"' for c, _ in columns)
            n_a = con.execute(f'SELECT count(*) FROM a."{table}"').fetchall()[0][0]
            n_b = con.execute(f'SELECT count(*) FROM b."{table}"').fetchall()[0][0]
            assert n_a == n_b, table
            for x, y in (("a", "b"), ("b", "a")):
                diff = con.execute(f'SELECT count(*) FROM (SELECT {cols} FROM {x}."{table}" '
                                   f'EXCEPT ALL SELECT {cols} FROM {y}."{table}")').fetchall()
                assert diff == [(0,)], f"{table}: rows of {x} missing from {y}"
            counts[table] = n_a
        keys = "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() WHERE database_name = ? ORDER BY ALL"
        assert con.execute(keys, ["a"]).fetchall() == con.execute(keys, ["b"]).fetchall()
        indexes = "SELECT table_name, index_name, is_unique, expressions FROM duckdb_indexes() WHERE database_name = ? ORDER BY ALL"
        assert con.execute(indexes, ["a"]).fetchall() == con.execute(indexes, ["b"]).fetchall()
        return counts
    finally:
        con.close()


@pytest.mark.parametrize("kind", ["folder", "tar"])
def test_a_demo_store_round_trips_row_by_row(store_copy: Path, tmp_path: Path, kind: str):
    out = tmp_path / ("snap.tar" if kind == "tar" else "snap")
    manifest = backup_path(store_copy, out)
    restored = tmp_path / "restored" / "steward.duckdb"
    result = restore_store(out, restored)
    counts = assert_same_store(store_copy, restored)
    # The demo fills events and state alike; the per-model and bookkeeping tables are all there.
    assert counts["predictions__ticket_classifier"] == 1600 and counts["feedback"] > 0 and counts["window_metrics"] > 0
    assert counts["reference__ticket_classifier"] > 0 and counts["alerts"] > 0 and counts["api_tokens"] == 1 and counts["users"] == 1
    assert counts["schema_migrations"] == len(_migrations())
    # The manifest agrees with the original file read independently.
    assert {t.name: t.rows for t in manifest.tables} == counts
    assert result.rows == sum(counts.values()) and result.tables == len(counts) and not result.replaced
    assert manifest.schema_version == max(v for v, _, _ in _migrations())
    # The restored file opens as a store with nothing left to migrate, and its keys still refuse duplicates.
    with DuckDBStore(restored) as store:
        assert store.migrate() == []
        with pytest.raises(duckdb.ConstraintException):
            store.query("INSERT INTO predictions__ticket_classifier SELECT * FROM predictions__ticket_classifier LIMIT 1")


def test_the_manifest_describes_every_file(store_copy: Path, tmp_path: Path):
    backup_path(store_copy, tmp_path / "snap")
    raw = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert raw["format"] == "modelsteward-backup" and raw["format_version"] == 1
    assert raw["modelsteward_version"] and raw["created_at"].endswith("Z") and raw["engine"] == "duckdb"
    con = duckdb.connect(str(store_copy), read_only=True)
    try:
        catalog = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        for t in raw["tables"]:
            path = tmp_path / "snap" / t["file"]
            assert t["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert t["bytes"] == path.stat().st_size
            assert pq.ParquetFile(path).metadata.num_rows == t["rows"]
            described = con.execute(f'DESCRIBE "{t["name"]}"').fetchall()
            assert [(c["name"], c["type"]) for c in t["columns"]] == [(r[0], r[1]) for r in described]
    finally:
        con.close()
    assert {t["name"] for t in raw["tables"]} == catalog


def _tamper(folder: Path, edit) -> None:
    path = folder / "manifest.json"
    raw = json.loads(path.read_text())
    edit(raw)
    path.write_text(json.dumps(raw))


def _table(raw: dict, name: str) -> dict:
    return next(t for t in raw["tables"] if t["name"] == name)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda raw: _table(raw, "feedback").update(rows=_table(raw, "feedback")["rows"] - 1), "manifest says"),
    (lambda raw: raw.update(schema_version=999), "newer than this modelsteward"),
    (lambda raw: raw.update(format_version=2), "format_version"),
    (lambda raw: _table(raw, "alerts").update(file="../../etc/passwd"), "should be 'tables/alerts.parquet'"),
    (lambda raw: _table(raw, "alerts")["columns"][0].update(type="VARCHAR); DROP TABLE models; --"), "not a SQL type name"),
    (lambda raw: raw["tables"].pop(0) and raw["tables"].append(dict(raw["tables"][0])), "listed twice"),
    (lambda raw: _table(raw, "models").update(sha256="0" * 64), "sha256"),
])
def test_a_tampered_manifest_is_refused(store_copy: Path, tmp_path: Path, edit, expected: str):
    backup_path(store_copy, tmp_path / "snap")
    _tamper(tmp_path / "snap", edit)
    target = tmp_path / "restored.duckdb"
    with pytest.raises(BackupError) as info:
        restore_store(tmp_path / "snap", target)
    assert expected in info.value.message
    assert info.value.hint
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left behind


def test_a_corrupted_table_file_is_refused(store_copy: Path, tmp_path: Path):
    backup_path(store_copy, tmp_path / "snap")
    path = tmp_path / "snap" / "tables" / "predictions__ticket_classifier.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError) as info:
        restore_store(tmp_path / "snap", tmp_path / "restored.duckdb")
    assert "predictions__ticket_classifier" in info.value.message and "changed or damaged" in info.value.message
    assert not (tmp_path / "restored.duckdb").exists()


def test_a_file_swapped_with_its_checksum_is_caught_by_its_row_count(store_copy: Path, tmp_path: Path):
    """Someone drops a row and fixes the checksum in the manifest, but not the row count: refused."""
    snap = tmp_path / "snap"
    backup_path(store_copy, snap)
    path = snap / "tables" / "feedback.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)
    _tamper(snap, lambda raw: _table(raw, "feedback").update(sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    with pytest.raises(BackupError, match="feedback.parquet holds"):
        restore_store(snap, tmp_path / "restored.duckdb")


def test_a_tar_with_a_path_outside_the_backup_is_refused(store_copy: Path, tmp_path: Path):
    backup_path(store_copy, tmp_path / "snap")
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        tar.add(tmp_path / "snap" / "manifest.json", arcname="manifest.json")
        tar.add(tmp_path / "snap" / "manifest.json", arcname="../escaped.json")
    with pytest.raises(BackupError, match="not a plain file inside the backup"):
        restore_store(evil, tmp_path / "restored.duckdb")
    assert not (tmp_path.parent / "escaped.json").exists()


def test_a_store_with_data_is_replaced_only_with_force(store_copy: Path, tmp_path: Path, make_config):
    from modelsteward.monitor import Monitor

    backup_path(store_copy, tmp_path / "snap")
    target = tmp_path / "busy.duckdb"
    with Monitor(make_config(), store=target) as mon:
        # A store that was only opened (migrations, a registered model) counts as empty ...
        pass
    assert restore_store(tmp_path / "snap", target).replaced
    with Monitor(make_config(), store=tmp_path / "other.duckdb") as mon:
        mon.log_prediction(prediction_id="keep-me", prediction="urgent", confidence=0.9)
    other = tmp_path / "other.duckdb"
    with pytest.raises(BackupError) as info:
        restore_store(tmp_path / "snap", other)
    assert "not empty" in info.value.message and "predictions__tickets: 1" in info.value.message
    assert "--force" in (info.value.hint or "")
    con = duckdb.connect(str(other), read_only=True)
    assert con.execute("SELECT prediction_id FROM predictions__tickets").fetchall() == [("keep-me",)]
    con.close()
    result = restore_store(tmp_path / "snap", other, force=True)
    assert result.replaced
    assert_same_store(store_copy, other)  # the old tables (predictions__tickets) are gone, the backup's are there


HOLD = ("import sys, time; from modelsteward.store.duckdb_store import DuckDBStore; "
        "s = DuckDBStore(sys.argv[1]); print('ready', flush=True); time.sleep(60)")


def test_a_store_held_by_a_server_says_what_to_do(store_copy: Path, tmp_path: Path):
    backup_path(store_copy, tmp_path / "snap")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store_copy)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(BackupError) as info:
            backup_path(store_copy, tmp_path / "snap2")
        assert "in use" in info.value.message and f"PID {holder.pid}" in info.value.message
        assert "stop" in (info.value.hint or "") and "steward serve" in (info.value.hint or "")
        with pytest.raises(BackupError) as info:
            restore_store(tmp_path / "snap", store_copy, force=True)
        assert "cannot restore over" in info.value.message and "stop" in (info.value.hint or "")
        assert not (tmp_path / "snap2").exists()
    finally:
        holder.kill()
        holder.wait()


def test_a_backup_of_an_older_schema_is_restored_into_the_current_one(tmp_path: Path):
    """A store at schema version N-1 (made here with the first migrations only) restores, then is migrated."""
    old = tmp_path / "old.duckdb"
    migrations = _migrations()
    con = duckdb.connect(str(old))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")
    for version, name, sql in migrations[:-1]:
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, TIMESTAMP '2026-01-01 00:00:00')", [version, name])
    con.execute("INSERT INTO feedback VALUES ('f-1', 'tickets', 'p-1', 'explicit', TIMESTAMP '2026-01-02 00:00:00', 'urgent', "
                "NULL, NULL, NULL, NULL, NULL, NULL, NULL, TIMESTAMP '2026-01-02 00:00:00')")
    con.close()
    manifest = backup_path(old, tmp_path / "snap")
    assert manifest.schema_version == migrations[-2][0]
    result = restore_store(tmp_path / "snap", tmp_path / "new.duckdb")
    assert (result.backup_schema_version, result.schema_version) == (migrations[-2][0], migrations[-1][0])
    con = duckdb.connect(str(tmp_path / "new.duckdb"), read_only=True)
    try:
        applied = con.execute("SELECT version, applied_at = TIMESTAMP '2026-01-01 00:00:00' FROM schema_migrations ORDER BY 1").fetchall()
        assert applied == [(v, v != migrations[-1][0]) for v, _, _ in migrations]  # the newest ran at restore time
        assert con.execute("SELECT feedback_id, label FROM feedback").fetchall() == [("f-1", "urgent")]
    finally:
        con.close()


def test_the_commands_end_to_end(store_copy: Path, tmp_path: Path):
    runner = CliRunner()
    snap = tmp_path / "snap.tar"
    made = runner.invoke(main, ["backup", "--store", str(store_copy), "--out", str(snap), "--json"])
    assert made.exit_code == 0, made.output
    doc = json.loads(made.output)
    assert doc["ok"] and doc["out"] == str(snap) and tarfile.is_tarfile(snap)
    assert {t["name"]: t["rows"] for t in doc["tables"]} == {t.name: t.rows for t in read_manifest_of(snap)}
    target = tmp_path / "restored.duckdb"
    done = runner.invoke(main, ["restore", str(snap), "--store", str(target), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["rows"] == sum(t["rows"] for t in doc["tables"])
    assert_same_store(store_copy, target)
    again = runner.invoke(main, ["restore", str(snap), "--store", str(target)])
    assert again.exit_code == 2 and "not empty" in again.output and "--force" in again.output
    forced = runner.invoke(main, ["restore", str(snap), "--store", str(target), "--force"])
    assert forced.exit_code == 0 and "replaced" in forced.output
    refused = runner.invoke(main, ["backup", "--store", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path / "x"), "--json"])
    assert refused.exit_code == 2 and json.loads(refused.output)["error"] == "backup_error"


def read_manifest_of(tar_path: Path):
    folder = tar_path.parent / "unpacked"
    with tarfile.open(tar_path) as tar:
        tar.extractall(folder, filter="data")
    return read_manifest(folder).tables


class EngineNeutral:
    """A store seen only through the query interface (no DuckDB fast paths): what a PostgreSQL store offers."""

    def __init__(self, store: DuckDBStore) -> None:
        self._store = store
        self.query, self.query_arrow, self.transaction = store.query, store.query_arrow, store.transaction
        self.schema_version, self.register_model = store.schema_version, store.register_model


def test_the_engine_neutral_path_gives_the_same_store(store_copy: Path, tmp_path: Path):
    """Backup through ``query_arrow`` and restore through parameterised INSERTs: the same tables, rows and keys."""
    from modelsteward.store.backup import backup_store, load_backup

    with DuckDBStore(store_copy, read_only=True) as store:
        manifest = backup_store(EngineNeutral(store), tmp_path / "snap")
    assert manifest.engine == "EngineNeutral"
    target = tmp_path / "neutral.duckdb"
    with DuckDBStore(target) as fresh:
        load_backup(EngineNeutral(fresh), tmp_path / "snap", read_manifest(tmp_path / "snap"))
    assert_same_store(store_copy, target)


def test_rows_that_break_a_key_are_refused_and_nothing_is_replaced(store_copy: Path, tmp_path: Path):
    """A backup whose models table holds one model twice (edited, checksum fixed) cannot load: a clear error."""
    snap = tmp_path / "snap"
    backup_path(store_copy, snap)
    path = snap / "tables" / "models.parquet"
    table = pq.read_table(path)
    pq.write_table(pa.concat_tables([table, table]), path)
    rows = table.num_rows * 2
    _tamper(snap, lambda raw: _table(raw, "models").update(sha256=hashlib.sha256(path.read_bytes()).hexdigest(), rows=rows))
    with pytest.raises(BackupError) as info:
        restore_store(snap, tmp_path / "restored.duckdb")
    assert "table models" in info.value.message and "could not be loaded" in info.value.message
    assert not (tmp_path / "restored.duckdb").exists()


def test_a_backup_after_a_crash_holds_the_rows_of_the_write_ahead_log(tmp_path: Path, make_config):
    """A store whose process was SIGKILLed (rows still only in the .wal file) is backed up with those rows."""
    store = tmp_path / "crashed.duckdb"
    code = ("import os, signal, sys; from modelsteward.monitor import Monitor; from modelsteward.config import StewardConfig; "
            "mon = Monitor(StewardConfig.model_validate_json(sys.argv[2]), store=sys.argv[1]); "
            "mon.store.query(\"SET checkpoint_threshold = '1GB'\"); "
            "[mon.log_prediction(prediction_id=f'c-{i}', prediction='urgent', confidence=0.9) for i in range(25)]; "
            "os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", code, str(store), make_config().model_dump_json()], timeout=120)
    assert done.returncode == -9
    assert store.with_name("crashed.duckdb.wal").exists()
    manifest = backup_path(store, tmp_path / "snap")
    assert {t.name: t.rows for t in manifest.tables}["predictions__tickets"] == 25
    restore_store(tmp_path / "snap", tmp_path / "restored.duckdb")
    con = duckdb.connect(str(tmp_path / "restored.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*), min(prediction_id), max(prediction_id) FROM predictions__tickets").fetchall() == [
            (25, "c-0", "c-9")]
    finally:
        con.close()


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "other.duckdb"))
    con.execute("CREATE TABLE t (a INTEGER)")
    con.close()
    with pytest.raises(BackupError, match="not a modelsteward store"):
        backup_path(tmp_path / "other.duckdb", tmp_path / "snap")
    assert not (tmp_path / "snap").exists()


# -- PostgreSQL: a backup is one snapshot; a restore fills an empty database in one transaction ---------------
def _pg(url: str, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(url) as con:
        return con.execute(sql, params).fetchall()


def _pg_rows(url: str, table: str, columns: list[str]) -> list[tuple[object, ...]]:
    cols = ", ".join(f'"{c}"' for c in columns)
    return sorted(_pg(url, f'SELECT {cols} FROM "{table}"'), key=repr)


def _duck_rows(path: Path, table: str, columns: list[str]) -> list[tuple[object, ...]]:
    cols = ", ".join(f'"{c}"' for c in columns)
    con = duckdb.connect(str(path), read_only=True)
    try:
        return sorted(con.execute(f'SELECT {cols} FROM "{table}"').fetchall(), key=repr)
    finally:
        con.close()


def _pg_counts(url: str) -> dict[str, int]:
    tables = [str(r[0]) for r in _pg(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return {t: int(_pg(url, f'SELECT count(*) FROM "{t}"')[0][0]) for t in tables}  # type: ignore[arg-type]


def test_a_duckdb_backup_restores_into_postgresql_and_back(store_copy: Path, tmp_path: Path, pg_url: str):
    """DuckDB → PostgreSQL → DuckDB through the commands: every table's rows equal, read with each engine's own client."""
    runner = CliRunner()
    res = runner.invoke(main, ["backup", "--store", str(store_copy), "--out", str(tmp_path / "from-duckdb"), "--json"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["restore", str(tmp_path / "from-duckdb"), "--store", pg_url, "--json"])
    assert res.exit_code == 0, res.output
    restored = json.loads(res.output)
    con = duckdb.connect(str(store_copy), read_only=True)
    try:
        original = _tables(con, store_copy.stem)
    finally:
        con.close()
    counts = _pg_counts(pg_url)
    assert sorted(counts) == sorted(original)
    for table, columns in original.items():  # PostgreSQL's rows read with psycopg against DuckDB's read with duckdb
        names = [c for c, _ in columns]
        assert _pg_rows(pg_url, table, names) == _duck_rows(store_copy, table, names), table
    assert restored["rows"] == sum(counts.values()) and counts["predictions__ticket_classifier"] == 1600

    res = runner.invoke(main, ["backup", "--store", pg_url, "--out", str(tmp_path / "from-pg.tar"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["engine"] == "postgresql"
    back = tmp_path / "back.duckdb"
    res = runner.invoke(main, ["restore", str(tmp_path / "from-pg.tar"), "--store", str(back), "--json"])
    assert res.exit_code == 0, res.output
    assert_same_store(store_copy, back)  # columns, types, rows, keys and indexes, as DuckDB sees them

    # The restored database is a store with nothing to migrate whose keys still refuse a duplicate.
    from modelsteward.store.open import open_store

    store = open_store(pg_url)
    try:
        assert store.migrate() == []
        with pytest.raises(duckdb.ConstraintException):
            store.query("INSERT INTO predictions__ticket_classifier SELECT * FROM predictions__ticket_classifier LIMIT 1")
    finally:
        store.close()


def test_a_postgresql_backup_is_one_snapshot_while_writers_commit(store_copy: Path, tmp_path: Path, pg_url: str):
    """Rows another client commits while the backup runs (after each table) are in none of its tables, and it never waits."""
    import psycopg

    backup_path(store_copy, tmp_path / "seed")
    restore_store(tmp_path / "seed", pg_url)
    before = _pg_counts(pg_url)
    writer = psycopg.connect(pg_url, autocommit=True)
    written: list[str] = []

    def write_after_each_table(table: str, done: int, total: int) -> None:
        if done < total:
            return
        n = f"{len(written)}"  # a prediction and its feedback, committed together
        with writer.transaction():
            writer.execute("INSERT INTO predictions__ticket_classifier (prediction_id, ts, prediction, ingested_at) "
                           "VALUES (%s, now(), 'billing', now())", [f"mid-{n}"])
            writer.execute("INSERT INTO feedback (feedback_id, model, prediction_id, kind, ts, ingested_at) "
                           "VALUES (%s, 'ticket-classifier', %s, 'explicit', now(), now())", [f"fmid-{n}", f"mid-{n}"])
        written.append(n)

    try:
        manifest = backup_path(pg_url, tmp_path / "snap", progress=write_after_each_table)
    finally:
        writer.close()
    assert len(written) == len(before)  # one write committed after each table was read
    assert {t.name: t.rows for t in manifest.tables} == before
    after = _pg_counts(pg_url)
    assert after == before | {"predictions__ticket_classifier": before["predictions__ticket_classifier"] + len(written),
                              "feedback": before["feedback"] + len(written)}
    ids = pq.read_table(tmp_path / "snap" / "tables" / "feedback.parquet", columns=["feedback_id"]).column(0).to_pylist()
    assert len(ids) == before["feedback"] and not [i for i in ids if i.startswith("fmid-")]


def test_a_postgresql_restore_is_all_or_nothing(store_copy: Path, tmp_path: Path, pg_url: str):
    """A backup that fails mid-load leaves the database as it was (no tables: not even migrated); a filled one is refused."""
    snap = tmp_path / "snap"
    backup_path(store_copy, snap)
    path = snap / "tables" / "window_metrics.parquet"  # loaded after many other tables
    table = pq.read_table(path)
    pq.write_table(pa.concat_tables([table, table]), path)
    _tamper(snap, lambda raw: _table(raw, "window_metrics").update(sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                                                                   rows=table.num_rows * 2))
    with pytest.raises(BackupError, match="table window_metrics"):
        restore_store(snap, pg_url)
    assert _pg_counts(pg_url) == {}

    good = tmp_path / "good"
    backup_path(store_copy, good)
    restore_store(good, pg_url)
    counts = _pg_counts(pg_url)
    assert counts["predictions__ticket_classifier"] == 1600
    with pytest.raises(BackupError, match="is not empty") as info:
        restore_store(good, pg_url, force=True)
    assert "--force does not replace" in (info.value.hint or "")
    assert _pg_counts(pg_url) == counts
