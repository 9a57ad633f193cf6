"""Binned and categorical drift statistics on odd counts and odd samples.

Quantile edges and bin counts against numpy; PSI, Jensen-Shannon, Hellinger and total
variation against a direct numpy formula (scipy for Jensen-Shannon); chi-square and G-test
against ``scipy.stats.chi2_contingency``. Counts include categories seen only in the
reference, categories new in the window, one count against 10^5, huge and tiny totals.
"""

from __future__ import annotations

import math
import sys
import warnings
from fractions import Fraction

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from modelsteward.drift.chi_square import chi_square_homogeneity, share_change
from modelsteward.drift.distances import cohens_w, g_test, hellinger, jensen_shannon, total_variation
from modelsteward.drift.psi import bin_counts, psi, quantile_edges
from modelsteward.errors import InsufficientDataError

from ._odd import SEEDED, Refused, close, odd_samples, outcome


def _clean(x: object) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a[~np.isnan(a)]


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """Reference and current counts on the same categories, with odd shapes and magnitudes."""
    k = draw(st.integers(1, 6))
    whole = st.integers(0, 10)
    odd = st.sampled_from([0.0, -0.0, 1.0, 1e-300, 5e-324, 1e300, 1e308, 100_000.0, 0.5])
    cell = st.one_of(whole.map(float), odd)
    ref = draw(st.lists(cell, min_size=k, max_size=k))
    cur = draw(st.lists(cell, min_size=k, max_size=k))
    shape = draw(st.sampled_from(["plain", "only_ref", "only_cur", "one_vs_many", "bad"]))
    if shape == "only_ref":  # categories the window never shows
        cur = [0.0] * (k - 1) + [1.0]
    elif shape == "only_cur":  # categories new in the window (unseen in the reference)
        ref = [1.0] + [0.0] * (k - 1)
    elif shape == "one_vs_many":
        ref, cur = [1.0] + [0.0] * (k - 1), [100_000.0 / k] * k
    elif shape == "bad":
        where = draw(st.integers(0, k - 1))
        (ref if draw(st.booleans()) else cur)[where] = draw(st.sampled_from([math.nan, math.inf, -1.0, -math.inf]))
    return ref, cur


def _valid(ref: list[float], cur: list[float]) -> bool:
    r, c = np.asarray(ref), np.asarray(cur)
    return bool(np.all(np.isfinite(r)) and np.all(np.isfinite(c)) and np.all(r >= 0) and np.all(c >= 0))


def _refusal_deserved(res: Refused, ref: list[float], cur: list[float]) -> None:
    r, c = np.asarray(ref), np.asarray(cur)
    if isinstance(res.exc, InsufficientDataError):  # nothing on a side, or nothing next to 1e308
        with np.errstate(over="ignore"):
            assert _valid(ref, cur) and (r.sum() == 0 or c.sum() == 0
                                         or max(r.max(), c.max()) / min(r.sum(), c.sum()) > 1e300), res
    else:
        assert not _valid(ref, cur) or max(_total(ref), _total(cur)) > Fraction(sys.float_info.max), res


def _total(x: list[float]) -> Fraction:
    return sum((Fraction(v) for v in x), Fraction(0))


