"""Per-subject drift tests of one column read from two files, exact when small, sketched when large.

Used by :func:`~modelsteward.drift.report.drift_report`. The engine reads each column on its
own (DuckDB decodes Parquet columns in parallel and skips the others), so memory holds one
column at a time; above :data:`CHUNK_ROWS` rows a column is streamed in batches and memory
no longer grows with the rows.

* **Exact** (both files together at most ``exact_max_rows`` rows, default
  :data:`EXACT_MAX_ROWS`): the KS statistic and p-value, the Wasserstein-1 distance, PSI
  on the reference's quantile bins (``quantile_cont``, as the stored profile), and
  Anderson–Darling and Cramér–von Mises when configured, from the pooled distinct values:
  the numbers ``scipy.stats`` gives on the raw samples.
* **Sketched** (larger): counts on a grid of :data:`~modelsteward.drift.sketch.DEFAULT_CELLS`
  cells whose edges are quantiles of strided samples of both files
  (:mod:`~modelsteward.drift.sketch`). KS ``D`` and ``W1`` are the *lower* bounds of
  intervals that hold the exact values; the interval widths are stored with each result
  (``error_bound``, ``wasserstein_1_upper``). PSI uses the grid edges nearest the
  reference's decile (``bins``) quantiles. Anderson–Darling and Cramér–von Mises (when
  configured) treat each cell as one tied value (both are rank statistics) and say so.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelsteward.config import ModelConfig
from modelsteward.drift.distances import hellinger, jensen_shannon
from modelsteward.drift.ks import _statistic, ks_pvalue, ks_pvalue_asymptotic
from modelsteward.drift.psi import psi
from modelsteward.drift.registry import VERDICT_TESTS, verdict
from modelsteward.drift.samples import anderson_darling_grouped, cramer_von_mises_grouped
from modelsteward.drift.sketch import DEFAULT_CELLS, GridCounter, grid_edges, ks_bounds, wasserstein_bounds
from modelsteward.drift.window_drift import DriftResult, _Tested

__all__ = ["CHUNK_ROWS", "EXACT_MAX_ROWS", "ColumnRef", "numeric_file_test", "numeric_values"]

#: Files with at most this many rows together get exact statistics.
EXACT_MAX_ROWS = 200_000
#: Columns longer than this are streamed in batches of this many rows.
CHUNK_ROWS = 1 << 21
#: Values per side drawn (strided) to place the grid edges.
GRID_SAMPLE = 1 << 15

Source = tuple[str, list[Any]]  # a FROM-clause and its parameters
_Results = dict[str, tuple[float, float | None, float, dict[str, Any]]]


@dataclass(frozen=True)
class ColumnRef:
    """One numeric column of a file: ``expr`` over the FROM-clause ``source``, ``n_rows`` rows.

    (Reading Parquet columns with pyarrow instead of the engine was tried: no less CPU at 1M
    rows, and about 50 MB more peak memory.)
    """

    expr: str
    source: Source
    n_rows: int


def numeric_values(con: Any, col: ColumnRef) -> Iterator[np.ndarray]:
    """The finite values of a column, in one array or in batches of CHUNK_ROWS."""
    sql = f"SELECT {col.expr} AS v FROM {col.source[0]}"
    if col.n_rows <= CHUNK_ROWS:
        v = con.execute(sql, col.source[1]).fetchnumpy()["v"]
        yield _finite(v)
        return
    for batch in con.sql(sql, params=col.source[1]).to_arrow_reader(CHUNK_ROWS):
        yield _finite(batch.column(0).to_numpy(zero_copy_only=False))


def _finite(v: Any) -> np.ndarray:
    arr = np.ma.filled(v.astype(np.float64), np.nan) if isinstance(v, np.ma.MaskedArray) else np.asarray(v, dtype=np.float64)
    ok = np.isfinite(arr)
    return arr if ok.all() else arr[ok]


def _edges_psi(values: np.ndarray, bins: int) -> list[float]:
    qs = [i / bins for i in range(1, bins)]
    return sorted({float(e) for e in np.quantile(values, qs)}) if values.size else []


def _move(ref_mean: float, cur_mean: float) -> str:
    return f"mean {ref_mean:.4g} → {cur_mean:.4g}"


def numeric_file_test(con: Any, model: ModelConfig, subject: str, ref: ColumnRef, cur: ColumnRef,
                      *, exact_max_rows: int = EXACT_MAX_ROWS, cells: int = DEFAULT_CELLS) -> _Tested | DriftResult:
    """Every configured numeric test of one subject, the reference column against the current one."""
    if ref.n_rows + cur.n_rows <= exact_max_rows:
        x = np.concatenate(list(numeric_values(con, ref)))
        y = np.concatenate(list(numeric_values(con, cur)))
        early = _early(model, subject, x.size, y.size)
        return early if early is not None else _exact(model, subject, x, y)
    return _sketched(con, model, subject, ref, cur, cells)


def _early(model: ModelConfig, subject: str, n_ref: int, n_cur: int) -> DriftResult | None:
    if n_ref == 0:
        return DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with")
    if n_cur < model.drift.min_samples:
        v = verdict(effect=0.0, threshold=0.0, p_adjusted=None, alpha=model.drift.p_value, n_current=n_cur,
                    min_samples=model.drift.min_samples, subject=subject)
        return DriftResult(subject, "verdict", v.status, v.reading, n_reference=n_ref, n_current=n_cur)
    return None


def _wanted(model: ModelConfig) -> set[str]:
    return set(model.drift.numeric_tests) | set(VERDICT_TESTS["numeric"])


def _exact(model: ModelConfig, subject: str, x: np.ndarray, y: np.ndarray) -> _Tested:
    tests = _wanted(model)
    values, c1, c2 = _grouped_sorted(x, y)
    n1, n2 = int(c1.sum()), int(c2.sum())
    d = _statistic(c1, c2)
    w1 = float(np.dot(np.abs(np.cumsum(c1[:-1]) / n1 - np.cumsum(c2[:-1]) / n2), np.diff(values)))
    std = float(np.std(x, ddof=1)) if n1 > 1 else 0.0
    out: _Results = {}
    if "ks" in tests:
        out["ks"] = (d, ks_pvalue(d, n1, n2), d, {"method": "exact"})
    _wasserstein(out, w1, std, {"method": "exact"})
    edges = _edges_psi(x, model.drift.bins)
    if {"psi", "jensen_shannon", "hellinger"} & tests:
        ref_counts = np.bincount(np.searchsorted(edges, x, side="left"), minlength=len(edges) + 1).tolist()
        cur_counts = np.bincount(np.searchsorted(edges, y, side="left"), minlength=len(edges) + 1).tolist()
        _binned(out, tests, edges, ref_counts, cur_counts)
    _rank_tests(out, tests, values, c1, c2, {})
    return _Tested(subject, "numeric", n1, n2, out, _move(float(x.mean()), float(y.mean())))


def _grouped_sorted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~modelsteward.drift.samples.grouped_counts` of finite samples, by sorting each side once.

    The two sorted runs are merged by a stable sort (linear on two runs); each value's counts
    per side come from its group number.
    """
    xs, ys = np.sort(x), np.sort(y)
    z = np.concatenate([xs, ys])
    order = np.argsort(z, kind="stable")
    zs = z[order]
    if zs.size == 0:
        return zs, np.zeros(0, np.int64), np.zeros(0, np.int64)
    new = np.empty(zs.size, dtype=bool)
    new[0] = True
    np.not_equal(zs[1:], zs[:-1], out=new[1:])
    group = np.cumsum(new) - 1
    from_y = order >= xs.size
    size = int(group[-1]) + 1
    c1 = np.bincount(group[~from_y], minlength=size).astype(np.int64)
    c2 = np.bincount(group[from_y], minlength=size).astype(np.int64)
    return zs[new], c1, c2


