"""The grouped KS test against scipy.stats.ks_2samp on the ungrouped samples, and by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift import KSResult, ks_2samp_grouped, ks_pvalue, ks_statistic_from_counts
from modelsteward.errors import InsufficientDataError

RTOL = 1e-9


def grouped(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled distinct values and per-sample counts, as the store would return them."""
    values, inverse = np.unique(np.concatenate([x, y]), return_inverse=True)
    c1 = np.bincount(inverse[: len(x)], minlength=values.size)
    c2 = np.bincount(inverse[len(x) :], minlength=values.size)
    return values, c1, c2


def check_against_scipy(x: np.ndarray, y: np.ndarray) -> KSResult:
    expected = stats.ks_2samp(x, y)
    res = ks_2samp_grouped(*grouped(x, y))
    assert (res.n1, res.n2) == (len(x), len(y))
    np.testing.assert_allclose(res.statistic, expected.statistic, rtol=RTOL, atol=0)
    np.testing.assert_allclose(res.p_value, expected.pvalue, rtol=RTOL, atol=0)
    return res


def test_small_random_samples_match_scipy() -> None:
    rng = np.random.default_rng(20240601)
    for _ in range(300):
        n1, n2 = (int(v) for v in rng.integers(1, 80, size=2))
        x = rng.normal(size=n1)
        y = rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2), size=n2)
        check_against_scipy(x, y)


def test_equal_sizes_match_scipy() -> None:
    rng = np.random.default_rng(7)
    for n in [1, 2, 3, 10, 57, 500, 2500, 10_000]:
        for shift in (0.0, 0.1, 0.4):
            check_against_scipy(rng.normal(size=n), rng.normal(shift, size=n))


def test_integer_data_with_ties_match_scipy() -> None:
    rng = np.random.default_rng(11)
    for _ in range(150):
        n1, n2 = (int(v) for v in rng.integers(1, 400, size=2))
        k = int(rng.integers(1, 12))
        x = rng.integers(0, k, size=n1)
        y = rng.integers(int(rng.integers(0, 2)), k + 1, size=n2)
        check_against_scipy(x, y)
    # One value only in both samples: D = 0, p = 1.
    res = check_against_scipy(np.zeros(30), np.zeros(45))
    assert (res.statistic, res.p_value) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("n1", "n2", "shift"),
    [
        (10_000, 9_999, 0.03),  # exact, lcm ~ 1e8 (largest n1*n2 the exact path sees)
        (9_000, 7_000, 0.02),
        (10_000, 10_001, 0.03),  # just past MAX_AUTO_N: asymptotic
        (20_000, 20_000, 0.02),
        (20_000, 13_000, 0.0),
        (1, 20_000, 0.0),
        (15_000, 17, 1.0),
    ],
)
def test_large_samples_match_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 * 31 + n2)
    check_against_scipy(rng.normal(size=n1), rng.normal(shift, size=n2))


@pytest.mark.parametrize(
    ("n1", "n2", "shift", "bound"),
    [
        (3_000, 2_000, 0.6, 1e-40),  # exact, unequal sizes (inside method)
        (2_000, 2_000, 0.7, 1e-40),  # exact, equal sizes (reflection series)
        (15_000, 12_000, 0.25, 1e-40),  # asymptotic
        (997, 1_013, 0.5, 1e-15),
    ],
)
def test_tiny_p_values_match_scipy(n1: int, n2: int, shift: float, bound: float) -> None:
    rng = np.random.default_rng(n1 + n2)
    res = check_against_scipy(rng.normal(size=n1), rng.normal(shift, size=n2))
    assert 0 < res.p_value < bound


def test_completely_separated_samples() -> None:
    # D = 1; exact p = 2 / C(n1 + n2, n1) (either sample may lie wholly above).
    for n1, n2 in [(2, 2), (3, 3), (2, 3), (4, 7), (12, 30)]:
        p = ks_pvalue(1.0, n1, n2)
        assert p == pytest.approx(2 / math.comb(n1 + n2, n1), rel=1e-12)
        assert ks_pvalue(1.0, n2, n1) == pytest.approx(p, rel=1e-12)
    assert ks_pvalue(1.0, 1, 1) == 1.0
    assert ks_pvalue(1.0, 9_000, 10_000) == stats.ks_2samp(np.arange(9_000), np.arange(9_000, 19_000)).pvalue


def test_pvalue_by_hand_small_lattice() -> None:
    # n1 = n2 = 2: of the 6 equally likely orderings, D = 1 for 2 (AABB, BBAA), D = 1/2 for 4.
    assert ks_pvalue(0.5, 2, 2) == pytest.approx(1.0, rel=1e-12)
    assert ks_pvalue(1.0, 2, 2) == pytest.approx(2 / 6, rel=1e-12)
    # n1 = 1, n2 = 2: orderings ABB (D=1), BAB (D=1/2), BBA (D=1).
    assert ks_pvalue(1.0, 1, 2) == pytest.approx(2 / 3, rel=1e-12)
    assert ks_pvalue(0.5, 1, 2) == pytest.approx(1.0, rel=1e-12)
    assert ks_pvalue(0.0, 5, 7) == 1.0


def test_d_is_rounded_to_the_lattice_like_scipy() -> None:
    # 1/3 computed in floating point is not exact; the p-value is that of h = 1 step of 1/3.
    assert ks_pvalue(1 / 3 + 1e-12, 3, 3) == ks_pvalue(1 / 3, 3, 3)
    d = 1 - 2 / 3  # 0.33333333333333337
    assert ks_pvalue(d, 3, 3) == ks_pvalue(1 / 3, 3, 3)


