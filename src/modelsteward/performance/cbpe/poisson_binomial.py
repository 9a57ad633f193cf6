"""The Poisson-binomial law of the number correct: its exact pmf and the interval CBPE reads from it."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["poisson_binomial_pmf"]


def _probabilities(p: object, name: str = "p") -> np.ndarray:
    try:
        arr = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or (arr.size and (arr.min() < 0.0 or arr.max() > 1.0)):
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return arr


def poisson_binomial_pmf(p: object) -> np.ndarray:
    """Exact distribution of the number of successes of independent Bernoulli(``p_i``) trials.

    Direct convolution, one trial at a time: with ``P_j(k)`` the probability of ``k``
    successes among the first ``j`` trials, ``P_j(k) = P_{j-1}(k) (1 - p_j) + P_{j-1}(k-1) p_j``
    (the recursion reviewed by Hong 2013, section 2; a sum of non-negative terms, so no
    cancellation).  Trials with ``p_i`` of exactly 0 or 1 only shift the support.  Cost is
    ``O(n^2)``: a few milliseconds for ``n = 1000``, a few tens for ``n = 5000``.  Mean
    ``sum p_i`` and variance ``sum p_i (1 - p_i)``.

    Parameters
    ----------
    p : array_like of float
        Success probabilities in [0, 1].

    Returns
    -------
    numpy.ndarray
        ``len(p) + 1`` probabilities of 0, 1, ..., ``len(p)`` successes.

    Raises
    ------
    ValueError
        If ``p`` is not 1-D or holds values outside [0, 1].

    References
    ----------
    .. [1] Hong, Y. (2013). On computing the distribution function for the Poisson binomial
       distribution. *Computational Statistics & Data Analysis* 59, 41-51.

    Examples
    --------
    >>> poisson_binomial_pmf([0.5, 0.5]).round(3)
    array([0.25, 0.5 , 0.25])
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> pmf = poisson_binomial_pmf(rng.uniform(size=100))
    >>> print(f"{pmf.sum():.12f} {np.arange(101) @ pmf:.4f}")
    1.000000000000 54.8291
    """
    q = _probabilities(p)
    ones = int(np.count_nonzero(q == 1.0))
    mid = q[(q > 0.0) & (q < 1.0)]
    pmf = np.zeros(q.size + 1)
    part = np.zeros(mid.size + 1)
    part[0] = 1.0
    for j, pj in enumerate(mid):
        part[1 : j + 2] = part[1 : j + 2] * (1.0 - pj) + part[: j + 1] * pj
        part[0] *= 1.0 - pj
    pmf[ones : ones + mid.size + 1] = part
    return pmf


def _pb_interval(p: np.ndarray, sigma: float, level: float) -> tuple[int, int]:
    """Counts at the ``(1 -+ level)/2`` quantiles of the exact Poisson-binomial law of ``p``.

    With ``sigma > 0`` the law is first convolved with a normal of that standard deviation
    (discretised on the integers, mass beyond 0 and ``n`` folded onto them): the
    calibration's own error in the expected count.  Each quantile is the smallest count
    whose CDF reaches it.
    """
    pmf = poisson_binomial_pmf(p)
    n = p.size
    if sigma > 0:
        half = int(math.ceil(8 * sigma))
        kernel = stats.norm.pdf(np.arange(-half, half + 1) / sigma)
        full = np.convolve(pmf, kernel / kernel.sum())
        pmf = full[half : half + n + 1].copy()
        pmf[0] += full[:half].sum()
        pmf[-1] += full[half + n + 1 :].sum()
    cdf = np.cumsum(pmf)
    alpha = 1.0 - level
    lo = int(np.searchsorted(cdf, alpha / 2, side="left"))
    hi = int(np.searchsorted(cdf, 1.0 - alpha / 2, side="left"))
    return min(lo, n), min(hi, n)

