"""Performance estimation before labels arrive (numpy and scipy only).

* :mod:`~modelsteward.performance.calibration` - calibrating confidence on the reference:
  P(correct | confidence) and, for binary tasks, P(y = positive | score), by isotonic
  regression (PAVA) or histogram binning, stored as knots.
* :mod:`~modelsteward.performance.cbpe` - confidence-based performance estimation (CBPE):
  a window's expected confusion matrix and its accuracy, precision, recall and F1 with
  intervals, from the window's rows or from a per-(class, bin) summary.
"""

from __future__ import annotations

from modelsteward.performance.calibration import ConfidenceCalibrator, isotonic_available, positive_scores
from modelsteward.performance.cbpe import (
    ConfidenceSummary,
    MetricEstimate,
    PerformanceEstimate,
    error_mix_from_confusion,
    estimate_from_summary,
    estimate_performance,
    poisson_binomial_pmf,
    summarise_window,
    summary_edges,
)

__all__ = [
    "ConfidenceCalibrator",
    "ConfidenceSummary",
    "MetricEstimate",
    "PerformanceEstimate",
    "error_mix_from_confusion",
    "estimate_from_summary",
    "estimate_performance",
    "isotonic_available",
    "poisson_binomial_pmf",
    "positive_scores",
    "summarise_window",
    "summary_edges",
]
