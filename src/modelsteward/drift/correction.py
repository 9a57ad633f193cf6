"""Multiple-testing correction of the p-values of one window's features.

A window tests every feature; with 20 features and no correction, a 5 % test would flag at
least one unchanged feature in about 64 % of windows (``1 - 0.95^20``).  The p-values of one
test across the features of a window are therefore adjusted together before they are
compared with the significance level:

* :func:`benjamini_hochberg` (the default) controls the false discovery rate - the expected
  share of flagged features that did not change - at ``alpha`` (Benjamini & Hochberg 1995),
  for independent or positively dependent tests (Benjamini & Yekutieli 2001).  When no
  feature changed it also controls the chance of any flag at ``alpha``.
* :func:`bonferroni` controls the chance of any false flag at ``alpha`` whatever the
  dependence, at the cost of power.

:func:`simes` is the matching global test - "did anything in the window change?" - used for
the window-level verdict at its own, stricter level (``drift.dataset_p_value``).

p-values that underflow are kept finite: :data:`P_FLOOR` (1e-300) is the smallest p-value the
drift engine stores or prints (:func:`floor_p`); below it a result reads "p < 1e-300".

Features whose test has no p-value (a distance such as PSI, or a feature skipped for lack of
data) are given as ``None`` or NaN: they come back as NaN and are not counted in the number
of tests ``m``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

import numpy as np

__all__ = ["P_FLOOR", "CorrectionMethod", "adjust", "benjamini_hochberg", "bonferroni", "floor_p", "simes"]

CorrectionMethod = Literal["bh", "bonferroni", "none"]

#: The smallest p-value the drift engine stores or prints.  Exact tail probabilities of large
#: windows underflow to 0 (or to subnormal numbers that print as noise); anything at or below
#: this floor is stored as the floor and read as "p < 1e-300".
P_FLOOR = 1e-300


def _p_values(p_values: Iterable[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """The p-values as a float array (None -> NaN) and the mask of those present."""
    out = []
    for i, p in enumerate(p_values):
        if p is None:
            out.append(math.nan)
            continue
        try:
            value = float(p)
        except (TypeError, ValueError):
            raise ValueError(f"p-value {i} is not a number: {p!r}") from None
        if not (math.isnan(value) or 0.0 <= value <= 1.0):
            raise ValueError(f"p-value {i} is {value!r}; p-values must be in [0, 1] (or None/NaN for none)")
        out.append(value)
    arr = np.asarray(out, dtype=np.float64)
    return arr, ~np.isnan(arr)


def benjamini_hochberg(p_values: Iterable[float | None]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate).

    With the ``m`` present p-values sorted, ``p_(1) <= ... <= p_(m)``, the adjusted value of
    ``p_(i)`` is ``min(1, min_{j >= i} p_(j) m / j)``; rejecting where it is below ``alpha``
    is the Benjamini & Hochberg (1995) step-up procedure at level ``alpha``.  Equals
    ``scipy.stats.false_discovery_control(p, method="bh")`` on the present p-values.
    ``None`` and NaN entries (no p-value) are returned as NaN and not counted in ``m``.

    Under the global null - no feature changed - every rejection is false, so the false
    discovery rate equals the probability of rejecting anything: BH then controls the
    family-wise error rate at ``alpha`` (it rejects anything exactly when Simes' (1986) test
    does).

    Parameters
    ----------
    p_values : iterable of float or None
        p-values in [0, 1], ``None`` or NaN where a test has none.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order, NaN where the input had none.

    Raises
    ------
    ValueError
        If a p-value is not a number in [0, 1], None or NaN.

    References
    ----------
    .. [1] Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. *J. R. Statist. Soc. B* 57(1),
       289-300.
    .. [2] Benjamini, Y. and Yekutieli, D. (2001). The control of the false discovery rate
       in multiple testing under dependency. *Annals of Statistics* 29(4), 1165-1188.
    .. [3] Simes, R. J. (1986). An improved Bonferroni procedure for multiple tests of
       significance. *Biometrika* 73(3), 751-754.

    Examples
    --------
    >>> benjamini_hochberg([0.5, 0.6, 0.1, 0.001])
    array([0.6  , 0.6  , 0.2  , 0.004])
    >>> benjamini_hochberg([0.01, None, 0.04, float("nan")])
    array([0.02, nan, 0.04, nan])
    >>> import numpy as np
    >>> benjamini_hochberg(np.random.default_rng(0).uniform(size=4)).round(4)
    array([0.637 , 0.3597, 0.0819, 0.0661])
    """
    arr, present = _p_values(p_values)
    ps = arr[present]
    m = ps.size
    if m > 1:
        order = np.argsort(ps)
        ranked = ps[order] * (m / np.arange(1, m + 1, dtype=np.float64))
        np.minimum.accumulate(ranked[::-1], out=ranked[::-1])
        adjusted = np.empty_like(ranked)
        adjusted[order] = ranked
        arr[present] = np.clip(adjusted, 0.0, 1.0)
    return arr


