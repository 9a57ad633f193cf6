"""Calibrating a classifier's confidence on the reference: P(correct | confidence).

Confidence-based performance estimation needs, for every prediction, the probability that it
is right.  A model's raw confidence is rarely that probability, so it is *calibrated* on the
reference, where labels exist, by a monotone map ``confidence -> P(correct | confidence)``.

Two fits are offered:

* ``"isotonic"`` - isotonic regression of the 0/1 outcome on the confidence, solved by the
  pool-adjacent-violators algorithm (PAVA) of ``scipy.optimize.isotonic_regression``
  (SciPy >= 1.12).  Tied confidences are merged first (their mean outcome, weighted by their
  count), so the fitted values are those of scikit-learn's ``IsotonicRegression``.  It
  assumes only that a more confident prediction is not less likely to be right.
* ``"histogram"`` - histogram binning: equal-mass bins of the confidence (the quantile bins
  of :func:`modelsteward.drift.psi.quantile_edges`), and in each bin the mean confidence and
  the share correct.  Not forced to be monotone; coarser, but needs no optimisation.  It is
  the fallback where SciPy lacks ``isotonic_regression`` (``method="auto"``), and a point of
  comparison (:meth:`ConfidenceCalibrator.brier_score` on held-out rows).

Either fit is kept as *knots* ``(x_j, y_j)`` with strictly increasing ``x``; a prediction is
linear interpolation between knots and constant beyond the first and last (``numpy.interp``).
For isotonic regression the knots are the first and last distinct confidence of each pooled
block, which reproduces the fitted value at every distinct reference confidence exactly.
Each knot also records its block (PAVA block or histogram bin) and each block its number of
reference rows, from which :meth:`~ConfidenceCalibrator.block_variance` gives the
calibration's own sampling error.  All of it goes into the reference profile as a small
JSON-able dict (:meth:`~ConfidenceCalibrator.to_dict`, :meth:`~ConfidenceCalibrator.from_dict`):
a few dozen to a few hundred knots for a reference of thousands of rows.

For a binary task the same machinery calibrates the positive-class score
``P(y = positive | s)``, with ``s = confidence`` when the positive class was predicted and
``s = 1 - confidence`` otherwise (:func:`positive_scores`, :meth:`ConfidenceCalibrator.fit_positive`).
This is finer than one pooled P(correct | confidence) and should be preferred for binary
tasks: the pooled map assumes both predicted classes are equally reliable at a given
confidence, and where they are not, the precision and recall estimates are biased.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.optimize

from modelsteward.drift.psi import quantile_edges
from modelsteward.errors import InsufficientDataError

__all__ = ["ConfidenceCalibrator", "isotonic_available", "positive_scores"]

#: ``scipy.optimize.isotonic_regression`` (SciPy >= 1.12), or None on older SciPy.
_ISOTONIC: Any = getattr(scipy.optimize, "isotonic_regression", None)

#: Fewer reference rows than this and a calibration says too little to be used.
MIN_ROWS = 50

_KIND = "modelsteward.confidence_calibrator"
_VERSION = 1
Method = Literal["auto", "isotonic", "histogram"]


def isotonic_available() -> bool:
    """Whether SciPy provides ``scipy.optimize.isotonic_regression`` (SciPy >= 1.12)."""
    return _ISOTONIC is not None


def _confidences(x: object, name: str = "confidence") -> np.ndarray:
    """A 1-D float array of finite values in [0, 1]."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values; drop the rows without a confidence first")
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{arr.min():g}, {arr.max():g}]")
    return arr


