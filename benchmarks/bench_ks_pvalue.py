#!/usr/bin/env python
"""Benchmark: the exact two-sample KS p-value, ``modelsteward.drift.ks.ks_pvalue``.

Times one p-value for window sizes ``Monitor.check`` meets, four ways, in the same run:
the numpy port (the fallback), SciPy's compiled routine as the library calls it (memo cleared
before each call), a memo hit, and ``scipy.stats.ks_2samp`` on the samples (the baseline, which
also computes the statistic). Every p-value is checked equal to scipy's to 1e-9. Prints a table
(or ``--json``); nothing asserts on time.

    .venv/bin/python benchmarks/bench_ks_pvalue.py [--calls 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import numpy as np
from scipy import stats

from modelsteward.drift import ks

SIZES = [(1_000, 5_000), (5_000, 1_000), (2_000, 5_000), (999, 10_000)]


def _ms(fn, calls: int) -> float:
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20, help="timed calls per figure (the median is reported)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for n1, n2 in SIZES:
        x, y = rng.normal(size=n1), rng.normal(0.05, size=n2)
        ref = stats.ks_2samp(x, y)
        d = float(ref.statistic)
        assert abs(ks.ks_pvalue(d, n1, n2) - ref.pvalue) <= 1e-9, (n1, n2)
        g = math.gcd(n1, n2)
        h = int(np.round(d * (n1 // g) * n2))
        port_ok, port_p = ks._count_exact(n1, n2, g, h, compiled=False)
        assert port_ok and abs(port_p - ref.pvalue) <= 1e-9, (n1, n2)

        def uncached() -> None:
            ks._exact_counted.cache_clear()
            ks.ks_pvalue(d, n1, n2)

        rows.append({
            "n1": n1, "n2": n2,
            "port_ms": _ms(lambda: ks._count_exact(n1, n2, g, h, compiled=False), args.calls),
            "library_uncached_ms": _ms(uncached, args.calls),
            "library_cached_ms": _ms(lambda: ks.ks_pvalue(d, n1, n2), args.calls),
            "scipy_ks_2samp_ms": _ms(lambda: stats.ks_2samp(x, y), args.calls),
        })
    if args.json:
        print(json.dumps(rows))
        return
    print("| n1 vs n2 | port | library, uncached | library, memo hit | scipy ks_2samp (baseline) |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n1']:,} vs {r['n2']:,} | {r['port_ms']:.1f} ms | {r['library_uncached_ms']:.2f} ms | "
              f"{r['library_cached_ms']:.3f} ms | {r['scipy_ks_2samp_ms']:.2f} ms |")


if __name__ == "__main__":
    main()
