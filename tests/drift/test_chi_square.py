"""The chi-square homogeneity test against scipy.stats.chi2_contingency and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.stats.contingency import association

from modelsteward.drift import ChiSquareResult, chi_square_homogeneity, share_change
from modelsteward.errors import InsufficientDataError

RTOL = 1e-9


def test_2x2_by_hand() -> None:
    # a=10 b=20 / c=30 d=40: chi2 = N (ad - bc)^2 / (r1 r2 c1 c2), phi = |ad - bc| / sqrt(...)
    res = chi_square_homogeneity([10, 20], [30, 40])
    margins = 30 * 70 * 40 * 60
    chi2 = 100 * (10 * 40 - 20 * 30) ** 2 / margins
    assert res.statistic == pytest.approx(chi2, rel=1e-12)
    assert res.statistic == pytest.approx(4 / 12 + 4 / 18 + 4 / 28 + 4 / 42, rel=1e-12)
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(chi2 / 2)), rel=1e-12)  # chi2(1) tail
    assert res.dof == 1
    assert res.cramers_v == pytest.approx(200 / math.sqrt(margins), rel=1e-12)


def test_no_yates_correction() -> None:
    table = np.array([[10, 20], [30, 40]])
    res = chi_square_homogeneity(*table)
    plain = stats.chi2_contingency(table, correction=False)
    yates = stats.chi2_contingency(table, correction=True)
    assert res.statistic == pytest.approx(plain.statistic, rel=RTOL)
    assert res.statistic != pytest.approx(yates.statistic, rel=1e-3)


def test_random_tables_match_scipy() -> None:
    rng = np.random.default_rng(42)
    for _ in range(200):
        k = int(rng.integers(2, 25))
        ref = rng.integers(0, int(rng.choice([5, 100, 10_000])), size=k)
        cur = rng.integers(0, int(rng.choice([5, 100, 10_000])), size=k)
        both_zero = rng.random(k) < 0.2
        ref[both_zero] = 0
        cur[both_zero] = 0
        ref[0] += 1
        cur[-1] += 1
        table = np.vstack([ref, cur])[:, (ref > 0) | (cur > 0)]
        res = chi_square_homogeneity(ref, cur)
        if table.shape[1] < 2:
            assert res == ChiSquareResult(0.0, 1.0, 0, 0.0)
            continue
        expected = stats.chi2_contingency(table, correction=False)
        np.testing.assert_allclose(res.statistic, expected.statistic, rtol=RTOL, atol=0)
        np.testing.assert_allclose(res.p_value, expected.pvalue, rtol=RTOL, atol=0)
        assert res.dof == expected.dof == table.shape[1] - 1
        np.testing.assert_allclose(res.cramers_v, association(table, method="cramer"), rtol=RTOL)


def test_tiny_p_value_matches_scipy() -> None:
    ref, cur = [5_000, 3_000, 2_000], [3_000, 3_000, 4_000]
    res = chi_square_homogeneity(ref, cur)
    expected = stats.chi2_contingency([ref, cur], correction=False)
    assert res.p_value < 1e-100
    np.testing.assert_allclose(res.p_value, expected.pvalue, rtol=RTOL, atol=0)


def test_dropped_categories_do_not_change_the_result() -> None:
    a = chi_square_homogeneity([0, 10, 0, 20, 5], [0, 12, 0, 9, 7])
    b = chi_square_homogeneity([10, 20, 5], [12, 9, 7])
    assert a == b
    assert a.dof == 2


def test_fewer_than_two_categories() -> None:
    assert chi_square_homogeneity([5, 0, 0], [3, 0, 0]) == ChiSquareResult(0.0, 1.0, 0, 0.0)
    assert chi_square_homogeneity([7], [2]) == ChiSquareResult(0.0, 1.0, 0, 0.0)


def test_identical_shares_give_zero() -> None:
    res = chi_square_homogeneity([10, 20, 30], [20, 40, 60])
    assert res.statistic == pytest.approx(0.0, abs=1e-12)
    assert res.p_value == pytest.approx(1.0)
    assert res.cramers_v == pytest.approx(0.0, abs=1e-7)


def test_chi_square_rejects_bad_input() -> None:
    with pytest.raises(InsufficientDataError, match="reference"):
        chi_square_homogeneity([0, 0], [1, 2])
    with pytest.raises(InsufficientDataError, match="current"):
        chi_square_homogeneity([1, 2], [0, 0])
    with pytest.raises(ValueError, match="same length"):
        chi_square_homogeneity([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        chi_square_homogeneity([1, -1], [1, 2])


def test_share_change_by_hand() -> None:
    np.testing.assert_allclose(share_change([50, 30, 20], [40, 30, 30]), [-10.0, 0.0, 10.0], atol=1e-12)
    # 1/4 -> 3/4 and 3/4 -> 1/4; a category in neither stays at 0.
    np.testing.assert_allclose(share_change([1, 3, 0], [6, 2, 0]), [50.0, -50.0, 0.0], atol=1e-12)


def test_share_change_adds_up() -> None:
    rng = np.random.default_rng(4)
    ref = rng.integers(0, 100, size=12) + 1
    cur = rng.integers(0, 100, size=12)
    change = share_change(ref, cur)
    assert change.sum() == pytest.approx(0.0, abs=1e-10)
    for i in range(12):
        assert 100 * ref[i] / ref.sum() + change[i] == pytest.approx(100 * cur[i] / cur.sum(), abs=1e-10)


def test_share_change_rejects_bad_input() -> None:
    with pytest.raises(InsufficientDataError):
        share_change([0, 0], [1, 1])
    with pytest.raises(ValueError, match="same length"):
        share_change([1], [1, 1])