def bonferroni(p_values: Iterable[float | None]) -> np.ndarray:
    """Bonferroni adjusted p-values (family-wise error rate).

    ``min(1, p m)`` for each of the ``m`` present p-values; rejecting where it is below
    ``alpha`` keeps the chance of any false rejection at most ``alpha`` whatever the
    dependence between the tests (Dunn 1961).  ``None`` and NaN entries (no p-value) are
    returned as NaN and not counted in ``m``.

    Parameters
    ----------
    p_values : iterable of float or None
        p-values in [0, 1], ``None`` or NaN where a test has none.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order, NaN where the input had none.

    Raises
    ------
    ValueError
        If a p-value is not a number in [0, 1], None or NaN.

    References
    ----------
    .. [1] Dunn, O. J. (1961). Multiple comparisons among means. *Journal of the American
       Statistical Association* 56(293), 52-64.

    Examples
    --------
    >>> bonferroni([0.01, None, 0.04, 0.5])
    array([0.03, nan, 0.12, 1.  ])
    >>> import numpy as np
    >>> bonferroni(np.random.default_rng(0).uniform(size=4)).round(4)
    array([1.    , 1.    , 0.1639, 0.0661])
    """
    arr, present = _p_values(p_values)
    m = int(present.sum())
    arr[present] = np.minimum(arr[present] * m, 1.0)
    return arr


def adjust(p_values: Iterable[float | None], method: CorrectionMethod = "bh") -> np.ndarray:
    """Adjust the p-values of one test across the features of a window.

    Parameters
    ----------
    p_values : iterable of float or None
        p-values in [0, 1], ``None`` or NaN where a test has none (passed through as NaN,
        not counted).
    method : {"bh", "bonferroni", "none"}, default "bh"
        :func:`benjamini_hochberg`, :func:`bonferroni`, or no adjustment.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order, NaN where the input had none.

    Raises
    ------
    ValueError
        If ``method`` is unknown or a p-value is not a number in [0, 1], None or NaN.

    Examples
    --------
    >>> adjust([0.01, 0.02, None], "bh")
    array([0.02, 0.02,  nan])
    >>> adjust([0.01, 0.02, None], "none")
    array([0.01, 0.02,  nan])
    >>> import numpy as np
    >>> adjust(np.random.default_rng(0).uniform(size=3), "bonferroni").round(4)
    array([1.    , 0.8094, 0.1229])
    """
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "bonferroni":
        return bonferroni(p_values)
    if method == "none":
        return _p_values(p_values)[0]
    raise ValueError(f"method must be 'bh', 'bonferroni' or 'none', got {method!r}")


def floor_p(p: float | None) -> float | None:
    """``p`` kept at or above :data:`P_FLOOR` so that it stays finite on a log scale (None and NaN -> None).

    Apply it after the correction, so that the adjusted p-values are computed from the exact ones.

    Examples
    --------
    >>> floor_p(0.0), floor_p(3e-320), floor_p(0.02), floor_p(None), floor_p(float("nan"))
    (1e-300, 1e-300, 0.02, None, None)
    """
    if p is None or math.isnan(p):
        return None
    return max(float(p), P_FLOOR)


def simes(p_values: Iterable[float | None]) -> float:
    """Simes' global p-value: evidence that at least one of ``m`` hypotheses is false.

    ``min_i p_(i) m / i`` over the sorted present p-values, i.e. the smallest
    Benjamini-Hochberg adjusted p-value: the global test rejects at ``alpha`` exactly when
    BH at ``alpha`` rejects anything.  Under the global null (nothing changed) it rejects with
    probability at most ``alpha`` for independent or positively dependent p-values (Simes
    1986; Sarkar 1998); it is never less powerful than Bonferroni's ``m min p``.  ``None``
    and NaN entries are skipped; with no p-value at all the result is NaN.

    Parameters
    ----------
    p_values : iterable of float or None
        p-values in [0, 1], ``None`` or NaN where a test has none.

    Returns
    -------
    float
        The global p-value in [0, 1], NaN when no p-value was given.

    Raises
    ------
    ValueError
        If a p-value is not a number in [0, 1], None or NaN.

    References
    ----------
    .. [1] Simes, R. J. (1986). An improved Bonferroni procedure for multiple tests of
       significance. *Biometrika* 73(3), 751-754.
    .. [2] Sarkar, S. K. (1998). Some probability inequalities for ordered MTP2 random
       variables: a proof of the Simes conjecture. *Annals of Statistics* 26(2), 494-504.

    Examples
    --------
    >>> simes([0.5, 0.6, 0.1, 0.001])  # min(0.001 * 4 / 1, 0.1 * 4 / 2, 0.5 * 4 / 3, 0.6 * 4 / 4)
    0.004
    >>> simes([None, float("nan")])
    nan
    >>> import numpy as np
    >>> round(simes(np.random.default_rng(0).uniform(size=20)), 4)
    0.0548
    """
    adjusted = benjamini_hochberg(p_values)
    present = adjusted[~np.isnan(adjusted)]
    return float(present.min()) if present.size else math.nan
