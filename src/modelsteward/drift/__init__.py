"""Drift statistics and the drift engine.

Pure statistics (numpy and scipy), importable without the store:

* :mod:`~modelsteward.drift.registry` - every test declared once (name, kinds, p-value,
  effect size, default threshold) and the verdict rules.
* :mod:`~modelsteward.drift.ks` - two-sample Kolmogorov-Smirnov on grouped counts.
* :mod:`~modelsteward.drift.samples` - Wasserstein, Anderson-Darling and Cramér-von Mises
  from grouped values.
* :mod:`~modelsteward.drift.psi`, :mod:`~modelsteward.drift.distances`,
  :mod:`~modelsteward.drift.chi_square` - binned and categorical tests.
* :mod:`~modelsteward.drift.correction` - Benjamini-Hochberg and Bonferroni.
* :mod:`~modelsteward.drift.online` - DDM, ADWIN and Page-Hinkley on an error stream.

Heavier, scikit-learn based, imported on demand: :mod:`~modelsteward.drift.multivariate`
(domain classifier, PCA reconstruction), :mod:`~modelsteward.drift.novelty` (per-prediction
out-of-distribution percentile), :mod:`~modelsteward.drift.text` (text features).
:mod:`~modelsteward.drift.window_drift` runs the configured tests on a window in the store.
"""

from __future__ import annotations

from modelsteward.drift.chi_square import ChiSquareResult, chi_square_homogeneity, share_change
from modelsteward.drift.correction import adjust, benjamini_hochberg, bonferroni
from modelsteward.drift.distances import GTestResult, cohens_w, g_test, hellinger, jensen_shannon, total_variation
from modelsteward.drift.ks import KSResult, ks_2samp_grouped, ks_pvalue, ks_statistic_from_counts
from modelsteward.drift.psi import bin_counts, psi, quantile_edges
from modelsteward.drift.registry import TESTS, DriftTestSpec, Verdict, dataset_verdict, verdict

__all__ = [
    "TESTS",
    "ChiSquareResult",
    "DriftTestSpec",
    "GTestResult",
    "KSResult",
    "Verdict",
    "adjust",
    "benjamini_hochberg",
    "bin_counts",
    "bonferroni",
    "chi_square_homogeneity",
    "cohens_w",
    "dataset_verdict",
    "g_test",
    "hellinger",
    "jensen_shannon",
    "ks_2samp_grouped",
    "ks_pvalue",
    "ks_statistic_from_counts",
    "psi",
    "quantile_edges",
    "share_change",
    "total_variation",
    "verdict",
]
