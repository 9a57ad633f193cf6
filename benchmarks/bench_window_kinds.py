#!/usr/bin/env python
"""Benchmark: the cost of every kind of drift and the diagnosis inside ``Monitor.check``.

One window (a week) of ``--rows`` predictions (default 200,000), every one labelled, with two
numeric and one categorical feature, against a 5,000-row file reference with confidences and
labels. The store is written once; then ``check --all`` is timed on a copy of it in a fresh
process per configuration, so each peak memory (``ru_maxrss``) is that run's own:

* ``baseline``: per-feature drift and the CBPE estimate only (``diagnosis.concept.enabled: false``);
* ``concept``: the default, adding the accuracy and F1 drop tests, CBPE on the labelled
  predictions, ADWIN on the error stream and the diagnosis;
* ``concept+multivariate``: also the domain classifier and PCA reconstruction on 5,000-row samples.

Each figure is printed beside the baseline of the same run. Nothing asserts on time.

    .venv/bin/python benchmarks/bench_window_kinds.py                 # 200k rows
    .venv/bin/python benchmarks/bench_window_kinds.py --rows 1000000  # 1M rows
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

START = datetime(2026, 3, 2)
CONFIGS = {
    "baseline": {"concept": {"enabled": False}},
    "concept": {},
    "concept+multivariate": {"multivariate": {"enabled": True, "sample_rows": 5000}},
}


def _config(folder: Path, diagnosis: dict) -> dict:
    return {"models": [{
        "name": "m", "task": "binary", "labels": ["yes", "no"], "window": "week",
        "features": [{"name": "a", "type": "numeric"}, {"name": "b", "type": "numeric"}, {"name": "c", "type": "categorical"}],
        "reference": {"file": str(folder / "ref.parquet")}, "diagnosis": diagnosis}]}


def _data(rng: np.random.Generator, n: int, shift: float) -> dict[str, np.ndarray]:
    a = rng.normal(shift, 1, n)
    s = 1 / (1 + np.exp(-2 * a))
    pred = np.where(s > 0.5, "yes", "no")
    label = np.where(rng.random(n) < s, "yes", "no")
    return {"a": a, "b": rng.normal(0, 1, n), "c": rng.choice(["x", "y", "z"], n), "confidence": np.maximum(s, 1 - s),
            "prediction": pred, "label": label}


def prepare(folder: Path, rows: int, seed: int) -> None:
    from modelsteward import Monitor, StewardConfig

    rng = np.random.default_rng(seed)
    pq.write_table(pa.table(_data(rng, 5000, 0.0)), folder / "ref.parquet")
    with Monitor(StewardConfig.model_validate(_config(folder, {})), store=folder / "store.duckdb") as mon:
        batch = 100_000
        for begin in range(0, rows, batch):
            n = min(batch, rows - begin)
            d = _data(rng, n, 0.3)
            ids = [f"p{begin + i}" for i in range(n)]
            step = 7 * 86400 / rows
            mon.log_predictions(pa.table({
                "prediction_id": ids,
                "timestamp": pa.array([START + timedelta(seconds=(begin + i) * step) for i in range(n)], pa.timestamp("us")),
                "prediction": d["prediction"], "confidence": d["confidence"], "a": d["a"], "b": d["b"], "c": d["c"]}))
            mon.log_feedbacks(pa.table({"prediction_id": ids, "kind": ["explicit"] * n, "label": d["label"]}))


def run(folder: Path, name: str) -> None:
    from modelsteward import Monitor, StewardConfig

    store = folder / f"store-{name.replace('+', '-')}.duckdb"
    shutil.copy(folder / "store.duckdb", store)
    with Monitor(StewardConfig.model_validate(_config(folder, CONFIGS[name])), store=store) as mon:
        mon.reference()  # built outside the timing: the same in every configuration
        t0, c0 = time.perf_counter(), time.process_time()
        mon.check(until=START + timedelta(weeks=1), everything=True)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        diag = mon.diagnosis()[0]["summary"]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"config": name, "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb, "diagnosis": diag}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="Print one JSON object.")
    ap.add_argument("--_run", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._run:
        run(Path(args._run[0]), args._run[1])
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-kinds-"))
    try:
        print(f"writing {args.rows:,} labelled predictions...", file=sys.stderr)
        prepare(folder, args.rows, args.seed)
        results = []
        for name in CONFIGS:
            print(f"checking with {name}...", file=sys.stderr)
            done = subprocess.run([sys.executable, __file__, "--_run", str(folder), name], capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps({"rows": args.rows, "results": results}))
        return
    base = results[0]
    print(f"one weekly window of {args.rows:,} labelled predictions; check --all in a fresh process per configuration")
    print(f"{'configuration':24} {'seconds':>8} {'cpu s':>7} {'x base':>7} {'peak MB':>8} {'x base':>7}")
    for r in results:
        print(f"{r['config']:24} {r['seconds']:8.2f} {r['cpu']:7.2f} {r['seconds'] / base['seconds']:7.2f} {r['peak_mb']:8.0f} "
              f"{r['peak_mb'] / base['peak_mb']:7.2f}")
    print("diagnosis (concept):", results[1]["diagnosis"])


if __name__ == "__main__":
    main()
