#!/usr/bin/env python
"""Benchmark: drift detection quality of ``Monitor.check`` over seeded synthetic streams.

Each scenario is generated deterministically (numpy, seeded per seed, week and feature), logged
through ``Monitor.log_predictions`` into its own temporary DuckDB file (one store per seed and
scenario) with a Parquet training file as reference, checked with ``Monitor.check`` (weekly
windows, default drift settings: KS + normalised Wasserstein verdicts, Benjamini-Hochberg across
every subject of the window, p_value 0.05; the window's ``inputs`` verdict at dataset_p_value
0.001, Simes across the inputs), and the stored verdicts (``drift_results``, ``test ==
"verdict"``) are scored.

The stream: 20 numeric features of mixed shapes (normal, normal rounded to 0.1, lognormal x2,
beta x2, exponential, uniform, Student-t 3 and 5, gamma x2, Weibull, a bimodal mixture, Poisson
3 and 0.5 (integers, heavy ties), Laplace, logistic, Lomax, zero-inflated lognormal), a
confidence score from beta(8, 2) in the reference and in every window (a subject that must not
drift), a constant predicted class. Reference 5,000 rows; 52 weekly windows of 1,000 rows.
A "shift of k sd" adds k population standard deviations to the feature (for the Poisson
features the rate moves so that the mean moves by k sd).

Scenarios (``--scenarios``; default a-e, all six with ``--full``):

  a  no drift. 20 seeds (``--seeds``).
  b  one feature's mean moves by 0.2 sd from week 27 (the feature is ``seed % 20``, so 20 seeds
     cover every shape once). 20 seeds.
  c  large windows, trivial shifts: reference and windows of 50,000 rows; from the second week,
     five features move 0.02 sd and five move 0.05 sd. Must never read "drift" (small_change at
     most). Default 3 seeds x 6 windows (``--full``: 5 x 8; ``--large-seeds``).
  d  categorical mix: the stream plus 3 categorical features (3 categories; 6 categories; 40
     Zipf categories down to 0.4 %); from mid-stream ten points of share move from the first
     category to the second in one of them (``seed % 3``). Default 10 seeds x 26 weeks, drift
     from week 14 (``--full``: 20 x 52, drift from week 27; ``--extra-seeds``).
  e  gradual drift: from week 27 the mean of feature ``seed % 20`` moves linearly, reaching
     0.5 sd in week 52 (0.019 sd in week 27). Reports the first week flagged. Default 10 seeds
     (``--full``: 20; ``--extra-seeds``).
  f  small shift: as b with 0.1 sd (the Wasserstein threshold itself). Only with ``--full`` or
     ``--scenarios``.

Scored per scenario over the seeds: false alarms ("drift" on an undrifted feature) per 1,000
feature-windows, the "small_change" rate on them, the confidence score's verdicts (it never
moves), dataset-level false-alarm windows (subject ``inputs`` reads "drift" in a window where
nothing moved; which subjects count is the library's ``OUTPUT_SUBJECTS``), detection rate and
delay (windows from the first drifted window to the first "drift" on the drifted feature), the
window-level verdict in the first drifted window, and how the drifted feature's verdicts read.
A what-if table re-applies the library's own ``registry.verdict`` and
``registry.dataset_verdict`` to the stored p-values with other ``p_value`` and
``dataset_p_value`` levels (checked to reproduce the stored verdicts at the configured levels).

Run time. Without help ``Monitor.check`` costs ~1 s a window of 21 numeric subjects here, ~75 %
of it in the exact KS p-value (``modelsteward.drift.ks.ks_pvalue``, ~35 ms a call for 1,000 vs
5,000 values; scipy's compiled ``ks_2samp`` takes ~2 ms for the whole test). That p-value depends
only on (n_ref, n_cur, round(D * lcm)), which repeat across windows, so by default the benchmark
memoises the function *in its own processes only* (it wraps
``modelsteward.drift.window_drift.ks_pvalue``; no file is changed). Every 50th cache hit is
recomputed and compared for exact equality; ``--no-ks-cache`` runs the library unwrapped.
Scenarios a, b, e and f share their first 26 weeks (the same data by construction): those
windows are logged and checked once per seed, then the store file is copied for each scenario,
which logs and checks its own last 26 weeks. Seeds run in ``--jobs`` processes (default 2).
What is left is ~0.3-0.45 s of library time a window (about 70 queries and the two
``executemany`` inserts of ``_save_window``), so the default run is cut to fit ~10 minutes on 2
cores as listed above (measured 2026-11-26: 7 min with the machine otherwise light, 13 min while
another job held a core). Nothing asserts on time; total wall time and worker CPU are printed.

    .venv/bin/python benchmarks/bench_drift_quality.py              # a-e, ~7 min on 2 cores
    .venv/bin/python benchmarks/bench_drift_quality.py --quick      # 3 seeds, 16 weeks, ~1-2 min
    .venv/bin/python benchmarks/bench_drift_quality.py --full       # the issue's sizes + f, ~16 min (estimated)
    .venv/bin/python benchmarks/bench_drift_quality.py --scenarios a,b --json
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import special, stats

import modelsteward.drift.window_drift as window_drift_module
from modelsteward.config import DriftSettings, StewardConfig
from modelsteward.drift.registry import dataset_verdict as registry_dataset_verdict
from modelsteward.drift.registry import verdict as registry_verdict
from modelsteward.monitor import Monitor

MODEL = "dq"
START = datetime(2025, 1, 6)  # a Monday: weekly windows start on Monday (UTC)
WEEK = timedelta(weeks=1)
ALPHA = 0.05  # DriftSettings.p_value default (the config leaves every drift setting at its default)
DATASET_ALPHA = DriftSettings().dataset_p_value  # the window-level default (0.001), read from the library
# (p_value, dataset_p_value) pairs: the defaults first, then the old one-level rule and stricter levels
WHAT_IF_ALPHAS = ((0.05, 0.001), (0.05, 0.05), (0.05, 0.01), (0.01, 0.001), (0.001, 0.001))
# The library's outputs (corrected with the inputs in one family, but outside the window's "inputs"
# verdict): confidence, predicted class and label. Read, not assumed.
LIBRARY_OUTPUTS = frozenset(getattr(window_drift_module, "OUTPUT_SUBJECTS", ("prediction", "label")))
TARGET_FALSE_PER_1000 = 1.0
ALL_SCENARIOS = "abcdef"
DEFAULT_SCENARIOS = "abcde"  # f adds 26 windows a seed; run it with --scenarios
SHARED_PREFIX = "abef"  # scenarios whose first half is the same stream


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- feature shapes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shape:
    """A numeric feature: ``draw(rng, n)`` base values, ``apply(base, k)`` the values shifted by k sd."""

    name: str
    sd: float  # population standard deviation
    draw: Callable[[np.random.Generator, int], np.ndarray]
    apply: Callable[[np.ndarray, float], np.ndarray]


def _loc(name: str, sd: float, draw: Callable[[np.random.Generator, int], np.ndarray], decimals: int | None = None) -> Shape:
    def apply(base: np.ndarray, k: float) -> np.ndarray:
        v = base + k * sd if k else base
        return np.round(v, decimals) if decimals is not None else v
    return Shape(name, sd, draw, apply)


def _poisson(lam: float) -> Shape:
    sd = math.sqrt(lam)

    def apply(u: np.ndarray, k: float) -> np.ndarray:  # inverse CDF of the same uniforms: only the rate moves
        return stats.poisson.ppf(u, lam + k * sd).astype(float)
    return Shape(f"poisson({lam:g})", sd, lambda rng, n: np.clip(rng.random(n), 1e-15, 1 - 1e-15), apply)


def _lognormal_sd(mu: float, s: float) -> float:
    return math.sqrt((math.exp(s * s) - 1) * math.exp(2 * mu + s * s))


def _beta_sd(a: float, b: float) -> float:
    return math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def _weibull_sd(k: float) -> float:
    return math.sqrt(special.gamma(1 + 2 / k) - special.gamma(1 + 1 / k) ** 2)


def _zero_inflated(rng: np.random.Generator, n: int) -> np.ndarray:
    zero = rng.random(n) < 0.3
    return np.where(zero, 0.0, rng.lognormal(0.0, 0.5, n))


_ZI_M1, _ZI_M2 = 0.7 * math.exp(0.125), 0.7 * math.exp(0.5)

SHAPES: list[Shape] = [
    _loc("normal", 1.0, lambda r, n: r.normal(0, 1, n)),
    _loc("normal rounded 0.1", 10.0, lambda r, n: r.normal(50, 10, n), decimals=1),
    _loc("lognormal(0,0.5)", _lognormal_sd(0, 0.5), lambda r, n: r.lognormal(0, 0.5, n)),
    _loc("lognormal(0,1)", _lognormal_sd(0, 1.0), lambda r, n: r.lognormal(0, 1.0, n)),
    _loc("beta(2,5)", _beta_sd(2, 5), lambda r, n: r.beta(2, 5, n)),
    _loc("beta(0.5,0.5)", _beta_sd(0.5, 0.5), lambda r, n: r.beta(0.5, 0.5, n)),
    _loc("exponential", 1.0, lambda r, n: r.exponential(1.0, n)),
    _loc("uniform", 1 / math.sqrt(12), lambda r, n: r.random(n)),
    _loc("student-t(3)", math.sqrt(3.0), lambda r, n: r.standard_t(3, n)),
    _loc("student-t(5)", math.sqrt(5 / 3), lambda r, n: r.standard_t(5, n)),
    _loc("gamma(2)", math.sqrt(2.0), lambda r, n: r.gamma(2.0, 1.0, n)),
    _loc("gamma(0.5)", math.sqrt(0.5), lambda r, n: r.gamma(0.5, 1.0, n)),
    _loc("weibull(1.5)", _weibull_sd(1.5), lambda r, n: r.weibull(1.5, n)),
    _loc("bimodal N(+-2,1)", math.sqrt(5.0), lambda r, n: np.where(r.random(n) < 0.5, -2.0, 2.0) + r.normal(0, 1, n)),
    _poisson(3.0),
    _poisson(0.5),
    _loc("laplace", math.sqrt(2.0), lambda r, n: r.laplace(0, 1, n)),
    _loc("logistic", math.pi / math.sqrt(3), lambda r, n: r.logistic(0, 1, n)),
    _loc("lomax(3)", math.sqrt(0.75), lambda r, n: r.pareto(3.0, n)),
    _loc("zero-inflated lognormal", math.sqrt(_ZI_M2 - _ZI_M1 ** 2), _zero_inflated),
]
NUMERIC = [f"x{j:02d}" for j in range(len(SHAPES))]


@dataclass(frozen=True)
class Categorical:
    name: str
    shape: str
    categories: list[str]
    p: np.ndarray

    def apply(self, u: np.ndarray, moved: float) -> np.ndarray:
        """Values from uniforms; ``moved`` of share goes from the first category to the second."""
        p = self.p.copy()
        p[0] -= moved
        p[1] += moved
        idx = np.minimum(np.searchsorted(np.cumsum(p), u, side="right"), len(p) - 1)
        return np.asarray(self.categories, dtype=object)[idx]


def _zipf(k: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1) ** s
    return w / w.sum()


CATEGORICALS = [
    Categorical("c_mix3", "3 categories 50/30/20", ["a", "b", "c"], np.array([0.5, 0.3, 0.2])),
    Categorical("c_mix6", "6 categories 30..5 %", [f"k{i}" for i in range(6)], np.array([0.30, 0.25, 0.20, 0.12, 0.08, 0.05])),
    Categorical("c_long", "40 Zipf categories, 27 %..0.4 %", [f"t{i:02d}" for i in range(40)], _zipf(40, 1.1)),
]
CATEGORICAL_NAMES = frozenset(c.name for c in CATEGORICALS)
FEATURES = frozenset([*NUMERIC, *CATEGORICAL_NAMES])
SHAPE_OF = {**{NUMERIC[j]: s.name for j, s in enumerate(SHAPES)}, **{c.name: c.shape for c in CATEGORICALS},
            "confidence": "confidence beta(8,2)"}


# -- scenarios ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    weeks: int
    rows: int  # rows per window
    ref_rows: int
    categorical: bool
    drift_start: int  # index of the first drifted week
    kind: str  # "null" | "detect" | "trivial" | "gradual"
    shifts: Callable[[int, int], dict[str, float]]  # (seed, week index) -> subject -> shift (sd, or moved share)
    drifted: Callable[[int], list[str]] = field(default=lambda seed: [])


def make_scenarios(quick: bool, full: bool = False) -> dict[str, Scenario]:
    weeks = 16 if quick else 52
    t0 = weeks // 2  # week 27 of 52 (index 26)
    d_weeks = weeks if quick or full else 26  # the default run keeps d to 26 weeks (drift from week 14)
    d_t0 = d_weeks // 2

    def one(k: float) -> Callable[[int, int], dict[str, float]]:
        return lambda seed, w: {NUMERIC[seed % len(NUMERIC)]: k} if w >= t0 else {}

    def gradual(seed: int, w: int) -> dict[str, float]:
        return {NUMERIC[seed % len(NUMERIC)]: 0.5 * (w - t0 + 1) / (weeks - t0)} if w >= t0 else {}

    def mix(seed: int, w: int) -> dict[str, float]:
        return {CATEGORICALS[seed % len(CATEGORICALS)].name: 0.10} if w >= d_t0 else {}

    c_weeks, c_start = (3, 1) if quick else (8, 2) if full else (6, 1)

    def trivial(seed: int, w: int) -> dict[str, float]:
        if w < c_start:
            return {}
        out = {NUMERIC[(seed + i) % len(NUMERIC)]: 0.02 for i in range(5)}
        out.update({NUMERIC[(seed + 5 + i) % len(NUMERIC)]: 0.05 for i in range(5)})
        return out

    drifted_num = lambda seed: [NUMERIC[seed % len(NUMERIC)]]  # noqa: E731
    return {
        "a": Scenario("a", "no drift", weeks, 1000, 5000, False, weeks, "null", lambda s, w: {}),
        "b": Scenario("b", f"0.2 sd mean shift of one feature from week {t0 + 1}", weeks, 1000, 5000, False, t0, "detect",
                      one(0.2), drifted_num),
        "c": Scenario("c", f"trivial shifts (5 features 0.02 sd, 5 features 0.05 sd) from week {c_start + 1}, "
                           "50,000-row windows and reference", c_weeks, 50_000, 50_000, False, c_start, "trivial", trivial,
                      lambda seed: [NUMERIC[(seed + i) % len(NUMERIC)] for i in range(10)]),
        "d": Scenario("d", f"categorical mix: 10 points move between two categories from week {d_t0 + 1}", d_weeks, 1000,
                      5000, True, d_t0, "detect", mix, lambda seed: [CATEGORICALS[seed % len(CATEGORICALS)].name]),
        "e": Scenario("e", f"gradual: mean moves linearly from week {t0 + 1} to 0.5 sd in week {weeks}", weeks, 1000, 5000,
                      False, t0, "gradual", gradual, drifted_num),
        "f": Scenario("f", f"small shift: 0.1 sd mean shift of one feature from week {t0 + 1}", weeks, 1000, 5000, False, t0,
                      "detect", one(0.1), drifted_num),
    }


# -- data -----------------------------------------------------------------------------------------------
def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def features_of(sc: Scenario) -> list[dict[str, str]]:
    feats = [{"name": n, "type": "numeric"} for n in NUMERIC]
    if sc.categorical:
        feats += [{"name": c.name, "type": "categorical"} for c in CATEGORICALS]
    return feats


def columns(sc: Scenario, seed: int, week: int | None, n: int, shifts: dict[str, float]) -> dict[str, Any]:
    """Feature values, confidence and prediction of one window (``week`` None: the reference).

    Each (seed, week, column) has its own random stream, so a week's values are the same in every
    scenario that does not shift them, and a shift moves the same draws.
    """
    tag = (1,) if week is None else (2, week)
    cols: dict[str, Any] = {}
    for j, (name, shape) in enumerate(zip(NUMERIC, SHAPES, strict=True)):
        cols[name] = shape.apply(shape.draw(_rng(seed, *tag, j), n), shifts.get(name, 0.0))
    if sc.categorical:
        for j, cat in enumerate(CATEGORICALS):
            cols[cat.name] = cat.apply(_rng(seed, *tag, 100 + j).random(n), shifts.get(cat.name, 0.0))
    cols["confidence"] = _rng(seed, *tag, 999).beta(8, 2, n)
    cols["prediction"] = np.full(n, "yes", dtype=object)
    return cols


def write_reference(path: Path, sc: Scenario, seed: int) -> None:
    cols = columns(sc, seed, None, sc.ref_rows, {})
    pq.write_table(pa.table({k: pa.array(v.tolist() if v.dtype == object else v) for k, v in cols.items()}), path)


def window_table(sc: Scenario, seed: int, week: int) -> pa.Table:
    n = sc.rows
    cols = columns(sc, seed, week, n, sc.shifts(seed, week))
    start_us = int((START + week * WEEK - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    ts = start_us + np.sort(_rng(seed, 3, week).integers(0, 7 * 86_400 * 1_000_000, n))
    out = {"prediction_id": pa.array([f"s{seed}-w{week}-{i}" for i in range(n)]),
           "timestamp": pa.array(ts, type=pa.timestamp("us"))}
    for k, v in cols.items():
        out[k] = pa.array(v.tolist() if v.dtype == object else v)
    return pa.table(out)


def config(sc: Scenario, reference: Path) -> StewardConfig:
    return StewardConfig.model_validate({"models": [{
        "name": MODEL, "task": "binary", "labels": ["yes", "no"], "window": "week",
        "features": features_of(sc), "reference": {"file": str(reference)},
    }]})


# -- the KS p-value memo (this process only) ---------------------------------------------------------------
_KS: dict[str, Any] = {"cache": {}, "calls": 0, "hits": 0, "verified": 0, "mismatches": 0}
_ORIGINAL_KS = window_drift_module.ks_pvalue
VERIFY_EVERY = 50


def _ks_pvalue_memo(d: float, n1: int, n2: int) -> float:
    """``ks_pvalue`` memoised on what its exact method reads: (n1, n2, round(d * lcm(n1, n2)))."""
    _KS["calls"] += 1
    if max(n1, n2) > 10_000:  # the asymptotic branch depends on d itself (and is cheap)
        return _ORIGINAL_KS(d, n1, n2)
    g = math.gcd(n1, n2)
    key = (n1, n2, int(np.round(float(d) * (n1 // g) * n2)))
    cache = _KS["cache"]
    if key not in cache:
        cache[key] = _ORIGINAL_KS(d, n1, n2)
        return cache[key]
    _KS["hits"] += 1
    p = cache[key]
    if _KS["hits"] % VERIFY_EVERY == 0:
        _KS["verified"] += 1
        if _ORIGINAL_KS(d, n1, n2) != p:
            _KS["mismatches"] += 1
    return p


def _worker_init(use_cache: bool) -> None:
    window_drift_module.ks_pvalue = _ks_pvalue_memo if use_cache else _ORIGINAL_KS


# -- running one seed -------------------------------------------------------------------------------
def _open(sc: Scenario, ref: Path, store: Path, threads: int) -> Monitor:
    mon = Monitor(config(sc, ref), store=store)
    mon.store.query(f"SET threads = {int(threads)}")
    return mon


def _log_weeks(mon: Monitor, sc: Scenario, seed: int, weeks: range) -> None:
    if sc.rows >= 10_000:
        for w in weeks:
            mon.log_predictions(window_table(sc, seed, w))
    elif len(weeks):
        mon.log_predictions(pa.concat_tables([window_table(sc, seed, w) for w in weeks]))


def _verdicts(mon: Monitor, sc: Scenario) -> list[list[Any]]:
    """Every stored verdict as [week index, subject, status, effect, p_adjusted, threshold, n_current, p_value]."""
    rows = mon.store.query_dicts(
        "SELECT window_start, subject, status, effect_size, n_current, p_value, details FROM drift_results "
        "WHERE model = ? AND test = 'verdict' ORDER BY window_start, subject", [MODEL])
    out = []
    for r in rows:
        det = json.loads(r["details"]) if r["details"] else {}
        out.append([int((r["window_start"] - START) / WEEK), r["subject"], r["status"], r["effect_size"],
                    det.get("p_adjusted"), det.get("threshold"), int(r["n_current"] or 0), r["p_value"]])
    weeks = {w for w, *_ in out}
    if weeks != set(range(sc.weeks)):
        raise RuntimeError(f"scenario {sc.key}: verdicts for weeks {sorted(weeks)}, expected 0..{sc.weeks - 1}")
    return out


def run_task(task: tuple[str, int, tuple[str, ...], bool, bool, int, str | None]) -> dict[str, Any]:
    """One seed of one group of scenarios; returns their verdicts and timings."""
    group, seed, keys, quick, full, threads, tmp = task
    scenarios = make_scenarios(quick, full)
    t_start, cpu_start = time.perf_counter(), time.process_time()
    before = {k: _KS[k] for k in ("calls", "hits", "verified", "mismatches")}
    out: dict[str, Any] = {"group": group, "seed": seed, "results": {}, "seconds": {}, "pid": os.getpid()}
    d = Path(tempfile.mkdtemp(prefix=f"dq-{group}-{seed}-", dir=tmp))
    try:
        first = scenarios[keys[0]]
        ref = d / "reference.parquet"
        write_reference(ref, first, seed)
        split = first.weeks // 2 if group == "shared" else 0  # b, e and f move nothing before this week
        base = d / "base.duckdb"
        t = time.perf_counter()
        if split:  # the common first weeks, checked once
            with _open(first, ref, base, threads) as mon:
                _log_weeks(mon, first, seed, range(split))
                mon.check(until=START + split * WEEK)
        out["seconds"]["shared_prefix"] = time.perf_counter() - t
        for i, key in enumerate(keys):
            sc = scenarios[key]
            t = time.perf_counter()
            store = d / f"{key}.duckdb"
            if split:  # the base store is closed (checkpointed); copy a WAL too should one remain
                for suffix in ("", ".wal"):
                    src = Path(f"{base}{suffix}")
                    if src.exists():
                        (shutil.move if i == len(keys) - 1 else shutil.copyfile)(src, Path(f"{store}{suffix}"))
            with _open(sc, ref, store, threads) as mon:
                _log_weeks(mon, sc, seed, range(split, sc.weeks))
                mon.check(until=START + sc.weeks * WEEK)
                out["results"][key] = _verdicts(mon, sc)
            out["seconds"][key] = time.perf_counter() - t
    finally:
        shutil.rmtree(d, ignore_errors=True)
    out["ks_memo"] = {k: _KS[k] - before[k] for k in before}
    out["wall"] = time.perf_counter() - t_start
    out["cpu"] = time.process_time() - cpu_start  # DuckDB runs with --jobs-scaled threads; see duckdb_threads_per_process
    return out


# -- scoring --------------------------------------------------------------------------------------------
def is_feature(subject: str) -> bool:
    return subject in FEATURES


def in_inputs_family(subject: str) -> bool:
    """Whether the library counts ``subject`` in the window's "inputs" verdict."""
    return subject != "inputs" and subject not in LIBRARY_OUTPUTS


