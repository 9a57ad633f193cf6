#!/usr/bin/env python
"""Benchmark: what feedback collection rates, orphan checks and retrain exports add to a store.

``--rows`` predictions (default 1,000,000) over 10 weeks, with feedback as the course's plan
collects it (explicit ~15%, implicit for the rest, an outcome for every prediction, expert
review ~5%, and 1% of feedback events orphaned), generated in SQL from ``range()`` and
``hash()`` (deterministic) and inserted straight into the tables ``Monitor`` created. Each
figure is printed beside a baseline measured in the same run:

1. ``collection_rates`` of every week (what ``steward check`` adds per window) against
   ``compute_window_metrics`` of the same weeks without a profile (what a check pays already).
2. ``overdue_orphans`` (run once per check) against a plain ``count(*)`` of the feedback table.
3. ``export_labelled`` (label resolution + Parquet) of every labelled prediction against
   writing the bare prediction table to Parquet with pyarrow.

Timings are medians of ``--repeat`` runs (default 3); nothing asserts on time.

    .venv/bin/python benchmarks/bench_retrain.py --rows 200000     # quick
    .venv/bin/python benchmarks/bench_retrain.py                   # 1M predictions
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from modelsteward.config import StewardConfig
from modelsteward.feedback.collection import collection_rates
from modelsteward.feedback.orphans import overdue_orphans
from modelsteward.metrics.window import compute_window_metrics
from modelsteward.monitor import Monitor
from modelsteward.retrain.export import export_labelled
from modelsteward.store.duckdb_store import DuckDBStore

START = datetime(2026, 1, 5)
WEEKS = 10


def _time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    runs, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), out


def _populate(mon: Monitor, rows: int) -> None:
    table = DuckDBStore.predictions_table("tickets")
    span = WEEKS * 7 * 86400
    with mon.store.transaction() as con:
        con.execute(f"""
            INSERT INTO {table} (prediction_id, ts, model_version, prediction, confidence, latency_ms, f_category, ingested_at)
            SELECT 'p' || i, ?::TIMESTAMP + to_seconds((hash(i, 1) % {span})::BIGINT), 'v1',
                   CASE WHEN hash(i, 2) % 10 < 3 THEN 'urgent' ELSE 'routine' END,
                   0.4 + (hash(i, 3) % 600) / 1000.0, 100 + hash(i, 4) % 400,
                   CASE WHEN hash(i, 5) % 10 < 4 THEN 'technical' ELSE 'other' END, now()::TIMESTAMP
            FROM range({rows}) t(i)""", [START]).fetchall()
        con.execute(f"""
            INSERT INTO feedback (feedback_id, model, prediction_id, kind, ts, label, action, escalated, ingested_at)
            SELECT 'f' || i || '-' || k, 'tickets',
                   CASE WHEN hash(i, 9) % 100 = 0 THEN 'ghost' || i ELSE 'p' || i END,
                   k, p.ts + to_seconds(CASE k WHEN 'outcome' THEN 3600 * (1 + hash(i, 6) % 48) ELSE 300 END),
                   CASE WHEN k IN ('explicit', 'expert') THEN CASE WHEN hash(i, 7) % 2 = 0 THEN 'urgent' ELSE 'routine' END END,
                   CASE WHEN k = 'implicit' THEN 'accepted' END,
                   CASE WHEN k = 'outcome' THEN hash(i, 8) % 5 = 0 END,
                   now()::TIMESTAMP - INTERVAL 2 DAY
            FROM range({rows}) t(i)
            JOIN {table} p ON p.prediction_id = 'p' || i
            CROSS JOIN (VALUES ('explicit'), ('implicit'), ('outcome'), ('expert')) kinds(k)
            WHERE (k = 'explicit' AND hash(i, 10) % 100 < 15) OR (k = 'implicit' AND hash(i, 10) % 100 >= 15)
               OR k = 'outcome' OR (k = 'expert' AND hash(i, 11) % 100 < 5)""").fetchall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
                                                    "features": [{"name": "category", "type": "categorical"}]}]})
    with tempfile.TemporaryDirectory() as folder, Monitor(cfg, store=Path(folder) / "bench.duckdb") as mon:
        t0 = time.perf_counter()
        _populate(mon, args.rows)
        n_fb = mon.store.query("SELECT count(*) FROM feedback")[0][0]
        print(f"set-up: {args.rows:,} predictions, {n_fb:,} feedback events in {time.perf_counter() - t0:.1f} s")
        model = mon.model()
        weeks = [START + timedelta(weeks=k) for k in range(WEEKS)]
        base, _ = _time(lambda: [compute_window_metrics(mon.store, model, w, w + timedelta(weeks=1), profile=None) for w in weeks],
                        args.repeat)
        ours, rates = _time(lambda: [collection_rates(mon.store, model, w, w + timedelta(weeks=1)) for w in weeks], args.repeat)
        print(f"1. collection rates, {WEEKS} weeks: {ours:.3f} s  | baseline compute_window_metrics: {base:.3f} s  "
              f"(ratio {ours / base:.2f}); week 1 explicit rate {rates[0]['feedback.explicit_rate']:.3f}")
        base, total = _time(lambda: mon.store.query("SELECT count(*) FROM feedback")[0][0], args.repeat)
        ours, (n, _) = _time(lambda: overdue_orphans(mon.store, model), args.repeat)
        print(f"2. overdue orphans: {ours * 1000:.1f} ms ({n:,} of {total:,})  | baseline count(*): {base * 1000:.1f} ms")
        path = Path(folder) / "export.parquet"
        ours, n_rows = _time(lambda: export_labelled(mon.store, model, path), args.repeat)
        table_sql = f"SELECT * FROM {DuckDBStore.predictions_table('tickets')}"
        base, _ = _time(lambda: pq.write_table(mon.store.query_arrow(table_sql), Path(folder) / "bare.parquet"), args.repeat)
        print(f"3. export {n_rows:,} labelled rows: {ours:.2f} s ({n_rows / ours:,.0f} rows/s)  | "
              f"baseline bare table to Parquet: {base:.2f} s (ratio {ours / base:.2f})")


if __name__ == "__main__":
    main()
