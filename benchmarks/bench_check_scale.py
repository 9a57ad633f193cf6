#!/usr/bin/env python
"""Benchmark: ``Monitor.check`` over every window of a large store, phase by phase.

Set-up (timed, but reported apart): a DuckDB store of ``--rows`` predictions (default
2,000,000; ``--ten-million`` for 10M) of a binary model with 20 features (16 numeric, half of
them rounded to one decimal so values tie, and 4 categorical), spread evenly over ``--weeks``
weekly windows (default 52). Rows are drawn from a seeded numpy generator in chunks of
``--chunk`` rows and inserted through Arrow, so memory stays flat while the store grows; one
prediction in ten gets explicit feedback with a label. From week 40 on, four numeric features,
one categorical feature and the confidence move. The reference is a seeded Parquet file of
``--reference-rows`` rows (default 100,000) drawn from the week-0 distribution.

Timed: ``Monitor.check`` of every window (``everything=True``). Each phase of the pass is
timed by wrapping the functions ``Monitor.check`` calls (wall time and calls, nested phases
listed under their parent): window metrics, window drift (and inside it the KS p-values),
feedback collection, CBPE, concept / multivariate / text drift, the diagnosis, saving the
window, the alert rules. A phase whose function is not found (code moved) is reported as such.

Baselines, in the same run:

- the same pass over ``--baseline-rows`` predictions (default a tenth of ``--rows``) built the
  same way, so the ratio shows how time grows with rows (linear growth: ratio = rows ratio);
- every KS p-value the pass computed is recomputed with ``scipy.stats.kstwo.sf`` (the path
  ``scipy.stats.ks_2samp`` takes above 10,000 values a side) and with
  :func:`modelsteward.drift.ks.ks_pvalue`; the time of both and their largest relative
  difference are printed.

``--cprofile`` also runs the large pass under cProfile and prints the functions with the most
cumulative time (cProfile slows pure-Python code, so its seconds read high). Nothing asserts
on time.

    .venv/bin/python benchmarks/bench_check_scale.py                 # 2M rows, baseline 200k
    .venv/bin/python benchmarks/bench_check_scale.py --ten-million   # 10M rows, baseline 1M
    .venv/bin/python benchmarks/bench_check_scale.py --rows 200000 --json
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import json
import math
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor
from modelsteward.store.duckdb_store import DuckDBStore

MODEL = "scale"
START = datetime(2025, 1, 6)  # a Monday
SHIFT_WEEK = 40
N_NUMERIC, N_CATEGORICAL = 16, 4
CATEGORIES = ["a", "b", "c", "d", "e"]
BASE_SHARES = np.array([0.35, 0.25, 0.2, 0.15, 0.05])
MOVED_SHARES = np.array([0.2, 0.25, 0.2, 0.15, 0.2])

#: (phase, [(module, attribute), ...]): the functions ``Monitor.check`` calls, timed where found.
#: An attribute "Class.method" wraps the method on the class; a function imported by name into
#: several modules is wrapped in each (the engines' drift path imports the shared test code).
PHASES: list[tuple[str, list[tuple[str, str]]]] = [
    ("reference profile", [("modelsteward.monitor", "Monitor.reference")]),
    ("metrics", [("modelsteward.monitor", "compute_window_metrics")]),
    ("drift", [("modelsteward.monitor", "window_drift")]),
    ("  KS p-value", [("modelsteward.drift.window_drift", "ks_pvalue")]),
    ("  numeric tests", [("modelsteward.drift.window_drift", "numeric_tested"), ("modelsteward.engines.drift", "numeric_tested")]),
    ("  categorical tests", [("modelsteward.drift.window_drift", "categorical_tested"),
                             ("modelsteward.engines.drift", "categorical_tested")]),
    ("  correction, verdicts", [("modelsteward.drift.window_drift", "_finish"), ("modelsteward.engines.drift", "_finish")]),
    ("feedback collection", [("modelsteward.monitor", "collection_rates")]),
    ("CBPE estimate", [("modelsteward.monitor", "window_estimate")]),
    ("window kinds", [("modelsteward.drift.kinds", "WindowKinds.window")]),
    ("  concept drift", [("modelsteward.drift.kinds", "window_concept")]),
    ("  multivariate drift", [("modelsteward.drift.joint_window", "JointDrift.multivariate")]),
    ("  text drift", [("modelsteward.drift.joint_window", "JointDrift.text")]),
    ("  diagnosis", [("modelsteward.drift.kinds", "diagnose")]),
    ("save window", [("modelsteward.monitor", "Monitor._save_window")]),
    ("alert rules, incidents", [("modelsteward.monitor", "Monitor._after_windows")]),
]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def numeric_names() -> list[str]:
    return [f"x{i:02d}" for i in range(N_NUMERIC)]


def categorical_names() -> list[str]:
    return [f"c{i:02d}" for i in range(N_CATEGORICAL)]


def make_config(folder: Path) -> StewardConfig:
    features = [{"name": n, "type": "numeric"} for n in numeric_names()]
    features += [{"name": n, "type": "categorical"} for n in categorical_names()]
    return StewardConfig.model_validate({"models": [{
        "name": MODEL, "task": "binary", "labels": ["yes", "no"], "positive_label": "yes", "window": "week",
        "features": features,
        "reference": {"file": str(folder / "training.parquet"), "baselines": {"accuracy": 0.88}},
        "alerts": [{"name": "accuracy_drop", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85},
                    "severity": "high"}],
    }]})


def draw(rng: np.random.Generator, n: int, moved: np.ndarray) -> dict[str, np.ndarray]:
    """``n`` rows of features, confidence, prediction and true label; ``moved`` marks shifted rows."""
    cols: dict[str, np.ndarray] = {}
    for i, name in enumerate(numeric_names()):
        x = rng.normal(0.0, 1.0, n) + (0.15 * moved if i < 4 else 0.0)
        cols[name] = np.round(x, 1) if i % 2 else x  # odd features tie: one decimal
    for i, name in enumerate(categorical_names()):
        u = rng.random(n)
        base = np.searchsorted(np.cumsum(BASE_SHARES), u, side="right").clip(0, len(CATEGORIES) - 1)
        if i == 0:
            alt = np.searchsorted(np.cumsum(MOVED_SHARES), u, side="right").clip(0, len(CATEGORIES) - 1)
            base = np.where(moved, alt, base)
        cols[name] = base.astype(np.int8)
    cols["confidence"] = (0.5 + 0.5 * np.sqrt(rng.random(n)) - 0.08 * moved).clip(0.5, 1.0)
    truth = rng.random(n) < 0.3
    correct = rng.random(n) < np.where(moved, 0.78, 0.88)
    cols["label"] = truth
    cols["prediction"] = np.where(correct, truth, ~truth)
    return cols


def _cat(codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(CATEGORIES)).cast(pa.string())


def _yes_no(flags: np.ndarray) -> pa.Array:
    return pa.array(np.where(flags, "yes", "no"))


def write_reference(path: Path, n: int, seed: int) -> None:
    cols = draw(np.random.default_rng(seed), n, np.zeros(n))
    table = {name: cols[name] for name in numeric_names()}
    table.update({name: _cat(cols[name]) for name in categorical_names()})
    table.update({"confidence": cols["confidence"], "label": _yes_no(cols["label"]), "prediction": _yes_no(cols["prediction"])})
    pq.write_table(pa.table(table), path)


def fill(store: DuckDBStore, n: int, weeks: int, chunk: int, seed: int) -> None:
    """``n`` predictions over ``weeks`` weeks in chunks of ``chunk`` rows; feedback for one in ten."""
    rng = np.random.default_rng(seed)
    table = DuckDBStore.predictions_table(MODEL)
    span_us = weeks * 7 * 86_400 * 1_000_000
    start_us = int((START - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
    shift_at = n * SHIFT_WEEK // weeks
    ingested = START + timedelta(weeks=weeks)
    feature_cols = [f"f_{name}" for name in numeric_names() + categorical_names()]
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        idx = np.arange(lo, hi, dtype=np.int64)
        moved = (idx >= shift_at).astype(float)
        cols = draw(rng, hi - lo, moved)
        ts = start_us + ((idx + rng.random(hi - lo)) * (span_us / n)).astype(np.int64)
        arrow = pa.table({
            "i": idx, "ts": pa.array(ts, pa.timestamp("us")),
            "prediction": _yes_no(cols["prediction"]), "truth": _yes_no(cols["label"]),
            "confidence": cols["confidence"], "latency_ms": rng.lognormal(4.0, 0.5, hi - lo),
            "user_id": rng.integers(0, 200_000, hi - lo), "labelled": rng.random(hi - lo) < 0.1,
            **{f"f_{name}": cols[name] for name in numeric_names()},
            **{f"f_{name}": _cat(cols[name]) for name in categorical_names()},
        })
        with store.transaction() as con:
            con.register("chunk_rows", arrow)
            con.execute(f"""
                INSERT INTO {table} BY NAME
                SELECT 'p-' || i AS prediction_id, ts, 'v1' AS model_version, prediction, confidence, latency_ms,
                       'u-' || user_id AS user_id, {", ".join(feature_cols)}, ? AS ingested_at
                FROM chunk_rows
            """, [ingested]).fetchall()
            con.execute("""
                INSERT INTO feedback BY NAME
                SELECT 'fb-' || i AS feedback_id, ? AS model, 'p-' || i AS prediction_id, 'explicit' AS kind,
                       ts + INTERVAL 2 HOUR AS ts, truth AS label, ? AS ingested_at
                FROM chunk_rows WHERE labelled
            """, [MODEL, ingested]).fetchall()
            con.unregister("chunk_rows")


class PhaseTimer:
    """Wraps the functions of :data:`PHASES` with wall-clock timers and call counters."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.missing: list[str] = []
        self.ks_calls: list[tuple[float, int, int]] = []
        self._undo: list[Callable[[], None]] = []

    def _wrap(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - t0
                self.calls[phase] = self.calls.get(phase, 0) + 1
                if phase.strip() == "KS p-value":
                    self.ks_calls.append((float(args[0]), int(args[1]), int(args[2])))
        return timed

    @contextmanager
    def installed(self) -> Iterator[PhaseTimer]:
        for phase, targets in PHASES:
            for module_name, attr in targets:
                try:
                    owner: Any = importlib.import_module(module_name)
                    *path, name = attr.split(".")
                    for part in path:
                        owner = getattr(owner, part)
                    original = owner.__dict__[name] if name in owner.__dict__ else getattr(owner, name)
                except (ImportError, AttributeError, KeyError):
                    self.missing.append(f"{module_name}.{attr}")
                    continue
                setattr(owner, name, self._wrap(phase, original))
                self._undo.append(functools.partial(setattr, owner, name, original))
        try:
            yield self
        finally:
            for undo in reversed(self._undo):
                undo()
            self._undo.clear()


def timed_check(cfg: StewardConfig, path: Path, weeks: int, *, profile: bool = False) -> dict[str, Any]:
    timer = PhaseTimer()
    profiler = cProfile.Profile() if profile else None
    with Monitor(cfg, store=path) as mon, timer.installed():
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = mon.check(until=START + timedelta(weeks=weeks), everything=True)
        if profiler is not None:
            profiler.disable()
        total = time.perf_counter() - t0
    out: dict[str, Any] = {"check_s": total, "windows": len(report.windows) if hasattr(report, "windows") else weeks,
                           "phases": {p: {"seconds": timer.seconds.get(p, 0.0), "calls": timer.calls.get(p, 0)}
                                      for p, _ in PHASES},
                           "missing": timer.missing, "ks_calls": timer.ks_calls, "load": load()}
    top = [p for p, _ in PHASES if not p.startswith(" ")]
    out["unattributed_s"] = total - sum(out["phases"][p]["seconds"] for p in top)
    if profiler is not None:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(45)
        out["cprofile"] = buf.getvalue()
    return out


def pvalue_baseline(calls: list[tuple[float, int, int]]) -> dict[str, Any]:
    """Recompute the pass's KS p-values with scipy's ``kstwo.sf`` path and with ``ks_pvalue``."""
    from scipy import stats

    from modelsteward.drift.ks import MAX_AUTO_N, ks_pvalue

    def scipy_path(d: float, n1: int, n2: int) -> float:
        if max(n1, n2) <= MAX_AUTO_N:
            return ks_pvalue(d, n1, n2)  # the exact branch, shared by both
        m, n = sorted([float(n1), float(n2)], reverse=True)
        return float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0.0, 1.0))

    t0 = time.perf_counter()
    old = [scipy_path(*c) for c in calls]
    old_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = [ks_pvalue(*c) for c in calls]
    new_s = time.perf_counter() - t0
    worst = 0.0
    for a, b in zip(old, new, strict=True):
        if a != b:
            worst = max(worst, abs(a - b) / max(abs(a), 1e-300))
    sizes = sorted({round(n1 * n2 / (n1 + n2)) for _, n1, n2 in calls})
    return {"calls": len(calls), "scipy_kstwo_s": old_s, "ks_pvalue_s": new_s, "max_rel_diff": worst,
            "n_eff_range": [sizes[0], sizes[-1]] if sizes else []}