def what_if(rows: list[list[Any]], alpha: float, dataset_alpha: float) -> list[list[Any]]:
    """Features' and confidence's verdicts re-derived with ``registry.verdict`` at ``alpha``, and the
    window's with ``registry.dataset_verdict`` at ``dataset_alpha``."""
    out: list[list[Any]] = []
    by_week: dict[int, list[tuple[float | None, bool, str]]] = {}
    for w, subject, status, effect, p_adj, thr, n, p_raw in rows:
        if not (is_feature(subject) or subject == "confidence"):
            continue
        if status in ("not_enough_data", "no_reference") or effect is None:
            new = status
        else:
            new = registry_verdict(effect=float(effect), threshold=float(thr), p_adjusted=p_adj, alpha=alpha,
                                   n_current=n, min_samples=0, subject=subject).status
        out.append([w, subject, new, effect, p_adj, thr, n, p_raw])
        if in_inputs_family(subject):
            large = effect is not None and thr is not None and float(effect) >= float(thr)
            by_week.setdefault(w, []).append((p_raw, large, new))
    for w, items in by_week.items():
        dv = registry_dataset_verdict([i[0] for i in items], [i[1] for i in items], [i[2] for i in items],
                                      dataset_alpha=dataset_alpha)
        out.append([w, "inputs", dv.status, None, None, None, 0, dv.p_value])
    return out


