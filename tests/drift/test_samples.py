"""Sample-based tests against scipy on the raw samples, grouped forms, and the quantile summary."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift.samples import (
    AndersonDarlingResult,
    CramerVonMisesResult,
    _cvm_statistic,
    anderson_darling,
    anderson_darling_grouped,
    cramer_von_mises,
    cramer_von_mises_grouped,
    grouped_counts,
    midpoint_quantiles,
    wasserstein_from_quantiles,
    wasserstein_normalised,
    wasserstein_normalised_grouped,
)
from modelsteward.errors import InsufficientDataError

RTOL = 1e-9


def scipy_ad(x: np.ndarray, y: np.ndarray) -> Any:
    """scipy's midrank k-sample Anderson-Darling, without its capping warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return stats.anderson_ksamp([x, y], variant="midrank")
        except TypeError:  # scipy < 1.17 has no `variant`; midrank is its default
            return stats.anderson_ksamp([x, y])


def sample_pairs(seed: int, n: int, max_size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Continuous pairs and pairs with many ties, shifted or not."""
    rng = np.random.default_rng(seed)
    pairs = []
    for i in range(n):
        n1, n2 = (int(v) for v in rng.integers(2, max_size, size=2))
        if i % 3 == 0:
            k = int(rng.integers(2, 12))
            x = rng.integers(0, k, size=n1).astype(float)
            y = rng.integers(int(rng.integers(0, 2)), k + 1, size=n2).astype(float)
        else:
            x = rng.normal(size=n1)
            y = rng.normal(rng.uniform(-0.6, 0.6), rng.uniform(0.7, 1.5), size=n2)
        pairs.append((x, y))
    return pairs


def check_ad(x: np.ndarray, y: np.ndarray) -> AndersonDarlingResult:
    expected = scipy_ad(x, y)
    res = anderson_darling(x, y)
    assert res == anderson_darling_grouped(*grouped_counts(x, y))
    np.testing.assert_allclose(res.statistic, expected.statistic, rtol=RTOL)
    np.testing.assert_allclose(res.p_value, expected.pvalue, rtol=RTOL)
    assert res.p_value_clipped == (res.p_value in (0.25, 0.001))
    assert (res.n1, res.n2) == (len(x), len(y))
    return res


def check_cvm(x: np.ndarray, y: np.ndarray) -> CramerVonMisesResult:
    expected = stats.cramervonmises_2samp(x, y)
    res = cramer_von_mises(x, y)
    assert res == cramer_von_mises_grouped(*grouped_counts(x, y))
    np.testing.assert_allclose(res.statistic, expected.statistic, rtol=RTOL)
    # Tiny asymptotic p-values are 1 - CDF: both carry ~1e-16 absolute rounding error.
    np.testing.assert_allclose(res.p_value, expected.pvalue, rtol=RTOL, atol=1e-14)
    assert (res.n1, res.n2) == (len(x), len(y))
    return res


def test_anderson_darling_matches_scipy() -> None:
    for x, y in sample_pairs(1, 250, 300):
        if len(x) + len(y) >= 4 and np.unique(np.concatenate([x, y])).size >= 2:
            check_ad(x, y)


def test_cramer_von_mises_matches_scipy() -> None:
    for x, y in sample_pairs(2, 250, 300):
        check_cvm(x, y)


def test_cramer_von_mises_exact_small_samples_match_scipy() -> None:
    # Both sizes <= 20: scipy's exact distribution (method='auto'), ties included.
    for x, y in sample_pairs(3, 20, 21):
        check_cvm(x, y)
    res = check_cvm(np.array([0.1, 0.5, 0.9]), np.array([0.2, 0.6, 0.7, 1.2]))
    assert res.p_value > 0.5


@pytest.mark.parametrize(("n1", "n2", "shift"), [(150_000, 120_000, 0.0), (200_000, 200_000, 0.01), (50_000, 3_000, 0.05)])
def test_large_samples_match_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    x, y = rng.normal(size=n1), rng.normal(shift, size=n2)
    check_ad(x, y)
    check_cvm(x, y)
    expected = stats.wasserstein_distance(x, y) / np.std(x, ddof=1)
    np.testing.assert_allclose(wasserstein_normalised(x, y), expected, rtol=RTOL)


def exact_t(x: np.ndarray, y: np.ndarray) -> Fraction:
    """Anderson's T in rational arithmetic from scipy's midranks (which are exact halves)."""
    n1, n2 = len(x), len(y)
    ranks = stats.rankdata(np.concatenate([np.sort(x), np.sort(y)]))
    u = Fraction(0)
    for i, r in enumerate(ranks[:n1]):
        u += n1 * (Fraction(r) - (i + 1)) ** 2
    for j, r in enumerate(ranks[n1:]):
        u += n2 * (Fraction(r) - (j + 1)) ** 2
    k, n = n1 * n2, n1 + n2
    return u / (k * n) - Fraction(4 * k - 1, 6 * n)


def test_cramer_von_mises_statistic_is_accurate_to_rounding() -> None:
    # The rearranged sum avoids the cancellation of the textbook formula.
    pairs = sample_pairs(4, 40, 3_000)
    rng = np.random.default_rng(5)
    pairs.append((rng.integers(0, 3, 20_000).astype(float), rng.integers(0, 3, 15_000).astype(float)))
    pairs.append((rng.normal(size=20_000), rng.normal(0.001, size=20_000)))
    for x, y in pairs:
        values, c1, c2 = grouped_counts(x, y)
        t = exact_t(x, y)
        got = _cvm_statistic(c1, c2, len(x), len(y))
        assert abs(Fraction(got) - t) <= abs(t) * Fraction(1, 10**12) + Fraction(1, 10**16)


def test_wasserstein_normalised_matches_scipy() -> None:
    for x, y in sample_pairs(6, 200, 400):
        res = wasserstein_normalised(x, y)
        assert res == wasserstein_normalised_grouped(*grouped_counts(x, y))
        if np.std(x) > 0:
            expected = stats.wasserstein_distance(x, y) / np.std(x, ddof=1)
            np.testing.assert_allclose(res, expected, rtol=RTOL, atol=1e-15)


def test_wasserstein_by_hand() -> None:
    # A pure shift by s reference standard deviations gives s.
    x = np.array([0.0, 1.0, 2.0, 3.0])
    assert wasserstein_normalised(x, x + 0.5 * np.std(x, ddof=1)) == pytest.approx(0.5, rel=1e-12)
    # ref {0, 1, 1, 2} vs cur {1, 1, 2, 2}: W1 = 1/4 + 1/4, std(ref) = sqrt(2/3)
    assert wasserstein_normalised_grouped([0, 1, 2], [1, 2, 1], [0, 2, 2]) == pytest.approx(0.5 / math.sqrt(2 / 3), rel=1e-12)
    # Constant reference: nothing to scale by.
    assert wasserstein_normalised([3.0, 3.0, 3.0], [3.0]) == 0.0
    assert wasserstein_normalised([3.0, 3.0, 3.0], [3.0, 4.0]) == math.inf
    with pytest.raises(InsufficientDataError, match="two"):
        wasserstein_normalised([1.0], [1.0, 2.0])


def test_nan_values_are_ignored() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=60), rng.normal(0.4, size=50)
    xn, yn = np.append(x, [np.nan, np.nan]), np.insert(y, 3, np.nan)
    assert anderson_darling(xn, yn) == anderson_darling(x, y)
    assert cramer_von_mises(xn, yn) == cramer_von_mises(x, y)
    assert wasserstein_normalised(xn, yn) == wasserstein_normalised(x, y)


def test_anderson_darling_clipped_p_values_and_one_value() -> None:
    rng = np.random.default_rng(8)
    far = anderson_darling(rng.normal(size=300), rng.normal(2.0, size=300))
    assert (far.p_value, far.p_value_clipped) == (0.001, True)
    same = anderson_darling(np.arange(100.0), np.arange(100.0))
    assert (same.p_value, same.p_value_clipped) == (0.25, True)
    # One distinct value: scipy refuses; here nothing differs, so no evidence of change.
    one = anderson_darling(np.ones(10), np.ones(7))
    assert (one.p_value, one.p_value_clipped, one.effect_size) == (0.25, True, 0.0)


def test_effect_sizes_match_their_population_values() -> None:
    # For a normal shift of d = 0.2513 sd (where KS D = 0.1) the population distances are
    # 0.1733 (Anderson-Darling) and 0.0759 (Cramér-von Mises): the registry's thresholds.
    rng = np.random.default_rng(9)
    x, y = rng.normal(size=200_000), rng.normal(0.2513, size=200_000)
    assert anderson_darling(x, y).effect_size == pytest.approx(0.1733, rel=0.03)
    assert cramer_von_mises(x, y).effect_size == pytest.approx(0.0759, rel=0.03)
    assert wasserstein_normalised(x, y) == pytest.approx(0.2513, rel=0.03)


def test_sample_sizes_are_checked() -> None:
    with pytest.raises(InsufficientDataError, match="two"):
        cramer_von_mises([1.0], [1.0, 2.0, 3.0])
    with pytest.raises(InsufficientDataError, match="at least 4"):
        anderson_darling([1.0], [2.0, 3.0])
    with pytest.raises(InsufficientDataError, match="empty"):
        anderson_darling([], [2.0, 3.0, 4.0, 5.0])
    with pytest.raises(InsufficientDataError, match="empty"):
        wasserstein_normalised([1.0, 2.0], [np.nan])


@pytest.mark.parametrize(
    ("values", "c1", "c2", "match"),
    [
        ([2, 1], [1, 1], [1, 1], "increasing"),
        ([1, 1], [1, 1], [1, 1], "increasing"),
        ([1, np.nan], [1, 1], [1, 1], "finite"),
        ([1, np.inf], [1, 1], [1, 1], "finite"),
        ([1, 2], [1, 1, 1], [1, 1], "counts1"),
        ([1, 2], [3, 1], [1, -1], "counts2"),
        ([1, 2], [3, 0.5], [3, 1], "whole"),
        ([[1, 2]], [1, 1], [1, 1], "1-D"),
    ],
)
def test_grouped_inputs_are_validated(values: object, c1: object, c2: object, match: str) -> None:
    for f in (anderson_darling_grouped, cramer_von_mises_grouped, wasserstein_normalised_grouped):
        with pytest.raises(ValueError, match=match):
            f(values, c1, c2)


def test_raw_inputs_are_validated() -> None:
    for f in (anderson_darling, cramer_von_mises, wasserstein_normalised):
        with pytest.raises(ValueError, match="infinite"):
            f([1.0, 2.0, np.inf], [1.0, 2.0])
        with pytest.raises(ValueError, match="1-D"):
            f([[1.0, 2.0]], [1.0, 2.0])
        with pytest.raises(ValueError, match="numeric"):
            f(["a", "b"], [1.0, 2.0])


def test_values_seen_in_neither_sample_change_nothing() -> None:
    values, c1, c2 = [1, 2, 3, 4], [3, 0, 2, 1], [1, 0, 2, 4]
    dropped = ([1, 3, 4], [3, 2, 1], [1, 2, 4])
    assert anderson_darling_grouped(values, c1, c2) == anderson_darling_grouped(*dropped)
    assert cramer_von_mises_grouped(values, c1, c2) == cramer_von_mises_grouped(*dropped)
    assert wasserstein_normalised_grouped(values, c1, c2) == pytest.approx(wasserstein_normalised_grouped(*dropped), rel=1e-15)


# --------------------------------------------------------------------------- quantile summary


def test_midpoint_quantiles() -> None:
    rng = np.random.default_rng(10)
    x = rng.normal(size=999)
    np.testing.assert_array_equal(midpoint_quantiles(x, k=10), np.quantile(x, (np.arange(10) + 0.5) / 10))
    with pytest.raises(ValueError, match="k must"):
        midpoint_quantiles(x, k=0)
    with pytest.raises(InsufficientDataError):
        midpoint_quantiles([np.nan], k=3)


@pytest.mark.parametrize(
    ("n1", "n2", "loc", "scale"),
    [
        (50_000, 50_000, 0.3, 1.0),
        (200_000, 20_000, 0.0, 1.2),
        (20_000, 100_000, 0.1, 0.8),
        (100_000, 100_000, 0.05, 1.05),
        (60_000, 40_000, -0.5, 2.0),
    ],
)
def test_wasserstein_from_quantiles_is_within_one_percent(n1: int, n2: int, loc: float, scale: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    x, y = rng.normal(size=n1), rng.normal(loc, scale, size=n2)
    exact = stats.wasserstein_distance(x, y)
    approx = wasserstein_from_quantiles(midpoint_quantiles(x), midpoint_quantiles(y))
    assert abs(approx / exact - 1) < 0.01
    normalised = wasserstein_from_quantiles(midpoint_quantiles(x), midpoint_quantiles(y), scale=float(np.std(x, ddof=1)))
    assert abs(normalised / wasserstein_normalised(x, y) - 1) < 0.01


def test_wasserstein_from_quantiles_exact_cases() -> None:
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=300), rng.exponential(size=200)
    # Empirical quantiles with K a multiple of both sizes: the mid-point rule is exact.
    qx, qy = midpoint_quantiles(x, k=600, method="inverted_cdf"), midpoint_quantiles(y, k=600, method="inverted_cdf")
    assert wasserstein_from_quantiles(qx, qy) == pytest.approx(stats.wasserstein_distance(x, y), rel=1e-12)
    # A pure location shift is exact for any K.
    q = midpoint_quantiles(x, k=37)
    assert wasserstein_from_quantiles(q, q + 0.7) == pytest.approx(0.7, rel=1e-12)


def test_wasserstein_from_quantiles_validates() -> None:
    with pytest.raises(ValueError, match="same length"):
        wasserstein_from_quantiles([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="non-decreasing"):
        wasserstein_from_quantiles([2, 1], [1, 2])
    with pytest.raises(ValueError, match="non-empty"):
        wasserstein_from_quantiles([], [])
    with pytest.raises(ValueError, match="scale"):
        wasserstein_from_quantiles([1, 2], [1, 3], scale=0.0)