def test_statistic_by_hand_with_ties() -> None:
    # sample 1 = {1, 2}, sample 2 = {2, 3}: F1 = (.5, 1, 1), F2 = (0, .5, 1) at 1, 2, 3.
    assert ks_statistic_from_counts([1, 2, 3], [1, 1, 0], [0, 1, 1]) == 0.5
    # Ties within a sample: sample 1 = {5, 5, 5, 9}, sample 2 = {5, 9, 9, 9}.
    assert ks_statistic_from_counts([5, 9], [3, 1], [1, 3]) == 0.5
    # A pooled value present in neither sample changes nothing; counts may be integral floats.
    assert ks_statistic_from_counts([1, 2, 2.5, 3], [1.0, 1.0, 0.0, 0.0], [0, 1, 0, 1]) == 0.5


def test_result_fields() -> None:
    res = ks_2samp_grouped([1, 2, 3], [1, 1, 0], [0, 1, 1])
    assert res == KSResult(statistic=0.5, p_value=ks_pvalue(0.5, 2, 2), n1=2, n2=2)
    assert isinstance(res.statistic, float) and isinstance(res.p_value, float)


@pytest.mark.parametrize(
    ("d", "n1", "n2", "error"),
    [
        (-0.1, 5, 5, ValueError),
        (1.1, 5, 5, ValueError),
        (math.nan, 5, 5, ValueError),
        ("x", 5, 5, ValueError),
        (0.5, 2.5, 5, ValueError),
        (0.5, True, 5, ValueError),
        (0.5, 0, 5, InsufficientDataError),
        (0.5, 5, -1, InsufficientDataError),
    ],
)
def test_ks_pvalue_rejects_bad_input(d: object, n1: object, n2: object, error: type) -> None:
    with pytest.raises(error):
        ks_pvalue(d, n1, n2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "c1", "c2", "error", "match"),
    [
        ([2, 1], [1, 1], [1, 1], ValueError, "increasing"),
        ([1, 1], [1, 1], [1, 1], ValueError, "increasing"),
        ([1, np.nan], [1, 1], [1, 1], ValueError, "NaN"),
        ([np.nan], [1], [1], ValueError, "NaN"),
        ([1, 2], [1, 1, 1], [1, 1], ValueError, "counts1"),
        ([1, 2], [1, 1], [1, -1], ValueError, "counts2"),
        ([1, 2], [1, 0.5], [1, 1], ValueError, "whole"),
        ([[1, 2]], [1, 1], [1, 1], ValueError, "1-D"),
        ([1, 2], [0, 0], [1, 1], InsufficientDataError, "sample 1"),
        ([1, 2], [1, 0], [0, 0], InsufficientDataError, "sample 2"),
    ],
)
def test_grouped_inputs_are_validated(
    values: object, c1: object, c2: object, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        ks_statistic_from_counts(values, c1, c2)
    with pytest.raises(error, match=match):
        ks_2samp_grouped(values, c1, c2)


# ------------------------------------------------------------------ compiled path and memo


@pytest.mark.parametrize("n1, n2", [(1000, 5000), (5000, 1000), (37, 1001), (2000, 3000), (999, 10_000)])
def test_compiled_and_ported_inside_method_agree(n1: int, n2: int) -> None:
    """SciPy's compiled counting and the numpy port give the same tail for every h tried."""
    from modelsteward.drift import ks as ks_module

    if ks_module._compiled_inside_method() is None:
        pytest.skip("this SciPy has no compiled inside method")
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    for d in (0.004, 0.02, 0.05, 0.1, 0.3):
        h = int(np.round(d * lcm))
        ok_c, p_c = ks_module._count_exact(n1, n2, g, h, compiled=True)
        ok_p, p_p = ks_module._count_exact(n1, n2, g, h, compiled=False)
        assert ok_c == ok_p
        assert p_c == pytest.approx(p_p, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("n1, n2, shift", [(1000, 5000, 0.0), (1000, 5000, 0.1), (5000, 1000, 0.07), (2500, 2500, 0.05),
                                           (1234, 4321, 0.02), (50, 10_000, 0.3)])
def test_monitor_window_sizes_match_scipy(n1: int, n2: int, shift: float) -> None:
    rng = np.random.default_rng(n1 * 7 + n2)
    x, y = rng.normal(size=n1), rng.normal(shift, size=n2)
    expected = stats.ks_2samp(x, y).pvalue
    d = stats.ks_2samp(x, y).statistic
    assert ks_pvalue(d, n1, n2) == pytest.approx(expected, abs=1e-9, rel=1e-9)


def test_memoised_pvalue_is_the_computed_one() -> None:
    """A second call with the same lattice distance returns the cached value, equal to scipy's."""
    from modelsteward.drift import ks as ks_module

    rng = np.random.default_rng(11)
    x, y = rng.normal(size=1000), rng.normal(0.1, size=5000)
    res = stats.ks_2samp(x, y)
    ks_module._exact_counted.cache_clear()
    first = ks_pvalue(res.statistic, 1000, 5000)
    assert ks_module._exact_counted.cache_info().misses == 1
    # A statistic that rounds to the same lattice point hits the memo.
    second = ks_pvalue(res.statistic + 1e-12, 1000, 5000)
    assert ks_module._exact_counted.cache_info().hits == 1
    assert first == second == pytest.approx(res.pvalue, abs=1e-9)
    assert ks_module._exact_counted.cache_info().maxsize == ks_module.EXACT_CACHE_SIZE
