"""The PostgreSQL store's batch write: direct binary COPY, its fall-back, statistics, the ts index, session settings.

Against a real server (the ``pg_url`` fixture: a fresh database per test). Stored values are
compared with what was sent and with the previous path (``staged_ingest``: CSV into a staging
table), and counts with SQL.
"""

from __future__ import annotations

import math
import multiprocessing
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from modelsteward.config import ModelConfig
from modelsteward.errors import ConflictError
from modelsteward.records import normalise_feedback, normalise_predictions
from modelsteward.store import open_store
from modelsteward.store.postgres_conn import binary_copy_data, copy_rows
from modelsteward.store.postgres_store import MONITORING_SETTINGS, PostgresStore

T0 = datetime(2026, 3, 2, 9, 0)


def model() -> ModelConfig:
    return ModelConfig.model_validate({
        "name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
        "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}]})


def records(ids: range, **over: Any) -> list[dict[str, Any]]:
    """Rows whose content depends on the id alone (a range sent twice is the same rows); a mix of NULLs and odd strings."""
    cats = ["web", "", "mail ☃", 'quote " and, comma', None]
    return [{"prediction_id": f"p-{i:06d}", "prediction": "urgent" if i % 3 else "routine",
             "confidence": 0.5 + (i % 97) / 200, "latency_ms": None if i % 7 == 0 else (i * 37 % 1000) / 7,
             "timestamp": T0 + timedelta(seconds=i, microseconds=i * 7919 % 1_000_000),
             "user_id": None if i % 5 == 0 else f"u{i % 11}",
             "features": {"category": cats[i % len(cats)], "length": None if i % 4 == 0 else (i * 7919 % 10007) * 1.37e3 - 5e6 + 1 / 3},
             **over} for i in ids]


@pytest.fixture
def store(pg_url: str) -> Any:
    s = open_store(pg_url)
    s.register_model(model())
    yield s
    s.close()


def _stored(store: PostgresStore) -> list[tuple[Any, ...]]:
    return store.query('SELECT * EXCLUDE (ingested_at) FROM "predictions__tickets" ORDER BY prediction_id')


def test_direct_copy_stores_exactly_what_the_staged_path_stores(pg_url: str, store: PostgresStore) -> None:
    cfg = model()
    batch = normalise_predictions(records(range(500)), cfg)
    assert store.insert_predictions(cfg, batch) == (500, 0)
    direct = _stored(store)
    store.query('DELETE FROM "predictions__tickets"')
    store.staged_ingest = True
    assert store.insert_predictions(cfg, batch) == (500, 0)
    assert _stored(store) == direct
    # and both are what was sent (floats to the bit, NULLs, empty and unicode strings, microseconds)
    sent = sorted(batch.to_pylist(), key=lambda r: r["prediction_id"])
    names = [r[0] for r in store.query("DESCRIBE SELECT * EXCLUDE (ingested_at) FROM \"predictions__tickets\"")]
    got = [dict(zip(names, row, strict=True)) for row in direct]
    for s, g in zip(sent, got, strict=True):
        assert {k: g[k] for k in s} == s
    assert sum(1 for s in sent if s["f_category"] == "") == 100 and sum(1 for s in sent if s["f_category"] is None) == 100


def test_binary_encoding_matches_the_csv_path_for_every_type(pg_url: str) -> None:
    t = pa.table({
        "d": pa.array([0.1, -0.0, None, 1e308, 5e-324, math.inf], pa.float64()),
        "s": pa.array(["", None, "a\tb\nc", "\\N", "é☃", "x" * 1000]),
        "ts": pa.array([datetime(1999, 12, 31, 23, 59, 59, 999999), None, datetime(2000, 1, 1), datetime(2262, 1, 1),
                        datetime(1970, 1, 1, 0, 0, 0, 1), T0], pa.timestamp("us")),
        "b": pa.array([True, False, None, True, False, None]),
        "i": pa.array([0, -1, None, 2**62, -(2**62), 7], pa.int64()),
    })
    with psycopg.connect(pg_url, autocommit=True) as raw:
        for name in ("via_binary", "via_csv"):
            raw.execute(f"CREATE TABLE {name} (d DOUBLE PRECISION, s TEXT, ts TIMESTAMP, b BOOLEAN, i BIGINT)")
        copy_rows(raw, "via_binary", t)
        copy_rows(raw, "via_csv", t, csv=True)
        binary = raw.execute("SELECT * FROM via_binary ORDER BY i NULLS FIRST").fetchall()
        assert binary == raw.execute("SELECT * FROM via_csv ORDER BY i NULLS FIRST").fetchall()
    assert sorted(binary, key=lambda r: (r[4] is not None, r[4] or 0)) == sorted(
        (tuple(r.values()) for r in t.to_pylist()), key=lambda r: (r[4] is not None, r[4] or 0))
    assert binary_copy_data(t, ["double precision", "text", "timestamp without time zone", "boolean", "integer"]) is None


def test_a_batch_already_partly_stored_counts_duplicates_and_refuses_a_changed_row(store: PostgresStore) -> None:
    cfg = model()
    assert store.insert_predictions(cfg, normalise_predictions(records(range(0, 100)), cfg)) == (100, 0)
    # overlapping: 50 stored (identical), 50 new -> the COPY stops at the first stored id, the staged path counts
    assert store.insert_predictions(cfg, normalise_predictions(records(range(50, 150)), cfg)) == (50, 50)
    assert store.count_predictions("tickets") == 150
    changed = records(range(140, 160))
    changed[3]["confidence"] = 0.123
    with pytest.raises(ConflictError) as info:
        store.insert_predictions(cfg, normalise_predictions(changed, cfg))
    assert info.value.ids == ["p-000143"]
    assert store.count_predictions("tickets") == 150  # the 10 new rows of that batch were not written
    # a row sent without a timestamp never conflicts on time; a changed feature does
    no_ts = [{k: v for k, v in r.items() if k != "timestamp"} for r in records(range(0, 10))]
    assert store.insert_predictions(cfg, normalise_predictions(no_ts, cfg)) == (0, 10)
    moved = records(range(5, 6))
    moved[0]["features"]["length"] = 1.0 + (moved[0]["features"]["length"] or 0.0)
    with pytest.raises(ConflictError):
        store.insert_predictions(cfg, normalise_predictions(moved, cfg))


def test_feedback_takes_the_direct_path_and_falls_back_on_stored_ids(store: PostgresStore) -> None:
    cfg = model()
    fb = [{"prediction_id": f"p-{i:06d}", "feedback_id": f"f-{i}", "kind": "explicit", "label": "urgent"} for i in range(20)]
    before = datetime.utcnow() - timedelta(seconds=1)
    assert store.insert_feedback(cfg, normalise_feedback(fb, cfg)) == (20, 0)
    stamped = store.query("SELECT min(ts), max(ts), count(DISTINCT model), min(model) FROM feedback")[0]
    assert stamped[0] >= before and stamped[2] == 1 and stamped[3] == "tickets"
    assert store.insert_feedback(cfg, normalise_feedback(fb[10:] + [fb[0] | {"feedback_id": "f-new"}], cfg)) == (1, 10)
    with pytest.raises(ConflictError):
        store.insert_feedback(cfg, normalise_feedback([fb[1] | {"label": "routine"}, fb[0] | {"feedback_id": "f-x"}], cfg))
    assert store.query("SELECT count(*) FROM feedback")[0][0] == 21
    assert store.query("SELECT ts FROM feedback WHERE feedback_id = 'f-3'") == [(stamped[0],)] or \
        store.query("SELECT ts FROM feedback WHERE feedback_id = 'f-3'")[0][0] <= stamped[1]


def _send(url: str, start: int, stop: int, out: Any) -> None:
    s = open_store(url)
    try:
        cfg = model()
        total = [0, 0]
        for lo in range(start, stop, 200):  # overlapping windows of ids, in steps
            got = s.insert_predictions(cfg, normalise_predictions(records(range(lo, min(lo + 400, stop))), cfg))
            total = [total[0] + got[0], total[1] + got[1]]
        out.put(total)
    finally:
        s.close()


def test_processes_copying_overlapping_batches_store_each_row_once(pg_url: str, store: PostgresStore) -> None:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_send, args=(pg_url, 0, 2000, out)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    inserted = sum(r[0] for r in results)
    sent = sum(r[0] + r[1] for r in results)
    assert inserted == 2000 == store.count_predictions("tickets")
    assert sent == 3 * sum(min(lo + 400, 2000) - lo for lo in range(0, 2000, 200))
    assert store.query('SELECT count(DISTINCT prediction_id) FROM "predictions__tickets"')[0][0] == 2000


def test_large_ingest_refreshes_statistics_and_windows_use_the_ts_index(pg_url: str, store: PostgresStore) -> None:
    cfg = model()
    n = 120_000
    rng = np.random.default_rng(1)
    batch = normalise_predictions(pa.table({
        "prediction_id": [f"q-{i:07d}" for i in range(n)], "prediction": ["urgent"] * n,
        "confidence": rng.uniform(0.5, 1, n), "timestamp": pa.array([T0 + timedelta(seconds=i) for i in range(n)]),
        "category": ["web"] * n, "length": rng.normal(0, 1, n)}), cfg)
    assert store.insert_predictions(cfg, batch) == (n, 0)
    # ANALYZE ran after the batch: the planner knows the rows (an unanalysed table shows -1 or 0)
    assert store.query("SELECT reltuples FROM pg_class WHERE relname = 'predictions__tickets'")[0][0] == pytest.approx(n, rel=0.05)
    index = store.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'predictions__tickets' AND indexdef LIKE '%brin%'")
    assert len(index) == 1 and "(ts)" in index[0][0]
    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("SET enable_seqscan = off")  # the index can serve a window's rows, and gives the right ones
        plan = "\n".join(r[0] for r in raw.execute(
            "EXPLAIN SELECT count(*) FROM predictions__tickets WHERE ts >= %s AND ts < %s",
            [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]).fetchall())
        assert "predictions__tickets_ts_brin" in plan
        assert raw.execute("SELECT count(*) FROM predictions__tickets WHERE ts >= %s AND ts < %s",
                           [T0 + timedelta(hours=1), T0 + timedelta(hours=2)]).fetchone() == (3600,)


def test_the_monitoring_url_sets_its_session_only(pg_url: str, store: PostgresStore) -> None:
    with psycopg.connect(store.monitoring_url) as mon, psycopg.connect(pg_url) as plain:
        for name, value in MONITORING_SETTINGS.items():
            assert mon.execute(f"SHOW {name}").fetchone() == (value,)
        assert plain.execute("SHOW work_mem").fetchone() != (MONITORING_SETTINGS["work_mem"],)
    url = PostgresStore.with_settings(store.monitoring_url, {"statement_timeout": "5s"})
    with psycopg.connect(url) as con:
        assert con.execute("SHOW statement_timeout").fetchone() == ("5s",)
        assert con.execute("SHOW jit").fetchone() == ("off",)  # options already in the URL are kept


@pytest.mark.parametrize("staged", [False, True])
def test_written_ids_are_the_ids_this_write_stored_even_beside_another_server(pg_url: str, store: PostgresStore,
                                                                              staged: bool) -> None:
    """Two stores on one database (two servers): each write's written_ids() is exactly what it stored."""
    cfg = model()
    other = open_store(pg_url)
    try:
        store.staged_ingest = other.staged_ingest = staged
        assert store.written_ids() is None  # no write yet on this thread
        assert other.insert_predictions(cfg, normalise_predictions(records(range(0, 60)), cfg)) == (60, 0)
        assert other.written_ids() == {f"p-{i:06d}" for i in range(0, 60)}
        # overlapping: 40..59 were stored by the other server, 60..99 are new (the direct COPY falls back to staging)
        assert store.insert_predictions(cfg, normalise_predictions(records(range(40, 100)), cfg)) == (40, 20)
        assert store.written_ids() == {f"p-{i:06d}" for i in range(60, 100)}
        # the same batch again: nothing new
        assert store.insert_predictions(cfg, normalise_predictions(records(range(40, 100)), cfg)) == (0, 60)
        assert store.written_ids() == set()
    finally:
        other.close()