def _outcomes(x: object, n: int, name: str) -> np.ndarray:
    """A 1-D float array of 0/1 outcomes (bools or 0/1 numbers) of length ``n``."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold booleans or 0/1 values") from None
    if arr.shape != (n,):
        raise ValueError(f"{name} must be 1-D with one value per confidence ({n}), got shape {arr.shape}")
    if not np.all((arr == 0.0) | (arr == 1.0)):
        raise ValueError(f"{name} must hold booleans or 0/1 values")
    return arr


def positive_scores(predictions: object, confidences: object, positive_label: str) -> np.ndarray:
    """The positive-class score of binary predictions from the predicted label and its confidence.

    ``s = confidence`` where the positive class was predicted, ``1 - confidence`` otherwise.

    Parameters
    ----------
    predictions : array_like of str
        Predicted labels.
    confidences : array_like of float
        Confidence of each predicted label, in [0, 1].
    positive_label : str
        The positive class.

    Returns
    -------
    numpy.ndarray
        One score in [0, 1] per prediction.

    Raises
    ------
    ValueError
        If the arrays differ in length or a confidence is missing or outside [0, 1].

    Examples
    --------
    >>> positive_scores(["yes", "no", "yes"], [0.9, 0.8, 0.6], "yes")
    array([0.9, 0.2, 0.6])
    """
    conf = _confidences(confidences, "confidences")
    pred = np.asarray(predictions).astype(str)
    if pred.shape != conf.shape:
        raise ValueError(f"predictions and confidences must have the same length, got {pred.size} and {conf.size}")
    return np.where(pred == str(positive_label), conf, 1.0 - conf)


_Knots = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _isotonic_knots(x: np.ndarray, y: np.ndarray) -> _Knots:
    """Knots of the isotonic (PAVA) fit of ``y`` on ``x``: the ends of each pooled block.

    Returns the knots' x and y, each knot's block and each block's number of rows.
    """
    ux, inverse = np.unique(x, return_inverse=True)
    weights = np.bincount(inverse).astype(np.float64)
    means = np.bincount(inverse, weights=y) / weights
    res = _ISOTONIC(means, weights=weights, increasing=True)
    fitted = np.asarray(res.x, dtype=np.float64)
    starts = np.asarray(res.blocks, dtype=np.int64)
    kx: list[float] = []
    ky: list[float] = []
    kb: list[int] = []
    rows: list[int] = []
    for b, (start, stop) in enumerate(zip(starts[:-1], starts[1:], strict=True)):
        last = int(stop) - 1
        rows.append(int(round(weights[start:stop].sum())))
        for i in (int(start), last) if last > start else (int(start),):
            kx.append(float(ux[i]))
            ky.append(float(fitted[start]))
            kb.append(b)
    return np.asarray(kx), np.clip(np.asarray(ky), 0.0, 1.0), np.asarray(kb), np.asarray(rows)


def _histogram_knots(x: np.ndarray, y: np.ndarray, bins: int) -> _Knots:
    """Knots of histogram binning: per equal-mass bin, the mean confidence and the share correct.

    Bins are disjoint and ordered, so their mean confidences increase; each bin is a block.
    """
    edges = quantile_edges(x, bins=bins)
    idx = np.searchsorted(edges, x, side="left")  # right-closed bins, as bin_counts
    counts = np.bincount(idx, minlength=edges.size + 1)
    keep = counts > 0
    mean_x = np.bincount(idx, weights=x, minlength=edges.size + 1)[keep] / counts[keep]
    mean_y = np.bincount(idx, weights=y, minlength=edges.size + 1)[keep] / counts[keep]
    return mean_x, np.clip(mean_y, 0.0, 1.0), np.arange(mean_x.size), counts[keep]


@dataclass(frozen=True)
class ConfidenceCalibrator:
    """A fitted monotone (or binned) map from a confidence or score to a probability.

    Build it with :meth:`fit` (P(correct | confidence of the predicted class)) or
    :meth:`fit_positive` (binary tasks: P(y = positive | positive-class score)); keep it with
    :meth:`to_dict` / :meth:`from_dict`.

    Attributes
    ----------
    x, y : tuple of float
        The knots: strictly increasing confidences (or scores) in [0, 1], and the calibrated
        probability at each, in [0, 1].
    method : {"isotonic", "histogram"}
        How the knots were fitted.
    target : {"correct", "positive"}
        What is predicted: that the prediction is correct, or that the true label is the
        positive class (then ``positive_label`` names it).
    n : int
        Reference rows the fit used.
    positive_label : str or None
        The positive class when ``target == "positive"``.
    block : tuple of int or None
        For each knot, its block: a pooled PAVA block (whose two end knots share one fitted
        value) or a histogram bin.  None for hand-made knots.
    block_rows : tuple of int or None
        Reference rows in each block.  With ``block`` it gives the calibration's own
        sampling error, :meth:`block_variance`.

    References
    ----------
    .. [1] Ayer, M., Brunk, H. D., Ewing, G. M., Reid, W. T. and Silverman, E. (1955). An
       empirical distribution function for sampling with incomplete information. *Annals of
       Mathematical Statistics* 26(4), 641-647.
    .. [2] Zadrozny, B. and Elkan, C. (2001). Obtaining calibrated probability estimates from
       decision trees and naive Bayesian classifiers. *ICML 2001*, 609-616.
    .. [3] Zadrozny, B. and Elkan, C. (2002). Transforming classifier scores into accurate
       multiclass probability estimates. *KDD 2002*, 694-699.
    .. [4] Niculescu-Mizil, A. and Caruana, R. (2005). Predicting good probabilities with
       supervised learning. *ICML 2005*, 625-632.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> conf = rng.uniform(0.5, 1.0, size=2000)
    >>> correct = rng.random(2000) < conf - 0.1          # over-confident by 0.1
    >>> cal = ConfidenceCalibrator.fit(conf, correct)
    >>> cal.method, cal.target, cal.n
    ('isotonic', 'correct', 2000)
    >>> cal.predict([0.6, 0.75, 0.9]).round(2)
    array([0.55, 0.67, 0.8 ])
    >>> ConfidenceCalibrator.from_dict(cal.to_dict()) == cal
    True
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    method: str
    target: str
    n: int
    positive_label: str | None = None
    block: tuple[int, ...] | None = None
    block_rows: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.method not in ("isotonic", "histogram"):
            raise ValueError(f"method must be 'isotonic' or 'histogram', got {self.method!r}")
        if self.target not in ("correct", "positive"):
            raise ValueError(f"target must be 'correct' or 'positive', got {self.target!r}")
        if (self.target == "positive") != (self.positive_label is not None):
            raise ValueError("positive_label is required when target is 'positive', and only then")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"n must be a non-negative integer, got {self.n!r}")
        x = np.asarray(self.x, dtype=np.float64)
        y = np.asarray(self.y, dtype=np.float64)
        if x.ndim != 1 or x.size == 0 or x.shape != y.shape:
            raise ValueError(f"x and y must be non-empty and of equal length, got {x.size} and {y.size} knots")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("the knots must be finite")
        if x.min() < 0.0 or x.max() > 1.0 or y.min() < 0.0 or y.max() > 1.0:
            raise ValueError("the knots must lie in [0, 1] x [0, 1]")
        if x.size > 1 and not np.all(x[1:] > x[:-1]):
            raise ValueError("the knots' x must be strictly increasing")
        if (self.block is None) != (self.block_rows is None):
            raise ValueError("block and block_rows go together: give both or neither")
        if self.block is not None and self.block_rows is not None:
            b = np.asarray(self.block)
            rows = np.asarray(self.block_rows)
            if b.shape != x.shape or b.dtype.kind not in "iu" or b[0] != 0 or np.any(np.diff(b) < 0) or np.any(np.diff(b) > 1):
                raise ValueError("block must give each knot a block number: 0, 1, 2, ... in knot order")
            if rows.shape != (int(b[-1]) + 1,) or rows.dtype.kind not in "iu" or np.any(rows < 1):
                raise ValueError(f"block_rows must give the (positive) number of reference rows of each of the {int(b[-1]) + 1} blocks")
            if np.any((np.diff(b) == 0) & (np.diff(y) != 0)):
                raise ValueError("the knots of one block must share one value")

    # -- fitting -------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        confidence: object,
        correct: object,
        *,
        method: Method = "auto",
        bins: int = 10,
        min_rows: int = MIN_ROWS,
    ) -> ConfidenceCalibrator:
        """Fit P(correct | confidence) on reference rows.

        Parameters
        ----------
        confidence : array_like of float
            Confidence of the predicted class, in [0, 1], one per reference row.
        correct : array_like of bool or 0/1
            Whether each reference prediction equalled its label.
        method : {"auto", "isotonic", "histogram"}, default "auto"
            ``"auto"`` is ``"isotonic"`` where SciPy has ``isotonic_regression`` (>= 1.12),
            else ``"histogram"``; the fitted object records which was used.
        bins : int, default 10
            Equal-mass bins for ``"histogram"``.
        min_rows : int, default 50
            Fewest reference rows accepted.

        Returns
        -------
        ConfidenceCalibrator
            With ``target == "correct"``.

        Raises
        ------
        InsufficientDataError
            If there are fewer than ``min_rows`` rows.
        ValueError
            If the inputs are malformed, or ``"isotonic"`` is asked for on SciPy < 1.12.
        """
        conf = _confidences(confidence)
        outcome = _outcomes(correct, conf.size, "correct")
        (x, y, b, rows), used = cls._fit_knots(conf, outcome, method, bins, min_rows)
        return cls(tuple(x.tolist()), tuple(y.tolist()), used, "correct", int(conf.size), None, tuple(b.tolist()), tuple(rows.tolist()))

    @classmethod
    def fit_positive(
        cls,
        predictions: object,
        confidences: object,
        true_labels: object,
        *,
        positive_label: str,
        method: Method = "auto",
        bins: int = 10,
        min_rows: int = MIN_ROWS,
    ) -> ConfidenceCalibrator:
        """Fit P(y = positive | positive-class score) on binary reference rows.

        The score is :func:`positive_scores` of the predicted label and its confidence.

        Parameters
        ----------
        predictions, true_labels : array_like of str
            Predicted and true labels of the reference rows.
        confidences : array_like of float
            Confidence of each predicted label, in [0, 1].
        positive_label : str
            The positive class.
        method, bins, min_rows
            As in :meth:`fit`.

        Returns
        -------
        ConfidenceCalibrator
            With ``target == "positive"`` and ``positive_label`` set.

        Raises
        ------
        InsufficientDataError
            If there are fewer than ``min_rows`` rows.
        ValueError
            If the inputs are malformed.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> s = rng.uniform(size=3000)                       # the model's positive score
        >>> truth = np.where(rng.random(3000) < s ** 2, "yes", "no")
        >>> pred = np.where(s >= 0.5, "yes", "no")
        >>> cal = ConfidenceCalibrator.fit_positive(pred, np.maximum(s, 1 - s), truth, positive_label="yes")
        >>> cal.predict([0.3, 0.5, 0.9]).round(2)
        array([0.09, 0.29, 0.78])
        """
        scores = positive_scores(predictions, confidences, positive_label)
        truth = np.asarray(true_labels).astype(str)
        if truth.shape != scores.shape:
            raise ValueError(f"true_labels must have one label per prediction ({scores.size}), got shape {truth.shape}")
        outcome = (truth == str(positive_label)).astype(np.float64)
        (x, y, b, rows), used = cls._fit_knots(scores, outcome, method, bins, min_rows)
        return cls(
            tuple(x.tolist()), tuple(y.tolist()), used, "positive", int(scores.size), str(positive_label),
            tuple(b.tolist()), tuple(rows.tolist()),
        )

    @staticmethod
    def _fit_knots(x: np.ndarray, y: np.ndarray, method: str, bins: int, min_rows: int) -> tuple[_Knots, str]:
        if method not in ("auto", "isotonic", "histogram"):
            raise ValueError(f"method must be 'auto', 'isotonic' or 'histogram', got {method!r}")
        if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
            raise ValueError(f"min_rows must be a positive integer, got {min_rows!r}")
        if x.size < min_rows:
            raise InsufficientDataError(
                f"calibration needs at least {min_rows} reference rows with a confidence and a label, got {x.size}",
                hint="use a longer reference period, or wait until more labels have arrived",
            )
        used = ("isotonic" if isotonic_available() else "histogram") if method == "auto" else method
        if used == "isotonic":
            if not isotonic_available():
                raise ValueError(
                    "method='isotonic' needs scipy.optimize.isotonic_regression (SciPy >= 1.12); "
                    "upgrade SciPy or use method='histogram'"
                )
            return _isotonic_knots(x, y), used
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
            raise ValueError(f"bins must be an integer >= 2, got {bins!r}")
        return _histogram_knots(x, y, int(bins)), used

    # -- use -----------------------------------------------------------------------------

    def predict(self, confidence: object) -> np.ndarray:
        """Calibrated probability at each confidence (score): linear between knots, flat outside.

        Parameters
        ----------
        confidence : array_like of float
            Values in [0, 1].

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1], same shape as the input.
        """
        c = np.asarray(confidence, dtype=np.float64)
        flat = _confidences(c.reshape(-1))
        return np.interp(flat, self.x, self.y).reshape(c.shape)

    def slope(self, confidence: object) -> np.ndarray:
        """Slope of :meth:`predict` at each value: of the knot interval ``(x[j-1], x[j]]`` holding it.

        Zero at and below the first knot and above the last, where the map is flat.
        """
        c = _confidences(np.asarray(confidence, dtype=np.float64).reshape(-1))
        x = np.asarray(self.x)
        y = np.asarray(self.y)
        if x.size < 2:
            return np.zeros_like(c)
        j = np.searchsorted(x, c, side="left")
        inside = (j > 0) & (j < x.size)
        jj = np.clip(j, 1, x.size - 1)
        return np.where(inside, (y[jj] - y[jj - 1]) / (x[jj] - x[jj - 1]), 0.0)

    def interpolation_weights(self, confidence: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Knots and weights of the interpolation: ``predict(c) = (1 - t) y[lo] + t y[hi]``.

        Returns the arrays ``lo``, ``hi`` (knot indices) and ``t`` (in [0, 1]); beyond the
        first or last knot all weight is on it.
        """
        c = _confidences(np.asarray(confidence, dtype=np.float64).reshape(-1))
        x = np.asarray(self.x)
        if x.size < 2:
            zero = np.zeros(c.size, dtype=np.int64)
            return zero, zero, np.zeros(c.size)
        lo = np.clip(np.searchsorted(x, c, side="right") - 1, 0, x.size - 2)
        t = np.clip((c - x[lo]) / (x[lo + 1] - x[lo]), 0.0, 1.0)
        return lo, lo + 1, t

    def block_variance(self) -> np.ndarray | None:
        """Sampling variance of each block's fitted value, or None without block information.

        A block (pooled PAVA block or histogram bin) of ``N`` reference rows with share
        correct ``y`` is treated as a fixed bin: variance ``y~ (1 - y~) / N``, with
        ``y~ = (N y + 1/2) / (N + 1)`` so that a block of all-correct (or all-wrong) rows
        still counts as uncertain.  PAVA chooses its blocks from the data, so this is an
        approximation of the isotonic estimator's error, not its exact law.
        """
        if self.block is None or self.block_rows is None:
            return None
        rows = np.asarray(self.block_rows, dtype=np.float64)
        first = np.searchsorted(np.asarray(self.block), np.arange(rows.size), side="left")
        value = np.asarray(self.y)[first]
        shrunk = (rows * value + 0.5) / (rows + 1.0)
        return shrunk * (1.0 - shrunk) / rows

    def brier_score(self, confidence: object, outcome: object) -> float:
        """Mean squared difference between calibrated probability and 0/1 outcome (Brier 1950).

        Use it on held-out reference rows to compare fits (lower is better).

        References
        ----------
        .. [1] Brier, G. W. (1950). Verification of forecasts expressed in terms of
           probability. *Monthly Weather Review* 78(1), 1-3.
        """
        p = self.predict(_confidences(confidence))
        y = _outcomes(outcome, p.size, "outcome")
        if p.size == 0:
            raise InsufficientDataError("the Brier score needs at least one row")
        return float(np.mean((p - y) ** 2))

    # -- storage -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the knots and how they were fitted (for the reference profile)."""
        return {
            "kind": _KIND,
            "version": _VERSION,
            "method": self.method,
            "target": self.target,
            "positive_label": self.positive_label,
            "n": self.n,
            "x": [float(v) for v in self.x],
            "y": [float(v) for v in self.y],
            "block": None if self.block is None else [int(v) for v in self.block],
            "block_rows": None if self.block_rows is None else [int(v) for v in self.block_rows],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConfidenceCalibrator:
        """The calibrator back from :meth:`to_dict` (e.g. after ``json.loads``).

        Raises
        ------
        ValueError
            If the dict is not a calibrator of a known version or its knots are invalid.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a stored calibrator must be a dict, got {type(data).__name__}")
        if data.get("kind") != _KIND:
            raise ValueError(f"not a stored confidence calibrator (kind {data.get('kind')!r}, expected {_KIND!r})")
        if data.get("version") != _VERSION:
            raise ValueError(f"unsupported calibrator version {data.get('version')!r}; this modelsteward reads version {_VERSION}")
        missing = [k for k in ("method", "target", "n", "x", "y") if k not in data]
        if missing:
            raise ValueError(f"the stored calibrator lacks {', '.join(missing)}")
        try:
            x = tuple(float(v) for v in data["x"])
            y = tuple(float(v) for v in data["y"])
        except (TypeError, ValueError):
            raise ValueError("the stored calibrator's x and y must be lists of numbers") from None
        if any(math.isnan(v) for v in x + y):
            raise ValueError("the knots must be finite")
        label = data.get("positive_label")
        block, rows = data.get("block"), data.get("block_rows")
        try:
            blocks = None if block is None else tuple(_whole(v) for v in block)
            block_rows = None if rows is None else tuple(_whole(v) for v in rows)
        except (TypeError, ValueError):
            raise ValueError("the stored calibrator's block and block_rows must be lists of integers") from None
        return cls(x, y, str(data["method"]), str(data["target"]), data["n"], None if label is None else str(label), blocks, block_rows)


def _whole(v: object) -> int:
    """An integer from JSON (an int, or a float with no fractional part)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
        raise ValueError(f"expected an integer, got {v!r}")
    return int(v)
