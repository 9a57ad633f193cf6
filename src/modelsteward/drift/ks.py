"""Two-sample Kolmogorov–Smirnov test on grouped (value, count, count) data.

The numpy reference for the KS statistic the store computes in SQL, plus its p-value, a port
of ``scipy.stats.ks_2samp`` (``method='auto'``, two-sided) that agrees with it to rounding.
The exact-distribution code is adapted from SciPy (``scipy/stats/_stats_py.py``,
``_stats_pythran.py``), Copyright (c) 2001-2002 Enthought, Inc. and 2003-2024 SciPy
Developers, used under the BSD 3-Clause licence.

Speed: the exact p-value counts lattice paths, O(n1 n2) cell updates.  When SciPy's compiled
(Pythran) routine ``scipy.stats._stats_pythran._compute_outer_prob_inside_method`` can be
imported it does the counting (about 2 ms for 1,000 vs 5,000 values, against about 32 ms for
the vectorised port below, which stays as the fallback and is tested to agree with it); and
the result, a function of ``(n1, n2, round(D lcm))`` only, is memoised in a bounded LRU cache
(:data:`EXACT_CACHE_SIZE` entries), since monitoring windows repeat the same sizes.

Above 10,000 values a side SciPy evaluates ``kstwo.sf(D, n)`` (Simard and L'Ecuyer 2011).
For ``n`` above 140 and ``n D^2`` in [2.2, 370) - small p-values, the drifted windows - that
is twice the one-sided Smirnov tail, which SciPy sums term by term in double-double
arithmetic (Birnbaum and Tingey 1951): O(n) scalar steps, about 0.25 s for ``n`` = 200,000
and 2 s and more for ``n`` = 10^6, per subject and window. :func:`_smirnov_sf` sums the same
terms in log space with numpy (about 20 times faster), equal to SciPy's to about 1e-13
relative (tested up to ``n`` = 10^6); every other branch is SciPy's own ``kstwo.sf``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from modelsteward.errors import InsufficientDataError

__all__ = ["KSResult", "ks_2samp_grouped", "ks_pvalue", "ks_pvalue_asymptotic", "ks_statistic_from_counts", "kstwo_sf"]

#: SciPy's ``MAX_AUTO_N``: ``method='auto'`` is exact when both sizes are at most this.
MAX_AUTO_N = 10_000

#: Entries of the memo of exact p-values keyed by ``(n1, n2, h)`` (a few hundred bytes each).
EXACT_CACHE_SIZE = 4096


@lru_cache(maxsize=1)
def _compiled_inside_method() -> Callable[[int, int, int, int], float] | None:
    """SciPy's compiled ``_compute_outer_prob_inside_method``, or None if it cannot be imported.

    Looked up on first use (importing ``scipy.stats`` costs about half a second), then kept.

    It is a private SciPy function: any import problem (a SciPy that renamed or dropped it)
    falls back to the port in this module, which gives the same numbers, only slower.
    """
    try:
        from scipy.stats._stats_pythran import _compute_outer_prob_inside_method
    except ImportError:  # pragma: no cover - depends on the installed SciPy
        return None
    return _compute_outer_prob_inside_method  # type: ignore[no-any-return,unused-ignore]


@dataclass(frozen=True)
class KSResult:
    """Result of :func:`ks_2samp_grouped`: statistic ``D``, two-sided p-value, sample sizes."""

    statistic: float
    p_value: float
    n1: int
    n2: int


def _check_size(n: object, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"{name} must be an integer sample size, got {n!r}")
    if n < 1:
        raise InsufficientDataError(f"{name} is {n}: the KS test needs an observation in each sample")
    return int(n)


def _prob_outside_square(n: int, h: int) -> float:
    """P(D_{n,n} >= h/n): SciPy's ``_compute_prob_outside_square`` (reflection series)."""
    p = 0.0
    k = n // h
    while k >= 0:
        p1 = 1.0
        for j in range(h):
            p1 = (n - k * h - j) * p1 / (n + k * h + j + 1)
        p = p1 * (1.0 - p)
        k -= 1
    return 2 * p


