"""Confidence-based performance estimation (CBPE): a window's metrics before its labels arrive.

Each prediction ``i`` of a window gets a calibrated probability ``p_i`` of being correct (from
a :class:`~modelsteward.performance.calibration.ConfidenceCalibrator` fitted on the
reference).  Treating the unknown outcomes as independent Bernoulli(``p_i``) draws gives the
*expected confusion matrix* and from it the estimates, as in NannyML's CBPE:

* accuracy: ``sum(p_i) / n``;
* per predicted class ``k`` with ``m_k`` predictions: expected true positives
  ``TP_k = sum_{pred=k} p_i`` and false positives ``m_k - TP_k``; the wrong predictions of
  class ``k`` are spread over the other classes by the reference's *error mix* (the share of
  each true class among the reference's wrong predictions of ``k``;
  :func:`error_mix_from_confusion`; uniform when not given; trivial for two classes).  Column
  sums give the expected actual counts, hence expected false negatives;
* binary tasks (``positive_label`` given): precision, recall and F1 of the positive class;
  otherwise their macro averages over the classes seen (predicted or expected to be true),
  with scikit-learn's ``zero_division=0`` conventions as in
  :func:`modelsteward.metrics.quality.quality_metrics`.  Point estimates are the metrics of
  the expected confusion matrix (a ratio of expectations, as NannyML computes them).

For a binary task with a positive-class calibrator (P(y = positive | score)), a prediction of
the positive class is correct with probability ``q_i`` and one of the negative class with
probability ``1 - q_i``, ``q_i`` the calibrated probability at the positive score.  Prefer it
for binary tasks: a pooled P(correct | confidence) treats both predicted classes alike, and
where they are not equally reliable its precision and recall estimates are biased (in the
tests' simulation, precision covered by its interval in a third of windows instead of 95%).

**Intervals** are *prediction intervals for the realised metric of this window*: where the
metric computed from the labels, once they arrive, should fall if the reference calibration
still holds.  Two sources of error enter:

* the labels: the number correct is a Poisson-binomial sum of the ``p_i``.  Accuracy's
  interval uses its exact distribution (:func:`poisson_binomial_pmf`, for ``n`` up to
  ``exact_max_n``) or a normal approximation with its exact variance ``sum p_i (1 - p_i)``.
  Precision, recall and F1 use a seeded Monte-Carlo simulation of the labels (per predicted
  class: each prediction correct with probability ``p_i``, the wrong ones spread by the
  error mix) and report its percentiles;
* the calibration (``calibration_uncertainty=True``, the default): the calibrator was fitted
  on a finite reference, so its block values are themselves estimates, each with variance
  :meth:`~modelsteward.performance.calibration.ConfidenceCalibrator.block_variance`.  The
  expected number correct is linear in them, ``sum_B L_B y_B``, which adds
  ``sum_B L_B^2 V_B`` to the variance (for the exact interval: the Poisson-binomial law is
  convolved with a normal of that variance); the simulation draws perturbed block values
  before drawing the labels.  Without it the intervals are too narrow for a reference of a
  few thousand rows (about 90% instead of 95% coverage in simulations with a 5000-row
  reference).  The block variance treats PAVA's data-chosen blocks as fixed bins, so it is
  an approximation; and since every window shares one calibrator, a reference that happens
  to be unrepresentative shifts all windows' estimates alike.

**Reading the estimate.**  Under covariate shift (the inputs, and so the confidences,
change but P(correct | confidence) does not) the estimate follows the realised metric and the
realised value falls inside the 95% interval about 95% of the time.  Under concept drift
(the input-outcome relation changes) it does not: once labels arrive, a realised value below
the interval (:meth:`PerformanceEstimate.compare`) says the calibration no longer holds.

**Two routes, one answer.**  :func:`estimate_performance` takes the window's rows;
:func:`estimate_from_summary` takes, per predicted class and calibration bin, the count and the
sums of confidence and squared confidence (:class:`ConfidenceSummary`), which the store can
aggregate in SQL for a window of any size.  With the bins of :func:`summary_edges` the
calibrated probability is linear inside each bin, so the expected counts, the point
estimates and the variance of the number correct are *the same* from both routes (up to
rounding); the summary route's intervals use the normal approximation for accuracy and a
binomial draw per bin for the simulation, so they agree with the per-row route's to within
Monte-Carlo noise.

References
----------
.. [1] Kivimäki, J., Białek, J., Kuberski, W. and Nurminen, J. K. (2025). Performance
   estimation in binary classification using calibrated confidence. arXiv:2505.05295.
.. [2] NannyML documentation, "How it works: Performance Estimation - Confidence-based
   Performance Estimation (CBPE)", https://nannyml.readthedocs.io/en/stable/how_it_works/performance_estimation.html
.. [3] Hong, Y. (2013). On computing the distribution function for the Poisson binomial
   distribution. *Computational Statistics & Data Analysis* 59, 41-51.

Examples
--------
>>> import numpy as np
>>> from modelsteward.performance import ConfidenceCalibrator
>>> rng = np.random.default_rng(7)
>>> ref_conf = rng.uniform(0.5, 1.0, size=5000)
>>> cal = ConfidenceCalibrator.fit(ref_conf, rng.random(5000) < ref_conf)
>>> conf = rng.uniform(0.5, 0.9, size=1000)               # a less confident window
>>> pred = rng.choice(["a", "b"], size=1000)
>>> est = estimate_performance(pred, conf, labels=["a", "b"], calibrator=cal, positive_label="a")
>>> print(f"{est.accuracy.value:.3f} [{est.accuracy.lower:.3f}, {est.accuracy.upper:.3f}]")
0.697 [0.666, 0.728]
>>> print(f"{est.f1.value:.3f} [{est.f1.lower:.3f}, {est.f1.upper:.3f}]")
0.692 [0.658, 0.723]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from modelsteward.errors import InsufficientDataError
from modelsteward.performance.calibration import ConfidenceCalibrator, _confidences

__all__ = [
    "ConfidenceSummary",
    "MetricEstimate",
    "PerformanceEstimate",
    "error_mix_from_confusion",
    "estimate_from_summary",
    "estimate_performance",
    "poisson_binomial_pmf",
    "summarise_window",
    "summary_edges",
]

#: Uniform draws held in memory at once by the per-row simulation (draws x rows).
_CHUNK = 4_000_000

Position = Literal["below", "inside", "above"]


# -- the Poisson-binomial distribution ---------------------------------------------------


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


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricEstimate:
    """One estimated metric: the point estimate and the interval for its realised value.

    ``interval`` names how the interval was computed: ``"poisson-binomial"`` (exact),
    ``"normal"`` or ``"monte-carlo"``.
    """

    value: float
    lower: float
    upper: float
    interval: str

    def position(self, realised: float) -> Position:
        """Where a realised value lies: ``"below"``, ``"inside"`` (bounds included) or ``"above"``."""
        if realised < self.lower:
            return "below"
        if realised > self.upper:
            return "above"
        return "inside"


@dataclass(frozen=True)
class PerformanceEstimate:
    """Estimated accuracy, precision, recall and F1 of one window, with intervals.

    ``average`` is ``"binary"`` (precision, recall and F1 of ``positive_label``) or
    ``"macro"``.  ``expected_confusion`` maps ``(predicted, true)`` to the expected count.
    """

    n: int
    labels: tuple[str, ...]
    positive_label: str | None
    average: str
    accuracy: MetricEstimate
    precision: MetricEstimate
    recall: MetricEstimate
    f1: MetricEstimate
    expected_confusion: dict[tuple[str, str], float]
    level: float

    def metrics(self) -> dict[str, MetricEstimate]:
        """The estimates under the names :func:`~modelsteward.metrics.quality.quality_metrics` uses.

        Binary: ``accuracy``, ``precision.<positive>``, ``recall.<positive>``,
        ``f1.<positive>``; otherwise ``accuracy``, ``precision_macro``, ``recall_macro``,
        ``f1_macro``.
        """
        suffix = f".{self.positive_label}" if self.average == "binary" else "_macro"
        return {
            "accuracy": self.accuracy,
            f"precision{suffix}": self.precision,
            f"recall{suffix}": self.recall,
            f"f1{suffix}": self.f1,
        }

    def to_metrics(self) -> dict[str, float]:
        """Window-metric values for alert rules: ``estimated.<m>``, ``estimated_lower.<m>``, ``estimated_upper.<m>``.

        ``<m>`` is a name of :meth:`metrics`, e.g. ``estimated.accuracy`` or
        ``estimated_lower.f1.urgent``.
        """
        out: dict[str, float] = {}
        for name, est in self.metrics().items():
            out[f"estimated.{name}"] = est.value
            out[f"estimated_lower.{name}"] = est.lower
            out[f"estimated_upper.{name}"] = est.upper
        return out

    def compare(self, realised: Mapping[str, float | None]) -> dict[str, Position]:
        """Where each realised metric (``quality_metrics`` names) lies against its interval.

        Metrics missing from ``realised`` (or None) are left out.  ``"below"`` on accuracy
        in window after window is the sign that P(correct | confidence) has fallen: the
        input-outcome relation changed (concept drift), not just the inputs.
        """
        out: dict[str, Position] = {}
        for name, est in self.metrics().items():
            value = realised.get(name)
            if value is not None:
                out[name] = est.position(float(value))
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the estimate."""
        return {
            "n": self.n,
            "labels": list(self.labels),
            "positive_label": self.positive_label,
            "average": self.average,
            "level": self.level,
            "metrics": {
                name: {"value": e.value, "lower": e.lower, "upper": e.upper, "interval": e.interval}
                for name, e in self.metrics().items()
            },
            "expected_confusion": [
                {"predicted": p, "true": t, "expected": v} for (p, t), v in self.expected_confusion.items()
            ],
        }


