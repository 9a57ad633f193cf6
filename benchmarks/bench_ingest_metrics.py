#!/usr/bin/env python
"""Benchmark: batch ingest into the embedded store, and weekly metrics over stored predictions.

The two figures of the issue (1 and 2), each printed beside a baseline measured in the same run
(target: within 2x), and one more for information (3):

1. Ingest. ``--rows-ingest`` predictions (default 1,000,000) with 20 features (15 numeric,
   5 categorical), generated deterministically with numpy (seeded) as one Arrow table spread over
   52 weeks, logged through ``Monitor.log_predictions`` in batches of ``--batch-size`` rows (default
   100,000: one call, one transaction per batch) into a fresh DuckDB file.
   Baselines, same rows, same batches, each into a fresh DuckDB file with a table shaped like
   the Arrow input: plain ``INSERT INTO t SELECT * FROM batch`` without a key; the same with
   ``PRIMARY KEY (prediction_id)``; and with the key plus ``ON CONFLICT DO NOTHING`` (what
   idempotent ingest needs, and what the library runs).

2. Weekly metrics. ``--rows-metrics`` predictions (default 10,000,000) over 52 weeks. To keep
   set-up time low the rows are NOT logged through the library: they are generated in SQL
   (``range()`` + ``hash()``-derived pseudo-random values, so deterministic) and inserted directly
   into the prediction table that ``Monitor`` created (with its primary key).
   ``compute_window_metrics`` over all weeks is timed against a hand-written DuckDB query of the
   same core metrics (volume, unique users, latency p50/p95/p99, mean confidence, low-confidence
   rate, class mix) grouped by week. For information it is also timed with a reference profile,
   and against a single hand-written query computing everything the library computes without a
   profile (core + per-feature missing rate and mean + category and error-type shares).
   Volumes, unique users and quantiles are checked equal (exact), means and shares to 1e-9.

3. Ingest into the populated store (after the metrics timings): one batch of ``--batch-size`` new
   rows, whose ids sort among the stored ones, logged into the store holding ``--rows-metrics``
   rows, against a plain keyed ``INSERT`` (with and without ``ON CONFLICT DO NOTHING``) of the same
   kind of batch into the same table. The idempotency check joins each batch with the stored
   table, so its cost grows with the store, which an ingest into an empty file does not show.

Every timing is the median of ``--repeat`` runs (default 3), printed with the best run and the
process CPU seconds (all threads; steadier than wall time when other work shares the machine).
Nothing asserts on wall-clock time.
Everything is written to a temporary directory that is removed at the end.

    .venv/bin/python benchmarks/bench_ingest_metrics.py --quick      # 100k / 1M rows
    .venv/bin/python benchmarks/bench_ingest_metrics.py              # 1M / 10M rows
    .venv/bin/python benchmarks/bench_ingest_metrics.py --json       # one JSON object on stdout
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from modelsteward.config import StewardConfig
from modelsteward.metrics.window import compute_window_metrics
from modelsteward.monitor import Monitor
from modelsteward.records import normalise_predictions
from modelsteward.store.duckdb_store import DuckDBStore

MODEL = "bench"
LABELS = ["urgent", "routine"]
N_NUMERIC = 15
N_CATEGORICAL = 5
WEEKS = 52
START = datetime(2025, 1, 6)  # a Monday: week windows start on Monday
END = START + timedelta(weeks=WEEKS)
LOW_CONF = 0.6  # ModelConfig.low_confidence_threshold default
TARGET_RATIO = 2.0
NUMERIC = [f"num_{k:02d}" for k in range(N_NUMERIC)]
CATEGORICAL = [f"cat_{k:02d}" for k in range(N_CATEGORICAL)]
VOCAB = [[f"c{k}_{j}" for j in range(3 + 2 * k)] for k in range(N_CATEGORICAL)]  # 3, 5, 7, 9, 11 categories


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Timing(float):
    """Wall-clock seconds (the float), with the process's CPU seconds (all threads) beside them.

    On a shared machine wall time moves with other people's load; CPU time much less so.
    """

    cpu: float

    def __new__(cls, wall: float, cpu: float) -> Timing:
        obj = super().__new__(cls, wall)
        obj.cpu = cpu
        return obj


def timed(fn: Callable[[], Any]) -> tuple[Timing, Any]:
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return Timing(time.perf_counter() - t0, time.process_time() - c0), out


def make_config(reference_file: str | None = None) -> StewardConfig:
    features = [{"name": n, "type": "numeric"} for n in NUMERIC] + [{"name": n, "type": "categorical"} for n in CATEGORICAL]
    model: dict[str, Any] = {"name": MODEL, "task": "binary", "labels": LABELS, "features": features, "window": "week"}
    if reference_file:
        model["reference"] = {"file": reference_file}
    return StewardConfig.model_validate({"models": [model]})


# -- data ----------------------------------------------------------------------------------------
def make_predictions(n: int, seed: int) -> pa.Table:
    """``n`` predictions in the input layout of ``Monitor.log_predictions``, time-ordered over 52 weeks."""
    rng = np.random.default_rng(seed)
    span_us = WEEKS * 7 * 86_400 * 1_000_000
    start_us = int((START - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    ts = start_us + np.sort(rng.integers(0, span_us, n))
    cols: dict[str, pa.Array] = {
        "prediction_id": pc.binary_join_element_wise("p-", pa.array(np.arange(n)).cast(pa.string()), ""),
        "timestamp": pa.array(ts, type=pa.timestamp("us")),
        "prediction": pc.take(pa.array(LABELS), pa.array((rng.random(n) >= 0.3).astype(np.int64))),
        "confidence": pa.array(rng.beta(5, 2, n)),
        "latency_ms": pa.array(rng.lognormal(4.0, 0.5, n)),
        "user_id": pc.binary_join_element_wise("u-", pa.array(rng.integers(0, max(1, n // 20), n)).cast(pa.string()), ""),
    }
    for k, name in enumerate(NUMERIC):
        values = rng.normal(k, 1 + k / 4, n)
        cols[name] = pa.array(values, mask=rng.random(n) < 0.01)  # ~1% missing
    for k, name in enumerate(CATEGORICAL):
        idx = pa.array(rng.integers(0, len(VOCAB[k]), n), mask=rng.random(n) < 0.01)
        cols[name] = pc.take(pa.array(VOCAB[k]), idx)
    return pa.table(cols)


def make_reference(path: Path, n: int, seed: int) -> None:
    """A training-data file (features, confidence, prediction, label) for the optional profile."""
    t = make_predictions(n, seed)
    t = t.select(["confidence", "prediction", *NUMERIC, *CATEGORICAL]).append_column("label", t.column("prediction"))
    pq.write_table(t, path)


def _u(k: int) -> str:
    """SQL: a deterministic pseudo-random uniform in [0, 1) for row ``i`` and stream ``k``."""
    return f"(hash(i * 64 + {k})::DOUBLE / 18446744073709551616.0)"


def fill_sql(table: str, n: int) -> str:
    """SQL inserting ``n`` rows in the store's layout, time-ordered over 52 weeks, ~0.5% errors."""
    span_us = WEEKS * 7 * 86_400 * 1_000_000
    err = f"{_u(0)} < 0.005"
    feats = []
    for k, name in enumerate(NUMERIC):
        feats.append(f"CASE WHEN {_u(10 + k)} < 0.01 THEN NULL ELSE {k} + ({_u(30 + k)} - 0.5) * {1 + k} END AS f_{name}")
    for k, name in enumerate(CATEGORICAL):
        vocab = "[" + ", ".join(f"'{v}'" for v in VOCAB[k]) + "]"
        feats.append(f"CASE WHEN {_u(50 + k)} < 0.01 THEN NULL ELSE {vocab}[1 + (hash(i * 64 + {56 + k}) % {len(VOCAB[k])})::INTEGER] END AS f_{name}")
    return f"""
        INSERT INTO {table} BY NAME
        SELECT 'p-' || i AS prediction_id,
               TIMESTAMP '{START:%Y-%m-%d}' + to_microseconds(((i + {_u(1)}) * {span_us / n!r})::BIGINT) AS ts,
               'v1' AS model_version,
               CASE WHEN {err} THEN NULL WHEN {_u(2)} < 0.3 THEN '{LABELS[0]}' ELSE '{LABELS[1]}' END AS prediction,
               CASE WHEN {err} THEN NULL ELSE sqrt({_u(3)}) END AS confidence,
               NULL AS probabilities,
               exp(4 + 0.5 * sqrt(-2 * ln(1 - {_u(4)})) * cos(2 * pi() * {_u(5)})) AS latency_ms,
               CASE WHEN {err} THEN 'timeout' END AS error,
               'u-' || (hash(i * 64 + 6) % 200000) AS user_id,
               NULL AS attributes,
               {', '.join(feats)},
               TIMESTAMP '{START + timedelta(weeks=WEEKS):%Y-%m-%d}' AS ingested_at
        FROM range({n}) r(i)
    """