def _prob_outside_band(m: int, n: int, g: int, h: int) -> float:
    """Share of lattice paths (0,0)->(m,n) leaving the band |x/m - y/n| < h/lcm(m, n).

    SciPy's ``_compute_outer_prob_inside_method`` (Hodges' inside method in Viehmann's form).
    Cell (i, j) holds the chance that a random path to it has left the band (1 outside it):
    ``A(i, j) = (i A(i-1, j) + j A(i, j-1)) / (i + j)``.  SciPy fills the grid by columns;
    applying the same cell formula by anti-diagonals vectorises it with identical values.
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    cols = np.arange(m + 1, dtype=np.int64)
    lo_j = np.minimum(np.maximum((ng * cols - h) // mg + 1, 0), n)  # first j inside the band
    hi_j = np.minimum(-((-(ng * cols + h)) // mg), n + 1)  # one past the last j inside
    if np.any(hi_j <= lo_j):
        return 1.0
    # On anti-diagonal s = i + j the band is the run of columns i with
    # i + lo_j[i] <= s < i + hi_j[i]; both bounds increase with i.
    diagonals = np.arange(m + n + 1, dtype=np.int64)
    first = np.searchsorted(cols + hi_j, diagonals, side="right")
    last = np.searchsorted(cols + lo_j, diagonals, side="right") - 1
    # a[i + 1] holds cell (i, s - i) of the current diagonal s; a[0] stands for column -1.
    a = np.ones(m + 2)
    a[1] = 0.0  # the origin is inside the band
    for s in range(1, m + n + 1):
        lo, hi = int(first[s]), int(last[s])
        if lo <= hi:
            i = cols[lo : hi + 1]
            j = s - i
            a[lo + 1 : hi + 2] = (a[lo : hi + 1] * i + a[lo + 1 : hi + 2] * j) / (i + j)
        # Cells inside the band on diagonal s - 1 but outside it on s now read as 1.
        plo, phi = int(first[s - 1]), int(last[s - 1])
        a[plo + 1 : lo + 1] = 1.0
        a[max(hi, plo) + 2 : phi + 2] = 1.0
    return float(a[m + 1])


def _exact_pvalue(n1: int, n2: int, g: int, d: float) -> tuple[bool, float]:
    """SciPy's ``_attempt_exact_2kssamp`` (two-sided): round ``d`` to the lattice, then count."""
    lcm = (n1 // g) * n2
    h = int(np.round(d * lcm))
    if h == 0:
        return True, 1.0
    return _exact_counted(n1, n2, g, h)


@lru_cache(maxsize=EXACT_CACHE_SIZE)
def _exact_counted(n1: int, n2: int, g: int, h: int) -> tuple[bool, float]:
    """The exact two-sided tail for lattice distance ``h``, memoised (``g = gcd(n1, n2)``)."""
    return _count_exact(n1, n2, g, h, compiled=_compiled_inside_method() is not None)


def _count_exact(n1: int, n2: int, g: int, h: int, *, compiled: bool) -> tuple[bool, float]:
    """P(D >= h / lcm) by the reflection series (``n1 == n2``) or the inside method.

    ``compiled`` picks SciPy's compiled inside method over the port (the tests run both).
    """
    try:
        with np.errstate(invalid="raise", over="raise"):
            if n1 == n2:
                prob = _prob_outside_square(n1, h)
            elif compiled and (inside := _compiled_inside_method()) is not None:
                prob = float(inside(n1, n2, g, h))
            else:
                prob = _prob_outside_band(n1, n2, g, h)
    except (FloatingPointError, OverflowError):
        return False, math.nan
    return (0.0 <= prob <= 1.0), prob


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value of the two-sample Kolmogorov–Smirnov statistic.

    Reproduces ``scipy.stats.ks_2samp(x, y).pvalue`` (``method='auto'``) from the statistic
    and the sample sizes alone.  When both sizes are at most 10 000 the exact null
    distribution is used: ``d`` is rounded to the nearest multiple of ``1/lcm(n1, n2)`` and
    the probability is counted on the lattice of paths (the reflection series for
    ``n1 == n2``; Hodges' inside method otherwise).  Larger samples, or an exact
    computation that fails numerically, use the Kolmogorov distribution ``kstwo`` with
    ``n = round(n1 n2 / (n1 + n2))`` (SciPy's ``method='asymp'``), through :func:`kstwo_sf`,
    which returns SciPy's values in O(n) vectorised steps rather than SciPy's O(n) scalar ones.

    Parameters
    ----------
    d : float
        The statistic ``D = max |F1(x) - F2(x)|``, in [0, 1].
    n1, n2 : int
        Sizes of the two samples, each at least 1.

    Returns
    -------
    float
        The p-value, in [0, 1].

    Raises
    ------
    InsufficientDataError
        If a sample size is below 1.
    ValueError
        If ``d`` is not a number in [0, 1] or a size is not an integer.

    Notes
    -----
    Ported from SciPy's ``ks_2samp`` (BSD 3-Clause; see the module docstring).  No warning is
    issued when the exact computation falls back to ``kstwo``.

    References
    ----------
    .. [1] Hodges, J. L. Jr. (1958). The significance probability of the Smirnov
       two-sample test. *Arkiv för Matematik* 3(43), 469-486.
    .. [2] Viehmann, T. (2021). Numerically more stable computation of the p-values for
       the two-sample Kolmogorov-Smirnov test. arXiv:2102.08037.
    .. [3] Simard, R. and L'Ecuyer, P. (2011). Computing the two-sided Kolmogorov-Smirnov
       distribution. *Journal of Statistical Software* 39(11).

    Examples
    --------
    >>> import math, numpy as np
    >>> from scipy import special
    >>> rng = np.random.default_rng(0)
    >>> from scipy import stats
    >>> res = stats.ks_2samp(rng.normal(size=40), rng.normal(0.5, size=60))
    >>> p = ks_pvalue(res.statistic, 40, 60)
    >>> print(f"{p:.6g}", math.isclose(p, res.pvalue, rel_tol=1e-12))
    0.00242605 True
    >>> ks_pvalue(0.0, 5, 7)
    1.0
    """
    n1 = _check_size(n1, "n1")
    n2 = _check_size(n2, "n2")
    try:
        d = float(d)
    except (TypeError, ValueError):
        raise ValueError(f"d must be a number in [0, 1], got {d!r}") from None
    if not 0.0 <= d <= 1.0:  # also rejects NaN
        raise ValueError(f"d must be a number in [0, 1], got {d!r}")
    if max(n1, n2) <= MAX_AUTO_N:
        ok, prob = _exact_pvalue(n1, n2, math.gcd(n1, n2), d)
        if ok:
            return float(np.clip(prob, 0.0, 1.0))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(kstwo_sf(d, int(np.round(en))), 0.0, 1.0))


#: SciPy's ``SMIRNOV_MAX_COMPUTE_N``: above it ``smirnov`` uses a closed-form approximation.
SMIRNOV_MAX_COMPUTE_N = 1_000_000
#: cephes' ``MINLOG`` (log 2^-1075): below ``exp(MINLOG)`` SciPy's ``smirnov`` returns 0.
_MINLOG = -745.1332191019412
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
#: Terms of the Smirnov sum evaluated per numpy block (bounds the memory of one call).
_SMIRNOV_BLOCK = 1 << 16


def kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: the two-sided one-sample KS tail, with SciPy's slow branch vectorised.

    SciPy's ``_kolmogn`` (Simard and L'Ecuyer 2011) picks a method by ``n`` and ``n d^2``; for
    ``n > 140``, ``1 < n d < n - 1``, ``d < 0.5`` and ``2.2 <= n d^2 < 370`` it returns
    ``2 * smirnov(n, d)``, which SciPy sums one term at a time (O(n)). That branch is
    :func:`_smirnov_sf` here; every other case (and ``n`` above
    :data:`SMIRNOV_MAX_COMPUTE_N`, where SciPy's ``smirnov`` is a closed form) calls SciPy.

    >>> from scipy import stats
    >>> d, n = 0.01, 200_000
    >>> p = kstwo_sf(d, n)
    >>> print(f"{p:.6g}", math.isclose(p, stats.kstwo.sf(d, n), rel_tol=1e-11))
    8.43313e-18 True
    """
    t = n * d
    if 140 < n <= SMIRNOV_MAX_COMPUTE_N and 1.0 < t < n - 1 and d < 0.5 and 2.2 <= t * d < 370.0:
        if -2.0 * t * d < _MINLOG:
            return 0.0
        return min(max(2.0 * _smirnov_sf(n, d), 0.0), 1.0)
    from scipy import stats  # imported here: scipy.stats takes ~0.5 s to import

    return float(stats.kstwo.sf(d, n))


def _stirlerr(k: np.ndarray) -> np.ndarray:
    """``log(k!) - log(sqrt(2 pi k) (k/e)^k)`` for ``k >= 1`` (Loader 2000's series above 15)."""
    out = np.empty_like(k)
    small = k < 16
    ks = k[small]
    out[small] = special.gammaln(ks + 1.0) - (ks + 0.5) * np.log(ks) + ks - _HALF_LOG_2PI
    kl = k[~small]
    kk = kl * kl
    out[~small] = (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / (1188 * kk)) / kk) / kk) / kk) / kl
    return out