def build(folder: Path, n: int, args: argparse.Namespace) -> tuple[StewardConfig, Path, float]:
    folder.mkdir(parents=True, exist_ok=True)
    write_reference(folder / "training.parquet", args.reference_rows, args.seed + 1)
    cfg = make_config(folder)
    path = folder / "steward.duckdb"
    with Monitor(cfg, store=path) as mon:
        t0 = time.perf_counter()
        fill(mon.store, n, args.weeks, args.chunk, args.seed)
        fill_s = time.perf_counter() - t0
        mon.reference(MODEL)  # the profile is built here, outside the timed pass
    return cfg, path, fill_s


def run(folder: Path, n: int, args: argparse.Namespace, *, profile: bool = False) -> dict[str, Any]:
    log(f"building {n:,} predictions (load {load()})")
    cfg, path, fill_s = build(folder, n, args)
    log(f"filled in {fill_s:.1f} s; Monitor.check over {args.weeks} windows (load {load()})")
    figures = timed_check(cfg, path, args.weeks)
    log(f"checked in {figures['check_s']:.1f} s (load {figures['load']}); phases: "
        + json.dumps({p: round(v["seconds"], 2) for p, v in figures["phases"].items()}))
    figures.update(rows=n, fill_s=fill_s)
    if profile:
        log("again under cProfile")
        figures["cprofile"] = timed_check(cfg, path, args.weeks, profile=True)["cprofile"]
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--ten-million", action="store_true", help="10,000,000 rows")
    ap.add_argument("--baseline-rows", type=int, default=None, help="default: a tenth of --rows")
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--reference-rows", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=250_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cprofile", action="store_true", help="also profile the large pass with cProfile")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = 10_000_000 if args.ten_million else args.rows
    base_rows = args.baseline_rows or max(rows // 10, args.weeks * 100)
    with tempfile.TemporaryDirectory(prefix="bench-check-scale-") as tmp:
        small = run(Path(tmp) / "small", base_rows, args)
        large = run(Path(tmp) / "large", rows, args, profile=args.cprofile)
    pv = pvalue_baseline(large.pop("ks_calls"))
    small.pop("ks_calls")
    result: dict[str, Any] = {"rows": rows, "baseline_rows": base_rows, "weeks": args.weeks,
                              "reference_rows": args.reference_rows, "features": N_NUMERIC + N_CATEGORICAL,
                              "large": large, "baseline": small, "pvalue_baseline": pv,
                              "time_ratio": large["check_s"] / small["check_s"], "rows_ratio": rows / base_rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Monitor.check (everything) over {args.weeks} weekly windows, {N_NUMERIC + N_CATEGORICAL} features, "
          f"reference {args.reference_rows:,} rows")
    print(f"large: {rows:,} rows, fill {large['fill_s']:.1f} s, check {large['check_s']:.1f} s (load {large['load']})")
    print(f"baseline: {base_rows:,} rows, fill {small['fill_s']:.1f} s, check {small['check_s']:.1f} s (load {small['load']})")
    print(f"growth: rows x{result['rows_ratio']:.1f}, check time x{result['time_ratio']:.2f}")
    print(f"\n{'phase':<26}{'large s':>10}{'calls':>7}{'baseline s':>12}{'ratio':>7}{'share':>7}")
    for phase, _ in PHASES:
        a, b = large["phases"][phase], small["phases"][phase]
        ratio = a["seconds"] / b["seconds"] if b["seconds"] > 0 else math.nan
        print(f"{phase:<26}{a['seconds']:>10.2f}{a['calls']:>7}{b['seconds']:>12.2f}{ratio:>7.1f}"
              f"{a['seconds'] / large['check_s']:>7.1%}")
    print(f"{'(outside the phases)':<26}{large['unattributed_s']:>10.2f}{'':>7}{small['unattributed_s']:>12.2f}")
    if large["missing"]:
        print("not found (not timed): " + ", ".join(large["missing"]))
    print(f"\nKS p-values of the large pass ({pv['calls']} calls, n_eff {pv['n_eff_range']}): "
          f"scipy kstwo.sf path {pv['scipy_kstwo_s']:.2f} s, ks_pvalue {pv['ks_pvalue_s']:.2f} s, "
          f"largest relative difference {pv['max_rel_diff']:.2e}")
    if "cprofile" in large:
        print("\ncProfile of the large pass (cumulative):\n" + large["cprofile"])


if __name__ == "__main__":
    main()