def _shares(ref: list[float], cur: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Shares computed exactly enough for huge counts: each count over the float sum of the scaled counts."""
    out = []
    for x in (ref, cur):
        a = np.asarray(x, dtype=np.float64)
        a = a / a.max()  # exact up to rounding; the sum is then at most k
        out.append(a / a.sum())
    return out[0], out[1]


# --------------------------------------------------------------------------- quantile edges and bins


@SEEDED
@given(x=odd_samples(), bins=st.integers(0, 12))
def test_quantile_edges_equal_numpy(x: object, bins: int) -> None:
    res = outcome(quantile_edges, x, bins)
    a = _clean(x)
    if isinstance(res, Refused):
        assert bins < 2 or a.size == 0 or np.isinf(a).any(), res
        return
    with np.errstate(all="ignore"):
        expected = np.unique(np.quantile(a, np.arange(1, bins) / bins))
    np.testing.assert_array_equal(res, expected)
    assert np.all(np.isfinite(res)) and np.all(np.diff(res) > 0)


@SEEDED
@given(x=odd_samples(), edges=odd_samples(finite=True))
def test_bin_counts_are_right_closed_counts(x: object, edges: object) -> None:
    res = outcome(bin_counts, x, edges)
    e = np.asarray(edges, dtype=np.float64)
    if isinstance(res, Refused):
        assert e.size > 1 and not np.all(np.diff(e) > 0), res
        return
    a = _clean(x)
    expected = [int(np.sum(a <= e[0]))] if e.size else [a.size]
    expected += [int(np.sum((a > lo) & (a <= hi))) for lo, hi in zip(e[:-1], e[1:], strict=True)]
    if e.size:
        expected.append(int(np.sum(a > e[-1])))
    assert res.tolist() == expected


# --------------------------------------------------------------------------- distances on shares


@SEEDED
@given(pair=count_pairs())
@example(pair=([1e308, 1e308], [1.0, 1.0])).via("a reference total beyond the float range")
@example(pair=([5e-324, 0.0], [0.0, 5e-324])).via("subnormal counts")
def test_distances_defined_or_clear_and_equal_to_formulas(pair: tuple[list[float], list[float]]) -> None:
    ref, cur = pair
    for fn in (psi, jensen_shannon, hellinger, total_variation):
        res = outcome(fn, ref, cur)
        if isinstance(res, Refused):
            _refusal_deserved(res, ref, cur)
            continue
        assert _valid(ref, cur)
        r, c = _shares(ref, cur)
        if fn is psi:
            rr, cc = np.where(r == 0, 1e-4, r), np.where(c == 0, 1e-4, c)
            expected = float(np.sum((cc - rr) * np.log(cc / rr)))
        elif fn is jensen_shannon:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                expected = float(distance.jensenshannon(r, c, base=2))
            if math.isnan(expected):  # scipy's rounding to a tiny negative divergence
                expected = 0.0
        elif fn is hellinger:
            expected = math.sqrt(float(np.sum((np.sqrt(c) - np.sqrt(r)) ** 2)) / 2)
        else:
            expected = float(np.sum(np.abs(c - r)) / 2)
        assert close(res, expected, rel=1e-9, abs_=1e-9), (fn.__name__, res, expected)
        assert res >= 0 and (fn is psi or res <= 1)


@SEEDED
@given(pair=count_pairs())
def test_share_change_sums_to_zero(pair: tuple[list[float], list[float]]) -> None:
    ref, cur = pair
    res = outcome(share_change, ref, cur)
    if isinstance(res, Refused):
        _refusal_deserved(res, ref, cur)
        return
    r, c = _shares(ref, cur)
    np.testing.assert_allclose(res, 100 * (c - r), rtol=1e-9, atol=1e-9)


# --------------------------------------------------------------------------- tests of homogeneity


def _exact_tables(ref: list[float], cur: list[float]) -> tuple[Fraction, float, float, int] | None:
    """Pearson's chi-square in exact rational arithmetic, G with its size of cancellation, dof."""
    rows = [[Fraction(v) for v in ref], [Fraction(v) for v in cur]]
    cols = [j for j in range(len(ref)) if rows[0][j] + rows[1][j] > 0]
    if len(cols) < 2:
        return None
    totals = [sum((row[j] for j in cols), Fraction(0)) for row in rows]
    n = totals[0] + totals[1]
    chi2 = Fraction(0)
    g_terms = []
    for i in (0, 1):
        for j in cols:
            e = totals[i] * (rows[0][j] + rows[1][j]) / n
            chi2 += (rows[i][j] - e) ** 2 / e
            if rows[i][j] > 0:
                ratio = rows[i][j] / e
                g_terms.append(2 * float(rows[i][j]) * (math.log(ratio.numerator) - math.log(ratio.denominator)))
    return chi2, math.fsum(g_terms), math.fsum(abs(t) for t in g_terms), len(cols) - 1


def _to_float(x: Fraction) -> float:
    try:
        return float(x)
    except OverflowError:
        return math.inf


@SEEDED
@given(pair=count_pairs())
@example(pair=([1.0, 0.0, 0.0], [0.0, 0.0, 3.0])).via("categories only in the reference, new in the window")
@example(pair=([1e308, 1.0], [1.0, 1e308])).via("expected counts R C / N overflow")
@example(pair=([1e-300, 0.0], [0.0, 1e-300])).via("expected counts underflow")
@example(pair=([1.0, 0.0], [0.0, 1e-300])).via("scipy says 0, the exact answer is 1")
def test_chi_square_and_g_test_equal_exact_arithmetic(pair: tuple[list[float], list[float]]) -> None:
    ref, cur = pair
    for fn in (chi_square_homogeneity, g_test):
        res = outcome(fn, ref, cur)
        if isinstance(res, Refused):
            _refusal_deserved(res, ref, cur)
            continue
        assert 0.0 <= res.p_value <= 1.0 and res.statistic >= 0.0 and not math.isnan(res.statistic)
        exact = _exact_tables(ref, cur)
        if exact is None:
            assert (res.statistic, res.p_value, res.dof) == (0.0, 1.0, 0)
            continue
        chi2, g, g_size, dof = exact
        assert res.dof == dof
        spread = max(v for v in ref + cur) / min(v for v in ref + cur if v > 0)
        if spread > 1e290:
            continue  # counts spanning the float range: defined, but not compared
        if fn is chi_square_homogeneity:
            assert close(res.statistic, _to_float(chi2), rel=1e-9, abs_=1e-300), (res, float(chi2))
        else:
            assert close(res.statistic, g, rel=1e-9, abs_=1e-12 * g_size), (res, g)
        assert close(res.p_value, float(stats.chi2.sf(res.statistic, dof)), rel=1e-12)


@SEEDED
@given(ref=st.lists(st.integers(0, 50), min_size=2, max_size=6), data=st.data())
def test_chi_square_and_g_test_equal_scipy_on_whole_counts(ref: list[int], data: st.DataObject) -> None:
    cur = data.draw(st.lists(st.integers(0, 50), min_size=len(ref), max_size=len(ref)))
    table = np.vstack([ref, cur])
    table = table[:, table.sum(axis=0) > 0]
    if sum(ref) == 0 or sum(cur) == 0 or table.shape[1] < 2:
        return
    for fn, lambda_ in ((chi_square_homogeneity, None), (g_test, "log-likelihood")):
        res = outcome(fn, ref, cur)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = stats.chi2_contingency(table, correction=False, lambda_=lambda_)
        assert close(res.statistic, float(r.statistic), rel=1e-9, abs_=1e-9)
        assert close(res.p_value, float(r.pvalue), rel=1e-8, abs_=1e-12)
        assert res.dof == int(r.dof)


@SEEDED
@given(stat=st.sampled_from([0.0, -0.0, 1.0, 1e300, 5e-324, -1.0, math.nan, math.inf]),
       n_ref=st.sampled_from([1.0, 1e5, 1e300, 0.0, -1.0, math.nan]), n_cur=st.sampled_from([1.0, 2.0, 1e-300]))
def test_cohens_w_defined_or_clear(stat: float, n_ref: float, n_cur: float) -> None:
    res = outcome(cohens_w, stat, n_ref, n_cur)
    if isinstance(res, Refused):
        assert not (math.isfinite(stat) and stat >= 0 and n_ref > 0), res
        return
    from fractions import Fraction

    exact = Fraction(stat) * (Fraction(n_ref) + Fraction(n_cur)) / (Fraction(n_ref) * Fraction(n_cur))
    try:
        expected = math.sqrt(float(exact))
    except OverflowError:
        expected = math.inf
    assert close(res, expected, rel=1e-12), (res, expected)
