"""Distances on counts against scipy where it has them, and by hand."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from modelsteward.drift.chi_square import chi_square_homogeneity
from modelsteward.drift.distances import GTestResult, cohens_w, g_test, hellinger, jensen_shannon, total_variation
from modelsteward.drift.psi import psi
from modelsteward.errors import InsufficientDataError

RTOL = 1e-9


def random_pairs(seed: int, n: int = 200) -> list[tuple[np.ndarray, np.ndarray]]:
    """Count vectors of 2-30 bins with some empty bins on one side or both."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        k = int(rng.integers(2, 30))
        ref = rng.integers(0, int(rng.choice([3, 100, 100_000])), size=k)
        cur = rng.integers(0, int(rng.choice([3, 100, 100_000])), size=k)
        ref[rng.random(k) < 0.1] = 0
        cur[rng.random(k) < 0.1] = 0
        ref[0] += 1
        cur[-1] += 1
        pairs.append((ref, cur))
    return pairs


def test_jensen_shannon_matches_scipy() -> None:
    for ref, cur in random_pairs(1):
        expected = jensenshannon(ref / ref.sum(), cur / cur.sum(), base=2)
        np.testing.assert_allclose(jensen_shannon(ref, cur), expected, rtol=RTOL, atol=1e-15)
        assert jensen_shannon(ref, cur) == pytest.approx(jensen_shannon(cur, ref), rel=1e-12)


def test_jensen_shannon_by_hand() -> None:
    assert jensen_shannon([1, 0], [0, 1]) == 1.0
    assert jensen_shannon([3, 5, 2], [30, 50, 20]) == 0.0
    # r = (1, 0), c = (1/2, 1/2): m = (3/4, 1/4); JSD = (log2(4/3) + (log2(2/3) + log2(2)) / 2) / 2
    jsd = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5 * 1.0) / 2
    assert jensen_shannon([10, 0], [5, 5]) == pytest.approx(math.sqrt(jsd), rel=1e-12)


def test_hellinger_by_hand_and_both_forms() -> None:
    assert hellinger([1, 0], [0, 1]) == 1.0
    assert hellinger([2, 2], [7, 7]) == 0.0
    # r = (1/2, 1/2), c = (1, 0): H^2 = 1 - sqrt(1/2)
    assert hellinger([50, 50], [100, 0]) == pytest.approx(math.sqrt(1 - math.sqrt(0.5)), rel=1e-12)
    for ref, cur in random_pairs(2):
        r, c = ref / ref.sum(), cur / cur.sum()
        bhattacharyya = float(np.sum(np.sqrt(r * c)))
        np.testing.assert_allclose(hellinger(ref, cur), math.sqrt(max(1 - bhattacharyya, 0.0)), rtol=1e-6, atol=1e-7)
        assert 0.0 <= hellinger(ref, cur) <= 1.0


def test_total_variation_by_hand() -> None:
    assert total_variation([50, 30, 20], [40, 30, 30]) == pytest.approx(0.1, abs=1e-15)
    assert total_variation([5, 3, 2], [400, 300, 300]) == pytest.approx(0.1, abs=1e-15)  # scale-free
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert total_variation([1, 1], [3, 3]) == 0.0
    for ref, cur in random_pairs(3, 50):
        r, c = ref / ref.sum(), cur / cur.sum()
        # The largest gap in probability over all sets of bins: the set where c > r.
        assert total_variation(ref, cur) == pytest.approx(float(np.sum((c - r)[c > r])), rel=1e-12, abs=1e-15)


def test_distances_are_ordered_as_theory_says() -> None:
    # H^2 <= TV <= sqrt(2) H (Le Cam's inequalities); the JS divergence in bits is at most TV.
    for ref, cur in random_pairs(4):
        h, tv, js = hellinger(ref, cur), total_variation(ref, cur), jensen_shannon(ref, cur)
        assert h**2 <= tv + 1e-12
        assert tv <= math.sqrt(2) * h + 1e-12
        assert js**2 <= tv + 1e-12


