"""Latency of one durable ``Monitor.log_prediction`` against a plain DuckDB single-row INSERT.

Each call validates one record and commits it before returning (an acknowledged write
survives a crash). Validation alone is also timed both ways: the row-wise path that
``normalise_predictions`` takes for a short list of dicts, and the Arrow path it takes for
larger inputs (reached here by passing the same dict as an iterator). The baseline is the
cheapest durable write DuckDB offers: one parameterised ``INSERT`` into a keyed table of the
same shape, autocommitted. Prints p50/p90/p99 and calls
per second for both, and their ratio. Never asserts on time.

    .venv/bin/python benchmarks/bench_log_prediction.py [--calls 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from modelsteward import Monitor, StewardConfig
from modelsteward.records import normalise_predictions

N_NUMERIC, N_CATEGORICAL = 15, 5


def config() -> StewardConfig:
    feats = [{"name": f"x{i}", "type": "numeric"} for i in range(N_NUMERIC)]
    feats += [{"name": f"c{i}", "type": "categorical"} for i in range(N_CATEGORICAL)]
    return StewardConfig.model_validate({"models": [{"name": "bench", "task": "binary", "labels": ["yes", "no"], "features": feats}]})


def summary(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "calls_per_s": float(len(ms) / (ms.sum() / 1000))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    start = datetime(2026, 1, 5)
    records = [{
        "prediction_id": f"p{i}", "prediction": "yes" if rng.random() < 0.3 else "no", "confidence": float(rng.random()),
        "latency_ms": float(rng.exponential(100)), "timestamp": start + timedelta(seconds=i), "user_id": f"u{i % 97}",
        "features": {**{f"x{j}": float(rng.normal()) for j in range(N_NUMERIC)},
                     **{f"c{j}": f"k{int(rng.integers(0, 5))}" for j in range(N_CATEGORICAL)}},
    } for i in range(args.calls)]
    model = config().models[0]
    checks: dict[str, list[float]] = {"rows": [], "arrow": []}
    for r in records:
        for name, data in (("rows", [r]), ("arrow", iter([r]))):
            t = time.perf_counter()
            normalise_predictions(data, model)
            checks[name].append(time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        lib: list[float] = []
        with Monitor(config(), store=Path(tmp) / "lib.duckdb") as mon:
            for r in records:
                t = time.perf_counter()
                mon.log_prediction(**r)
                lib.append(time.perf_counter() - t)
        con = duckdb.connect(str(Path(tmp) / "base.duckdb"))
        cols = ", ".join([f"x{j} DOUBLE" for j in range(N_NUMERIC)] + [f"c{j} VARCHAR" for j in range(N_CATEGORICAL)])
        con.execute(f"CREATE TABLE t (prediction_id VARCHAR PRIMARY KEY, ts TIMESTAMP, prediction VARCHAR, confidence DOUBLE, "
                    f"latency_ms DOUBLE, user_id VARCHAR, {cols})")
        marks = ", ".join("?" for _ in range(6 + N_NUMERIC + N_CATEGORICAL))
        base: list[float] = []
        for r in records:
            values = [r["prediction_id"], r["timestamp"], r["prediction"], r["confidence"], r["latency_ms"], r["user_id"],
                      *r["features"].values()]
            t = time.perf_counter()
            con.execute(f"INSERT INTO t VALUES ({marks})", values).fetchall()
            base.append(time.perf_counter() - t)
        con.close()
    result = {"calls": args.calls, "library": summary(lib), "baseline": summary(base),
              "validate_rows": summary(checks["rows"]), "validate_arrow": summary(checks["arrow"])}
    result["ratio_p50"] = result["library"]["p50_ms"] / result["baseline"]["p50_ms"]
    if args.json:
        print(json.dumps(result))
        return
    print(f"one durable write per call, {args.calls:,} calls, {N_NUMERIC} numeric + {N_CATEGORICAL} categorical features")
    print(f"  {'case':<44}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'calls/s':>10}")
    for name, key in (("Monitor.log_prediction (validate + write)", "library"), ("baseline: INSERT ... VALUES, autocommit", "baseline"),
                      ("validation only, row-wise path (1 dict)", "validate_rows"),
                      ("validation only, Arrow path (same dict)", "validate_arrow")):
        s = result[key]
        print(f"  {name:<44}{s['p50_ms']:>9.2f}{s['p90_ms']:>9.2f}{s['p99_ms']:>9.2f}{s['calls_per_s']:>10,.0f}")
    print(f"  library / baseline at p50: {result['ratio_p50']:.2f}x", file=sys.stdout)


if __name__ == "__main__":
    main()