def _smirnov_sf(n: int, x: float) -> float:
    """One-sided Smirnov tail ``P(D+_n >= x)`` by the Birnbaum-Tingey sum, in log space.

    ``x sum_{j=0}^{J} C(n, j) (1 - x - j/n)^(n-j) (x + j/n)^(j-1)`` over ``J < n (1 - x)``, as
    SciPy's ``smirnov`` (``xsf/cephes/kolmogorov.h``) sums it. Each term is written as
    ``j log1p(nx/j) + (n-j) log1p(-nx/(n-j)) - log(x + j/n)`` plus Stirling's form of the
    binomial coefficient with its remainder (Loader's ``stirlerr``), so no intermediate is
    larger than about ``n x`` and a term keeps ~1e-14 relative accuracy; blocks of terms are
    summed with a running maximum. Like SciPy, the sum stops once the terms, falling, cannot
    change it.
    """
    nx = n * x
    nxfl = math.floor(nx)
    last = n - nxfl - 1  # the last j with 1 - x - j/n > 0 (also when n x is a whole number)
    top = n * math.log1p(-x) - math.log(x)  # log of the j = 0 term
    total = 1.0  # sum of exp(log term - top)
    stirling_n = float(_stirlerr(np.array([float(n)]))[0])
    for lo in range(1, last + 1, _SMIRNOV_BLOCK):
        j = np.arange(lo, min(last, lo + _SMIRNOV_BLOCK - 1) + 1, dtype=np.float64)
        nj = n - j
        logs = (j * np.log1p(nx / j) + nj * np.log1p(-nx / nj) - np.log(x + j / n)
                + 0.5 * np.log(n / (j * nj)) - _HALF_LOG_2PI + stirling_n - _stirlerr(j) - _stirlerr(nj))
        peak = float(logs.max())
        if peak > top:
            total *= math.exp(top - peak)
            top = peak
        total += float(np.exp(logs - top).sum())
        if logs[-1] < logs[0] and logs[-1] + math.log(last - j[-1] + 1.0) < top + math.log(total) - 40.0:
            break  # past the peak: the remaining terms, each below the last, add under e^-40 of the sum
    return math.exp(top + math.log(x * total))


