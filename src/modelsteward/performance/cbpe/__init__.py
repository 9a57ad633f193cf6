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

**Where things are.**  :mod:`~modelsteward.performance.cbpe.poisson_binomial`,
:mod:`~modelsteward.performance.cbpe.inputs` (labels, calibrators, error mix),
:mod:`~modelsteward.performance.cbpe.estimate` (the estimate both routes share),
:mod:`~modelsteward.performance.cbpe.rows` and :mod:`~modelsteward.performance.cbpe.summary`
(the two routes) and :mod:`~modelsteward.performance.cbpe.results`.  Import every name from
here.

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

from modelsteward.performance.cbpe.inputs import error_mix_from_confusion
from modelsteward.performance.cbpe.poisson_binomial import poisson_binomial_pmf
from modelsteward.performance.cbpe.results import MetricEstimate, PerformanceEstimate
from modelsteward.performance.cbpe.results import Position as Position
from modelsteward.performance.cbpe.rows import estimate_performance
from modelsteward.performance.cbpe.summary import ConfidenceSummary, estimate_from_summary, summarise_window, summary_edges

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
