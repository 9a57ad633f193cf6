"""Grid sketches: exact cell counts, and KS / Wasserstein bounds that hold the exact values (scipy)."""

import math

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift.ks import ks_pvalue_asymptotic
from modelsteward.drift.sketch import GridCounter, grid_edges, ks_bounds, wasserstein_bounds


def _pairs():
    rng = np.random.default_rng(5)
    yield "normal shift", rng.normal(0, 1, 60_000), rng.normal(0.05, 1, 40_000)
    yield "lognormal scale", rng.lognormal(0, 1, 50_000), rng.lognormal(0, 1.2, 50_000)
    yield "poisson (ties)", rng.poisson(3, 30_000).astype(float), rng.poisson(3.2, 45_000).astype(float)
    yield "rounded normal", np.round(rng.normal(0, 1, 40_000), 1), np.round(rng.normal(0.1, 1, 40_000), 1)
    yield "disjoint", rng.uniform(0, 1, 20_000), rng.uniform(5, 6, 20_000)
    yield "heavy tails", rng.standard_t(2, 50_000), rng.standard_t(2, 50_000) + 0.02
    yield "same", (x := rng.normal(size=30_000)), x.copy()


PAIRS = list(_pairs())


def _grid(x, y, cells=512, split=1):
    edges = grid_edges([x[::7], y[::5]], cells=cells)
    a, b = GridCounter(edges), GridCounter(edges)
    for part in np.array_split(x, split):
        a.add(part)
    for part in np.array_split(y, split):
        b.add(part)
    return edges, a, b


@pytest.mark.parametrize("name, x, y", PAIRS, ids=[p[0] for p in PAIRS])
def test_cell_counts_and_moments_match_numpy(name, x, y):
    edges, a, b = _grid(x, y, split=3)
    for counter, v in ((a, x), (b, y)):
        expected = np.bincount(np.searchsorted(edges, v, side="left"), minlength=edges.size + 1)
        assert counter.counts.tolist() == expected.tolist()
        assert counter.n == v.size and counter.minimum == v.min() and counter.maximum == v.max()
        assert counter.mean == pytest.approx(v.mean(), rel=1e-9, abs=1e-9)
        assert counter.std == pytest.approx(np.std(v, ddof=1), rel=1e-9)


def test_values_on_the_edges_go_to_the_cell_they_close():
    edges = np.linspace(0.0, 1.0, 101)
    values = np.concatenate([edges, edges + 1e-12, edges - 1e-12, [np.nan, np.inf, -5.0, 7.0]])
    c = GridCounter(edges)
    c.add(values)
    finite = values[np.isfinite(values)]
    assert c.counts.tolist() == np.bincount(np.searchsorted(edges, finite, side="left"), minlength=102).tolist()


def _tails(a, b):
    return (a.tails[0], b.tails[0], a.tails[1], b.tails[1])


@pytest.mark.parametrize("with_tails", [False, True])
@pytest.mark.parametrize("name, x, y", PAIRS, ids=[p[0] for p in PAIRS])
def test_ks_bounds_hold_the_exact_statistic(name, x, y, with_tails):
    edges, a, b = _grid(x, y, split=2)
    bounds = ks_bounds(edges, a.counts, b.counts, _tails(a, b) if with_tails else None)
    exact = stats.ks_2samp(x, y).statistic
    assert bounds.lower - 1e-12 <= exact <= bounds.upper + 1e-12
    # The width is at most the largest mass either side puts in one cell.
    widest = max((a.counts / a.n).max(), (b.counts / b.n).max())
    assert bounds.error <= widest + 1e-12


@pytest.mark.parametrize("with_tails", [False, True])
@pytest.mark.parametrize("name, x, y", PAIRS, ids=[p[0] for p in PAIRS])
def test_wasserstein_bounds_hold_the_exact_distance(name, x, y, with_tails):
    edges, a, b = _grid(x, y, split=2)
    w = wasserstein_bounds(edges, a.counts, b.counts, min(a.minimum, b.minimum), max(a.maximum, b.maximum),
                           _tails(a, b) if with_tails else None)
    exact = stats.wasserstein_distance(x, y)
    assert w.lower - 1e-9 * max(1.0, exact) <= exact <= w.upper + 1e-9 * max(1.0, exact)
    assert w.lower <= w.estimate <= w.upper


def test_exact_tails_tighten_the_wasserstein_bounds_on_heavy_tails():
    rng = np.random.default_rng(21)
    x, y = rng.pareto(1.5, 100_000), rng.pareto(1.5, 100_000) * 1.1
    edges, a, b = _grid(x, y, cells=2048)
    lo, hi = min(a.minimum, b.minimum), max(a.maximum, b.maximum)
    loose = wasserstein_bounds(edges, a.counts, b.counts, lo, hi)
    tight = wasserstein_bounds(edges, a.counts, b.counts, lo, hi, _tails(a, b))
    exact = stats.wasserstein_distance(x, y)
    assert tight.lower <= exact * (1 + 1e-9) and exact <= tight.upper * (1 + 1e-9)
    assert tight.upper - tight.lower < 0.1 * (loose.upper - loose.lower)


def test_fine_grid_error_is_small_on_continuous_data():
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=200_000), rng.normal(0.03, 1.02, size=250_000)
    edges, a, b = _grid(x, y, cells=2048)
    ks = ks_bounds(edges, a.counts, b.counts)
    assert ks.error < 0.002
    assert abs(ks.lower - stats.ks_2samp(x, y).statistic) <= ks.error
    w = wasserstein_bounds(edges, a.counts, b.counts, min(a.minimum, b.minimum), max(a.maximum, b.maximum))
    assert (w.upper - w.lower) / np.std(x, ddof=1) < 0.01


def test_bounds_by_hand():
    # cells (-inf, 1], (1, 2], (2, inf): F1 = 0.5, 1 at the edges; F2 = 0, 0.5
    ks = ks_bounds(np.array([1.0, 2.0]), np.array([5, 5, 0]), np.array([0, 5, 5]))
    assert (ks.lower, ks.upper) == (0.5, 1.0)
    # x = 1 (5 copies), 2 (5); y = 2 (5), 3 (5): W1 = 1 exactly; the bounds hold it.
    w = wasserstein_bounds(np.array([1.0, 2.0]), np.array([5, 5, 0]), np.array([0, 5, 5]), 1.0, 3.0)
    assert w.lower <= 1.0 <= w.upper


def test_grid_edges_validation_and_ties():
    assert grid_edges([np.zeros(0)]).size == 0
    with pytest.raises(ValueError):
        grid_edges([[1.0]], cells=1)
    assert grid_edges([np.repeat([1.0, 2.0, 3.0], 100)], cells=64).tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("d, n1, n2", [(0.001, 1_000_000, 1_000_000), (0.002, 1_000_000, 1_000_000), (0.0005, 1_000_000, 10_000_000),
                                       (0.001, 100_000, 100_000), (0.004, 100_000, 100_000)])
def test_asymptotic_pvalue_is_conservative_and_close(d, n1, n2):
    en = n1 * n2 / (n1 + n2)
    finite = stats.kstwo.sf(d, round(en))
    limit = ks_pvalue_asymptotic(d, n1, n2)
    assert limit >= finite
    assert limit == pytest.approx(finite, rel=0.02)
    assert limit == pytest.approx(stats.kstwobign.sf(d * math.sqrt(en)))
