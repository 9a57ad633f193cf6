"""Pure statistics for drift detection (numpy and scipy only).

* :mod:`~modelsteward.drift.ks` - two-sample Kolmogorov-Smirnov test on grouped counts.
* :mod:`~modelsteward.drift.psi` - Population Stability Index on quantile bins.
* :mod:`~modelsteward.drift.chi_square` - chi-square homogeneity test for categories.
"""

from __future__ import annotations

from modelsteward.drift.chi_square import ChiSquareResult, chi_square_homogeneity, share_change
from modelsteward.drift.ks import KSResult, ks_2samp_grouped, ks_pvalue, ks_statistic_from_counts
from modelsteward.drift.psi import bin_counts, psi, quantile_edges

__all__ = [
    "ChiSquareResult",
    "KSResult",
    "bin_counts",
    "chi_square_homogeneity",
    "ks_2samp_grouped",
    "ks_pvalue",
    "ks_statistic_from_counts",
    "psi",
    "quantile_edges",
    "share_change",
]
