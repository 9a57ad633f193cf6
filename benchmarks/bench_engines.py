#!/usr/bin/env python
"""Benchmark: the same monitoring on each engine, at growing row counts.

For each N (default 1M and 10M; ``--with-100m`` adds 100M) predictions with 20 features
(15 numeric, 5 categorical; ~1% missing; 10% labelled by expert feedback), spread over four
weeks, and for each engine:

* **ingest**: rows a second into the engine's storage. ``duckdb`` logs through
  ``Monitor.log_predictions`` into a DuckDB file (validation, idempotency key);
  ``parquet`` (read by ``duckdb-parquet`` and ``spark``) appends through
  ``write_parquet_log`` (the same validation) to the date-partitioned Parquet log;
  ``postgres`` logs through ``Monitor.log_predictions`` into a PostgreSQL store (only when
  ``STEWARD_TEST_PG_URL`` or ``--pg-url`` names a server, and only up to ``--pg-max-rows``);
* **weekly metrics**: ``engine_window_metrics`` over the four weeks (every window metric:
  volume, users, latency percentiles, errors, confidence, data quality, shares, confusion);
* **drift report**: ``engine_window_drift`` of the last week (N/4 rows) against a 100,000-row
  reference: KS, Wasserstein, PSI on 15 numeric features and the confidence, chi-square and
  total variation on 5 categorical features, the predicted class and the label;
* **peak memory**: the largest resident set of the child process that does the work, with
  every process it started (the JVM, for Spark), sampled every 50 ms, per phase.

Memory caps (the ``engine:`` settings a deployment would use): ``--duckdb-memory-limit``
(``engine.memory_limit``, default 1GB; ``none`` for DuckDB's own 80% of RAM) is set on the
store's DuckDB before ingest and on the in-process DuckDB over Parquet; ``--spark-driver-memory``
(``engine.driver_memory``, default 2g) sizes the JVM.

Each (engine, N) runs in a fresh child process. Baselines in the same run: the weekly metrics
are also timed the way they ran before the counts were fused (one query per categorical column
and one for the confusion counts: ``metrics_per_column_s``), beside the queries of each pass;
for ``duckdb`` the drift report is also timed through the hand-written SQL path
(``_window_drift_sql``), which the Ibis expressions replaced. Nothing asserts on time. Growth
with rows is printed as the ratio of each time to the time at the smallest N, beside the ratio
of rows.

Disk: the data is written in chunks of 500,000 rows (no N is ever held in memory); before each
N the script checks the free space of ``--tmpdir`` against about 115 bytes a row for the DuckDB
store, 90 for the Parquet log and 150 for PostgreSQL (100M with every engine: about 21 GB, plus
what DuckDB spills beyond its memory limit) and stops if it is short.

    .venv/bin/python benchmarks/bench_engines.py --rows 1000000            # quick
    .venv/bin/python benchmarks/bench_engines.py                           # 1M and 10M
    .venv/bin/python benchmarks/bench_engines.py --engines duckdb spark --json
    .venv/bin/python benchmarks/bench_engines.py --rows 1000000 --with-100m --engines duckdb duckdb-parquet spark \
        --tmpdir /big/disk --json > bench-100m.json   # the 100M run (hours; about 21 GB)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

START = datetime(2026, 1, 5)  # a Monday
WEEKS = 4
LABELS = ["urgent", "routine"]
NUMERIC = [f"n{i:02d}" for i in range(15)]
CATEGORICAL = [f"c{i}" for i in range(5)]
VOCAB = [[f"v{k}_{j}" for j in range(4 + 3 * k)] for k in range(5)]
CHUNK = 500_000
ENGINES = ["duckdb", "duckdb-parquet", "spark", "postgres"]


# -- data -------------------------------------------------------------------------------------
def chunk(i: int, n: int, total: int, *, shift: float = 0.0) -> pa.Table:
    """Rows ``i*CHUNK .. i*CHUNK+n`` of ``total``: time-ordered over four weeks, seeded by chunk."""
    rng = np.random.default_rng(1000 + i)
    span_us = WEEKS * 7 * 86_400 * 1_000_000
    base = int((START - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    first = i * CHUNK
    ts = base + ((np.arange(first, first + n, dtype=np.float64) + rng.random(n)) * (span_us / total)).astype(np.int64)
    late = (ts - base) > 3 * span_us / WEEKS  # the last week drifts
    cols: dict[str, Any] = {
        "prediction_id": pc.binary_join_element_wise("p-", pa.array(np.arange(first, first + n)).cast(pa.string()), ""),
        "timestamp": pa.array(ts, type=pa.timestamp("us")),
        "prediction": pc.take(pa.array(LABELS), pa.array((rng.random(n) >= 0.3).astype(np.int64))),
        "confidence": pa.array(np.round(rng.beta(5, 2, n), 4)),
        "latency_ms": pa.array(np.round(rng.lognormal(4.0, 0.5, n), 2)),
        "user_id": pc.binary_join_element_wise("u-", pa.array(rng.integers(0, max(1, total // 20), n)).cast(pa.string()), ""),
    }
    for k, name in enumerate(NUMERIC):
        values = np.round(rng.normal(k + np.where(late, shift, 0.0), 1 + k / 4, n), 3)
        cols[name] = pa.array(values, mask=rng.random(n) < 0.01)
    for k, name in enumerate(CATEGORICAL):
        cols[name] = pc.take(pa.array(VOCAB[k]), pa.array(rng.integers(0, len(VOCAB[k]), n), mask=rng.random(n) < 0.01))
    return pa.table(cols)


def chunks(total: int) -> Any:
    for i in range((total + CHUNK - 1) // CHUNK):
        yield chunk(i, min(CHUNK, total - i * CHUNK), total, shift=0.3)


def feedback_of(t: pa.Table) -> pa.Table:
    """Expert labels for every tenth prediction (85% agree with it)."""
    ids = t.column("prediction_id").to_numpy(zero_copy_only=False)[::10]
    pred = t.column("prediction").to_numpy(zero_copy_only=False)[::10]
    flip = np.random.default_rng(len(ids)).random(len(ids)) < 0.15
    label = np.where(flip, np.where(pred == "urgent", "routine", "urgent"), pred)
    ts = pc.add(t.column("timestamp").combine_chunks()[::10], pa.scalar(timedelta(hours=1)))
    return pa.table({"prediction_id": ids, "kind": ["expert"] * len(ids), "label": label, "timestamp": ts})


def write_reference(path: Path) -> None:
    t = chunk(10_000, 100_000, 100_000)
    t = t.select(["confidence", "prediction", *NUMERIC, *CATEGORICAL]).append_column("label", t.column("prediction"))
    pq.write_table(t, path)


def config(reference: Path, store: str) -> Any:
    from modelsteward.config import StewardConfig

    features = [{"name": n, "type": "numeric"} for n in NUMERIC] + [{"name": n, "type": "categorical"} for n in CATEGORICAL]
    return StewardConfig.model_validate({"store": store, "models": [{
        "name": "bench", "task": "binary", "labels": LABELS, "features": features, "window": "week",
        "reference": {"file": str(reference)}, "drift": {"numeric_tests": ["ks", "wasserstein", "psi"]}}]})


# -- one (engine, N) in a child process ------------------------------------------------------------
BYTES_PER_ROW = {"duckdb": 115, "parquet": 90, "postgres": 150}  # measured at 10M rows (20 features, 10% feedback)


def disk_needed(n: int, engines: list[str]) -> int:
    """Bytes the data of ``n`` rows takes for ``engines`` (the Parquet log is shared by duckdb-parquet and spark)."""
    kinds = {"parquet" if e in ("duckdb-parquet", "spark") else e for e in engines}
    return int(n * sum(BYTES_PER_ROW[k] for k in kinds) * 1.1) + (1 << 30)


def _none(value: str | None) -> str | None:
    return None if value is None or value.lower() in ("none", "null", "") else value


def _per_column_counts(engine: Any, model: Any, rows: Any) -> int:
    """The counts as a pass ran them before the fusion: one query per categorical column, one for the confusion."""
    from modelsteward.engines import aggregates as agg
    from modelsteward.records import feature_column

    columns = ["prediction", "error", *[feature_column(f.name) for f in model.features if f.type == "categorical"]]
    got = sum(len(engine.rows(agg.window_category_counts(rows, c))) for c in columns)
    feedback = engine.feedback(model)
    if feedback is not None:
        got += len(engine.rows(agg.confusion_counts(rows, agg.resolved_labels(engine.events(model), feedback, model))))
    return got


def child(engine_kind: str, n: int, work: Path, phase_file: Path, pg_url: str | None,
          memory_limit: str | None = "1GB", driver_memory: str | None = "2g", quantiles: str = "exact") -> dict[str, Any]:
    from modelsteward.config import EngineSettings
    from modelsteward.engines.connect import open_engine, store_engine
    from modelsteward.engines.drift import engine_window_drift
    from modelsteward.engines.metrics import engine_window_metrics
    from modelsteward.engines.parquet_log import write_parquet_log
    from modelsteward.monitor import Monitor

    def phase(name: str) -> None:
        phase_file.write_text(name)

    out: dict[str, Any] = {"engine": engine_kind, "rows": n, "load_average": os.getloadavg()[0],
                           "memory_limit": memory_limit if engine_kind != "spark" else None,
                           "driver_memory": driver_memory if engine_kind == "spark" else None,
                           "quantiles": quantiles if engine_kind != "postgres" else "exact"}
    reference = work / "reference.parquet"
    if not reference.exists():
        write_reference(reference)
    if engine_kind == "postgres":
        target = str(pg_url)
    else:
        target = str(work / f"state-{engine_kind}.duckdb")
    mon = Monitor(config(reference, target), store=target)
    model = mon.model()
    log = work / "log"
    if engine_kind == "duckdb":  # the cap holds for the store's whole database, ingest included
        open_engine(EngineSettings(kind="duckdb", memory_limit=memory_limit), store=mon.store)
    phase("ingest")
    t0 = time.perf_counter()
    pred_s = fb_s = 0.0
    if engine_kind in ("duckdb", "postgres"):
        for t in chunks(n):
            t0 = time.perf_counter()
            mon.log_predictions(t)
            t1 = time.perf_counter()
            mon.log_feedbacks(feedback_of(t))
            pred_s, fb_s = pred_s + t1 - t0, fb_s + time.perf_counter() - t1
        out["ingest_s"], out["feedback_s"] = pred_s, fb_s
        out["ingest_into"] = engine_kind + " store (Monitor.log_predictions; feedback timed apart)"
    elif not (log / "model=bench").exists():
        for t in chunks(n):
            t0 = time.perf_counter()
            write_parquet_log(log, model, t)
            t1 = time.perf_counter()
            write_parquet_log(log, model, None, feedback_of(t))
            pred_s, fb_s = pred_s + t1 - t0, fb_s + time.perf_counter() - t1
        out["ingest_s"], out["feedback_s"] = pred_s, fb_s
        out["ingest_into"] = "Parquet log (write_parquet_log; feedback timed apart)"
    else:
        out["ingest_into"] = "Parquet log (written by the parquet run before)"
    if "ingest_s" in out:
        out["ingest_rows_per_s"] = n / out["ingest_s"]
    phase("reference")
    profile = mon.reference(rebuild=True)
    if engine_kind == "duckdb":
        engine = open_engine(EngineSettings(kind="duckdb", memory_limit=memory_limit, quantiles=quantiles), store=mon.store)
    elif engine_kind == "postgres":
        engine = store_engine(mon.store)
    elif engine_kind == "duckdb-parquet":
        engine = open_engine(EngineSettings(kind="duckdb", events=str(log), memory_limit=memory_limit, quantiles=quantiles))
    else:
        engine = open_engine(EngineSettings(kind="spark", events=str(log), master="local[2]", shuffle_partitions=4,
                                            driver_memory=driver_memory, quantiles=quantiles))
        phase("spark start")
        engine.rows(engine.events(model).count().as_table())  # the JVM and the first scan: start-up, not the measure
    end = START + timedelta(weeks=WEEKS)
    phase("metrics")
    t0 = time.perf_counter()
    before = engine.queries
    metrics = engine_window_metrics(engine, model, START, end, profile=profile, aligned=True)
    out["metrics_s"] = time.perf_counter() - t0
    out["metrics_queries"] = engine.queries - before
    baselines = os.environ.get("STEWARD_BENCH_BASELINES", "1") != "0"  # --skip-baselines
    if baselines:
        _baseline_metrics(engine, model, profile, end, out, phase_file)
    out["windows"] = len(metrics)
    out["volume"] = int(sum(m["volume"] or 0 for m in metrics.values()))
    phase("drift")
    last = end - timedelta(weeks=1)
    t0 = time.perf_counter()
    drift = engine_window_drift(engine, mon.store, model, profile, last, end)
    out["drift_s"] = time.perf_counter() - t0
    out["drifted"] = sorted(r.subject for r in drift if r.test == "verdict" and r.status == "drift")
    if engine_kind == "duckdb" and baselines:
        from modelsteward.drift.window_drift import _window_drift_sql

        phase("drift (hand-written SQL)")
        t0 = time.perf_counter()
        base = _window_drift_sql(mon.store, model, profile, last, end)
        out["drift_sql_s"] = time.perf_counter() - t0
        same = {(r.subject, r.test): r.status for r in base} == {(r.subject, r.test): r.status for r in drift}
        out["drift_same_as_sql"] = same
    phase("done")
    mon.close()
    return out


def _baseline_metrics(engine: Any, model: Any, profile: Any, end: datetime, out: dict[str, Any], phase_file: Path) -> None:
    """The per-column pass (as before the counts were fused), then the fused pass again (A-B-A: the first ran cold)."""
    from modelsteward.engines import aggregates as agg
    from modelsteward.engines.metrics import _known, engine_window_metrics

    phase_file.write_text("metrics (per-column baseline)")
    t0 = time.perf_counter()
    before = engine.queries
    rows = agg.window_rows(engine.events(model), model, START, end, aligned=True)
    ranges = {name: (ref["min"], ref["max"]) for name, ref in profile.numeric.items()}
    exprs, _ = agg.window_scalars(rows, model, quantiles=engine.quantiles, split=engine.kind == "spark", numeric_ranges=ranges,
                                  known_categories=_known(model, profile))
    for expr in exprs:
        engine.rows(expr)
    _per_column_counts(engine, model, rows)
    out["metrics_per_column_s"] = time.perf_counter() - t0
    out["metrics_per_column_queries"] = engine.queries - before
    phase_file.write_text("metrics (fused, again)")
    t0 = time.perf_counter()
    engine_window_metrics(engine, model, START, end, profile=profile, aligned=True)
    out["metrics_again_s"] = time.perf_counter() - t0


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_child(engine_kind: str, n: int, work: Path, pg_url: str | None, memory_limit: str | None = "1GB",
              driver_memory: str | None = "2g", quantiles: str = "exact") -> dict[str, Any]:
    phase_file = work / f"phase-{engine_kind}"
    phase_file.write_text("start")
    cmd = [sys.executable, __file__, "--child", engine_kind, str(n), str(work)] + (["--pg-url", pg_url] if pg_url else [])
    cmd += ["--duckdb-memory-limit", str(memory_limit), "--spark-driver-memory", str(driver_memory), "--quantiles", quantiles]
    err_file = work / f"stderr-{engine_kind}.txt"  # a failed child says why (the last lines go into the result)
    with err_file.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    peaks: dict[str, int] = {}

    def watch() -> None:
        while proc.poll() is None:
            ph = phase_file.read_text() if phase_file.exists() else "?"
            peaks[ph] = max(peaks.get(ph, 0), _tree_rss(proc.pid))
            time.sleep(0.05)

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    stdout, _ = proc.communicate()
    th.join()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = [line for line in err_file.read_text(errors="replace").splitlines() if line.strip()][-3:]
        return {"engine": engine_kind, "rows": n, "error": f"child exited {proc.returncode}", "phase": phase_file.read_text(),
                "stderr": tail}
    res = json.loads(lines[-1])
    res["peak_rss_mb"] = {k: round(v / 2**20) for k, v in peaks.items() if k not in ("start", "done", "?")}
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000], help="row counts (default 1M 10M)")
    ap.add_argument("--with-100m", action="store_true", help="also 100M rows (about 12 GB of Parquet; an hour or more)")
    ap.add_argument("--engines", nargs="+", choices=ENGINES, default=ENGINES)
    ap.add_argument("--pg-url", default=os.environ.get("STEWARD_TEST_PG_URL"), help="PostgreSQL server (a superuser URL)")
    ap.add_argument("--pg-max-rows", type=int, default=1_000_000, help="largest N run on PostgreSQL (default 1M)")
    ap.add_argument("--tmpdir", default=None, help="where the data goes (default: the system's temp dir)")
    ap.add_argument("--duckdb-memory-limit", default="1GB",
                    help="engine.memory_limit for DuckDB (default 1GB; none: DuckDB's 80%% of RAM)")
    ap.add_argument("--spark-driver-memory", default="2g", help="engine.driver_memory for Spark (default 2g; none: Spark's 1g)")
    ap.add_argument("--quantiles", choices=["exact", "approximate"], default="exact",
                    help="engine.quantiles for the latency percentiles (PostgreSQL is always exact); exact holds every latency "
                         "of the pass in memory, which DuckDB cannot spill")
    ap.add_argument("--skip-baselines", action="store_true",
                    help="time only the fused metrics pass and the drift report (not the per-column pass, the second "
                         "fused pass or the hand-written SQL drift): for the largest runs")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "N", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.skip_baselines:
        os.environ["STEWARD_BENCH_BASELINES"] = "0"  # read by the children
    if args.child:
        kind, n, work = args.child
        print(json.dumps(child(kind, int(n), Path(work), Path(work) / f"phase-{kind}", args.pg_url,
                               _none(args.duckdb_memory_limit), _none(args.spark_driver_memory), args.quantiles), default=str))
        return
    rows = sorted(set(args.rows + ([100_000_000] if args.with_100m else [])))
    engines_of = {n: [e for e in args.engines if e != "postgres" or (args.pg_url and n <= args.pg_max_rows)] for n in rows}
    free = shutil.disk_usage(args.tmpdir or tempfile.gettempdir()).free
    for n in rows:
        need = disk_needed(n, engines_of[n])
        print(f"{n:,} rows on {', '.join(engines_of[n])}: about {need / 1e9:.1f} GB of disk; {free / 1e9:.1f} GB free",
              file=sys.stderr, flush=True)
        if need > free:
            sys.exit(f"not enough disk for {n:,} rows under {args.tmpdir or tempfile.gettempdir()}: "
                     f"needs about {need / 1e9:.1f} GB, {free / 1e9:.1f} GB free; choose --tmpdir on a larger disk")
    results: list[dict[str, Any]] = []
    for n in rows:
        work = Path(tempfile.mkdtemp(prefix=f"bench-engines-{n}-", dir=args.tmpdir))
        try:
            for kind in args.engines:
                pg_url = None
                if kind == "postgres":
                    if not args.pg_url or n > args.pg_max_rows:
                        continue
                    pg_url = _fresh_pg_database(args.pg_url, n)
                print(f"[{datetime.now():%H:%M:%S}] {kind} at {n:,} rows ...", file=sys.stderr, flush=True)
                res = run_child(kind, n, work, pg_url, _none(args.duckdb_memory_limit), _none(args.spark_driver_memory), args.quantiles)
                results.append(res)
                print(f"[{datetime.now():%H:%M:%S}]   {json.dumps(res, default=str)}", file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps({"results": results, "caps": {"duckdb_memory_limit": _none(args.duckdb_memory_limit),
                                                       "spark_driver_memory": _none(args.spark_driver_memory)}}, default=str))
        return
    print(f"caps: DuckDB memory_limit {_none(args.duckdb_memory_limit)}, Spark driver_memory {_none(args.spark_driver_memory)}")
    print(f"{'engine':15} {'rows':>12} {'load':>5} {'ingest rows/s':>14} {'metrics s':>10} {'(per-column)':>13} {'(again)':>8} "
          f"{'queries':>8} "
          f"{'drift s':>9} {'peak MB (metrics/drift)':>24}  growth (time / rows)")
    first: dict[str, dict[str, Any]] = {}
    for r in results:
        if "error" in r:
            print(f"{r['engine']:15} {r['rows']:>12,} {r['error']} in phase {r.get('phase', '?')}: {' | '.join(r.get('stderr', []))}")
            continue
        f = first.setdefault(r["engine"], r)
        ratio = r["rows"] / f["rows"]
        growth = f"metrics x{r['metrics_s'] / f['metrics_s']:.1f}, drift x{r['drift_s'] / f['drift_s']:.1f} for rows x{ratio:.0f}"
        peaks = r.get("peak_rss_mb", {})
        ingest = f"{r['ingest_rows_per_s']:,.0f}" if "ingest_rows_per_s" in r else "(shared)"
        queries = f"{r['metrics_queries']}/{r.get('metrics_per_column_queries', '-')}"
        print(f"{r['engine']:15} {r['rows']:>12,} {r['load_average']:>5.1f} {ingest:>14} {r['metrics_s']:>10.2f} "
              f"{r.get('metrics_per_column_s', float('nan')):>13.2f} {r.get('metrics_again_s', float('nan')):>8.2f} {queries:>8} "
              f"{r['drift_s']:>9.2f} "
              f"{peaks.get('metrics', 0):>11}/{peaks.get('drift', 0):<12}  {growth}")
        if "drift_sql_s" in r:
            print(f"{'  (SQL path)':15} {'':>12} {'':>5} {'':>14} {'':>10} {'':>13} {'':>8} {'':>8} {r['drift_sql_s']:>9.2f}  "
                  f"baseline: hand-written DuckDB SQL, same verdicts: {r['drift_same_as_sql']}")
    print("metrics s: the fused pass; (per-column): the same pass as before the fusion, timed right after it; (again): the fused "
          "pass once more (the first ran cold); "
          "queries: fused/per-column; load: the 1-minute load average when the child started")


def _fresh_pg_database(admin: str, n: int) -> str:
    from urllib.parse import urlsplit

    import psycopg

    name = f"steward_bench_{n}_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin)
    return f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")


if __name__ == "__main__":
    main()