def score(sc: Scenario, per_seed: dict[int, list[list[Any]]]) -> dict[str, Any]:
    null_fw: Counter[str] = Counter()  # status counts on undrifted feature-windows
    confidence: Counter[str] = Counter()  # the confidence score never moves
    null_by_subject: dict[str, Counter[str]] = {}
    null_effects: dict[str, list[float]] = {}
    null_windows = null_window_alarms = null_window_small = 0
    drifted_reading: Counter[str] = Counter()
    first_reading: Counter[str] = Counter()
    dataset_first: Counter[str] = Counter()  # the window's "inputs" verdict in the first drifted window
    dataset_delays: list[int | None] = []
    delays: list[int | None] = []
    delays_any: list[int | None] = []
    per_seed_detail = []
    trivial: dict[float, Counter[str]] = {0.02: Counter(), 0.05: Counter()}
    trivial_windows = trivial_window_alarms = 0
    for seed, rows in sorted(per_seed.items()):
        by_week: dict[int, dict[str, list[Any]]] = {}
        for r in rows:
            by_week.setdefault(r[0], {})[r[1]] = r
        drifted = sc.drifted(seed)
        seed_delay = seed_delay_any = seed_dataset_delay = None
        seed_readings: Counter[str] = Counter()
        for w in range(sc.weeks):
            shifts = sc.shifts(seed, w)
            verdicts = by_week[w]
            for subject, r in verdicts.items():
                if subject == "confidence":
                    confidence[r[2]] += 1
                if not (is_feature(subject) or subject == "confidence") or subject in shifts:
                    continue
                if is_feature(subject):
                    null_fw[r[2]] += 1
                null_by_subject.setdefault(subject, Counter())[r[2]] += 1
                if r[3] is not None and subject in NUMERIC:
                    null_effects.setdefault(subject, []).append(float(r[3]))
            inputs = verdicts["inputs"][2]
            if not shifts:
                null_windows += 1
                null_window_alarms += inputs == "drift"
                null_window_small += inputs == "small_change"
            elif sc.kind == "trivial":
                trivial_windows += 1
                trivial_window_alarms += inputs == "drift"
                for subject, k in shifts.items():
                    trivial[k][verdicts[subject][2]] += 1
            else:
                if w == sc.drift_start:
                    dataset_first[inputs] += 1
                if inputs == "drift" and seed_dataset_delay is None:
                    seed_dataset_delay = w - sc.drift_start
                for subject in drifted:
                    status = verdicts[subject][2]
                    drifted_reading[status] += 1
                    seed_readings[status] += 1
                    if w == sc.drift_start:
                        first_reading[status] += 1
                    if status == "drift" and seed_delay is None:
                        seed_delay = w - sc.drift_start
                    if status in ("drift", "small_change") and seed_delay_any is None:
                        seed_delay_any = w - sc.drift_start
        if sc.kind in ("detect", "gradual"):
            delays.append(seed_delay)
            delays_any.append(seed_delay_any)
            dataset_delays.append(seed_dataset_delay)
            subject = drifted[0]
            detail = {"seed": seed, "feature": subject, "shape": SHAPE_OF[subject], "delay": seed_delay,
                      "delay_small_change_or_drift": seed_delay_any,
                      "first_window": by_week[sc.drift_start][subject][2], "readings": dict(seed_readings)}
            if sc.kind == "gradual":
                detail["first_flag_week"] = None if seed_delay is None else sc.drift_start + seed_delay + 1
                detail["shift_sd_at_flag"] = None if seed_delay is None else sc.shifts(seed, sc.drift_start + seed_delay)[subject]
            per_seed_detail.append(detail)
    n_null = sum(null_fw.values())
    res: dict[str, Any] = {
        "key": sc.key, "title": sc.title, "seeds": len(per_seed), "weeks": sc.weeks, "rows_per_window": sc.rows,
        "reference_rows": sc.ref_rows, "drift_start_week": sc.drift_start + 1 if sc.kind != "null" else None,
        "null_feature_windows": n_null, "null_status_counts": dict(null_fw),
        "confidence_status_counts": dict(confidence), "confidence_in_inputs_verdict": in_inputs_family("confidence"),
        "false_alarms": null_fw["drift"],
        "false_alarms_per_1000": 1000 * null_fw["drift"] / n_null if n_null else None,
        "small_change_per_1000": 1000 * null_fw["small_change"] / n_null if n_null else None,
        "null_windows": null_windows, "dataset_false_alarm_windows": null_window_alarms,
        "dataset_small_change_windows": null_window_small,
        "null_by_subject": {s: dict(c) for s, c in sorted(null_by_subject.items())},
        "null_wasserstein_p99": {s: float(np.quantile(v, 0.99)) for s, v in sorted(null_effects.items())},
    }
    if sc.kind == "trivial":
        res["trivial"] = {f"{k:g} sd": dict(c) for k, c in trivial.items()}
        res["trivial_windows"] = trivial_windows
        res["trivial_window_drift"] = trivial_window_alarms
    if sc.kind in ("detect", "gradual"):
        found = [x for x in delays if x is not None]
        res.update({
            "detected_seeds": len(found), "detected_rate": len(found) / len(delays) if delays else None,
            "detected_in_first_window": sum(x == 0 for x in found),
            "delay_median": float(np.median(found)) if found else None, "delay_max": max(found) if found else None,
            "delay_small_change_or_drift_median": (float(np.median([x for x in delays_any if x is not None]))
                                                   if any(x is not None for x in delays_any) else None),
            "drifted_window_readings": dict(drifted_reading), "first_window_readings": dict(first_reading),
            "dataset_first_window_readings": dict(dataset_first),
            "dataset_detected_seeds": sum(x is not None for x in dataset_delays),
            "dataset_delay_median": (float(np.median([x for x in dataset_delays if x is not None]))
                                     if any(x is not None for x in dataset_delays) else None),
            "dataset_delay_max": max((x for x in dataset_delays if x is not None), default=None),
            "per_seed": per_seed_detail,
        })
        if sc.kind == "gradual" and found:
            weeks = [d["first_flag_week"] for d in per_seed_detail if d["first_flag_week"] is not None]
            sds = [d["shift_sd_at_flag"] for d in per_seed_detail if d["shift_sd_at_flag"] is not None]
            res.update({"first_flag_week_median": float(np.median(weeks)), "first_flag_week_min": min(weeks),
                        "first_flag_week_max": max(weeks), "shift_sd_at_flag_median": float(np.median(sds))})
    return res


