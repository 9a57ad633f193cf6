"""Distances between two distributions given as counts on the same bins or categories.

Every function takes the reference counts and the current counts, one entry per bin (quantile
bins of a numeric feature, see :func:`~modelsteward.drift.psi.quantile_edges`) or per category,
in the same order.  Counts are turned into shares ``r_i = ref_i / sum(ref)`` and
``c_i = cur_i / sum(cur)``; the distances then depend on the shares only, so, unlike a test
statistic, they do not grow with the sample size.

* :func:`jensen_shannon` - Jensen-Shannon distance, base 2, in [0, 1].
* :func:`hellinger` - Hellinger distance, in [0, 1].
* :func:`total_variation` - total variation distance, in [0, 1].
* :func:`g_test` - G-test (log-likelihood ratio) of homogeneity, with an effect size.
* :func:`cohens_w` - the size-free effect of a chi-square or G statistic of a 2 x k table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from modelsteward.drift.chi_square import _table_shares
from modelsteward.drift.psi import _count_pair

__all__ = ["GTestResult", "cohens_w", "g_test", "hellinger", "jensen_shannon", "total_variation"]


def _shares(ref_counts: object, cur_counts: object) -> tuple[np.ndarray, np.ndarray]:
    ref, cur = _count_pair(ref_counts, cur_counts)
    return ref / np.sum(ref), cur / np.sum(cur)


def jensen_shannon(ref_counts: object, cur_counts: object) -> float:
    """Jensen-Shannon distance (base 2) between reference and current shares.

    With ``m = (r + c) / 2`` the Jensen-Shannon divergence is
    ``JSD = (KL(r || m) + KL(c || m)) / 2`` in bits (Lin 1991); the distance is its square root,
    a metric (Endres & Schindelin 2003), 0 for identical shares and 1 for shares on disjoint
    bins.  Unlike PSI it needs no floor for empty bins: ``m`` is positive wherever ``r`` or
    ``c`` is.  Equals ``scipy.spatial.distance.jensenshannon(r, c, base=2)``, except that a
    divergence rounded to a tiny negative number (shares equal up to rounding) gives 0, where
    scipy would give NaN.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Non-negative counts per bin or category, same length and order, each with a positive
        total.

    Returns
    -------
    float
        The distance, in [0, 1].

    Raises
    ------
    InsufficientDataError
        If either side's counts are all zero.
    ValueError
        If the counts are negative, non-finite or of different lengths.

    References
    ----------
    .. [1] Lin, J. (1991). Divergence measures based on the Shannon entropy. *IEEE
       Transactions on Information Theory* 37(1), 145-151.
    .. [2] Endres, D. M. and Schindelin, J. E. (2003). A new metric for probability
       distributions. *IEEE Transactions on Information Theory* 49(7), 1858-1860.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.multinomial(5000, [0.4, 0.3, 0.2, 0.1])
    >>> cur = rng.multinomial(3000, [0.3, 0.3, 0.25, 0.15])
    >>> print(f"{jensen_shannon(ref, cur):.4f}")
    0.1147
    >>> jensen_shannon([1, 0], [0, 1])
    1.0
    """
    r, c = _shares(ref_counts, cur_counts)
    m = (r + c) / 2.0
    js = float(np.sum(special.rel_entr(r, m)) + np.sum(special.rel_entr(c, m)))
    js /= math.log(2.0)
    return math.sqrt(max(js / 2.0, 0.0))


def hellinger(ref_counts: object, cur_counts: object) -> float:
    """Hellinger distance between reference and current shares.

    ``H = sqrt(sum_i (sqrt(c_i) - sqrt(r_i))^2 / 2)``, equivalently
    ``sqrt(1 - sum_i sqrt(r_i c_i))`` (Hellinger 1909; Le Cam & Yang 2000, ch. 3): 0 for
    identical shares, 1 for shares on disjoint bins.  The first form is used because it does
    not lose precision to cancellation when the shares are close.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Non-negative counts per bin or category, same length and order, each with a positive
        total.

    Returns
    -------
    float
        The distance, in [0, 1].

    Raises
    ------
    InsufficientDataError
        If either side's counts are all zero.
    ValueError
        If the counts are negative, non-finite or of different lengths.

    References
    ----------
    .. [1] Hellinger, E. (1909). Neue Begründung der Theorie quadratischer Formen von
       unendlichvielen Veränderlichen. *J. Reine Angew. Math.* 136, 210-271.
    .. [2] Le Cam, L. and Yang, G. L. (2000). *Asymptotics in Statistics: Some Basic
       Concepts*, 2nd ed. Springer.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.multinomial(5000, [0.4, 0.3, 0.2, 0.1])
    >>> cur = rng.multinomial(3000, [0.3, 0.3, 0.25, 0.15])
    >>> print(f"{hellinger(ref, cur):.4f}")
    0.0956
    >>> print(f"{hellinger([1, 0], [0, 1]):.4f}")
    1.0000
    """
    r, c = _shares(ref_counts, cur_counts)
    return float(min(math.sqrt(float(np.sum((np.sqrt(c) - np.sqrt(r)) ** 2)) / 2.0), 1.0))


def total_variation(ref_counts: object, cur_counts: object) -> float:
    """Total variation distance between reference and current shares.

    ``TV = sum_i |c_i - r_i| / 2``: the largest difference in probability the two
    distributions give to any set of bins or categories, i.e. the share of the data that
    would have to move to turn one into the other (Levin, Peres & Wilmer 2009, section 4.1).
    0 for identical shares, 1 for disjoint ones.  For two categories it is the change in
    either category's share.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Non-negative counts per bin or category, same length and order, each with a positive
        total.

    Returns
    -------
    float
        The distance, in [0, 1].

    Raises
    ------
    InsufficientDataError
        If either side's counts are all zero.
    ValueError
        If the counts are negative, non-finite or of different lengths.

    References
    ----------
    .. [1] Levin, D. A., Peres, Y. and Wilmer, E. L. (2009). *Markov Chains and Mixing
       Times*. American Mathematical Society, section 4.1.

    Examples
    --------
    >>> print(f"{total_variation([50, 30, 20], [40, 30, 30]):.6f}")
    0.100000
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.multinomial(5000, [0.4, 0.3, 0.2, 0.1])
    >>> cur = rng.multinomial(3000, [0.3, 0.3, 0.25, 0.15])
    >>> print(f"{total_variation(ref, cur):.4f}")
    0.1116
    """
    r, c = _shares(ref_counts, cur_counts)
    return float(min(np.sum(np.abs(c - r)) / 2.0, 1.0))


@dataclass(frozen=True)
class GTestResult:
    """Result of :func:`g_test`: statistic ``G``, p-value, degrees of freedom, effect size ``w``."""

    statistic: float
    p_value: float
    dof: int
    effect_size: float


def g_test(ref_counts: object, cur_counts: object) -> GTestResult:
    """G-test (log-likelihood ratio test) that reference and current share one distribution.

    The 2 x k contingency table has the reference counts in one row and the current counts in
    the other; categories seen in neither are dropped (scipy would refuse the table, since
    their expected counts are zero).  With expected counts ``E_ij = R_i C_j / N`` the statistic
    is ``G = 2 sum O_ij ln(O_ij / E_ij)`` on ``k - 1`` degrees of freedom (Wilks 1938; Sokal &
    Rohlf 1995, ch. 17), so it equals
    ``scipy.stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")``.  With
    fewer than two categories left there is nothing to test: ``G`` and ``w`` are 0, the
    p-value 1 and ``dof`` 0.

    The effect size is ``w = sqrt(G / n_eff)`` with ``n_eff = n_ref n_cur / (n_ref + n_cur)``,
    which for small changes is Cohen's (1988) ``w = sqrt(sum (c_i - r_i)^2 / p_i)`` between the
    current and reference shares (``p`` the pooled shares).  Unlike Cramér's V,
    ``sqrt(G / N)``, it does not shrink when the reference is much larger than the window.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Non-negative counts per category, same length and order, each with a positive total.

    Returns
    -------
    GTestResult
        ``statistic``, ``p_value``, ``dof``, ``effect_size``.

    Raises
    ------
    InsufficientDataError
        If either side's counts are all zero.
    ValueError
        If the counts are negative, non-finite or of different lengths.

    References
    ----------
    .. [1] Wilks, S. S. (1938). The large-sample distribution of the likelihood ratio for
       testing composite hypotheses. *Annals of Mathematical Statistics* 9(1), 60-62.
    .. [2] Sokal, R. R. and Rohlf, F. J. (1995). *Biometry*, 3rd ed. Freeman, ch. 17.
    .. [3] Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd
       ed. Erlbaum, ch. 7.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.multinomial(500, [0.4, 0.3, 0.2, 0.1])
    >>> cur = rng.multinomial(300, [0.3, 0.3, 0.25, 0.15])
    >>> res = g_test(ref, cur)
    >>> print(f"G={res.statistic:.3f} p={res.p_value:.4f} dof={res.dof} w={res.effect_size:.3f}")
    G=5.022 p=0.1702 dof=3 w=0.164
    """
    t = _table_shares(ref_counts, cur_counts)
    k = t.r.size
    if k < 2:
        return GTestResult(statistic=0.0, p_value=1.0, dof=0, effect_size=0.0)
    # 2 sum O ln(O / E) = 2 (R KL(r || p) + C KL(c || p)): from shares, so that huge counts do not
    # overflow E = R C / N and tiny ones do not underflow it to 0.
    where = t.p > 0
    kl_ref = float(np.sum(special.rel_entr(t.r[where], t.p[where])))
    kl_cur = float(np.sum(special.rel_entr(t.c[where], t.p[where])))
    scaled = max(2.0 * (t.ref_total * kl_ref + t.cur_total * kl_cur), 0.0)  # rounding can leave -1e-16
    statistic = t.unscale(scaled)
    dof = k - 1
    p_value = float(special.chdtrc(dof, statistic))  # = scipy.stats.chi2.sf
    w = cohens_w(scaled, t.ref_total, t.cur_total)  # w does not depend on the unit of the counts
    return GTestResult(statistic=statistic, p_value=p_value, dof=dof, effect_size=w)


def cohens_w(statistic: float, n_ref: float, n_cur: float) -> float:
    """Effect size ``w`` of a chi-square (or G) statistic of a 2 x k reference/current table.

    ``w = sqrt(statistic / n_eff)`` with ``n_eff = n_ref n_cur / (n_ref + n_cur)``.  For the
    Pearson statistic of :func:`~modelsteward.drift.chi_square.chi_square_homogeneity` this is
    exactly ``sqrt(sum_i (c_i - r_i)^2 / p_i)``, the chi-square distance between the current
    shares ``c`` and the reference shares ``r`` relative to the pooled shares ``p`` - Cohen's
    (1988) ``w`` with the pooled shares as the base (it tends to the textbook form, relative to
    ``r``, when the reference is much larger than the window).  For the G statistic it agrees
    to second order in ``c - r``.  Cohen's conventions: 0.1 small, 0.3 medium, 0.5 large.

    Cramér's V, ``sqrt(statistic / (n_ref + n_cur))``, is the same quantity scaled by
    ``sqrt(n_eff / N)``: it depends on how the rows split between reference and window, and
    shrinks towards 0 when the reference is much larger than the window, which is why it is
    not used as the drift effect.  With equal sizes ``w = 2 V``.

    Parameters
    ----------
    statistic : float
        The chi-square or G statistic, >= 0.
    n_ref, n_cur : float
        Reference and current totals, each > 0.

    Returns
    -------
    float
        ``w`` >= 0.

    Raises
    ------
    ValueError
        If the statistic is negative or not finite, or a total is not positive.

    References
    ----------
    .. [1] Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd
       ed. Erlbaum, ch. 7 (the effect size index w).

    Examples
    --------
    >>> from modelsteward.drift.chi_square import chi_square_homogeneity
    >>> res = chi_square_homogeneity([500, 500], [400, 600])
    >>> print(f"w={cohens_w(res.statistic, 1000, 1000):.3f} V={res.cramers_v:.3f}")
    w=0.201 V=0.101
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> print(f"{cohens_w(rng.chisquare(3), 10_000, 500):.4f}")
    0.1457
    """
    stat, a, b = float(statistic), float(n_ref), float(n_cur)
    if not (math.isfinite(stat) and stat >= 0.0):
        raise ValueError(f"statistic must be a finite number >= 0, got {statistic!r}")
    if not (math.isfinite(a) and math.isfinite(b) and a > 0.0 and b > 0.0):
        raise ValueError(f"n_ref and n_cur must be positive, got {n_ref!r} and {n_cur!r}")
    # sqrt(stat (1/a + 1/b)) arranged so that no intermediate overflows (stat and totals near 1e300).
    small, large = min(a, b), max(a, b)
    return math.sqrt(stat) / math.sqrt(small) * math.sqrt(1.0 + small / large)
