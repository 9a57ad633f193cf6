"""The KS p-value above SciPy's exact limit: ``kstwo_sf`` against ``scipy.stats.kstwo.sf``,
``ks_2samp_grouped`` against ``scipy.stats.ks_2samp`` from 10 to 10^6 values (ties included),
and the vectorised Smirnov sum against exact rational arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift import ks
from modelsteward.drift.ks import MAX_AUTO_N, SMIRNOV_MAX_COMPUTE_N, ks_2samp_grouped, ks_pvalue, kstwo_sf

RTOL = 1e-10
#: p-values are stored no smaller than 1e-300; SciPy's subnormal tails are compared absolutely.
ATOL = 1e-305


def grouped(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values, inverse = np.unique(np.concatenate([x, y]), return_inverse=True)
    return values, np.bincount(inverse[: len(x)], minlength=values.size), np.bincount(inverse[len(x):], minlength=values.size)


@pytest.mark.parametrize(
    ("n1", "n2", "shift", "decimals"),
    [
        (10, 13, 0.8, None),
        (10, 10, 0.0, 0),  # integer data: heavy ties
        (1_000, 700, 0.2, 1),
        (9_999, 10_000, 0.05, None),  # exact: both at most MAX_AUTO_N
        (10_000, 10_001, 0.05, 2),  # one past it: kstwo
        (10_001, 10_001, 0.0, None),
        (40_000, 10_001, 0.04, 1),
        (120_000, 80_000, 0.02, None),
        (300_000, 200_000, 0.012, 2),
        (1_000_000, 1_000_000, 0.008, 3),
    ],
)
def test_matches_scipy_ks_2samp_across_sizes(n1: int, n2: int, shift: float, decimals: int | None) -> None:
    rng = np.random.default_rng(n1 + 7 * n2)
    x, y = rng.normal(size=n1), rng.normal(shift, size=n2)
    if decimals is not None:
        x, y = np.round(x, decimals), np.round(y, decimals)
    expected = stats.ks_2samp(x, y)  # method='auto'
    res = ks_2samp_grouped(*grouped(x, y))
    assert res.statistic == pytest.approx(expected.statistic, rel=1e-12, abs=0)
    np.testing.assert_allclose(res.p_value, expected.pvalue, rtol=RTOL, atol=ATOL)
    en = n1 * n2 / (n1 + n2)
    if max(n1, n2) > MAX_AUTO_N and shift > 0:
        # the drifted large cases land where SciPy sums the Smirnov series (n D^2 >= 2.2)
        assert 2.2 <= round(en) * res.statistic**2 < 370, round(en) * res.statistic**2


def _grid() -> list[tuple[int, float]]:
    cases = []
    for n in (141, 1_000, 10_001, 77_777):
        for z in (0.9, 1.2, math.sqrt(2.2), 1.5, 2.0, 3.0, 6.0, 12.0, 18.0, 18.8, 19.1, 19.3, 19.5):
            if z / math.sqrt(n) < 0.5:
                cases.append((n, z / math.sqrt(n)))
    cases += [(300_000, z / math.sqrt(300_000)) for z in (1.5, 6.0, 19.1)]  # SciPy takes seconds each
    cases += [(SMIRNOV_MAX_COMPUTE_N, 2.0 / 1_000.0), (SMIRNOV_MAX_COMPUTE_N + 1, 2.0 / 1_000.0), (2_000, 0.6), (150, 0.99)]
    return cases


@pytest.mark.parametrize(("n", "d"), _grid())
def test_kstwo_sf_matches_scipy(n: int, d: float) -> None:
    np.testing.assert_allclose(kstwo_sf(d, n), stats.kstwo.sf(d, n), rtol=RTOL, atol=ATOL)


def test_smirnov_sum_in_small_blocks_matches_scipy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many blocks and the early stop past the peak give SciPy's value too."""
    monkeypatch.setattr(ks, "_SMIRNOV_BLOCK", 97)
    for z in (1.6, 4.0, 15.0):
        d = z / math.sqrt(20_000)
        np.testing.assert_allclose(2 * ks._smirnov_sf(20_000, d), stats.kstwo.sf(d, 20_000), rtol=RTOL, atol=0)


@pytest.mark.parametrize(("n", "x"), [(150, Fraction(1, 7)), (301, Fraction(3, 40)), (400, Fraction(21, 100))])
def test_smirnov_sum_against_exact_rationals(n: int, x: Fraction) -> None:
    """Birnbaum and Tingey's sum evaluated exactly in rationals (a second method, not SciPy)."""
    exact = x * sum(
        math.comb(n, j) * (1 - x - Fraction(j, n)) ** (n - j) * (x + Fraction(j, n)) ** (j - 1)
        for j in range(0, n) if 1 - x - Fraction(j, n) > 0
    )
    assert ks._smirnov_sf(n, float(x)) == pytest.approx(float(exact), rel=1e-12)


def test_ks_pvalue_uses_kstwo_above_the_exact_limit() -> None:
    d, n1, n2 = 0.011, 150_000, 90_000
    m, n = sorted([float(n1), float(n2)], reverse=True)
    np.testing.assert_allclose(ks_pvalue(d, n1, n2), stats.kstwo.sf(d, np.round(m * n / (m + n))), rtol=RTOL, atol=0)