def score_what_if(scenarios: dict[str, Scenario], results: dict[str, dict[int, list[list[Any]]]]) -> dict[str, Any]:
    out: dict[str, Any] = {"consistent_at_configured_alpha": True, "mismatches": 0, "alphas": {}}
    for alpha, dataset_alpha in WHAT_IF_ALPHAS:
        per: dict[str, Any] = {}
        for key, per_seed in results.items():
            redone = {seed: what_if(rows, alpha, dataset_alpha) for seed, rows in per_seed.items()}
            if (alpha, dataset_alpha) == (ALPHA, DATASET_ALPHA):
                for seed, rows in per_seed.items():
                    stored = {(r[0], r[1]): r[2] for r in rows if is_feature(r[1]) or r[1] in ("confidence", "inputs")}
                    again = {(r[0], r[1]): r[2] for r in redone[seed]}
                    bad = sum(stored[k] != again.get(k) for k in stored)
                    out["mismatches"] += bad
                    out["consistent_at_configured_alpha"] &= bad == 0
            s = score(scenarios[key], redone)
            per[key] = {k: s.get(k) for k in ("false_alarms_per_1000", "small_change_per_1000", "dataset_false_alarm_windows",
                                              "null_windows", "detected_rate", "detected_in_first_window", "delay_median", "delay_max",
                                              "first_flag_week_median", "trivial_window_drift", "seeds",
                                              "dataset_first_window_readings")}
            if "trivial" in s:
                per[key]["trivial_drift"] = sum(c.get("drift", 0) for c in s["trivial"].values())
        out["alphas"][f"{alpha:g} / {dataset_alpha:g}"] = per
    return out