# -- set-up shared by both routes ------------------------------------------------------------


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
        if any(v < 0 for v in errors.values()):
            raise ValueError("confusion counts must be non-negative")
        total = sum(errors.values())
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


# -- the shared estimate -------------------------------------------------------------------


def _confusion_metrics(cm: np.ndarray, pos: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy, precision, recall, F1 of a stack of confusion matrices ``cm[d, predicted, true]``."""
    tp = np.diagonal(cm, axis1=1, axis2=2)
    predicted = cm.sum(axis=2)
    actual = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    accuracy = tp.sum(axis=1) / cm.sum(axis=(1, 2))
    if pos is not None:
        return accuracy, precision[:, pos], recall[:, pos], f1[:, pos]
    seen = (predicted + actual) > 0
    count = seen.sum(axis=1)
    return accuracy, (precision * seen).sum(axis=1) / count, (recall * seen).sum(axis=1) / count, (f1 * seen).sum(axis=1) / count


def _estimate(
    s: _Setup,
    u: _Units,
    *,
    exact_accuracy: bool,
    calibration_uncertainty: bool,
    level: float,
    n_draws: int,
    seed: int | None,
) -> PerformanceEstimate:
    k = len(s.labels)
    n = int(u.count.sum())
    if n == 0:
        raise InsufficientDataError("the window has no predictions to estimate performance from")
    m = np.bincount(u.group, weights=u.count, minlength=k)
    sum_p = np.bincount(u.group, weights=u.count * u.p, minlength=k)

    # The calibrator's own error: block values y_B with variances V_B; the expected number
    # correct moves by sum_B L_B dy_B.
    block_var = s.cal.block_variance() if calibration_uncertainty else None
    if block_var is None:
        block_var = np.zeros(int(max(u.lo.max(initial=0), u.hi.max(initial=0))) + 1)
    loading = np.bincount(u.lo, weights=u.count * u.sign * (1.0 - u.t), minlength=block_var.size) + np.bincount(
        u.hi, weights=u.count * u.sign * u.t, minlength=block_var.size
    )
    var_cal = float(np.sum(loading**2 * block_var))
    if exact_accuracy:
        lo, hi = _pb_interval(np.repeat(u.p, u.count), math.sqrt(var_cal), level)
        accuracy = MetricEstimate(float(sum_p.sum()) / n, lo / n, hi / n, "poisson-binomial")
    else:
        z = float(stats.norm.ppf(0.5 + level / 2))
        sd = math.sqrt(float(u.var.sum()) + var_cal)
        mid = float(sum_p.sum())
        accuracy = MetricEstimate(mid / n, min(max((mid - z * sd) / n, 0.0), 1.0), min(max((mid + z * sd) / n, 0.0), 1.0), "normal")

    expected = s.mix * (m - sum_p)[:, None]
    expected[np.arange(k), np.arange(k)] = sum_p
    _, precision, recall, f1 = _confusion_metrics(expected[None], s.pos)

    # Monte Carlo: per draw, perturb the calibration (when asked), then draw the number
    # correct per unit (Binomial(count, p), Bernoulli for rows) and spread the errors.
    rng = np.random.default_rng(seed)
    draws = int(n_draws)
    shifts = rng.standard_normal((draws, block_var.size)) * np.sqrt(block_var) if np.any(block_var > 0) else None
    correct = np.zeros((draws, k), dtype=np.int64)
    step = max(1, _CHUNK // draws)
    for i in range(k):
        members = np.flatnonzero(u.group == i)
        for start in range(0, members.size, step):
            j = members[start : start + step]
            p = np.broadcast_to(u.p[j], (draws, j.size))
            if shifts is not None:
                p = np.clip(p + u.sign[j] * ((1.0 - u.t[j]) * shifts[:, u.lo[j]] + u.t[j] * shifts[:, u.hi[j]]), 0.0, 1.0)
            if np.all(u.count[j] == 1):
                correct[:, i] += np.count_nonzero(rng.random((draws, j.size)) < p, axis=1)
            else:
                correct[:, i] += rng.binomial(u.count[j], p).sum(axis=1)
    cm = np.zeros((draws, k, k))
    for i in range(k):
        cm[:, i, :] = rng.multinomial(int(m[i]) - correct[:, i], s.mix[i])
        cm[:, i, i] = correct[:, i]
    _, sim_p, sim_r, sim_f = _confusion_metrics(cm, s.pos)
    alpha = 1.0 - level

    def mc(value: float, sims: np.ndarray) -> MetricEstimate:
        lo, hi = np.quantile(sims, [alpha / 2, 1.0 - alpha / 2])
        return MetricEstimate(float(value), float(lo), float(hi), "monte-carlo")

    return PerformanceEstimate(
        n=n,
        labels=s.labels,
        positive_label=None if s.pos is None else s.labels[s.pos],
        average="macro" if s.pos is None else "binary",
        accuracy=accuracy,
        precision=mc(float(precision[0]), sim_p),
        recall=mc(float(recall[0]), sim_r),
        f1=mc(float(f1[0]), sim_f),
        expected_confusion={(s.labels[i], s.labels[j]): float(expected[i, j]) for i in range(k) for j in range(k)},
        level=level,
    )


# -- route 1: the window's rows --------------------------------------------------------------


def estimate_performance(
    predictions: object,
    confidences: object,
    *,
    labels: Sequence[str],
    calibrator: ConfidenceCalibrator | None = None,
    positive_label: str | None = None,
    positive_calibrator: ConfidenceCalibrator | None = None,
    error_mix: Mapping[str, Mapping[str, float]] | None = None,
    level: float = 0.95,
    n_draws: int = 2000,
    seed: int | None = 0,
    accuracy_interval: Literal["auto", "exact", "normal"] = "auto",
    exact_max_n: int = 5000,
    calibration_uncertainty: bool = True,
) -> PerformanceEstimate:
    """Estimate one window's accuracy, precision, recall and F1 from its predictions (CBPE).

    See the module documentation for the method and what the intervals mean.  The
    simulation costs ``O(n_draws * n)`` (about 0.1 s for 1000 rows, 3 s for 100 000); for
    large windows use :func:`estimate_from_summary`, whose cost does not grow with ``n``.

    Parameters
    ----------
    predictions : array_like of str
        The window's predicted labels.
    confidences : array_like of float
        Confidence of each predicted label, in [0, 1] (no missing values: drop those rows).
    labels : sequence of str
        The model's classes.
    calibrator : ConfidenceCalibrator, optional
        P(correct | confidence), from :meth:`ConfidenceCalibrator.fit`.
    positive_label : str, optional
        For a binary task, the positive class: precision, recall and F1 are then of that
        class; without it they are macro averages.
    positive_calibrator : ConfidenceCalibrator, optional
        Binary tasks: P(y = positive | score), from :meth:`ConfidenceCalibrator.fit_positive`.
        Used instead of ``calibrator`` when both are given.
    error_mix : mapping, optional
        Multiclass: ``{predicted: {true: share}}`` from :func:`error_mix_from_confusion` on
        the reference; uniform over the other classes when omitted.
    level : float, default 0.95
        Coverage wanted of each interval.
    n_draws : int, default 2000
        Monte-Carlo draws for precision, recall and F1 (at least 100).
    seed : int or None, default 0
        Seed of the simulation; the same seed gives the same intervals.
    accuracy_interval : {"auto", "exact", "normal"}, default "auto"
        ``"exact"``: quantiles of the exact Poisson-binomial distribution of the number
        correct (smallest counts whose CDF reaches ``(1 - level)/2`` and ``(1 + level)/2``);
        ``"normal"``: ``sum p +- z sqrt(sum p (1 - p))``; ``"auto"``: exact up to
        ``exact_max_n`` rows, normal beyond.
    exact_max_n : int, default 5000
        Largest window for which ``"auto"`` uses the exact distribution (its cost is
        ``O(n^2)``).
    calibration_uncertainty : bool, default True
        Widen the intervals by the calibrator's own sampling error (needs the block
        information a fitted calibrator carries; hand-made knots have none).

    Returns
    -------
    PerformanceEstimate

    Raises
    ------
    InsufficientDataError
        If the window has no predictions.
    ValueError
        If inputs are malformed: lengths differ, a confidence is missing or outside [0, 1], a
        prediction is not one of ``labels``, a calibrator of the wrong kind, bad options.

    References
    ----------
    .. [1] Kivimäki, J., Białek, J., Kuberski, W. and Nurminen, J. K. (2025). Performance
       estimation in binary classification using calibrated confidence. arXiv:2505.05295.
    .. [2] NannyML documentation, "Confidence-based Performance Estimation (CBPE)",
       https://nannyml.readthedocs.io/en/stable/how_it_works/performance_estimation.html

    Examples
    --------
    >>> import numpy as np
    >>> from modelsteward.performance import ConfidenceCalibrator
    >>> rng = np.random.default_rng(3)
    >>> labs = ["x", "y", "z"]
    >>> ref_conf = rng.uniform(0.4, 1.0, size=4000)
    >>> cal = ConfidenceCalibrator.fit(ref_conf, rng.random(4000) < ref_conf)
    >>> est = estimate_performance(rng.choice(labs, size=500), rng.uniform(0.4, 1.0, size=500), labels=labs, calibrator=cal)
    >>> est.average, est.accuracy.interval, est.f1.interval
    ('macro', 'poisson-binomial', 'monte-carlo')
    >>> print(f"{est.accuracy.value:.3f} [{est.accuracy.lower:.3f}, {est.accuracy.upper:.3f}]")
    0.695 [0.656, 0.734]
    """
    level = _check_options(level, n_draws)
    if accuracy_interval not in ("auto", "exact", "normal"):
        raise ValueError(f"accuracy_interval must be 'auto', 'exact' or 'normal', got {accuracy_interval!r}")
    s = _setup(labels, positive_label, calibrator, positive_calibrator, error_mix)
    conf = _confidences(confidences, "confidences")
    idx = _class_index(predictions, s.labels)
    if idx.shape != conf.shape:
        raise ValueError(f"predictions and confidences must have the same length, got {idx.size} and {conf.size}")
    n = int(conf.size)
    if n == 0:
        raise InsufficientDataError("the window has no predictions to estimate performance from")
    units = s.units(idx, conf, np.ones(n, dtype=np.int64))
    exact = accuracy_interval == "exact" or (accuracy_interval == "auto" and n <= exact_max_n)
    return _estimate(
        s, units, exact_accuracy=exact, calibration_uncertainty=calibration_uncertainty, level=level, n_draws=n_draws, seed=seed
    )


# -- route 2: a per-(predicted class, confidence bin) summary ----------------------------------


@dataclass(frozen=True)
class ConfidenceSummary:
    """A window's confidences per predicted class, aggregated over calibration bins.

    For predicted class ``k`` the bins are right-closed on the inner ``edges[k]``
    (``(-inf, e1], (e1, e2], ..., (ek, inf)``, as :func:`modelsteward.drift.psi.bin_counts`
    and :func:`modelsteward.metrics.binning.bin_index_sql`); per bin ``counts`` holds the
    number of predictions and, optionally, ``sum_confidence`` and ``sum_confidence_sq`` the
    sums of their confidence and squared confidence.  Without the sums a bin is represented
    by its midpoint (within [0, 1]); without the squares its spread is taken as zero.  Both
    are approximations; with the sums and :func:`summary_edges` bins the estimate is exact.
    """

    edges: dict[str, tuple[float, ...]]
    counts: dict[str, tuple[int, ...]]
    sum_confidence: dict[str, tuple[float, ...]] | None = None
    sum_confidence_sq: dict[str, tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        if set(self.counts) != set(self.edges):
            raise ValueError("counts and edges must name the same predicted classes")
        for k, e in self.edges.items():
            arr = np.asarray(e, dtype=np.float64)
            if arr.ndim != 1 or not np.all(np.isfinite(arr)) or (arr.size > 1 and not np.all(arr[1:] > arr[:-1])):
                raise ValueError(f"edges[{k!r}] must be finite and strictly increasing")
            c = np.asarray(self.counts[k], dtype=np.float64)
            if c.shape != (arr.size + 1,):
                raise ValueError(f"counts[{k!r}] must have {arr.size + 1} bins (len(edges) + 1), got {c.size}")
            if np.any(c < 0) or np.any(c != np.round(c)):
                raise ValueError(f"counts[{k!r}] must be non-negative integers")
            for name, sums in (("sum_confidence", self.sum_confidence), ("sum_confidence_sq", self.sum_confidence_sq)):
                if sums is None:
                    continue
                if set(sums) != set(self.edges):
                    raise ValueError(f"{name} must name the same predicted classes as counts")
                v = np.asarray(sums[k], dtype=np.float64)
                if v.shape != c.shape or not np.all(np.isfinite(v)) or np.any(v < 0):
                    raise ValueError(f"{name}[{k!r}] must hold {c.size} non-negative, finite sums")
        if self.sum_confidence_sq is not None and self.sum_confidence is None:
            raise ValueError("sum_confidence_sq needs sum_confidence")

    @property
    def n(self) -> int:
        """Predictions summarised."""
        return int(sum(sum(c) for c in self.counts.values()))

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Sequence[Any]],
        edges: Mapping[str, Sequence[float]],
    ) -> ConfidenceSummary:
        """Build a summary from the rows of a ``GROUP BY predicted, bin`` query.

        Each row is ``(predicted, bin, count)`` or ``(predicted, bin, count, sum_confidence,
        sum_confidence_sq)``; bins not listed are empty.  ``edges`` are those the query
        binned with (:func:`summary_edges`).

        Examples
        --------
        >>> s = ConfidenceSummary.from_rows([("a", 0, 3, 1.5, 0.77), ("a", 1, 2, 1.8, 1.62)], {"a": [0.6], "b": [0.6]})
        >>> s.counts, s.n
        ({'a': (3, 2), 'b': (0, 0)}, 5)
        """
        e = {str(k): tuple(float(v) for v in es) for k, es in edges.items()}
        counts = {k: np.zeros(len(v) + 1, dtype=np.int64) for k, v in e.items()}
        s1 = {k: np.zeros(len(v) + 1) for k, v in e.items()}
        s2 = {k: np.zeros(len(v) + 1) for k, v in e.items()}
        has1 = has2 = True
        for row in rows:
            if len(row) not in (3, 5):
                raise ValueError(f"a summary row is (predicted, bin, count[, sum_confidence, sum_confidence_sq]), got {tuple(row)!r}")
            k, b = str(row[0]), int(row[1])
            if k not in counts:
                raise ValueError(f"summary row for predicted class {k!r}, which has no edges")
            if not 0 <= b < counts[k].size:
                raise ValueError(f"summary row for {k!r} has bin {b}, outside 0..{counts[k].size - 1}")
            counts[k][b] += int(row[2])
            if len(row) == 5 and row[3] is not None:
                s1[k][b] += float(row[3])
            else:
                has1 = False
            if len(row) == 5 and row[4] is not None:
                s2[k][b] += float(row[4])
            else:
                has2 = False

        def tup(d: dict[str, np.ndarray]) -> dict[str, tuple[float, ...]]:
            return {k: tuple(float(x) for x in v) for k, v in d.items()}

        return cls(
            e,
            {k: tuple(int(x) for x in v) for k, v in counts.items()},
            tup(s1) if has1 else None,
            tup(s2) if has1 and has2 else None,
        )


def summary_edges(
    labels: Sequence[str],
    *,
    calibrator: ConfidenceCalibrator | None = None,
    positive_label: str | None = None,
    positive_calibrator: ConfidenceCalibrator | None = None,
) -> dict[str, tuple[float, ...]]:
    """Per predicted class, the confidence bin edges on which the calibrated probability is linear.

    They are the calibrator's knots (for a positive-class calibrator and a predicted negative
    class, ``1 -`` the knots, since there the score is ``1 - confidence``).  Binned on these,
    a :class:`ConfidenceSummary` with sums of confidence and squared confidence gives exactly
    the per-row estimates.

    Examples
    --------
    >>> from modelsteward.performance import ConfidenceCalibrator
    >>> cal = ConfidenceCalibrator((0.5, 0.7, 0.9), (0.4, 0.6, 0.95), "isotonic", "positive", 100, "yes")
    >>> summary_edges(["yes", "no"], positive_label="yes", positive_calibrator=cal)
    {'yes': (0.5, 0.7, 0.9), 'no': (0.1, 0.3, 0.5)}
    """
    s = _setup(labels, positive_label, calibrator, positive_calibrator, None)
    x = np.asarray(s.cal.x)
    if s.positive:
        flipped = tuple(float(v) for v in np.unique(np.round(1.0 - x, 15)))
        return {lab: (tuple(float(v) for v in x) if i == s.pos else flipped) for i, lab in enumerate(s.labels)}
    return {lab: tuple(float(v) for v in x) for lab in s.labels}


def summarise_window(
    predictions: object,
    confidences: object,
    edges: Mapping[str, Sequence[float]],
) -> ConfidenceSummary:
    """The numpy twin of the store's aggregation: count, sum and sum of squares per (class, bin).

    Examples
    --------
    >>> s = summarise_window(["a", "a", "b"], [0.55, 0.9, 0.7], {"a": [0.6], "b": [0.6]})
    >>> s.counts, s.sum_confidence
    ({'a': (1, 1), 'b': (0, 1)}, {'a': (0.55, 0.9), 'b': (0.0, 0.7)})
    """
    e = {str(k): tuple(float(v) for v in es) for k, es in edges.items()}
    conf = _confidences(confidences, "confidences")
    pred = np.asarray(predictions).astype(str)
    if pred.shape != conf.shape:
        raise ValueError(f"predictions and confidences must have the same length, got {pred.size} and {conf.size}")
    unknown = sorted(set(np.unique(pred).tolist()) - set(e))
    if unknown:
        raise ValueError(f"predictions hold classes without edges: {unknown[:5]}")
    counts, s1, s2 = {}, {}, {}
    for k, ek in e.items():
        c = conf[pred == k]
        b = np.searchsorted(np.asarray(ek, dtype=np.float64), c, side="left")
        size = len(ek) + 1
        counts[k] = tuple(int(v) for v in np.bincount(b, minlength=size))
        s1[k] = tuple(float(v) for v in np.bincount(b, weights=c, minlength=size))
        s2[k] = tuple(float(v) for v in np.bincount(b, weights=c * c, minlength=size))
    return ConfidenceSummary(e, counts, s1, s2)


def estimate_from_summary(
    summary: ConfidenceSummary,
    *,
    labels: Sequence[str],
    calibrator: ConfidenceCalibrator | None = None,
    positive_label: str | None = None,
    positive_calibrator: ConfidenceCalibrator | None = None,
    error_mix: Mapping[str, Mapping[str, float]] | None = None,
    level: float = 0.95,
    n_draws: int = 2000,
    seed: int | None = 0,
    calibration_uncertainty: bool = True,
) -> PerformanceEstimate:
    """Estimate one window's metrics from a :class:`ConfidenceSummary` instead of its rows.

    In a bin of ``n`` predictions with mean confidence ``c`` and variance ``v`` (from the
    count and the two sums), the calibrated probability ``g`` is linear when the bins are
    those of :func:`summary_edges`, so ``sum p = n g(c)`` and
    ``sum p^2 = n (g(c)^2 + g'(c)^2 v)`` exactly; the variance of the number correct is
    ``sum p - sum p^2``.  Accuracy's interval is the normal one; the simulation draws the
    number correct in each bin as Binomial(``n``, ``g(c)``).  Other bins give a close
    approximation.  Parameters are as for :func:`estimate_performance`; the calibration's
    own error enters as there, through each bin's interpolation weights at its mean.

    Returns
    -------
    PerformanceEstimate

    Raises
    ------
    InsufficientDataError
        If the summary counts no predictions.
    ValueError
        If the summary names classes not in ``labels``, or other inputs are malformed.

    Examples
    --------
    >>> import numpy as np
    >>> from modelsteward.performance import ConfidenceCalibrator
    >>> rng = np.random.default_rng(7)
    >>> ref_conf = rng.uniform(0.5, 1.0, size=5000)
    >>> cal = ConfidenceCalibrator.fit(ref_conf, rng.random(5000) < ref_conf)
    >>> conf, pred = rng.uniform(0.5, 0.9, size=1000), rng.choice(["a", "b"], size=1000)
    >>> summary = summarise_window(pred, conf, summary_edges(["a", "b"], calibrator=cal))
    >>> kw = dict(labels=["a", "b"], calibrator=cal, positive_label="a")
    >>> rows = estimate_performance(pred, conf, accuracy_interval="normal", **kw)
    >>> binned = estimate_from_summary(summary, **kw)
    >>> print(f"{rows.accuracy.value:.6f} {binned.accuracy.value:.6f} {rows.accuracy.upper:.6f} {binned.accuracy.upper:.6f}")
    0.697372 0.697372 0.728277 0.728277
    """
    level = _check_options(level, n_draws)
    s = _setup(labels, positive_label, calibrator, positive_calibrator, error_mix)
    if not isinstance(summary, ConfidenceSummary):
        raise ValueError(f"summary must be a ConfidenceSummary, got {type(summary).__name__}")
    unknown = sorted(set(summary.counts) - set(s.labels))
    if unknown:
        raise ValueError(f"the summary holds predicted classes not in the labels {list(s.labels)}: {unknown}")
    groups, means, spreads, counts = [], [], [], []
    for i, lab in enumerate(s.labels):
        if lab not in summary.counts:
            continue
        cnt = np.asarray(summary.counts[lab], dtype=np.int64)
        edges = np.asarray(summary.edges[lab], dtype=np.float64)
        filled = cnt > 0
        nb = cnt[filled].astype(np.float64)
        if summary.sum_confidence is not None:
            mean = np.asarray(summary.sum_confidence[lab])[filled] / nb
            if summary.sum_confidence_sq is not None:
                spread = np.maximum(np.asarray(summary.sum_confidence_sq[lab])[filled] / nb - mean**2, 0.0)
            else:
                spread = np.zeros_like(mean)
        else:
            lo = np.clip(np.concatenate([[0.0], edges]), 0.0, 1.0)
            hi = np.clip(np.concatenate([edges, [1.0]]), 0.0, 1.0)
            mean = ((lo + hi) / 2)[filled]
            spread = np.zeros_like(mean)
        groups.append(np.full(mean.size, i, dtype=np.int64))
        means.append(np.clip(mean, 0.0, 1.0))
        spreads.append(spread)
        counts.append(cnt[filled])
    if not groups or sum(int(c.sum()) for c in counts) == 0:
        raise InsufficientDataError("the window summary counts no predictions to estimate performance from")
    units = s.units(np.concatenate(groups), np.concatenate(means), np.concatenate(counts), np.concatenate(spreads))
    return _estimate(
        s, units, exact_accuracy=False, calibration_uncertainty=calibration_uncertainty, level=level, n_draws=n_draws, seed=seed
    )