def _wasserstein(out: _Results, w1: float, std: float, details: dict[str, Any]) -> None:
    w_norm = w1 / std if std > 0 else (0.0 if w1 == 0 else math.inf)
    out["wasserstein"] = (w_norm, None, w_norm, {"wasserstein_1": w1, "reference_std": std, **details})


def _binned(out: _Results, tests: set[str], edges: list[float], ref_counts: list[int], cur_counts: list[int]) -> None:
    bins = {"edges": edges, "reference_counts": ref_counts, "current_counts": cur_counts}
    for name, fn in (("psi", psi), ("jensen_shannon", jensen_shannon), ("hellinger", hellinger)):
        if name in tests:
            value = float(fn(ref_counts, cur_counts))
            out[name] = (value, None, value, bins if name == "psi" else {})


def _rank_tests(out: _Results, tests: set[str], values: np.ndarray, c1: np.ndarray, c2: np.ndarray, note: dict[str, Any]) -> None:
    if "anderson_darling" in tests:
        ad = anderson_darling_grouped(values, c1, c2)
        out["anderson_darling"] = (ad.statistic, ad.p_value, ad.effect_size, {"p_value_clipped": ad.p_value_clipped, **note})
    if "cramer_von_mises" in tests:
        cvm = cramer_von_mises_grouped(values, c1, c2)
        out["cramer_von_mises"] = (cvm.statistic, cvm.p_value, cvm.effect_size, dict(note))