# -- ingest --------------------------------------------------------------------------------------
def batches(table: pa.Table, size: int) -> list[pa.Table]:
    return [table.slice(off, size) for off in range(0, table.num_rows, size)]


def ingest_library(path: Path, parts: list[pa.Table]) -> Timing:
    with Monitor(make_config(), store=path) as mon:
        def run() -> int:
            n = 0
            for part in parts:
                n += mon.log_predictions(part).inserted
            return n

        seconds, inserted = timed(run)
        assert inserted == sum(p.num_rows for p in parts), inserted
        assert mon.count_predictions() == inserted
    return seconds


def ingest_library_stages(path: Path, parts: list[pa.Table]) -> dict[str, float]:
    """The two stages of ``log_predictions`` timed apart: validation, then the store's insert."""
    cfg = make_config()
    with Monitor(cfg, store=path) as mon:
        model = cfg.model()
        norm = ins = 0.0
        gc.collect()
        for part in parts:
            t0 = time.perf_counter()
            rows = normalise_predictions(part, model)
            t1 = time.perf_counter()
            mon.store.insert_predictions(model, rows)
            t2 = time.perf_counter()
            norm += t1 - t0
            ins += t2 - t1
    return {"normalise_predictions": norm, "insert_predictions": ins}


_SQL_TYPE = {pa.string(): "VARCHAR", pa.float64(): "DOUBLE", pa.timestamp("us"): "TIMESTAMP"}


