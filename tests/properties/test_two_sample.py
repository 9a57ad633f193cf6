"""Two-sample tests on raw values (KS, Wasserstein, Anderson-Darling, Cramér-von Mises) on odd data.

Each is run on empty, single-value, constant, NaN/inf-laced, huge, tiny, signed-zero and
integer samples: it returns a defined result or the package's clear error, and where scipy
has the answer (finite values) it agrees with scipy. The rank tests must not depend on the
scale of the data, and the normalised Wasserstein distance must not either.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats

from modelsteward.drift.ks import ks_2samp_grouped, ks_pvalue, ks_pvalue_asymptotic, ks_statistic_from_counts
from modelsteward.drift.samples import (
    anderson_darling,
    cramer_von_mises,
    grouped_counts,
    midpoint_quantiles,
    wasserstein_from_quantiles,
    wasserstein_normalised,
)
from modelsteward.errors import InsufficientDataError

from ._odd import FEW, SEEDED, Refused, close, odd_samples, outcome, scaled_pair


def _clean(x: object) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a[~np.isnan(a)]


def _has_inf(*xs: object) -> bool:
    return any(np.isinf(_clean(x)).any() for x in xs)


def _ks(x: object, y: object) -> object:
    return ks_2samp_grouped(*grouped_counts(x, y))


# --------------------------------------------------------------------------- Kolmogorov-Smirnov


@SEEDED
@given(x=odd_samples(), y=odd_samples())
@example(x=[], y=[1.0]).via("empty reference")
@example(x=[-0.0, 0.0], y=[0.0]).via("signed zero is one value")
@example(x=[1e300, -1e300], y=[1e-300, 5e-324]).via("extreme magnitudes")
def test_ks_defined_or_clear_and_equal_to_scipy(x: object, y: object) -> None:
    res = outcome(_ks, x, y)
    a, b = _clean(x), _clean(y)
    if isinstance(res, Refused):
        # Infinite values are refused by the grouping, empty samples by the test itself.
        assert _has_inf(x, y) or isinstance(res.exc, InsufficientDataError) and min(a.size, b.size) == 0, res
        return
    assert a.size and b.size
    ref = stats.ks_2samp(a, b)
    assert close(res.statistic, float(ref.statistic), rel=1e-12)
    assert close(res.p_value, float(ref.pvalue), rel=1e-9, abs_=1e-14)
    assert (res.n1, res.n2) == (a.size, b.size)


@FEW
@given(seed=st.integers(0, 2**32 - 1), n_big=st.sampled_from([10_001, 100_000]),
       k=st.integers(1, 6), one_on_reference=st.booleans())
def test_ks_one_value_against_a_hundred_thousand(seed: int, n_big: int, k: int, one_on_reference: bool) -> None:
    rng = np.random.default_rng(seed)
    values = np.arange(k, dtype=np.float64) * 1e300 / 8
    big = rng.multinomial(n_big, np.full(k, 1 / k))
    one = np.zeros(k, dtype=np.int64)
    one[rng.integers(k)] = 1
    c1, c2 = (one, big) if one_on_reference else (big, one)
    res = outcome(ks_2samp_grouped, values, c1, c2)
    ref = stats.ks_2samp(np.repeat(values, c1), np.repeat(values, c2))
    assert close(res.statistic, float(ref.statistic), rel=1e-12)
    assert close(res.p_value, float(ref.pvalue), rel=1e-7, abs_=1e-12)


@SEEDED
@given(d=st.one_of(st.floats(allow_nan=True), st.sampled_from([-0.0, 1.0, 1 + 1e-16, 5e-324])),
       n1=st.integers(-1, 12_000), n2=st.integers(-1, 12_000))
def test_ks_pvalue_in_unit_interval_or_refused(d: float, n1: int, n2: int) -> None:
    res = outcome(ks_pvalue, d, n1, n2)
    if isinstance(res, Refused):
        assert min(n1, n2) < 1 or not 0.0 <= d <= 1.0, res
        return
    assert 0.0 <= res <= 1.0
    if d == 0.0:
        assert res == 1.0


@SEEDED
@given(d=st.one_of(st.floats(allow_nan=True), st.sampled_from([-0.0, 1.0, 5e-324])),
       n1=st.sampled_from([-1, 0, 1, 2, 10**5, 10**12]), n2=st.sampled_from([0, 1, 10**6]))
def test_ks_pvalue_asymptotic_is_the_kolmogorov_tail(d: float, n1: int, n2: int) -> None:
    res = outcome(ks_pvalue_asymptotic, d, n1, n2)
    if isinstance(res, Refused):
        assert min(n1, n2) < 1 or not 0.0 <= d <= 1.0, res
        return
    assert close(res, float(stats.kstwobign.sf(d * math.sqrt(n1 * n2 / (n1 + n2)))), rel=1e-9, abs_=1e-300)


@SEEDED
@given(x=odd_samples(), y=odd_samples())
def test_ks_statistic_from_counts_is_the_test_statistic(x: object, y: object) -> None:
    grouped = outcome(grouped_counts, x, y)
    if isinstance(grouped, Refused):
        return
    d = outcome(ks_statistic_from_counts, *grouped)
    res = outcome(ks_2samp_grouped, *grouped)
    assert type(d) is type(res) is Refused or d == res.statistic


# --------------------------------------------------------------------------- Wasserstein


@SEEDED
@given(x=odd_samples(), y=odd_samples())
@example(x=[1.0, 1.0, 1.0], y=[1.0]).via("constant reference, same value: 0")
@example(x=[2.0, 2.0], y=[3.0]).via("constant reference, moved: inf")
def test_wasserstein_defined_or_clear(x: object, y: object) -> None:
    res = outcome(wasserstein_normalised, x, y)
    a, b = _clean(x), _clean(y)
    if isinstance(res, Refused):
        assert _has_inf(x, y) or a.size < 2 or b.size == 0, res
        return
    assert res >= 0.0 and not math.isnan(res)
    if np.all(a == a[0]):
        assert res == (0.0 if np.all(b == a[0]) else math.inf)
    elif np.all(np.abs(np.concatenate([a, b])) < 1e100) and np.all(np.abs(a - a.mean()) > 1e-100):
        with np.errstate(all="ignore"):
            expected = stats.wasserstein_distance(a, b) / np.std(a, ddof=1)
        assert close(res, float(expected), rel=1e-9)


@SEEDED
@given(data=scaled_pair(min_size=2))
@example(data=(np.array([0.0, 2.0]), np.array([1.0]), 1e300)).via("squares of 1e300 overflow")
@example(data=(np.array([0.0, 2.0]), np.array([1.0]), 1e-300)).via("squares of 1e-300 underflow")
def test_wasserstein_does_not_depend_on_the_unit(data: tuple[np.ndarray, np.ndarray, float]) -> None:
    x, y, scale = data
    base = outcome(wasserstein_normalised, x, y)
    scaled = outcome(wasserstein_normalised, x * scale, y * scale)
    if np.ptp(x) == 0:
        assert base == scaled
        return
    if not np.array_equal(x * scale / scale, x):  # the unit is finer than the smallest float
        return
    expected = stats.wasserstein_distance(x, y) / np.std(x, ddof=1)
    assert close(base, float(expected), rel=1e-9)
    assert close(scaled, base, rel=1e-9), (scaled, base)


@SEEDED
@given(x=odd_samples(), k=st.integers(-1, 50), method=st.sampled_from(["linear", "inverted_cdf", "median_unbiased"]))
def test_midpoint_quantiles_equal_numpy(x: object, k: int, method: str) -> None:
    res = outcome(midpoint_quantiles, x, k, method)
    a = _clean(x)
    if isinstance(res, Refused):
        assert a.size == 0 or _has_inf(x) or k < 1, res
        return
    assert k >= 1 and res.shape == (k,)
    with np.errstate(all="ignore"):
        expected = np.quantile(a, (np.arange(k) + 0.5) / k, method=method)
    np.testing.assert_array_equal(res, expected)


@SEEDED
@given(x=odd_samples(min_size=1, finite=True), y=odd_samples(min_size=1, finite=True), k=st.integers(1, 20))
def test_wasserstein_from_quantiles_is_the_mean_gap(x: object, y: object, k: int) -> None:
    qx = outcome(midpoint_quantiles, x, k)
    qy = outcome(midpoint_quantiles, y, k)
    if isinstance(qx, Refused) or isinstance(qy, Refused):
        return
    res = outcome(wasserstein_from_quantiles, qx, qy)
    exact = sum(abs(Fraction(a) - Fraction(b)) for a, b in zip(qx.tolist(), qy.tolist(), strict=True)) / k
    try:
        expected = float(exact)
    except OverflowError:
        expected = math.inf
    assert close(res, expected, rel=1e-12), (res, expected)
    scaled = outcome(wasserstein_from_quantiles, qx, qy, scale=1e-300)
    try:
        expected = float(exact / Fraction(1e-300))
    except OverflowError:
        expected = math.inf
    assert close(scaled, expected, rel=1e-12), (scaled, expected)


# --------------------------------------------------------------------------- Anderson-Darling, Cramér-von Mises


def _scipy_ad(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when it caps the p-value
        r = stats.anderson_ksamp([a, b])
    return float(r.statistic), float(r.pvalue)


@SEEDED
@given(x=odd_samples(), y=odd_samples())
@example(x=[1.0, 1.0], y=[1.0, 1.0]).via("one value in all: effect 0, p 0.25 clipped")
def test_anderson_darling_defined_or_clear_and_equal_to_scipy(x: object, y: object) -> None:
    res = outcome(anderson_darling, x, y)
    a, b = _clean(x), _clean(y)
    if isinstance(res, Refused):
        assert _has_inf(x, y) or min(a.size, b.size) == 0 or a.size + b.size < 4, res
        return
    assert 0.0 <= res.p_value <= 1.0 and math.isfinite(res.statistic) and res.effect_size >= 0
    if np.unique(np.concatenate([a, b])).size < 2:
        assert res.effect_size == 0.0 and res.p_value == 0.25 and res.p_value_clipped
        return
    stat, p = _scipy_ad(a, b)
    assert close(res.statistic, stat, rel=1e-9, abs_=1e-9)
    assert close(res.p_value, p, rel=1e-9)


@SEEDED
@given(x=odd_samples(), y=odd_samples())
def test_cramer_von_mises_defined_or_clear_and_equal_to_scipy(x: object, y: object) -> None:
    res = outcome(cramer_von_mises, x, y)
    a, b = _clean(x), _clean(y)
    if isinstance(res, Refused):
        assert _has_inf(x, y) or min(a.size, b.size) < 2, res
        return
    assert 0.0 <= res.p_value <= 1.0 and math.isfinite(res.statistic) and res.effect_size >= 0
    ref = stats.cramervonmises_2samp(a, b)
    assert close(res.statistic, float(ref.statistic), rel=1e-9, abs_=1e-12)
    assert close(res.p_value, float(ref.pvalue), rel=1e-7, abs_=1e-12)


@SEEDED
@given(data=scaled_pair(min_size=2))
def test_rank_tests_do_not_depend_on_the_unit(data: tuple[np.ndarray, np.ndarray, float]) -> None:
    x, y, scale = data
    if not np.array_equal(np.unique(x * scale, return_inverse=True)[1], np.unique(x, return_inverse=True)[1]):
        return  # the unit is finer than the smallest float: ranks really change
    for fn in (_ks, anderson_darling, cramer_von_mises):
        base, scaled = outcome(fn, x, y), outcome(fn, x * scale, y * scale)
        if isinstance(base, Refused):
            assert isinstance(scaled, Refused)
            continue
        assert close(scaled.statistic, base.statistic, rel=1e-12, abs_=1e-15), fn
        assert close(scaled.p_value, base.p_value, rel=1e-12, abs_=1e-15), fn
