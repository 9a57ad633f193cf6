"""The PostgreSQL store against a real server: migrations, models, idempotent ingest, the query interface.

Every test gets a fresh database (the ``pg_url`` fixture); results are compared with the same
operation on the embedded DuckDB store, or with values computed by hand.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import psycopg
import pyarrow as pa
import pytest

from modelsteward.config import ModelConfig
from modelsteward.errors import ConflictError, StoreError
from modelsteward.records import normalise_feedback, normalise_predictions
from modelsteward.store import open_store
from modelsteward.store.duckdb_store import DuckDBStore, _migrations
from modelsteward.store.postgres_store import PostgresStore, redact_url
from modelsteward.store.sql_translate import to_postgres

T0 = datetime(2026, 3, 2, 9, 0)


def model(**over: Any) -> ModelConfig:
    base: dict[str, Any] = {"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
                            "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}]}
    base.update(over)
    return ModelConfig.model_validate(base)


def rows(cfg: ModelConfig, ids: range, **over: Any) -> pa.Table:
    return normalise_predictions([{"prediction_id": f"p-{i}", "prediction": "urgent", "confidence": 0.5 + i / 10_000,
                                   "timestamp": T0 + timedelta(minutes=i), "features": {"category": "web", "length": float(i)},
                                   **over} for i in ids], cfg)


@pytest.fixture
def store(pg_url: str) -> Any:
    s = open_store(pg_url)
    yield s
    s.close()


def test_open_store_picks_the_engine_by_url(pg_url: str, tmp_path: Any) -> None:
    pg = open_store(pg_url)
    try:
        assert isinstance(pg, PostgresStore)
    finally:
        pg.close()
    assert isinstance(open_store(tmp_path / "s.duckdb"), DuckDBStore)


def test_migrations_create_the_same_tables_and_columns_as_duckdb(store: PostgresStore, pg_url: str) -> None:
    assert store.schema_version() == max(v for v, _, _ in _migrations())
    assert sorted(r[0] for r in store.query("SELECT version FROM schema_migrations")) == [v for v, _, _ in _migrations()]
    duck = DuckDBStore(":memory:")
    q = "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = {} ORDER BY 1, 2"
    want = set(duck.query(q.format("'main'")))
    have = set(store.query(q.format("current_schema()")))
    assert have == want
    assert store.migrate() == []  # nothing left to apply


def test_servers_starting_together_apply_each_migration_once(pg_url: str) -> None:
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(PostgresStore(pg_url))
        except BaseException as exc:  # noqa: BLE001  reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = opened[0].query("SELECT version, count(*) FROM schema_migrations GROUP BY 1 ORDER BY 1")
    assert versions == [(v, 1) for v, _, _ in _migrations()]
    for s in opened:
        s.close()


def test_register_model_types_columns_and_refuses_a_changed_type(store: PostgresStore) -> None:
    store.register_model(model())
    cols = dict(store.query("SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = 'predictions__tickets'"))
    assert cols["f_length"] == "double precision" and cols["f_category"] == "text"
    assert cols["ts"] == "timestamp without time zone" and cols["novelty"] == "double precision"
    store.register_model(model(features=[{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"},
                                         {"name": "age", "type": "numeric"}]))
    assert store.query("SELECT count(*) FROM information_schema.columns WHERE table_name = 'predictions__tickets' "
                       "AND column_name = 'f_age'")[0][0] == 1
    with pytest.raises(StoreError, match="was numeric and is now categorical"):
        store.register_model(model(features=[{"name": "length", "type": "categorical"}]))


def test_insert_predictions_is_idempotent_and_refuses_changed_content(store: PostgresStore) -> None:
    cfg = model()
    store.register_model(cfg)
    assert store.insert_predictions(cfg, rows(cfg, range(100))) == (100, 0)
    assert store.insert_predictions(cfg, rows(cfg, range(50, 150))) == (50, 50)  # half of it a retry
    assert store.count_predictions("tickets") == 150
    with pytest.raises(ConflictError) as caught:
        store.insert_predictions(cfg, rows(cfg, range(140, 160), prediction="routine"))
    assert caught.value.ids == [f"p-{i}" for i in sorted(range(140, 150), key=lambda i: f"p-{i}")]
    assert store.count_predictions("tickets") == 150  # nothing from the refused batch
    # the stored rows read back exactly as written
    back = store.query_arrow('SELECT prediction_id, ts, confidence, f_length FROM "predictions__tickets" ORDER BY ts')
    assert back.column("ts").to_pylist() == [T0 + timedelta(minutes=i) for i in range(150)]
    assert back.column("confidence").to_pylist() == pytest.approx([0.5 + i / 10_000 for i in range(150)])
    assert back.schema.field("ts").type == pa.timestamp("us")


def test_insert_feedback_is_idempotent_and_refuses_changed_content(store: PostgresStore) -> None:
    cfg = model()
    store.register_model(cfg)
    fb = normalise_feedback([{"feedback_id": f"f-{i}", "prediction_id": f"p-{i}", "kind": "explicit", "label": "urgent"}
                             for i in range(10)], cfg)
    assert store.insert_feedback(cfg, fb) == (10, 0)
    assert store.insert_feedback(cfg, fb) == (0, 10)
    changed = normalise_feedback([{"feedback_id": "f-3", "prediction_id": "p-3", "kind": "explicit", "label": "routine"}], cfg)
    with pytest.raises(ConflictError, match="f-3"):
        store.insert_feedback(cfg, changed)
    assert store.query("SELECT label, count(*) FROM feedback GROUP BY 1") == [("urgent", 10)]


def test_concurrent_batches_sharing_ids_count_each_row_once(store: PostgresStore) -> None:
    cfg = model()
    store.register_model(cfg)
    batches = [rows(cfg, range(k * 300, k * 300 + 600)) for k in range(6)]  # each overlaps the next by half
    results: list[tuple[int, int]] = []

    def write(b: pa.Table) -> None:
        results.append(store.insert_predictions(cfg, b))

    threads = [threading.Thread(target=write, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    distinct = 6 * 300 + 300
    assert sum(r[0] for r in results) == distinct
    assert sum(r[1] for r in results) == 6 * 600 - distinct
    assert store.query('SELECT count(*), count(DISTINCT prediction_id) FROM "predictions__tickets"')[0] == (distinct, distinct)


def test_query_interface_answers_like_duckdb(store: PostgresStore) -> None:
    duck = DuckDBStore(":memory:")
    for s in (duck, store):
        s.query("CREATE TABLE t (k VARCHAR, v DOUBLE, n BIGINT, ts TIMESTAMP, ok BOOLEAN)")
        assert s.query("INSERT INTO t VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)",
                       ["a", 1.5, 2, T0, True, "b", None, 3, T0 + timedelta(hours=1), False]) == [(2,)]
    sql = "SELECT k, v, n, ts, ok, sum(n) OVER () AS total, avg(n) OVER () AS mean, n / 2 AS half FROM t ORDER BY k"
    agg = "SELECT quantile_cont(n, 0.5), median(n), sum(n), count(*) FILTER (WHERE ok), epoch(max(ts) - min(ts)) FROM t"
    assert store.query(agg) == duck.query(agg) == [(2.5, 2.5, 5, 1, 3600.0)]
    assert store.query(sql) == duck.query(sql)
    assert store.query_dicts(sql) == duck.query_dicts(sql)
    want, got = duck.query_arrow(sql), store.query_arrow(sql)
    assert got.to_pylist() == want.to_pylist()
    assert [got.schema.field(c).type for c in ("k", "v", "ts", "ok")] == [pa.string(), pa.float64(), pa.timestamp("us"), pa.bool_()]
    empty = store.query_arrow("SELECT k, v, ts FROM t WHERE false")
    assert empty.num_rows == 0 and empty.schema.field("ts").type == pa.timestamp("us")


def test_a_failed_transaction_writes_nothing_and_keys_raise_constraint_errors(store: PostgresStore) -> None:
    store.query("CREATE TABLE t (k VARCHAR PRIMARY KEY)")
    with pytest.raises(RuntimeError), store.transaction() as con:
        con.execute("INSERT INTO t VALUES (?)", ["a"])
        raise RuntimeError("boom")
    assert store.query("SELECT count(*) FROM t") == [(0,)]
    store.query("INSERT INTO t VALUES (?)", ["a"])
    with pytest.raises(duckdb.ConstraintException):  # what modules catch, whatever the engine
        store.query("INSERT INTO t VALUES (?)", ["a"])


def test_parameters_are_sent_apart_never_interpolated(store: PostgresStore) -> None:
    nasty = "x'); DROP TABLE models; -- %s $1 ?"
    assert "DROP" not in to_postgres("SELECT ?, ?")
    store.query("CREATE TABLE t (k VARCHAR)")
    store.query("INSERT INTO t VALUES (?)", [nasty])
    assert store.query("SELECT k FROM t WHERE k = ?", [nasty]) == [(nasty,)]
    assert store.query("SELECT count(*) FROM models") == [(0,)]  # still there
    # the statement PostgreSQL saw carries a placeholder, not the value
    with psycopg.connect(store.url) as con:
        seen = con.execute("SELECT query FROM pg_stat_activity WHERE datname = current_database()").fetchall()
    assert not any(nasty in (q or "") for (q,) in seen)


def test_identifiers_are_validated(store: PostgresStore) -> None:
    with pytest.raises(StoreError, match="invalid SQL identifier"):
        store.predictions_table('x"; DROP TABLE models; --')
    with pytest.raises(StoreError, match="invalid SQL identifier"):
        store.insert_predictions(model(), pa.table({'bad"col': ["x"]}))


def test_translated_duckdb_constructs_give_duckdb_results(store: PostgresStore) -> None:
    """ASOF join, JSON paths over VARCHAR, list parameters, QUALIFY: same rows as DuckDB on the same data."""
    duck = DuckDBStore(":memory:")
    rng = np.random.default_rng(7)
    a, b = sorted(rng.normal(size=40).round(3).tolist()), sorted(rng.normal(size=30).round(3).tolist())
    for s in (duck, store):
        s.query("CREATE TABLE l (v DOUBLE)")
        s.query("CREATE TABLE r (v DOUBLE, cum BIGINT)")
        s.query("CREATE TABLE j (k VARCHAR, doc VARCHAR)")
        with s.transaction() as con:
            con.executemany("INSERT INTO l VALUES (?)", [[x] for x in a])
            con.executemany("INSERT INTO r VALUES (?, ?)", [[x, i + 1] for i, x in enumerate(b)])
            con.executemany("INSERT INTO j VALUES (?, ?)", [["a", '{"tier": "gold", "n": 2, "my key": "x"}'], ["b", '{"tier": null}']])
    statements = [
        ("SELECT l.v, coalesce(r.cum, 0) AS cum FROM l ASOF LEFT JOIN r ON l.v >= r.v ORDER BY l.v", []),
        ("SELECT k, json_extract_string(doc, '$.tier'), json_extract_string(doc, '$.\"' || ? || '\"') FROM j ORDER BY k", ["my key"]),
        ("SELECT k FROM j WHERE list_contains(?, k) ORDER BY k", [["b", "c"]]),
        ("SELECT k, v FROM (SELECT 'x' AS k, 1 AS v UNION ALL SELECT 'x', 2 UNION ALL SELECT 'y', 3) "
         "QUALIFY row_number() OVER (PARTITION BY k ORDER BY v DESC) = 1 ORDER BY k", []),
    ]
    for sql, params in statements:
        assert store.query(sql, params) == duck.query(sql, params), sql


def test_seeded_samples_are_repeatable_and_bounded(store: PostgresStore) -> None:
    store.query("CREATE TABLE t AS SELECT generate_series AS i FROM generate_series(1, 500)")
    sql = "SELECT i FROM t USING SAMPLE reservoir(50 ROWS) REPEATABLE ({})"
    one, again, other = store.query(sql.format(1)), store.query(sql.format(1)), store.query(sql.format(2))
    assert len(one) == 50 and len({r[0] for r in one}) == 50
    assert one == again and one != other
    assert len(store.query("SELECT i FROM t WHERE i <= 20 USING SAMPLE reservoir(50 ROWS) REPEATABLE (1)")) == 20


def test_the_password_never_shows(pg_url: str) -> None:
    assert redact_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    with pytest.raises(StoreError) as caught:
        PostgresStore("postgresql://nobody:topsecret@127.0.0.1:1/none?connect_timeout=1")
    assert "topsecret" not in str(caught.value) and "***" in str(caught.value)
