"""Multivariate data drift: a domain classifier and PCA reconstruction error.

Per-feature tests (KS, PSI, chi-square) compare marginal distributions one feature at a
time, so they cannot see a change in how features move *together*: two features whose
correlation flips while each keeps its own distribution.  The two checks here look at all
features at once:

* :func:`domain_classifier` asks whether a classifier can tell reference rows from current
  rows (cross-validated ROC AUC; 0.5 means it cannot) and ranks the features by how much
  the classifier relies on them.
* :func:`pca_reconstruction` fits PCA to the reference and asks whether current rows are
  reconstructed from the reference's principal components worse (or better) than held-out
  reference rows are.

Both work on encoded feature matrices built by :class:`FeatureEncoder` (numeric features
standardised, categorical features one-hot on the reference's most frequent categories).

Memory does not grow with the number of logged rows: each function works on bounded, seeded
samples, at most ``max_rows`` rows (default 20 000) of the reference and of the current
window.  The store is expected to supply samples of about that size (DuckDB
``USING SAMPLE reservoir(20000 ROWS) REPEATABLE (seed)``, or reservoir sampling while
streaming); larger inputs are subsampled here without replacement, with the given ``seed``.

**Where things are.**  :mod:`~modelsteward.drift.multivariate.inputs` (input handling
shared with the novelty scorer), :mod:`~modelsteward.drift.multivariate.encoder`
(:class:`FeatureEncoder`), :mod:`~modelsteward.drift.multivariate.classifier`
(:func:`domain_classifier`; its ROC AUC from :mod:`modelsteward.drift.auc`) and
:mod:`~modelsteward.drift.multivariate.pca` (:func:`pca_reconstruction`).  Import every name
from here.
"""

from __future__ import annotations

from modelsteward.drift._checks import whole_number
from modelsteward.drift.auc import roc_auc
from modelsteward.drift.multivariate.classifier import DomainClassifierResult, FeatureSeparation, domain_classifier
from modelsteward.drift.multivariate.encoder import FeatureEncoder
from modelsteward.drift.multivariate.inputs import DEFAULT_MAX_ROWS
from modelsteward.drift.multivariate.inputs import KINDS as KINDS
from modelsteward.drift.multivariate.inputs import MIN_ROWS as MIN_ROWS
from modelsteward.drift.multivariate.inputs import _check_kinds as _check_kinds
from modelsteward.drift.multivariate.inputs import _decode_array as _decode_array
from modelsteward.drift.multivariate.inputs import _encode_array as _encode_array
from modelsteward.drift.multivariate.inputs import _n_rows as _n_rows
from modelsteward.drift.multivariate.inputs import _take as _take
from modelsteward.drift.multivariate.pca import PCAReconstructor, ReconstructionResult, pca_reconstruction

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DomainClassifierResult",
    "FeatureEncoder",
    "FeatureSeparation",
    "PCAReconstructor",
    "ReconstructionResult",
    "domain_classifier",
    "pca_reconstruction",
]

# The names before the split; the redundant aliases above keep the constants and the
# helpers the novelty scorer uses importable from here too, outside __all__.
_auc, _positive_int = roc_auc, whole_number
