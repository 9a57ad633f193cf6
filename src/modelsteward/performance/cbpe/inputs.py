"""CBPE's inputs checked and prepared: labels, calibrator choice, error mix, and the units of a window.

``_setup`` validates the labels and calibrators once for both routes; ``_Setup.units`` turns
rows or summary bins into ``_Units`` (calibrated P(correct), variance and how each moves with
the calibrator's blocks); :func:`error_mix_from_confusion` reads the error mix off a
reference confusion matrix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from modelsteward.performance.calibration import ConfidenceCalibrator

__all__ = ["error_mix_from_confusion"]


@dataclass(frozen=True)
class _Units:
    """Rows (count 1) or bins (count n) of a window, as CBPE needs them.

    ``p`` is the calibrated P(correct) (a bin's mean), ``var`` the variance of the number
    correct in the unit, and ``sign``, ``lo``, ``hi``, ``t`` say how ``p`` moves with the
    calibrator's block values: ``dp = sign ((1 - t) d y[block lo] + t d y[block hi])``.
    """

    group: np.ndarray
    count: np.ndarray
    p: np.ndarray
    var: np.ndarray
    sign: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    t: np.ndarray


@dataclass(frozen=True)
class _Setup:
    labels: tuple[str, ...]
    pos: int | None
    mix: np.ndarray  # (K, K): row k, the true class of a wrong prediction of k; zero diagonal
    cal: ConfidenceCalibrator  # the calibrator in use
    positive: bool  # cal is P(y = positive | score)

    def units(self, group: np.ndarray, conf: np.ndarray, count: np.ndarray, spread: np.ndarray | None = None) -> _Units:
        """Units of predicted classes ``group`` with (mean) confidence ``conf`` and ``count`` rows.

        ``spread`` is the variance of the confidence within each unit (zero for rows).  The
        calibrated probability ``g`` is linear within a unit binned on the knots, so the mean
        of ``g`` is ``g(mean)`` and the mean of ``g^2`` is ``g(mean)^2 + g'(mean)^2 spread``.
        """
        if self.positive:
            is_pos = group == self.pos
            score = np.where(is_pos, conf, 1.0 - conf)
            q = self.cal.predict(score)
            p = np.where(is_pos, q, 1.0 - q)
            sign = np.where(is_pos, 1.0, -1.0)
        else:
            score = conf
            p = self.cal.predict(conf)
            sign = np.ones_like(conf)
        var = count * p * (1.0 - p)
        if spread is not None:
            var = var - count * self.cal.slope(score) ** 2 * spread
        knot_lo, knot_hi, t = self.cal.interpolation_weights(score)
        blocks = np.zeros(len(self.cal.x), dtype=np.int64) if self.cal.block is None else np.asarray(self.cal.block)
        return _Units(group, count.astype(np.int64), p, np.maximum(var, 0.0), sign, blocks[knot_lo], blocks[knot_hi], t)


def _labels(labels: object) -> tuple[str, ...]:
    if isinstance(labels, str) or not isinstance(labels, Iterable):
        raise ValueError(f"labels must be a sequence of class labels, got {labels!r}")
    out = tuple(str(v) for v in labels)
    if len(out) < 2:
        raise ValueError(f"labels must hold at least two classes, got {list(out)}")
    if len(set(out)) != len(out):
        raise ValueError(f"labels must be distinct, got {list(out)}")
    return out


def _setup(
    labels: object,
    positive_label: str | None,
    calibrator: ConfidenceCalibrator | None,
    positive_calibrator: ConfidenceCalibrator | None,
    error_mix: Mapping[str, Mapping[str, float]] | None,
) -> _Setup:
    labs = _labels(labels)
    pos: int | None = None
    if positive_label is not None:
        if str(positive_label) not in labs:
            raise ValueError(f"positive_label {positive_label!r} is not one of the labels {list(labs)}")
        if len(labs) != 2:
            raise ValueError(f"positive_label is for binary tasks, but there are {len(labs)} labels; leave it out for macro averages")
        pos = labs.index(str(positive_label))
    if calibrator is not None and (not isinstance(calibrator, ConfidenceCalibrator) or calibrator.target != "correct"):
        raise ValueError("calibrator must be a ConfidenceCalibrator fitted with .fit (target 'correct')")
    if positive_calibrator is not None:
        if not isinstance(positive_calibrator, ConfidenceCalibrator) or positive_calibrator.target != "positive":
            raise ValueError("positive_calibrator must be a ConfidenceCalibrator fitted with .fit_positive (target 'positive')")
        if positive_label is None:
            raise ValueError("a positive_calibrator needs positive_label (binary tasks only)")
        if positive_calibrator.positive_label != str(positive_label):
            raise ValueError(
                f"positive_calibrator was fitted for positive class {positive_calibrator.positive_label!r}, "
                f"not {str(positive_label)!r}"
            )
    mix = _mix_matrix(labs, error_mix)
    if positive_calibrator is not None:
        return _Setup(labs, pos, mix, positive_calibrator, True)
    if calibrator is None:
        raise ValueError("give a calibrator (P(correct | confidence)) or, for a binary task, a positive_calibrator")
    return _Setup(labs, pos, mix, calibrator, False)


def _mix_matrix(labels: tuple[str, ...], error_mix: Mapping[str, Mapping[str, float]] | None) -> np.ndarray:
    k = len(labels)
    mix = np.ones((k, k)) - np.eye(k)
    if error_mix is not None:
        if not isinstance(error_mix, Mapping):
            raise ValueError("error_mix must map a predicted class to {true class: share}")
        unknown = sorted(set(map(str, error_mix)) - set(labels))
        if unknown:
            raise ValueError(f"error_mix names classes not in the labels: {unknown}")
        for pred, row in error_mix.items():
            i = labels.index(str(pred))
            vec = np.zeros(k)
            for true, share in row.items():
                if str(true) not in labels:
                    raise ValueError(f"error_mix[{pred!r}] names a class not in the labels: {true!r}")
                j = labels.index(str(true))
                share = float(share)
                if not math.isfinite(share) or share < 0:
                    raise ValueError(f"error_mix[{pred!r}][{true!r}] must be a non-negative share, got {share!r}")
                if j != i:
                    vec[j] = share
            if vec.sum() > 0:
                mix[i] = vec
    return mix / mix.sum(axis=1, keepdims=True)


def error_mix_from_confusion(confusion: Mapping[tuple[str, str], int], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    """The reference's error mix: per predicted class, the share of each true class among its errors.

    Multiclass CBPE knows only P(correct) of each prediction; it assumes a wrong prediction of
    class ``k`` has true class ``j`` with the share seen in the reference (independent of the
    confidence).  A class with no errors in the reference gets a uniform mix.

    Parameters
    ----------
    confusion : mapping
        ``{(predicted, true): count}`` of the reference, as for ``quality_metrics``.
    labels : sequence of str
        The model's classes.

    Returns
    -------
    dict
        ``{predicted: {true: share}}`` over the other classes, shares summing to 1.

    Examples
    --------
    >>> error_mix_from_confusion({("a", "a"): 50, ("a", "b"): 6, ("a", "c"): 2, ("b", "b"): 9}, ["a", "b", "c"])
    {'a': {'b': 0.75, 'c': 0.25}, 'b': {'a': 0.5, 'c': 0.5}, 'c': {'a': 0.5, 'b': 0.5}}
    """
    labs = _labels(labels)
    out: dict[str, dict[str, float]] = {}
    for k in labs:
        errors = {j: float(confusion.get((k, j), 0)) for j in labs if j != k}
        if not all(math.isfinite(v) and v >= 0 for v in errors.values()):  # NaN would give NaN shares
            raise ValueError(f"confusion counts must be finite and non-negative, got {errors} for predicted {k!r}")
        total = math.fsum(errors.values())
        out[k] = {j: (v / total if total else 1.0 / len(errors)) for j, v in errors.items()}
    return out


def _class_index(predictions: object, labels: tuple[str, ...]) -> np.ndarray:
    pred = np.asarray(predictions).astype(str)
    if pred.ndim != 1:
        raise ValueError(f"predictions must be 1-D, got shape {pred.shape}")
    uniq, inverse = np.unique(pred, return_inverse=True)
    lookup = {lab: i for i, lab in enumerate(labels)}
    unknown = [u for u in uniq.tolist() if u not in lookup]
    if unknown:
        raise ValueError(f"predictions hold classes not in the labels {list(labels)}: {unknown[:5]}")
    return np.asarray([lookup[u] for u in uniq.tolist()], dtype=np.int64)[inverse].reshape(-1)


def _check_options(level: float, n_draws: int) -> float:
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise ValueError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 100:
        raise ValueError(f"n_draws must be an integer >= 100, got {n_draws!r}")
    return level