def ks_pvalue_asymptotic(d: float, n1: int, n2: int) -> float:
    """Two-sided KS p-value from the limiting Kolmogorov distribution: ``K.sf(d sqrt(n))``.

    ``n = n1 n2 / (n1 + n2)``. :func:`ks_pvalue` follows scipy and, above 10,000 values a side,
    evaluates the finite-``n`` distribution ``kstwo`` (:func:`kstwo_sf`), which takes up to
    about 0.1 s a call for ``n`` in the hundreds of thousands. The limit takes microseconds and is
    *conservative*: at these sizes it is at least ``kstwo``'s value and within 2 % of it
    (checked on a grid of ``d`` and ``n >= 50,000`` in the tests; Stephens 1970 shows
    ``sqrt(n) D_n`` approaches its limit from below). The sketched statistics of
    :mod:`~modelsteward.drift.file_stats` use it.

    >>> print(f"{ks_pvalue_asymptotic(0.002, 1_000_000, 1_000_000):.4g}")
    0.03663
    """
    n1 = _check_size(n1, "n1")
    n2 = _check_size(n2, "n2")
    if not 0.0 <= float(d) <= 1.0:
        raise ValueError(f"d must be a number in [0, 1], got {d!r}")
    en = n1 * n2 / (n1 + n2)
    return float(np.clip(special.kolmogorov(float(d) * math.sqrt(en)), 0.0, 1.0))


