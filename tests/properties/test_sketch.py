"""Grid sketches on odd data: the KS and Wasserstein bounds must contain the exact values.

Samples of one value, all values equal, NaN and infinities (skipped by the counter), huge
and tiny magnitudes, integer input, one value against thousands, and grids of 2 to 64
cells, with and without the exact tails.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from modelsteward.drift.sketch import GridCounter, grid_edges, ks_bounds, wasserstein_bounds

from ._odd import SEEDED, Refused, odd_samples, outcome


def _finite(x: object) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a[np.isfinite(a)]


@SEEDED
@given(x=odd_samples(max_size=30), y=odd_samples(max_size=30), cells=st.sampled_from([2, 3, 8, 64]),
       with_tails=st.booleans(), repeat=st.sampled_from([1, 1, 500]))
@example(x=[1.0], y=[1.0, 1.0], cells=8, with_tails=True, repeat=1).via("one value in all")
@example(x=[0.0, 1e300], y=[-1e300, 1e-300], cells=64, with_tails=False, repeat=1).via("extreme spread: refused")
@example(x=[0.0, 1e308, 1e308], y=[1.0], cells=8, with_tails=True, repeat=1).via("sums overflow: refused")
def test_bounds_contain_the_exact_statistics(x: object, y: object, cells: int, with_tails: bool, repeat: int) -> None:
    a, b = _finite(x), np.repeat(_finite(y), repeat)
    edges = outcome(grid_edges, [a, b], cells)
    c1, c2 = GridCounter(edges), GridCounter(edges)
    for counter, values in ((c1, np.asarray(x, dtype=np.float64)), (c2, np.repeat(np.asarray(y, dtype=np.float64), repeat))):
        if isinstance(res := outcome(counter.add, values), Refused):
            # only where the squares of the deviations leave the float range
            assert np.abs(_finite(values)).max() > 1e150 or np.ptp(edges) < 1e-150, res
            return
    assert (c1.n, c2.n) == (a.size, b.size)
    assert c1.counts.sum() == a.size and c2.counts.sum() == b.size
    tails = None
    if with_tails and c1.tails is not None and c2.tails is not None:
        (l1, h1), (l2, h2) = c1.tails, c2.tails
        tails = (l1, l2, h1, h2)
    ks = outcome(ks_bounds, edges, c1.counts, c2.counts, tails)
    if a.size == 0 or b.size == 0:
        assert isinstance(ks, Refused)
        return
    exact_d = float(stats.ks_2samp(a, b).statistic)
    assert ks.lower - 1e-12 <= exact_d <= ks.upper + 1e-12, (ks, exact_d)
    lo, hi = min(c1.minimum, c2.minimum), max(c1.maximum, c2.maximum)
    w = outcome(wasserstein_bounds, edges, c1.counts, c2.counts, lo, hi, tails)
    with np.errstate(all="ignore"):
        exact_w = float(stats.wasserstein_distance(a, b))
    if math.isfinite(exact_w) and math.isfinite(hi - lo):
        slack = 1e-9 * max(exact_w, 1e-300) + 1e-12 * (hi - lo)
        assert w.lower - slack <= exact_w <= w.upper + slack, (w, exact_w)
        assert w.lower <= w.estimate <= w.upper


@SEEDED
@given(x=odd_samples(max_size=20))
def test_counter_moments_equal_numpy(x: object) -> None:
    a = _finite(x)
    edges = outcome(grid_edges, [a], 16)
    counter = GridCounter(edges)
    if isinstance(res := outcome(counter.add, np.asarray(x, dtype=np.float64)), Refused):
        assert np.abs(a).max() > 1e150 or np.ptp(edges) < 1e-150, res
        assert counter.n == 0 and counter.counts.sum() == 0  # nothing of a refused batch is kept
        return
    if a.size == 0:
        assert math.isnan(counter.mean)
        return
    assert (counter.minimum, counter.maximum) == (float(a.min()), float(a.max()))
    if np.all(np.abs(a) < 1e150):
        assert math.isclose(counter.mean, float(np.mean(a)), rel_tol=1e-9, abs_tol=1e-9 * float(np.abs(a).max()))
        if a.size > 1:
            assert math.isclose(counter.std, float(np.std(a, ddof=1)), rel_tol=1e-6, abs_tol=1e-6 * float(np.abs(a).max()))