def shape_table(scored: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Null windows by subject, each stream counted once: drift / small_change.

    The numeric features and the confidence score of b, d, e and f are a's streams (d's first
    half, b/e/f's whole stream apart from the moved feature), so with a present they come from a
    alone; the categorical features from d. Scenario c (50,000-row windows) is left out.
    """
    agg: dict[str, Counter[str]] = {}
    p99: dict[str, list[float]] = {}
    for key, s in scored.items():
        if s["rows_per_window"] != 1000:
            continue
        for subject, c in s["null_by_subject"].items():
            if "a" in scored and key != "a" and subject not in CATEGORICAL_NAMES:
                continue
            agg.setdefault(subject, Counter()).update(c)
        for subject, v in s["null_wasserstein_p99"].items():
            if "a" in scored and key != "a":
                continue
            p99.setdefault(subject, []).append(v)
    rows = []
    for subject in [*NUMERIC, *(c.name for c in CATEGORICALS), "confidence"]:
        if subject not in agg:
            continue
        c = agg[subject]
        n = sum(c.values())
        rows.append({"subject": subject, "shape": SHAPE_OF[subject], "windows": n, "drift": c["drift"],
                     "small_change": c["small_change"], "drift_per_1000": 1000 * c["drift"] / n,
                     "wasserstein_p99": max(p99[subject]) if subject in p99 else None})
    return rows


# -- output ---------------------------------------------------------------------------------------------
def _f(x: Any, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def print_report(out: dict[str, Any]) -> None:
    m = out["machine"]
    print(f"modelsteward drift detection quality, {m['date']}: {m['cpus']} cores, Python {m['python']}, duckdb {m['duckdb']}, "
          f"numpy {m['numpy']}; {out['jobs']} process(es); KS p-value memo: {'on' if out['ks_memo']['enabled'] else 'off'}")
    print("Default drift settings: verdict = normalised Wasserstein >= 0.1 and KS (chi-square for categorical) "
          f"p < {ALPHA:g} after Benjamini-Hochberg across every subject of the window (inputs and outputs); the window's "
          f"'inputs' verdict needs a drifted input with p < {DATASET_ALPHA:g} after BH across the inputs (Simes).\n")
    sc = out["scenarios"]
    print("Scenarios")
    for k, s in sc.items():
        print(f"  ({k}) {s['title']}: {s['seeds']} seeds x {s['weeks']} weekly windows of {s['rows_per_window']:,} rows, "
              f"reference {s['reference_rows']:,} rows")
    hdr = (f"\n  {'':3} {'null feature-windows':>20} {'false drift /1000':>17} {'small_change /1000':>18} "
           f"{'dataset false alarms':>20} {'detected':>9} {'in 1st window':>13} {'delay med/max':>13}")
    print(hdr)
    for k, s in sc.items():
        det = f"{s['detected_seeds']}/{s['seeds']}" if "detected_seeds" in s else "-"
        first = f"{s['detected_in_first_window']}/{s['seeds']}" if "detected_seeds" in s else "-"
        delay = f"{_f(s.get('delay_median'), '.0f')}/{_f(s.get('delay_max'), 'd')}" if "detected_seeds" in s else "-"
        print(f"  ({k}) {s['null_feature_windows']:>20,} {_f(s['false_alarms_per_1000']):>17} {_f(s['small_change_per_1000']):>18} "
              f"{s['dataset_false_alarm_windows']:>9} of {s['null_windows']:<7,} {det:>9} {first:>13} {delay:>13}")
    print("  null feature-windows: features in windows where they did not move; dataset false alarms: windows where "
          "nothing moved and subject 'inputs' reads drift (b, e, f share a's first half, so those windows repeat a's)")
    conf_in = next(iter(sc.values()))["confidence_in_inputs_verdict"] if sc else False
    print("  confidence (never moves; corrected with every subject of the window, " + ("part of" if conf_in else "outside") +
          " the 'inputs' verdict): " + "; ".join(
              f"({k}) drift {s['confidence_status_counts'].get('drift', 0)}, small_change "
              f"{s['confidence_status_counts'].get('small_change', 0)} of {sum(s['confidence_status_counts'].values())}"
              for k, s in sc.items()))
    for k, s in sc.items():
        if "drifted_window_readings" in s:
            r, f1 = s["drifted_window_readings"], s["first_window_readings"]
            n = sum(r.values())
            print(f"  ({k}) drifted feature, {n} drifted windows: drift {r.get('drift', 0)}, small_change "
                  f"{r.get('small_change', 0)}, no_drift {r.get('no_drift', 0)}; first drifted window: drift {f1.get('drift', 0)}, "
                  f"small_change {f1.get('small_change', 0)}, no_drift {f1.get('no_drift', 0)}")
            dfw = s["dataset_first_window_readings"]
            print(f"  ({k}) window-level 'inputs' verdict in the first drifted window: drift {dfw.get('drift', 0)}, small_change "
                  f"{dfw.get('small_change', 0)}, no_drift {dfw.get('no_drift', 0)}; window-level drift at all in "
                  f"{s['dataset_detected_seeds']}/{s['seeds']} seeds, delay median/max "
                  f"{_f(s['dataset_delay_median'], '.0f')}/{_f(s['dataset_delay_max'], 'd')}")
        if "first_flag_week_median" in s:
            print(f"  ({k}) first 'drift' in week {s['first_flag_week_median']:.0f} (median; {s['first_flag_week_min']}..."
                  f"{s['first_flag_week_max']}), when the shift was {s['shift_sd_at_flag_median']:.2f} sd (median); "
                  f"first small_change or drift {_f(s['delay_small_change_or_drift_median'], '.0f')} windows after the "
                  f"start (median); flagged in {s['detected_seeds']}/{s['seeds']} seeds")
        if "trivial" in s:
            t = s["trivial"]
            print(f"  ({k}) trivially shifted feature-windows: " + "; ".join(
                f"{mag}: drift {c.get('drift', 0)}, small_change {c.get('small_change', 0)}, no_drift {c.get('no_drift', 0)}"
                for mag, c in t.items()) + f"; windows read 'drift' at dataset level: {s['trivial_window_drift']} of "
                f"{s['trivial_windows']}")
    per = [(k, s["per_seed"]) for k, s in sc.items() if s.get("per_seed") and k in ("b", "e", "f")]
    if per:
        print("\nDetection by drifted feature shape (one seed per shape; delay in windows, '-' = never 'drift')")
        keys = [k for k, _ in per]
        print(f"  {'feature':<6} {'shape':<26}" + "".join(f" {'(' + k + ') delay':>10} {'1st window':>12}" for k in keys))
        by_seed = {k: {d["seed"]: d for d in rows} for k, rows in per}
        for seed in sorted(by_seed[keys[0]]):
            d0 = by_seed[keys[0]][seed]
            line = f"  {d0['feature']:<6} {d0['shape']:<26}"
            for k in keys:
                d = by_seed[k].get(seed)
                line += f" {_f(d and d['delay'], 'd'):>10} {(d['first_window'] if d else '-'):>12}"
            print(line)
    if "d" in sc and sc["d"].get("per_seed"):
        print("  (d) by drifted categorical feature (seeds; readings over drifted windows; first drifted window):")
        for cat in CATEGORICALS:
            rows_d = [d for d in sc["d"]["per_seed"] if d["feature"] == cat.name]
            if rows_d:
                rd: Counter[str] = Counter()
                for d in rows_d:
                    rd.update(d["readings"])
                f1 = Counter(d["first_window"] for d in rows_d)
                print(f"      {cat.name} ({cat.shape}), {len(rows_d)} seeds: drift {rd['drift']}, small_change "
                      f"{rd['small_change']}, no_drift {rd['no_drift']}; first window drift {f1['drift']}, small_change "
                      f"{f1['small_change']}, no_drift {f1['no_drift']}")
    rows = out["null_by_shape"]
    if rows:
        print("\nFalse alarms by subject on null windows of 1,000 rows, each stream once (numeric features and confidence: a; "
              "categorical: d; b, d, e, f reuse a's numeric streams)")
        print(f"  {'subject':<10} {'shape':<32} {'windows':>8} {'drift':>6} {'small_change':>13} {'drift /1000':>12} {'W/sd p99':>9}")
        for r in rows:
            print(f"  {r['subject']:<10} {r['shape']:<32} {r['windows']:>8,} {r['drift']:>6} {r['small_change']:>13} "
                  f"{r['drift_per_1000']:>12.2f} {_f(r['wasserstein_p99'], '.3f'):>9}")
    wi = out["what_if"]
    print(f"\nWhat if drift.p_value / drift.dataset_p_value were different (registry.verdict and registry.dataset_verdict "
          f"re-applied to the stored p-values; reproduces the stored verdicts at {ALPHA:g} / {DATASET_ALPHA:g}: "
          f"{'yes' if wi['consistent_at_configured_alpha'] else 'NO, ' + str(wi['mismatches']) + ' differ'})")
    print(f"  {'p / dataset p':>13} {'scenario':>8} {'false drift /1000':>17} {'dataset false alarms':>20} {'detected':>9} "
          f"{'in 1st window':>13} {'window-level 1st':>16} {'delay med/max':>13} {'gradual week':>12}")
    for a, per_sc in wi["alphas"].items():
        for k, s in per_sc.items():
            det = "-" if s["detected_rate"] is None else f"{s['detected_rate']:.0%}"
            first = "-" if s["detected_in_first_window"] is None else f"{s['detected_in_first_window']}/{s['seeds']}"
            dfw = s.get("dataset_first_window_readings")
            wfirst = "-" if dfw is None else f"{dfw.get('drift', 0)}/{s['seeds']}"
            print(f"  {a:>13} {'(' + k + ')':>8} {_f(s['false_alarms_per_1000']):>17} {s['dataset_false_alarm_windows']:>9} of "
                  f"{s['null_windows']:<7,} {det:>9} {first:>13} {wfirst:>16} "
                  f"{_f(s['delay_median'], '.0f') + '/' + _f(s['delay_max'], 'd'):>13} {_f(s['first_flag_week_median'], '.0f'):>12}")
    print("\nTargets")
    for t in out["targets"]:
        print(f"  {'met    ' if t['met'] else 'NOT MET'}  {t['target']}: {t['value']}")
    km = out["ks_memo"]
    if km["enabled"]:
        print(f"\nKS p-value memo: {km['calls']:,} calls, {km['hits']:,} hits, {km['verified']} hits recomputed, "
              f"{km['mismatches']} differed")
    print(f"Total wall time {out['wall_seconds']:.0f} s; worker CPU {out['worker_cpu_seconds']:.0f} s; load average "
          f"{m['load_before'][0]:.1f} before, {m['load_after'][0]:.1f} after (other work on the machine slows the run)")
    print("  compute per scenario, wall seconds summed over processes: " + ", ".join(
        f"{k} {v:.0f} s" for k, v in out["scenario_seconds"].items()))


def targets(sc: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    t = []
    if "a" in sc:
        a = sc["a"]
        t.append({"target": f"(a) at most {TARGET_FALSE_PER_1000:g} false feature alarm per 1,000 feature-windows",
                  "value": f"{a['false_alarms_per_1000']:.2f} per 1,000 ({a['false_alarms']} of {a['null_feature_windows']:,})",
                  "met": a["false_alarms_per_1000"] <= TARGET_FALSE_PER_1000})
        t.append({"target": "(a) no dataset-level false alarm",
                  "value": f"{a['dataset_false_alarm_windows']} of {a['null_windows']:,} windows",
                  "met": a["dataset_false_alarm_windows"] == 0})
    if "b" in sc:
        b = sc["b"]
        t.append({"target": "(b) 0.2 sd shift detected in the first drifted window",
                  "value": f"{b['detected_in_first_window']} of {b['seeds']} seeds (detected at all: {b['detected_seeds']})",
                  "met": b["detected_in_first_window"] == b["seeds"]})
        dfw = b["dataset_first_window_readings"].get("drift", 0)
        t.append({"target": "(b) window-level 'inputs' alarm in the first drifted window (added check, stricter level)",
                  "value": f"{dfw} of {b['seeds']} seeds (window-level drift at all: {b['dataset_detected_seeds']})",
                  "met": dfw == b["seeds"]})
    if "c" in sc:
        c = sc["c"]
        n = sum(v.get("drift", 0) for v in c["trivial"].values())
        t.append({"target": "(c) trivial shifts on 50,000-row windows never read drift",
                  "value": f"{n} drift verdicts on shifted features, {c['trivial_window_drift']} dataset-level",
                  "met": n == 0 and c["trivial_window_drift"] == 0})
    for k in ("d",):
        if k in sc:
            s = sc[k]
            t.append({"target": f"({k}) 10-point category move detected in the first drifted window",
                      "value": f"{s['detected_in_first_window']} of {s['seeds']} seeds",
                      "met": s["detected_in_first_window"] == s["seeds"]})
    return t


def machine() -> dict[str, Any]:
    return {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "numpy": np.__version__, "pyarrow": pa.__version__,
            "load_before": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=None, help="seeds per scenario (default 20; 3 with --quick)")
    ap.add_argument("--extra-seeds", type=int, default=None,
                    help="seeds of scenarios d and e (default 10; --seeds with --full or --quick)")
    ap.add_argument("--large-seeds", type=int, default=None, help="seeds of scenario c (default 3; 5 with --full, 2 with --quick)")
    ap.add_argument("--quick", action="store_true", help="3 seeds, 16 weekly windows (c: 2 seeds, 3 windows)")
    ap.add_argument("--full", action="store_true",
                    help="the issue's sizes everywhere: d over 52 weeks, c 5 seeds x 8 windows, and scenario f (~2x the time)")
    ap.add_argument("--scenarios", default=None,
                    help=f"which of {ALL_SCENARIOS}, e.g. 'a,b' (default {DEFAULT_SCENARIOS}; {ALL_SCENARIOS} with --full)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default 2)")
    ap.add_argument("--no-ks-cache", action="store_true", help="run the library's KS p-value without the memo")
    ap.add_argument("--tmpdir", help="where the temporary stores go (default: the system's temp dir)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    args = ap.parse_args(argv)
    if args.scenarios is None:
        args.scenarios = ALL_SCENARIOS if args.full else DEFAULT_SCENARIOS
    keys = sorted({k for k in args.scenarios.replace(",", "").strip().lower()})
    if not keys or any(k not in ALL_SCENARIOS for k in keys):
        ap.error(f"--scenarios: choose among {', '.join(ALL_SCENARIOS)}")
    seeds = args.seeds if args.seeds is not None else (3 if args.quick else 20)
    large = args.large_seeds if args.large_seeds is not None else min(2 if args.quick else 5 if args.full else 3, seeds)
    extra = args.extra_seeds if args.extra_seeds is not None else seeds if args.quick or args.full else min(10, seeds)
    if seeds < 1 or large < 0 or extra < 0 or args.jobs < 1:
        ap.error("--seeds and --jobs must be >= 1, --large-seeds and --extra-seeds >= 0")
    if extra > seeds:
        ap.error("--extra-seeds cannot exceed --seeds (d and e use the first seeds)")
    scenarios = make_scenarios(args.quick, args.full)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)

    tasks: list[tuple[str, int, tuple[str, ...], bool, bool, int, str | None]] = []
    n_seeds = {k: large if k == "c" else extra if k in "de" else seeds for k in keys}
    for seed in range(n_seeds.get("c", 0)):
        tasks.append(("c", seed, ("c",), args.quick, args.full, threads, args.tmpdir))
    for seed in range(seeds):
        shared = tuple(k for k in keys if k in SHARED_PREFIX and seed < n_seeds[k])
        if shared:
            tasks.append(("shared", seed, shared, args.quick, args.full, threads, args.tmpdir))
        if "d" in keys and seed < n_seeds["d"]:
            tasks.append(("d", seed, ("d",), args.quick, args.full, threads, args.tmpdir))

    t0 = time.perf_counter()
    mach = machine()
    results: dict[str, dict[int, list[list[Any]]]] = {k: {} for k in keys if n_seeds[k]}
    seconds: Counter[str] = Counter()
    memo: Counter[str] = Counter()
    worker_cpu = 0.0
    log(f"{len(tasks)} tasks (seed x scenario group) in {args.jobs} process(es); seeds: "
        + ", ".join(f"{k} {n}" for k, n in n_seeds.items()) + f"; KS memo {'off' if args.no_ks_cache else 'on'}")
    ctx = mp.get_context("fork")
    with ctx.Pool(args.jobs, initializer=_worker_init, initargs=(not args.no_ks_cache,)) as pool:
        for done, r in enumerate(pool.imap_unordered(run_task, tasks), start=1):
            for k, rows in r["results"].items():
                results[k][r["seed"]] = rows
            for k, v in r["seconds"].items():
                seconds[k] += v
            memo.update(r["ks_memo"])
            worker_cpu += r["cpu"]
            log(f"[{done}/{len(tasks)}] seed {r['seed']:>2} {r['group']:<6} {'+'.join(r['results'])}: {r['wall']:.1f} s "
                f"(elapsed {time.perf_counter() - t0:.0f} s)")
    scored = {k: score(scenarios[k], per_seed) for k, per_seed in sorted(results.items())}
    out: dict[str, Any] = {
        "machine": mach, "jobs": args.jobs, "duckdb_threads_per_process": threads, "quick": args.quick, "full": args.full,
        "seeds": n_seeds, "alpha": ALPHA, "dataset_alpha": DATASET_ALPHA, "scenarios": scored,
        "null_by_shape": shape_table(scored), "what_if": score_what_if(scenarios, results), "targets": targets(scored),
        "ks_memo": {"enabled": not args.no_ks_cache, "calls": memo["calls"], "hits": memo["hits"],
                    "verified": memo["verified"], "mismatches": memo["mismatches"]},
        "scenario_seconds": {k: round(v, 1) for k, v in sorted(seconds.items())},
        "wall_seconds": time.perf_counter() - t0, "worker_cpu_seconds": worker_cpu,
    }
    out["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps(out, indent=1, default=str))
    else:
        print_report(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