def check_g_against_scipy(ref: np.ndarray, cur: np.ndarray) -> GTestResult:
    res = g_test(ref, cur)
    table = np.vstack([ref, cur])[:, (ref > 0) | (cur > 0)]
    if table.shape[1] < 2:
        assert (res.statistic, res.p_value, res.dof, res.effect_size) == (0.0, 1.0, 0, 0.0)
        return res
    expected = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    np.testing.assert_allclose(res.statistic, expected.statistic, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(res.p_value, expected.pvalue, rtol=RTOL, atol=1e-15)
    assert res.dof == expected.dof
    return res


def test_g_test_matches_scipy() -> None:
    for ref, cur in random_pairs(5):
        check_g_against_scipy(ref, cur)
    # Two categories: dof 1, where scipy's default would apply Yates' correction.
    res = check_g_against_scipy(np.array([10, 20]), np.array([30, 40]))
    assert res.dof == 1


def test_g_test_by_hand() -> None:
    # Table [[10, 20], [20, 10]]: every expected count is 15.
    g = 2 * (2 * 10 * math.log(10 / 15) + 2 * 20 * math.log(20 / 15))
    res = g_test([10, 20], [20, 10])
    assert res.statistic == pytest.approx(g, rel=1e-12)
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(g / 2)), rel=1e-12)
    assert res.effect_size == pytest.approx(math.sqrt(g / 15), rel=1e-12)
    assert g_test([5, 0], [7, 0]) == GTestResult(statistic=0.0, p_value=1.0, dof=0, effect_size=0.0)
    assert g_test([4, 6], [40, 60]).statistic == pytest.approx(0.0, abs=1e-12)


def test_cohens_w_is_the_chi_square_distance_of_the_shares() -> None:
    rng = np.random.default_rng(6)
    for _ in range(100):
        k = int(rng.integers(2, 12))
        ref = rng.integers(1, 1000, size=k)
        cur = rng.integers(1, 1000, size=k)
        chi = chi_square_homogeneity(ref, cur)
        r, c = ref / ref.sum(), cur / cur.sum()
        pooled = (ref + cur) / (ref.sum() + cur.sum())
        w = cohens_w(chi.statistic, ref.sum(), cur.sum())
        assert w == pytest.approx(math.sqrt(np.sum((c - r) ** 2 / pooled)), rel=1e-10)
        # With equal sizes w = 2 V; and the G-based w agrees to second order.
        if ref.sum() == cur.sum():
            assert w == pytest.approx(2 * chi.cramers_v, rel=1e-12)
    chi = chi_square_homogeneity([500, 500], [500, 500])
    assert cohens_w(chi.statistic, 1000, 1000) == 0.0


def test_effect_sizes_do_not_depend_on_the_reference_size() -> None:
    # Same shares, reference 1x or 100x larger: w and the distances stay put, Cramér's V does not.
    cur = np.array([450, 550])
    small, large = np.array([500, 500]), np.array([50_000, 50_000])
    for f in (jensen_shannon, hellinger, total_variation, psi):
        assert f(small, cur) == pytest.approx(f(large, cur), rel=1e-12)
    w_small = cohens_w(chi_square_homogeneity(small, cur).statistic, 1000, 1000)
    w_large = cohens_w(chi_square_homogeneity(large, cur).statistic, 100_000, 1000)
    assert w_small == pytest.approx(w_large, rel=0.06)
    v_small = chi_square_homogeneity(small, cur).cramers_v
    v_large = chi_square_homogeneity(large, cur).cramers_v
    assert v_large < v_small / 5
    assert g_test(small, cur).effect_size == pytest.approx(g_test(large, cur).effect_size, rel=0.06)


@pytest.mark.parametrize("f", [jensen_shannon, hellinger, total_variation, g_test])
def test_count_inputs_are_validated(f: Callable[..., object]) -> None:
    fn = f
    with pytest.raises(ValueError, match="same length"):
        fn([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        fn([1, -2], [1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        fn([1, np.inf], [1, 2])
    with pytest.raises(InsufficientDataError):
        fn([0, 0], [1, 2])
    with pytest.raises(InsufficientDataError):
        fn([1, 2], [0, 0])


def test_cohens_w_validates() -> None:
    with pytest.raises(ValueError):
        cohens_w(-1.0, 10, 10)
    with pytest.raises(ValueError):
        cohens_w(math.nan, 10, 10)
    with pytest.raises(ValueError):
        cohens_w(1.0, 0, 10)