def ingest_baseline(path: Path, parts: list[pa.Table], *, key: bool, on_conflict: bool) -> Timing:
    schema = parts[0].schema
    cols = ", ".join(f'"{f.name}" {_SQL_TYPE[f.type]}' for f in schema)
    con = duckdb.connect(str(path))
    try:
        con.execute(f"CREATE TABLE t ({cols}{', PRIMARY KEY (prediction_id)' if key else ''})")
        sql = "INSERT INTO t SELECT * FROM staged" + (" ON CONFLICT DO NOTHING" if on_conflict else "")

        def run() -> None:
            for part in parts:
                con.register("staged", part)
                con.execute(sql)
                con.unregister("staged")

        seconds, _ = timed(run)
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] == sum(p.num_rows for p in parts)
    finally:
        con.close()
    return seconds


def bench_ingest(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    n = args.rows_ingest
    log(f"ingest: generating {n:,} rows (numpy, seed {args.seed})")
    t_gen, table = timed(lambda: make_predictions(n, args.seed))
    parts = batches(table, args.batch_size)
    log(f"ingest: generated in {t_gen:.2f}s; {len(parts)} batch(es) of up to {args.batch_size:,} rows; {table.nbytes / 1e6:.0f} MB in Arrow")
    cases: dict[str, Callable[[Path], Timing]] = {
        "library": lambda p: ingest_library(p, parts),
        "baseline_no_key": lambda p: ingest_baseline(p, parts, key=False, on_conflict=False),
        "baseline_pk": lambda p: ingest_baseline(p, parts, key=True, on_conflict=False),
        "baseline_pk_on_conflict": lambda p: ingest_baseline(p, parts, key=True, on_conflict=True),
    }
    times: dict[str, list[Timing]] = {c: [] for c in cases}
    for r in range(args.repeat):
        for name, fn in cases.items():  # interleaved, so drift of the machine hits every case alike
            path = tmp / f"ingest-{name}-{r}.duckdb"
            s = fn(path)
            times[name].append(s)
            log(f"ingest: run {r + 1}/{args.repeat} {name:<24} {s:7.3f}s  {n / s:>12,.0f} rows/s  (cpu {s.cpu:.3f}s)")
            for f in (path, Path(str(path) + ".wal")):
                f.unlink(missing_ok=True)
    path = tmp / "ingest-stages.duckdb"
    stages = ingest_library_stages(path, parts)
    path.unlink(missing_ok=True)
    log("ingest: stages of one extra library run: " + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items()))
    results = {c: _summary(t, n) for c, t in times.items()}
    lib = results["library"]["seconds"]
    ratios = {c: lib / results[c]["seconds"] for c in cases if c != "library"}
    return {
        "rows": n,
        "features": {"numeric": N_NUMERIC, "categorical": N_CATEGORICAL},
        "batch_size": args.batch_size,
        "batches": len(parts),
        "arrow_mb": round(table.nbytes / 1e6, 1),
        "results": results,
        "ratio_library_over": ratios,
        "cpu_ratio_library_over": _cpu_ratios(results),
        "library_stages_seconds": stages,
        "within_target_vs_pk": ratios["baseline_pk"] <= TARGET_RATIO,
    }