def _strided(con: Any, col: ColumnRef) -> np.ndarray:
    step = max(1, col.n_rows // GRID_SAMPLE)
    return np.concatenate([v[::step] for v in numeric_values(con, col)] or [np.zeros(0)])


def _sketched(con: Any, model: ModelConfig, subject: str, ref: ColumnRef, cur: ColumnRef, cells: int) -> _Tested | DriftResult:
    tests = _wanted(model)
    # A column that fits in one chunk is read once and kept; a longer one is read twice (sample, then counts).
    kept: dict[int, list[np.ndarray]] = {}
    samples = []
    for i, col in enumerate((ref, cur)):
        if col.n_rows <= CHUNK_ROWS:
            kept[i] = list(numeric_values(con, col))
            step = max(1, col.n_rows // GRID_SAMPLE)
            samples.append(np.concatenate([v[::step] for v in kept[i]]))
        else:
            samples.append(_strided(con, col))
    edges = grid_edges(samples, cells)
    shift = float(np.median(samples[0])) if samples[0].size else None
    counters: list[GridCounter] = []
    for i, col in enumerate((ref, cur)):
        counter = GridCounter(edges, shift=shift, share=counters[0] if counters else None)
        for v in kept.pop(i, None) or numeric_values(con, col):
            counter.add(v, finite=True)  # numeric_values keeps finite values only
        counters.append(counter)
    r, c = counters
    early = _early(model, subject, r.n, c.n)
    if early is not None:
        return early
    tr, tc = r.tails, c.tails
    tails = (tr[0], tc[0], tr[1], tc[1]) if tr is not None and tc is not None else None
    ks = ks_bounds(edges, r.counts, c.counts, tails)
    grid = {"method": "grid_sketch", "cells": int(edges.size + 1), "exact_tails": tails is not None}
    out: _Results = {}
    if "ks" in tests:
        out["ks"] = (ks.lower, ks_pvalue_asymptotic(ks.lower, r.n, c.n), ks.lower,
                     {**grid, "statistic_upper": ks.upper, "error_bound": ks.error, "p_value": "asymptotic (conservative)",
                      "p_value_at_upper": ks_pvalue_asymptotic(ks.upper, r.n, c.n)})
    w = wasserstein_bounds(edges, r.counts, c.counts, min(r.minimum, c.minimum), max(r.maximum, c.maximum), tails)
    std = r.std if r.n > 1 else 0.0
    _wasserstein(out, w.lower, std, {**grid, "wasserstein_1_upper": w.upper, "wasserstein_1_estimate": w.estimate})
    if {"psi", "jensen_shannon", "hellinger"} & tests:
        cum = np.cumsum(r.counts)[:-1] / r.n  # reference share at or below each grid edge
        picks = sorted({int(np.argmin(np.abs(cum - i / model.drift.bins))) for i in range(1, model.drift.bins)}) if edges.size else []
        bounds = [0, *[p + 1 for p in picks], r.counts.size]
        ref_counts = [int(r.counts[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        cur_counts = [int(c.counts[a:b].sum()) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        _binned(out, tests, [float(edges[p]) for p in picks], ref_counts, cur_counts)
    if {"anderson_darling", "cramer_von_mises"} & tests:
        keep = (r.counts + c.counts) > 0
        ranks = np.arange(int(keep.sum()), dtype=np.float64)
        _rank_tests(out, tests, ranks, r.counts[keep], c.counts[keep],
                    {**grid, "approximate": "each grid cell treated as one tied value"})
    return _Tested(subject, "numeric", r.n, c.n, out, _move(r.mean, c.mean))
