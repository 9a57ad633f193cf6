"""ROC AUC and DeLong's standard error (the domain classifiers' statistics).

Checked against scikit-learn's ``roc_auc_score``, the pairwise definition of the AUC and of
DeLong's structural components, a tiny example worked by hand, and the spread of the AUC
over many independent samples of a known population.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from modelsteward.drift.auc import delong, midranks, roc_auc


def test_roc_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        m, n = (int(v) for v in rng.integers(2, 300, size=2))
        scores = np.round(np.r_[rng.normal(0.4, 1, size=m), rng.normal(0, 1, size=n)], 1)  # rounded: ties
        labels = np.r_[np.ones(m, dtype=np.int64), np.zeros(n, dtype=np.int64)]
        perm = rng.permutation(m + n)  # classes interleaved, not in blocks
        assert roc_auc(scores[perm], labels[perm]) == pytest.approx(roc_auc_score(labels[perm], scores[perm]), abs=1e-12)


def test_roc_auc_extremes() -> None:
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(np.array([0.1, 0.2, 0.8, 0.9]), labels) == 1.0
    assert roc_auc(np.array([0.9, 0.8, 0.2, 0.1]), labels) == 0.0
    assert roc_auc(np.array([0.5, 0.5, 0.5, 0.5]), labels) == 0.5


def test_delong_by_hand() -> None:
    # pos = (0.9, 0.4), neg = (0.8, 0.4, 0.1); psi(x, y) = 1 if x > y, 1/2 if x == y.
    # V10 = (1, (0 + 1/2 + 1)/3) = (1, 1/2)          -> AUC 3/4, S10 = 1/8
    # V01 = ((1 + 0)/2, (1 + 1/2)/2, (1 + 1)/2) = (1/2, 3/4, 1)  -> S01 = 1/16
    # Var = S10/2 + S01/3 = 1/16 + 1/48 = 1/12
    auc, se = delong(np.array([0.9, 0.4]), np.array([0.8, 0.4, 0.1]))
    assert auc == pytest.approx(0.75, abs=1e-15)
    assert se == pytest.approx(math.sqrt(1 / 12), rel=1e-12)


def test_delong_matches_sklearn_and_direct_components() -> None:
    rng = np.random.default_rng(4)
    pos = np.round(rng.normal(0.5, 1, size=40), 1)  # rounded: ties between classes
    neg = np.round(rng.normal(0, 1, size=55), 1)
    auc, se = delong(pos, neg)
    y = np.r_[np.ones(40), np.zeros(55)]
    assert auc == pytest.approx(roc_auc_score(y, np.r_[pos, neg]), rel=1e-12)
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    assert se == pytest.approx(math.sqrt(v10.var(ddof=1) / 40 + v01.var(ddof=1) / 55), rel=1e-12)
    assert auc == roc_auc(np.r_[pos, neg], y.astype(np.int64))  # one AUC for both functions


def test_delong_standard_error_matches_the_sampling_spread() -> None:
    # Independent samples of a known population: N(0.8, 1) positives, N(0, 1) negatives, so
    # the true AUC is Phi(0.8 / sqrt 2).  The DeLong SE should match the spread of the AUC
    # over samples and its 95% interval should cover the truth about 95% of the time.
    rng = np.random.default_rng(11)
    truth = float(stats.norm.cdf(0.8 / math.sqrt(2)))
    aucs, ses, covered = [], [], 0
    for _ in range(600):
        auc, se = delong(rng.normal(0.8, 1, size=60), rng.normal(0, 1, size=80))
        aucs.append(auc)
        ses.append(se)
        covered += abs(auc - truth) <= 1.959963984540054 * se
    assert np.mean(aucs) == pytest.approx(truth, abs=0.005)
    assert float(np.mean(ses)) == pytest.approx(float(np.std(aucs, ddof=1)), rel=0.1)
    assert 0.92 <= covered / 600 <= 0.975


def test_midranks_average_ties() -> None:
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_the_domain_classifiers_share_this_auc() -> None:
    import modelsteward.drift.multivariate as multivariate
    import modelsteward.drift.text as text

    assert text._delong is delong and text._midrank is midranks  # the names before the split
    assert multivariate._auc is roc_auc
