"""CBPE's first route: :func:`estimate_performance` from a window's rows (predictions and confidences)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from modelsteward.errors import InsufficientDataError
from modelsteward.performance.calibration import ConfidenceCalibrator, _confidences
from modelsteward.performance.cbpe.estimate import _estimate
from modelsteward.performance.cbpe.inputs import _check_options, _class_index, _setup
from modelsteward.performance.cbpe.results import PerformanceEstimate

__all__ = ["estimate_performance"]


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

    See :mod:`modelsteward.performance.cbpe` for the method and what the intervals mean.
    The simulation costs ``O(n_draws * n)`` (about 0.1 s for 1000 rows, 3 s for 100 000);
    for large windows use :func:`~modelsteward.performance.cbpe.estimate_from_summary`,
    whose cost does not grow with ``n``.

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