# -- weekly metrics ------------------------------------------------------------------------------
def core_sql(table: str) -> str:
    classes = ", ".join(f"count(*) FILTER (WHERE prediction = '{lab}') AS \"n_{lab}\"" for lab in LABELS)
    return f"""
        SELECT date_trunc('week', ts) AS window_start,
               count(*) AS volume,
               count(DISTINCT user_id) AS unique_users,
               quantile_cont(latency_ms, [0.5, 0.95, 0.99]) AS latency_q,
               avg(confidence) AS mean_confidence,
               avg((confidence < {LOW_CONF})::DOUBLE) AS low_confidence_rate,
               count(prediction) AS answered,
               {classes}
        FROM {table}
        WHERE ts >= TIMESTAMP '{START:%Y-%m-%d}' AND ts < TIMESTAMP '{END:%Y-%m-%d}'
        GROUP BY 1 ORDER BY 1
    """


def full_sql(table: str) -> str:
    """One pass computing what the library computes without a profile (no feedback is stored)."""
    parts = [
        "count(*) AS volume", "count(DISTINCT user_id) AS unique_users",
        "quantile_cont(latency_ms, [0.5, 0.95, 0.99]) AS latency_q",
        "avg((error IS NOT NULL)::DOUBLE) AS error_rate", "avg(confidence) AS mean_confidence",
        f"avg((confidence < {LOW_CONF})::DOUBLE) AS low_confidence_rate", "count(prediction) AS answered",
        "histogram(prediction) AS class_counts", "histogram(error) AS error_counts",
    ]
    for name in NUMERIC:
        parts += [f"avg((f_{name} IS NULL)::DOUBLE) AS missing_{name}", f"avg(f_{name}) AS mean_{name}"]
    for name in CATEGORICAL:
        parts += [f"avg((f_{name} IS NULL)::DOUBLE) AS missing_{name}", f"histogram(f_{name}) AS counts_{name}"]
    return f"""
        SELECT date_trunc('week', ts) AS window_start, {', '.join(parts)}
        FROM {table}
        WHERE ts >= TIMESTAMP '{START:%Y-%m-%d}' AND ts < TIMESTAMP '{END:%Y-%m-%d}'
        GROUP BY 1 ORDER BY 1
    """


