"""ROC AUC of two-sample scores and DeLong's standard error: the statistics of domain classifiers.

Both domain classifiers (:func:`modelsteward.drift.multivariate.domain_classifier` on
feature rows and :func:`modelsteward.drift.text.text_drift` on text embeddings) summarise
how well their scores separate current from reference rows by the ROC AUC, computed here
once:

* :func:`roc_auc` is the Mann-Whitney form ``(R_1 - m (m + 1) / 2) / (m n)``, ``R_1`` the
  sum of the midranks of the ``m`` positive scores among all scores, so a tie between a
  positive and a negative score counts 1/2 (as ``sklearn.metrics.roc_auc_score``).
* :func:`delong` adds DeLong's nonparametric standard error from the structural components
  (placement values) ``V10_i = (R_i - r_i) / n`` and ``V01_j = 1 - (R_j - r_j) / m``
  (``R`` the midrank among all scores, ``r`` within the score's own class; Sun and Xu 2014),
  ``Var = S10 / m + S01 / n`` with the sample variances ``S10``, ``S01``.

References
----------
.. [1] DeLong, E. R., DeLong, D. M. and Clarke-Pearson, D. L. (1988). Comparing the areas
   under two or more correlated receiver operating characteristic curves: a nonparametric
   approach. *Biometrics* 44(3), 837-845.
.. [2] Sun, X. and Xu, W. (2014). Fast implementation of DeLong's algorithm for comparing
   the areas under correlated receiver operating characteristic curves. *IEEE Signal
   Processing Letters* 21(11), 1389-1393.

Examples
--------
>>> import numpy as np
>>> roc_auc(np.array([0.9, 0.4, 0.8, 0.4, 0.1]), np.array([1, 1, 0, 0, 0]))
0.75
>>> auc, se = delong(np.array([0.9, 0.4]), np.array([0.8, 0.4, 0.1]))
>>> print(f"{auc:.4f} {se:.4f}")
0.7500 0.2887
"""

from __future__ import annotations

import math

import numpy as np

from modelsteward.errors import InsufficientDataError

__all__ = ["delong", "midranks", "roc_auc"]


def midranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` with ties given the mean of their ranks, as float64."""
    from scipy import stats

    return np.asarray(stats.rankdata(x, method="average"), dtype=np.float64)


def _mann_whitney(pos_rank_sum: float, m: int, n: int) -> float:
    """AUC from the sum of the positive scores' midranks among all ``m + n`` scores."""
    return float((pos_rank_sum - m * (m + 1) / 2) / (m * n))


def _check(scores: np.ndarray, m: int, n: int) -> None:
    """Refuse NaN scores (they have no rank) and a class with no score (no AUC)."""
    if m == 0 or n == 0:
        raise InsufficientDataError(f"the AUC needs scores of both classes, got {m} positive and {n} negative")
    if np.isnan(np.asarray(scores, dtype=np.float64)).any():
        raise ValueError("scores must not be NaN; drop or impute the rows without a score")


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney ROC AUC of ``scores`` for ``labels == 1`` over ``labels == 0`` (ties 1/2).

    Parameters
    ----------
    scores : numpy.ndarray
        One score per row, higher meaning "more likely positive".
    labels : numpy.ndarray
        0/1 per row; both classes must occur.

    Raises
    ------
    InsufficientDataError
        If a class has no score.
    ValueError
        If a score is NaN.

    Returns
    -------
    float
        The probability that a random positive scores above a random negative, ties counted
        one half.
    """
    pos = labels == 1
    m, n = int(pos.sum()), int((~pos).sum())
    _check(scores, m, n)
    ranks = midranks(scores)
    return _mann_whitney(float(ranks[pos].sum()), m, n)


def delong(pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """Mann-Whitney AUC of ``pos`` over ``neg`` and its DeLong standard error.

    Parameters
    ----------
    pos, neg : numpy.ndarray
        Scores of the positive and the negative class, at least two of each for a standard
        error (with one, the variance of a single placement value is undefined: NaN).

    Returns
    -------
    (auc, se) : tuple of float
        The AUC (as :func:`roc_auc`) and ``sqrt(S10 / m + S01 / n)`` (NaN with one score in a class).

    Raises
    ------
    InsufficientDataError
        If a class has no score.
    ValueError
        If a score is NaN.
    """
    m, n = pos.size, neg.size
    _check(np.concatenate([pos, neg]), m, n)
    ranks = midranks(np.concatenate([pos, neg]))
    auc = _mann_whitney(float(ranks[:m].sum()), m, n)
    if min(m, n) < 2:
        return auc, math.nan
    v10 = (ranks[:m] - midranks(pos)) / n
    v01 = 1.0 - (ranks[m:] - midranks(neg)) / m
    var = float(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    return auc, math.sqrt(max(var, 0.0))
