"""Population Stability Index (PSI) on quantile bins of a reference sample.

Bins are right-closed: with inner edges ``e1 < e2 < ... < ek`` they are
``(-inf, e1], (e1, e2], ..., (ek, inf)``.  The store bins in SQL with the same rule;
:func:`bin_counts` is the numpy reference for it.
"""

from __future__ import annotations

import numpy as np

from modelsteward.errors import InsufficientDataError

__all__ = ["bin_counts", "psi", "quantile_edges"]


def _sample(sample: object, name: str = "sample") -> np.ndarray:
    """The sample as a 1-D float array with NaN removed."""
    try:
        arr = np.asarray(sample, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr[~np.isnan(arr)]


def _count_vector(x: object, name: str) -> np.ndarray:
    """A 1-D float array of non-negative, finite counts (shared with ``chi_square``)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold numeric counts") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of counts, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold non-negative, finite counts")
    with np.errstate(over="ignore"):
        total = float(np.sum(arr))
    if not np.isfinite(total):
        raise ValueError(f"{name} must have a finite total; these counts add up beyond the float range")
    return arr


def _count_pair(ref_counts: object, cur_counts: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate a reference/current pair of count vectors of equal length, both non-empty."""
    ref = _count_vector(ref_counts, "ref_counts")
    cur = _count_vector(cur_counts, "cur_counts")
    if ref.shape != cur.shape:
        raise ValueError(
            f"ref_counts and cur_counts must have the same length, got {ref.size} and {cur.size}"
        )
    for name, c in (("reference", ref), ("current", cur)):
        if c.sum() == 0:
            raise InsufficientDataError(f"the {name} counts are all zero: nothing to compare")
    return ref, cur


def quantile_edges(sample: object, bins: int = 10) -> np.ndarray:
    """Inner bin edges at the quantiles of a reference sample.

    The edges are ``np.quantile(sample, [1/bins, 2/bins, ..., (bins-1)/bins])`` (numpy's
    default linear interpolation, Hyndman & Fan 1996 definition 7), de-duplicated and
    sorted, so a feature with few distinct values gets fewer bins.  Together with
    ``-inf`` and ``inf`` they define the right-closed bins ``(-inf, e1], (e1, e2], ...,
    (ek, inf)``.  NaN values are ignored.

    Parameters
    ----------
    sample : array_like
        The reference sample, 1-D and numeric.
    bins : int, default 10
        Number of quantile bins wanted, at least 2.

    Returns
    -------
    numpy.ndarray
        Strictly increasing inner edges, between 0 and ``bins - 1`` of them.

    Raises
    ------
    InsufficientDataError
        If the sample has no non-NaN values.
    ValueError
        If ``bins`` is not an integer >= 2 or the sample holds infinite values.

    References
    ----------
    .. [1] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages.
       *The American Statistician* 50(4), 361-365.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> quantile_edges(rng.normal(size=1000), bins=4).round(3)
    array([-0.69 , -0.075,  0.615])
    >>> quantile_edges([0, 0, 0, 1, 1, 2], bins=4)
    array([0. , 0.5, 1. ])
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
    x = _sample(sample)
    if x.size == 0:
        raise InsufficientDataError("the reference sample has no non-NaN values to take quantiles of")
    if not np.all(np.isfinite(x)):
        raise ValueError("the reference sample holds infinite values; quantile edges would not be finite")
    return np.unique(np.quantile(x, np.arange(1, int(bins)) / int(bins)))


def bin_counts(sample: object, edges: object) -> np.ndarray:
    """Count a sample into the right-closed bins defined by inner ``edges``.

    Bin ``k`` is ``(edges[k-1], edges[k]]``, with ``edges[-1] = -inf`` and
    ``edges[len(edges)] = inf``; a value equal to an edge falls in the bin that edge closes.
    NaN values are not counted; ``-inf`` and ``inf`` go to the first and last bin.

    Parameters
    ----------
    sample : array_like
        1-D numeric sample.
    edges : array_like
        Strictly increasing, finite inner edges (e.g. from :func:`quantile_edges`).

    Returns
    -------
    numpy.ndarray of int64
        ``len(edges) + 1`` counts.

    Raises
    ------
    ValueError
        If ``edges`` is not 1-D, finite and strictly increasing.

    Examples
    --------
    >>> import numpy as np
    >>> bin_counts([0.5, 1.0, 1.5, 2.0, 3.0, np.nan], [1.0, 2.0])
    array([2, 2, 1])
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=1000)
    >>> bin_counts(ref, quantile_edges(ref, bins=4))
    array([250, 250, 250, 250])
    """
    try:
        e = np.asarray(edges, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("edges must be numeric") from None
    if e.ndim != 1:
        raise ValueError(f"edges must be 1-D, got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("edges must be finite")
    if e.size > 1 and not np.all(e[1:] > e[:-1]):
        raise ValueError("edges must be strictly increasing")
    x = _sample(sample)
    # side="left" gives the number of edges strictly below x, i.e. right-closed bins.
    return np.bincount(np.searchsorted(e, x, side="left"), minlength=e.size + 1).astype(np.int64)


def psi(ref_counts: object, cur_counts: object, eps: float = 1e-4) -> float:
    """Population Stability Index between reference and current bin counts.

    ``PSI = sum_i (c_i - r_i) * ln(c_i / r_i)``, where ``r_i`` and ``c_i`` are the shares of
    the reference and current samples in bin ``i`` (Siddiqi 2006; it equals the symmetrised
    Kullback-Leibler divergence ``KL(c || r) + KL(r || c)``).  A share that is exactly zero
    would make the index infinite, so zero shares are replaced by ``eps`` before the sum;
    shares are not renormalised afterwards.  Common reading: below 0.1 stable, 0.1-0.25 a
    moderate shift, above 0.25 a major shift.

    Parameters
    ----------
    ref_counts, cur_counts : array_like
        Non-negative counts per bin, same length, each with a positive total.
    eps : float, default 1e-4
        Floor used in place of a zero share, in (0, 1).

    Returns
    -------
    float
        The index, >= 0.

    Raises
    ------
    InsufficientDataError
        If either side's counts are all zero.
    ValueError
        If the counts are negative, non-finite or of different lengths, or ``eps`` is not
        in (0, 1).

    References
    ----------
    .. [1] Siddiqi, N. (2006). *Credit Risk Scorecards: Developing and Implementing
       Intelligent Credit Scoring*. Wiley, pp. 136-140.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref, cur = rng.normal(size=5000), rng.normal(0.25, 1.1, size=3000)
    >>> edges = quantile_edges(ref, bins=10)
    >>> print(f"{psi(bin_counts(ref, edges), bin_counts(cur, edges)):.4f}")
    0.0812
    >>> print(f"{psi([50, 50], [100, 0]):.4f}")
    4.6043
    """
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise ValueError(f"eps must be a number in (0, 1), got {eps!r}") from None
    if not 0.0 < eps < 1.0:
        raise ValueError(f"eps must be a number in (0, 1), got {eps!r}")
    ref, cur = _count_pair(ref_counts, cur_counts)
    r = ref / ref.sum()
    c = cur / cur.sum()
    r = np.where(r == 0.0, eps, r)
    c = np.where(c == 0.0, eps, c)
    return float(np.sum((c - r) * np.log(c / r)))