def check_same(lib: dict[datetime, dict[str, float | None]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Library metrics vs the hand-written query: exact for counts and quantiles, 1e-9 for means."""
    assert sorted(lib) == [r["window_start"] for r in rows], "different windows"
    exact = approx = 0
    for r in rows:
        m = lib[r["window_start"]]
        expected_exact = {
            "volume": r["volume"], "unique_users": r["unique_users"],
            "latency_p50": r["latency_q"][0], "latency_p95": r["latency_q"][1], "latency_p99": r["latency_q"][2],
        }
        for k, v in expected_exact.items():
            assert m[k] == float(v), (r["window_start"], k, m[k], v)
            exact += 1
        expected_approx = {"mean_confidence": r["mean_confidence"], "low_confidence_rate": r["low_confidence_rate"]}
        for lab in LABELS:
            expected_approx[f"class_share.{lab}"] = r[f"n_{lab}"] / r["answered"]
        for k, v in expected_approx.items():
            assert math.isclose(m[k], v, rel_tol=1e-9, abs_tol=1e-12), (r["window_start"], k, m[k], v)
            approx += 1
    return {"windows": len(rows), "exact_equal_values": exact, "close_values": approx,
            "total_volume": int(sum(r["volume"] for r in rows))}


def bench_metrics(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    n = args.rows_metrics
    ref_file = tmp / "reference.parquet"
    make_reference(ref_file, 50_000, args.seed + 1)
    cfg = make_config(str(ref_file))
    model = cfg.model()
    path = tmp / "metrics.duckdb"
    table = DuckDBStore.predictions_table(MODEL)
    with Monitor(cfg, store=path) as mon:
        store = mon.store
        log(f"metrics: filling {table} with {n:,} rows generated in SQL (direct INSERT, not via log_predictions)")
        t_fill, _ = timed(lambda: store.query(fill_sql(table, n)))
        store.query("CHECKPOINT")
        log(f"metrics: filled in {t_fill:.1f}s ({n / t_fill:,.0f} rows/s, incl. primary-key index)")
        assert mon.count_predictions() == n
        t_prof, profile = timed(lambda: mon.reference())
        log(f"metrics: reference profile built from 50,000 rows in {t_prof:.2f}s")

        cases: dict[str, Callable[[], Any]] = {
            "library": lambda: compute_window_metrics(store, model, START, END, profile=None),
            "baseline_core_sql": lambda: store.query_dicts(core_sql(table)),
            "library_with_profile": lambda: compute_window_metrics(store, model, START, END, profile=profile),
            "baseline_full_sql": lambda: store.query_dicts(full_sql(table)),
        }
        for name, fn in cases.items():  # warm-up: the first scan reads the file into the buffer pool
            s, _ = timed(fn)
            log(f"metrics: warm-up {name:<22} {s:7.3f}s")
        times: dict[str, list[Timing]] = {c: [] for c in cases}
        outputs: dict[str, Any] = {}
        for r in range(args.repeat):
            for name, fn in cases.items():
                s, outputs[name] = timed(fn)
                times[name].append(s)
                log(f"metrics: run {r + 1}/{args.repeat} {name:<22} {s:7.3f}s  {n / s:>12,.0f} rows/s  (cpu {s.cpu:.3f}s)")
        check = check_same(outputs["library"], outputs["baseline_core_sql"])
        check_profile = check_same(outputs["library_with_profile"], outputs["baseline_core_sql"])
        assert check["total_volume"] == n, check
        queries = _library_queries(store, model, profile=None)
        populated = ingest_populated(args, mon, n) if args.batch_size <= n else None
    path.unlink(missing_ok=True)
    results = {c: _summary(t, n) for c, t in times.items()}
    lib = results["library"]["seconds"]
    return {
        "rows": n,
        "weeks": WEEKS,
        "fill_seconds": round(t_fill, 2),
        "results": results,
        "ratio_library_over": {
            "baseline_core_sql": lib / results["baseline_core_sql"]["seconds"],
            "baseline_full_sql": lib / results["baseline_full_sql"]["seconds"],
        },
        "cpu_ratio_library_over": _cpu_ratios(results, ["baseline_core_sql", "baseline_full_sql"]),
        "ratio_library_with_profile_over_full_sql": results["library_with_profile"]["seconds"] / results["baseline_full_sql"]["seconds"],
        "library_queries": queries,
        "within_target_vs_core": lib / results["baseline_core_sql"]["seconds"] <= TARGET_RATIO,
        "check": check,
        "check_with_profile": check_profile,
        "ingest_into_populated_store": populated,
    }


def ingest_populated(args: argparse.Namespace, mon: Monitor, stored: int) -> dict[str, Any]:
    """One batch logged into the store that already holds ``stored`` rows, vs plain INSERTs.

    The idempotency check joins each batch with the stored table, so its cost grows with the
    store; a 1M-row ingest into an empty file does not show that. The new ids sort among the
    stored ones (``p-<k>-<tag>``), as random ids would, so no range filter can skip the scan.
    """
    size = args.batch_size
    model = mon.config.model()
    table = DuckDBStore.predictions_table(MODEL)
    con = mon.store._con  # the store's own connection: DuckDB allows one writer per file
    src = ["prediction_id", '"timestamp"', "prediction", "confidence", "latency_ms", "user_id", *NUMERIC, *CATEGORICAL]
    dst = ["prediction_id", "ts", "prediction", "confidence", "latency_ms", "user_id", *(f"f_{c}" for c in NUMERIC + CATEGORICAL)]
    rng = np.random.default_rng(args.seed + 2)

    def batch(tag: str) -> pa.Table:
        t = make_predictions(size, int(rng.integers(1 << 31)))
        k = pa.array(rng.choice(stored, size, replace=False)).cast(pa.string())
        return t.set_column(0, "prediction_id", pc.binary_join_element_wise("p-", k, f"-{tag}", ""))

    def baseline(t: pa.Table, on_conflict: bool) -> Timing:
        sql = (f"INSERT INTO {table} ({', '.join(dst)}, ingested_at) SELECT {', '.join(src)}, now()::TIMESTAMP FROM staged"
               + (" ON CONFLICT DO NOTHING" if on_conflict else ""))

        def run() -> None:
            with mon.store.transaction():
                con.register("staged", t)
                con.execute(sql).fetchall()
                con.unregister("staged")

        return timed(run)[0]

    cases: dict[str, Callable[[pa.Table], Timing]] = {
        "library": lambda t: timed(lambda: mon.log_predictions(t))[0],
        "baseline_pk": lambda t: baseline(t, False),
        "baseline_pk_on_conflict": lambda t: baseline(t, True),
    }
    times: dict[str, list[Timing]] = {c: [] for c in cases}
    for r in range(args.repeat):
        for name, fn in cases.items():
            t = batch(f"{name[:1]}{r}")
            s = fn(t)
            times[name].append(s)
            log(f"populated store: run {r + 1}/{args.repeat} {name:<24} {s:7.3f}s  {size / s:>12,.0f} rows/s  (cpu {s.cpu:.3f}s)")
    stages = _insert_stages(mon, model, batch("s"))
    log("populated store: one extra library batch: " + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items()))
    results = {c: _summary(t, size) for c, t in times.items()}
    lib = results["library"]["seconds"]
    return {
        "stored_rows": stored,
        "batch_rows": size,
        "results": results,
        "ratio_library_over": {c: lib / results[c]["seconds"] for c in cases if c != "library"},
        "cpu_ratio_library_over": _cpu_ratios(results),
        "library_stages_seconds": stages,
    }


def _insert_stages(mon: Monitor, model: Any, t: pa.Table) -> dict[str, float]:
    t0 = time.perf_counter()
    rows = normalise_predictions(t, model)
    t1 = time.perf_counter()
    mon.store.insert_predictions(model, rows)
    t2 = time.perf_counter()
    return {"normalise_predictions": t1 - t0, "insert_predictions": t2 - t1}


def _library_queries(store: DuckDBStore, model: Any, *, profile: Any) -> int:
    """How many SQL statements one ``compute_window_metrics`` call sends (each one scans the table)."""
    calls = 0
    original = store.query, store.query_dicts

    def count(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            nonlocal calls
            calls += 1
            return fn(*a, **k)
        return wrapper

    store.query, store.query_dicts = count(original[0]), count(original[1])  # type: ignore[method-assign]
    try:
        compute_window_metrics(store, model, START, END, profile=profile)
    finally:
        del store.query, store.query_dicts  # back to the class's methods
    return calls


# -- output --------------------------------------------------------------------------------------
def _cpu_ratios(results: dict[str, Any], keys: list[str] | None = None) -> dict[str, float]:
    lib = results["library"]["cpu_seconds"]
    return {k: lib / results[k]["cpu_seconds"] for k in (keys or [k for k in results if k != "library"])}


def _summary(times: list[Timing], rows: int) -> dict[str, Any]:
    med = statistics.median(times)
    return {
        "seconds": med, "rows_per_s": rows / med, "best_seconds": min(times),
        "cpu_seconds": statistics.median(t.cpu for t in times),
        "runs": [round(float(t), 4) for t in times], "cpu_runs": [round(t.cpu, 4) for t in times],
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    con = duckdb.connect()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.close()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "cpu": cpu, "ram_gb": mem,
        "python": platform.python_version(), "duckdb": duckdb.__version__, "pyarrow": pa.__version__,
        "numpy": np.__version__, "duckdb_threads": threads, "load_before": _load(),
    }


def _load() -> str | None:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return None


def print_table(out: dict[str, Any]) -> None:
    m = out["machine"]
    print(f"modelsteward benchmark, {m['date']}: {m['cpus']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, "
          f"Python {m['python']}, duckdb {m['duckdb']} ({m['duckdb_threads']} threads), pyarrow {m['pyarrow']}, "
          f"load average {m['load_before']} before / {out.get('load_after')} after")
    print(f"median of {out['repeat']} run(s); ratio = library seconds / baseline seconds (target <= {TARGET_RATIO:g}x); "
          "cpu = process CPU seconds, all threads (steadier than wall time on a shared machine)")

    def rows(title: str, results: dict[str, Any], ratios: dict[str, float], labels: dict[str, str], n: int) -> None:
        print(f"\n{title}")
        print(f"  {'case':<60} {'seconds':>8} {'best':>8} {'cpu s':>8} {'rows/s':>12} {'library/this':>13} {'(cpu)':>7}")
        lib_cpu = results["library"]["cpu_seconds"]
        for key, label in labels.items():
            r = results[key]
            ratio = f"{ratios[key]:.2f}x" if key in ratios else ""
            cpu_ratio = f"{lib_cpu / r['cpu_seconds']:.2f}x" if key in ratios else ""
            print(f"  {label:<60} {r['seconds']:8.3f} {r['best_seconds']:8.3f} {r['cpu_seconds']:8.3f} "
                  f"{n / r['seconds']:12,.0f} {ratio:>13} {cpu_ratio:>7}")

    if "ingest" in out:
        i = out["ingest"]
        rows(
            f"Ingest: {i['rows']:,} predictions, {N_NUMERIC} numeric + {N_CATEGORICAL} categorical features, "
            f"{i['batches']} batch(es) of {i['batch_size']:,} rows, fresh DuckDB file",
            i["results"], i["ratio_library_over"],
            {
                "library": "Monitor.log_predictions (validate + idempotent insert)",
                "baseline_no_key": "baseline: INSERT INTO t SELECT * FROM arrow (no key)",
                "baseline_pk": "baseline: same, t has PRIMARY KEY (prediction_id)",
                "baseline_pk_on_conflict": "baseline: same + ON CONFLICT DO NOTHING",
            },
            i["rows"],
        )
        st = i["library_stages_seconds"]
        print(f"  library stages (one extra run): normalise_predictions {st['normalise_predictions']:.3f}s, "
              f"insert_predictions {st['insert_predictions']:.3f}s")
        print(f"  within {TARGET_RATIO:g}x of the keyed baseline: {'yes' if i['within_target_vs_pk'] else 'NO'} "
              f"({i['ratio_library_over']['baseline_pk']:.2f}x)")
    if "metrics" in out:
        k = out["metrics"]
        rows(
            f"Weekly metrics: {k['rows']:,} stored predictions over {k['weeks']} weeks "
            f"(store filled in SQL in {k['fill_seconds']:.1f}s, not timed)",
            k["results"], dict(k["ratio_library_over"]),
            {
                "library": "compute_window_metrics, all weeks, no profile",
                "baseline_core_sql": "baseline: hand-written SQL, core metrics, GROUP BY week",
                "library_with_profile": "compute_window_metrics, all weeks, with reference profile",
                "baseline_full_sql": "baseline: hand-written SQL, all library metrics, one pass",
            },
            k["rows"],
        )
        print(f"  library with profile / full SQL: {k['ratio_library_with_profile_over_full_sql']:.2f}x; "
              f"one library call sends {k['library_queries']} queries")
        c = k["check"]
        print(f"  check: {c['windows']} windows, {c['exact_equal_values']} volumes/users/quantiles equal, "
              f"{c['close_values']} means/shares equal to 1e-9 (also with profile); total volume {c['total_volume']:,}")
        print(f"  within {TARGET_RATIO:g}x of the core-metrics baseline: {'yes' if k['within_target_vs_core'] else 'NO'} "
              f"({k['ratio_library_over']['baseline_core_sql']:.2f}x)")
        p = k.get("ingest_into_populated_store")
        if p:
            rows(
                f"Ingest into the populated store: one batch of {p['batch_rows']:,} new rows into the store holding "
                f"{p['stored_rows']:,} (ids interleave with stored ids)",
                p["results"], p["ratio_library_over"],
                {
                    "library": "Monitor.log_predictions",
                    "baseline_pk": "baseline: INSERT INTO <store table> SELECT ... FROM arrow",
                    "baseline_pk_on_conflict": "baseline: same + ON CONFLICT DO NOTHING",
                },
                p["batch_rows"],
            )
            st = p["library_stages_seconds"]
            print(f"  library stages (one extra batch): normalise_predictions {st['normalise_predictions']:.3f}s, "
                  f"insert_predictions {st['insert_predictions']:.3f}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows-ingest", type=int, default=None, help="rows logged in the ingest benchmark (default 1,000,000)")
    ap.add_argument("--rows-metrics", type=int, default=None, help="rows stored for the metrics benchmark (default 10,000,000)")
    ap.add_argument("--batch-size", type=int, default=100_000, help="rows per log_predictions call / baseline INSERT (default 100,000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per case; the median is reported (default 3)")
    ap.add_argument("--seed", type=int, default=20251126, help="numpy seed of the generated data")
    ap.add_argument("--quick", action="store_true", help="fast check: 100,000 ingest rows and 1,000,000 metric rows")
    ap.add_argument("--only", choices=["ingest", "metrics"], help="run one of the two benchmarks")
    ap.add_argument("--tmpdir", help="where the temporary DuckDB files go (default: the system's temp dir)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = ap.parse_args(argv)
    if args.rows_ingest is None:
        args.rows_ingest = 100_000 if args.quick else 1_000_000
    if args.rows_metrics is None:
        args.rows_metrics = 1_000_000 if args.quick else 10_000_000
    if args.repeat < 1 or args.batch_size < 1 or args.rows_ingest < 1 or args.rows_metrics < WEEKS:
        ap.error("--repeat and --batch-size must be >= 1, --rows-ingest >= 1, --rows-metrics >= 52")

    out: dict[str, Any] = {"machine": machine(), "repeat": args.repeat, "quick": args.quick}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="steward-bench-", dir=args.tmpdir) as d:
        tmp = Path(d)
        if args.only in (None, "ingest"):
            out["ingest"] = bench_ingest(args, tmp)
        if args.only in (None, "metrics"):
            out["metrics"] = bench_metrics(args, tmp)
    out["wall_seconds"] = round(time.perf_counter() - t0, 1)
    out["load_after"] = _load()
    log(f"done in {out['wall_seconds']:.0f}s")
    if args.json:
        print(json.dumps(out, default=str, indent=None))
    else:
        print_table(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
