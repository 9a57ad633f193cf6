"""Drift of a categorical feature: chi-square test of homogeneity and share changes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from modelsteward.drift.psi import _count_pair
from modelsteward.errors import InsufficientDataError

__all__ = ["ChiSquareResult", "chi_square_homogeneity", "share_change"]


@dataclass(frozen=True)
class ChiSquareResult:
    """Result of :func:`chi_square_homogeneity`."""

    statistic: float
    p_value: float
    dof: int
    cramers_v: float


def chi_square_homogeneity(ref_counts: object, cur_counts: object) -> ChiSquareResult:
    """Pearson's chi-square test that reference and current share one category distribution.

    The 2 x k contingency table has the reference counts in one row and the current counts
    in the other; categories seen in neither are dropped.  With expected counts
    ``E_ij = R_i C_j / N`` the statistic is ``sum (O_ij - E_ij)^2 / E_ij`` on ``k - 1``
    degrees of freedom (Pearson 1900), without Yates' continuity correction, so it equals
    ``scipy.stats.chi2_contingency(table, correction=False)``.  The effect size is
    Cramér's V, ``sqrt(chi2 / (N (min(2, k) - 1)))`` (Cramér 1946), which does not grow with
    the sample size the way the p-value shrinks.  With fewer than two categories left there
    is nothing to test: the statistic and V are 0, the p-value 1 and ``dof`` 0.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Non-negative counts per category, same length and category order, each with a
        positive total.

    Returns
    -------
    ChiSquareResult
        ``statistic``, ``p_value``, ``dof``, ``cramers_v``.

    Raises
    ------
    InsufficientDataError
        If either side's counts are all zero.
    ValueError
        If the counts are negative, non-finite or of different lengths.

    References
    ----------
    .. [1] Pearson, K. (1900). On the criterion that a given system of deviations from the
       probable ... *Philosophical Magazine* 50(302), 157-175.
    .. [2] Cramér, H. (1946). *Mathematical Methods of Statistics*. Princeton University
       Press, p. 282.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = np.bincount(rng.choice(4, size=500, p=[0.4, 0.3, 0.2, 0.1]), minlength=4)
    >>> cur = np.bincount(rng.choice(4, size=300, p=[0.3, 0.3, 0.25, 0.15]), minlength=4)
    >>> res = chi_square_homogeneity(ref, cur)
    >>> print(f"chi2={res.statistic:.3f} p={res.p_value:.4f} dof={res.dof} V={res.cramers_v:.3f}")
    chi2=2.420 p=0.4900 dof=3 V=0.055
    """
    t = _table_shares(ref_counts, cur_counts)
    k = t.r.size
    if k < 2:
        return ChiSquareResult(statistic=0.0, p_value=1.0, dof=0, cramers_v=0.0)
    # sum (O - E)^2 / E = (R C / N) sum_j (r_j - c_j)^2 / p_j: the same statistic from shares in
    # [0, 1], so that neither huge counts (R C overflows) nor tiny ones (E underflows) break it.
    with np.errstate(over="ignore"):  # only for counts spanning more than the float range
        spread = float(np.sum(np.divide((t.r - t.c) ** 2, t.p, out=np.zeros_like(t.p), where=t.p > 0)))
    statistic = t.unscale(t.ref_total * t.w_cur * spread)
    dof = k - 1
    p_value = float(special.chdtrc(dof, statistic))  # = scipy.stats.chi2.sf, without importing scipy.stats
    cramers_v = float(np.sqrt(t.w_ref * t.w_cur * spread))  # sqrt(chi2 / N), as min(2, k) - 1 = 1
    return ChiSquareResult(statistic=statistic, p_value=p_value, dof=dof, cramers_v=cramers_v)


@dataclass(frozen=True)
class _TableShares:
    """A 2 x k reference/current table as shares, over the categories seen on either side.

    ``r``, ``c``: each row's shares; ``p``: the pooled shares; ``w_ref``, ``w_cur``: each row's
    share of the table (``R / N``, ``C / N``); ``ref_total``, ``cur_total``: ``R`` and ``C`` in
    units of ``2**exponent`` (the counts are rescaled exactly so that the largest is in
    [0.5, 1)), so that no step overflows or divides zero by zero for counts from 1e-300 to 1e308.
    """

    r: np.ndarray
    c: np.ndarray
    p: np.ndarray
    w_ref: float
    w_cur: float
    ref_total: float
    cur_total: float
    exponent: int

    def unscale(self, statistic: float) -> float:
        """A statistic linear in the counts, back in their units (``inf`` beyond the float range)."""
        try:
            return math.ldexp(statistic, self.exponent)
        except OverflowError:
            return math.inf


def _table_shares(ref_counts: object, cur_counts: object) -> _TableShares:
    ref, cur = _count_pair(ref_counts, cur_counts)
    keep = (ref > 0) | (cur > 0)
    exponent = math.frexp(float(max(ref.max(), cur.max())))[1]
    ref, cur = np.ldexp(ref[keep], -exponent), np.ldexp(cur[keep], -exponent)
    big, small = float(ref.sum()), float(cur.sum())
    if big == 0.0 or small == 0.0:  # a side of subnormal counts only, below 2**-1074 of the other
        raise InsufficientDataError("one side's counts are negligible next to the other's (a ratio beyond 1e308)")
    total = big + small
    w_ref, w_cur = big / total, small / total
    r, c = ref / big, cur / small
    p = w_ref * r + w_cur * c
    return _TableShares(r, c, p, w_ref, w_cur, big, small, exponent)


def share_change(ref_counts: object, cur_counts: object) -> np.ndarray:
    """Change in each category's share, in percentage points.

    ``100 * (cur_i / sum(cur) - ref_i / sum(ref))``; the values sum to zero.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Non-negative counts per category, same length, each with a positive total.

    Returns
    -------
    numpy.ndarray
        One value per category, positive where the category's share grew.

    Raises
    ------
    InsufficientDataError
        If either side's counts are all zero.
    ValueError
        If the counts are negative, non-finite or of different lengths.

    Examples
    --------
    >>> share_change([50, 30, 20], [40, 30, 30])
    array([-10.,   0.,  10.])
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> share_change(rng.integers(1, 100, size=3), rng.integers(1, 100, size=3)).round(2)
    array([  0.36,  17.21, -17.56])
    """
    ref, cur = _count_pair(ref_counts, cur_counts)
    return 100.0 * (cur / cur.sum() - ref / ref.sum())
