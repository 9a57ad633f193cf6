#!/usr/bin/env python
"""Benchmark: dashboard page render time with 10 million stored predictions.

Set-up (not timed against the pages): ``--rows`` predictions (default 10,000,000) of a ticket
model with a categorical and a numeric feature, spread over 52 weekly windows, are generated in
SQL (``range()`` + ``hash()``-derived pseudo-random values, deterministic) and inserted directly
into the prediction table ``Monitor`` created, as ``bench_ingest_metrics.py`` does; one in ten
gets explicit feedback with a label (inserted the same way). The input mix and the accuracy
move from week 40 on. ``Monitor.check`` then computes the 52 windows (metrics, drift, CBPE,
alerts, incidents), its time is printed, and 200 low-confidence predictions are routed to review.

Timed: each page, requested through the application (``create_app``, an in-process client with
a signed-in session: routing, session check, store reads, template, response) ``--repeat``
times (default 5); the median and best are printed in milliseconds. Baseline, in the same run:
the same pages against a store of ``--baseline-rows`` predictions (default 10,000) built the
same way, so the ratio shows how page time grows with stored predictions (target: every page
under one second at 10M). Nothing asserts on time.

    .venv/bin/python benchmarks/bench_dashboard.py --quick      # 1M rows
    .venv/bin/python benchmarks/bench_dashboard.py              # 10M rows
    .venv/bin/python benchmarks/bench_dashboard.py --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor
from modelsteward.store.duckdb_store import DuckDBStore

MODEL = "bench"
START = datetime(2025, 1, 6)  # a Monday
WEEKS = 52
SHIFT_WEEK = 40
PAGES = ["", "/drift", "/drift/category", "/drift/length", "/drift/confidence", "/alerts", "/review", "/feedback", "/plan"]
TARGET_MS = 1000.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def make_config(folder: Path) -> StewardConfig:
    return StewardConfig.model_validate({"models": [{
        "name": MODEL, "task": "binary", "labels": ["urgent", "routine"], "positive_label": "urgent", "window": "week",
        "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}],
        "reference": {"file": str(folder / "training.parquet"), "baselines": {"accuracy": 0.88}},
        "alerts": [
            {"name": "accuracy_drop", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "severity": "high"},
            {"name": "distribution_shift", "metric": "feature.category.share.technical",
             "condition": {"kind": "change", "direction": "either", "by_more_than": 0.10, "relative": False}, "severity": "medium"},
        ],
        "review": {"conditions": [{"kind": "confidence_below", "threshold": 0.7}]},
    }]})


def write_reference(path: Path, n: int = 20_000) -> None:
    rng = np.random.default_rng(7)
    label = np.where(rng.random(n) < 0.3, "urgent", "routine")
    correct = rng.random(n) < 0.88
    pq.write_table(pa.table({
        "category": np.where(rng.random(n) < 0.4, "technical", np.where(rng.random(n) < 0.5, "billing", "other")),
        "length": rng.normal(200, 40, n).round(1), "confidence": np.sqrt(rng.random(n)).clip(0.5, 1.0), "label": label,
        "prediction": np.where(correct, label, np.where(label == "urgent", "routine", "urgent")),
    }), path)


def _u(k: int) -> str:
    """SQL: a deterministic pseudo-random uniform in [0, 1) for row ``i`` and stream ``k``."""
    return f"(hash(i * 64 + {k})::DOUBLE / 18446744073709551616.0)"


def fill(store: DuckDBStore, n: int) -> None:
    """``n`` predictions over 52 weeks, and explicit feedback for one in ten, straight into the tables."""
    table = DuckDBStore.predictions_table(MODEL)
    span_us = WEEKS * 7 * 86_400 * 1_000_000
    shift = f"(i >= {int(n * SHIFT_WEEK / WEEKS)})"
    shifted_from = f"TIMESTAMP '{START + timedelta(weeks=SHIFT_WEEK):%Y-%m-%d}'"
    ts = f"TIMESTAMP '{START:%Y-%m-%d}' + to_microseconds(((i + {_u(1)}) * {span_us / n!r})::BIGINT)"
    with store.transaction() as con:
        con.execute(f"""
            INSERT INTO {table} BY NAME
            SELECT 'p-' || i AS prediction_id, {ts} AS ts, 'v1' AS model_version,
                   CASE WHEN {_u(2)} < 0.3 THEN 'urgent' ELSE 'routine' END AS prediction,
                   0.5 + 0.5 * sqrt({_u(3)}) - CASE WHEN {shift} THEN 0.1 ELSE 0 END AS confidence,
                   exp(4 + 0.5 * sqrt(-2 * ln(1 - {_u(4)})) * cos(2 * pi() * {_u(5)})) AS latency_ms,
                   CASE WHEN {_u(0)} < 0.005 THEN 'timeout' END AS error,
                   'u-' || (hash(i * 64 + 6) % 200000) AS user_id,
                   CASE WHEN {_u(7)} < CASE WHEN {shift} THEN 0.7 ELSE 0.4 END THEN 'technical'
                        WHEN {_u(8)} < 0.5 THEN 'billing' ELSE 'other' END AS f_category,
                   200 + 40 * sqrt(-2 * ln(1 - {_u(9)})) * cos(2 * pi() * {_u(10)}) + CASE WHEN {shift} THEN 30 ELSE 0 END AS f_length,
                   TIMESTAMP '{START + timedelta(weeks=WEEKS):%Y-%m-%d}' AS ingested_at
            FROM range({n}) r(i)
        """).fetchall()
        con.execute(f"""
            INSERT INTO feedback BY NAME
            SELECT 'fb-' || p.prediction_id AS feedback_id, '{MODEL}' AS model, p.prediction_id, 'explicit' AS kind,
                   p.ts + INTERVAL 2 HOUR AS ts,
                   CASE WHEN hash(p.prediction_id || 'c') % 100 < CASE WHEN p.ts >= {shifted_from}
                        THEN 75 ELSE 88 END THEN p.prediction WHEN p.prediction = 'urgent' THEN 'routine' ELSE 'urgent' END AS label,
                   p.ingested_at
            FROM {table} p WHERE hash(p.prediction_id) % 10 = 0
        """).fetchall()


def build(folder: Path, n: int) -> tuple[StewardConfig, Path, dict[str, float]]:
    folder.mkdir(parents=True, exist_ok=True)
    write_reference(folder / "training.parquet")
    cfg = make_config(folder)
    path = folder / "steward.duckdb"
    figures: dict[str, float] = {}
    with Monitor(cfg, store=path) as mon:
        t0 = time.perf_counter()
        fill(mon.store, n)
        figures["fill_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        mon.check(until=START + timedelta(weeks=WEEKS))
        figures["check_s"] = time.perf_counter() - t0
        table = DuckDBStore.predictions_table(MODEL)
        ids = [r[0] for r in mon.store.query(f"SELECT prediction_id FROM {table} WHERE confidence < 0.7 ORDER BY ts DESC LIMIT 200")]
        for pid in ids:
            mon.route(pid)
        from modelsteward.server import auth

        auth.create_user(mon.store, "bench", "admin", "bench-password")
    return cfg, path, figures


def time_pages(cfg: StewardConfig, path: Path, repeat: int) -> dict[str, dict[str, float]]:
    import re

    from fastapi.testclient import TestClient

    from modelsteward.server.app import create_app

    out: dict[str, dict[str, float]] = {}
    with TestClient(create_app(cfg, store=path), follow_redirects=False) as client:
        form = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        signed = client.post("/login", data={"name": "bench", "password": "bench-password", "csrf_token": token.group(1), "next": "/"})
        assert signed.status_code == 303, signed.text
        for page in PAGES:
            url = f"/models/{MODEL}{page}"
            times = []
            for _ in range(repeat + 1):  # the first request warms caches (templates, plotly spec code) and is dropped
                t0 = time.perf_counter()
                answer = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
                assert answer.status_code == 200, f"{url}: {answer.status_code}"
            out[page or "/"] = {"median_ms": statistics.median(times[1:]), "best_ms": min(times[1:]), "bytes": len(answer.content)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--baseline-rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1,000,000 rows")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = 1_000_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        log(f"baseline store: {args.baseline_rows:,} predictions")
        small_cfg, small_path, small_build = build(Path(tmp) / "small", args.baseline_rows)
        small = time_pages(small_cfg, small_path, args.repeat)
        log(f"large store: {rows:,} predictions (fill, then Monitor.check over {WEEKS} windows)")
        big_cfg, big_path, big_build = build(Path(tmp) / "large", rows)
        log(f"filled in {big_build['fill_s']:.1f} s, checked in {big_build['check_s']:.1f} s; timing pages")
        big = time_pages(big_cfg, big_path, args.repeat)
    result: dict[str, Any] = {"rows": rows, "baseline_rows": args.baseline_rows, "repeat": args.repeat,
                              "build": {"baseline": small_build, "large": big_build}, "pages": {}}
    for page in big:
        result["pages"][page] = {"baseline": small[page], "large": big[page],
                                 "ratio": big[page]["median_ms"] / small[page]["median_ms"]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Dashboard page render time: {rows:,} stored predictions against {args.baseline_rows:,} (baseline), "
          f"{WEEKS} weekly windows, median of {args.repeat} requests")
    print(f"set-up: fill {big_build['fill_s']:.1f} s, Monitor.check {big_build['check_s']:.1f} s")
    print(f"{'page':<28}{'baseline ms':>12}{'10M ms' if rows == 10_000_000 else 'large ms':>10}{'best ms':>9}{'ratio':>7}  target")
    for page, r in result["pages"].items():
        ok = "ok" if r["large"]["median_ms"] < TARGET_MS else "OVER"
        print(f"{'/models/' + MODEL + ('' if page == '/' else page):<28}{r['baseline']['median_ms']:>12.1f}"
              f"{r['large']['median_ms']:>10.1f}{r['large']['best_ms']:>9.1f}{r['ratio']:>7.2f}  < {TARGET_MS:.0f} ms {ok}")


if __name__ == "__main__":
    main()