def _count_vector(x: object, name: str, size: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1 or arr.shape[0] != size:
        raise ValueError(f"{name} must be 1-D with one entry per value ({size}), got shape {arr.shape}")
    if arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr) & (arr >= 0) & (arr == np.round(arr))):
        raise ValueError(f"{name} must hold non-negative whole numbers")
    return arr.astype(np.int64)


def _validated(values: object, counts1: object, counts2: object) -> tuple[np.ndarray, np.ndarray]:
    vals = np.asarray(values)
    if vals.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {vals.shape}")
    if (vals.dtype.kind in "fc" and np.any(np.isnan(vals))) or not np.all(vals[1:] > vals[:-1]):
        raise ValueError("values must be distinct, strictly increasing and not NaN")
    c1, c2 = _count_vector(counts1, "counts1", vals.size), _count_vector(counts2, "counts2", vals.size)
    for name, c in (("sample 1", c1), ("sample 2", c2)):
        if c.sum() == 0:
            raise InsufficientDataError(f"{name} is empty: the KS test needs observations in both")
    return c1, c2


def ks_statistic_from_counts(values: object, counts1: object, counts2: object) -> float:
    """Two-sample KS statistic ``D = max_x |F1(x) - F2(x)|`` from grouped counts.

    Each empirical CDF is evaluated at every pooled value ``x`` as the share of its sample
    that is ``<= x`` (``side='right'``), exactly as ``scipy.stats.ks_2samp`` does, so ties
    between and within samples are handled the same way (Smirnov 1939).

    Parameters
    ----------
    values : array_like
        The distinct values of the pooled sample, strictly increasing.
    counts1, counts2 : array_like of int
        How many times each value occurs in sample 1 and in sample 2.

    Returns
    -------
    float
        ``D`` in [0, 1].

    Raises
    ------
    InsufficientDataError
        If either sample has no observations.
    ValueError
        On unequal lengths, ``values`` not strictly increasing, or a negative or
        fractional count.

    References
    ----------
    .. [1] Smirnov, N. V. (1939). On the estimation of the discrepancy between empirical
       curves of distribution for two independent samples. *Bull. Math. Univ. Moscou* 2(2).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> c1, c2 = rng.multinomial(30, [0.2] * 5), rng.multinomial(20, [0.1, 0.1, 0.2, 0.3, 0.3])
    >>> print(f"{ks_statistic_from_counts([0, 1, 2, 3, 4], c1, c2):.6f}")
    0.383333
    """
    c1, c2 = _validated(values, counts1, counts2)
    return _statistic(c1, c2)


def _statistic(c1: np.ndarray, c2: np.ndarray) -> float:
    diff = np.cumsum(c1) / c1.sum() - np.cumsum(c2) / c2.sum()
    return float(max(diff.max(), np.clip(-diff.min(), 0.0, 1.0)))


def ks_2samp_grouped(values: object, counts1: object, counts2: object) -> KSResult:
    """Two-sample, two-sided Kolmogorov–Smirnov test from grouped counts.

    Combines :func:`ks_statistic_from_counts` and :func:`ks_pvalue`; equivalent to
    ``scipy.stats.ks_2samp`` on the ungrouped samples.

    Parameters and errors are those of :func:`ks_statistic_from_counts` (sample 1 is the
    reference, sample 2 the current window); returns ``KSResult(statistic, p_value, n1, n2)``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> c1, c2 = rng.multinomial(200, [0.3, 0.3, 0.2, 0.2]), rng.multinomial(150, [0.2, 0.3, 0.2, 0.3])
    >>> res = ks_2samp_grouped([0.5, 1.0, 1.5, 2.0], c1, c2)
    >>> print(f"D={res.statistic:.4f} p={res.p_value:.4g} n1={res.n1} n2={res.n2}")
    D=0.1650 p=0.01692 n1=200 n2=150
    """
    c1, c2 = _validated(values, counts1, counts2)
    n1, n2 = int(c1.sum()), int(c2.sum())
    d = _statistic(c1, c2)
    return KSResult(statistic=d, p_value=ks_pvalue(d, n1, n2), n1=n1, n2=n2)
