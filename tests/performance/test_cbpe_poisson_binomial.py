"""The Poisson-binomial law of the number correct (``modelsteward.performance.cbpe.poisson_binomial``).

Checked against full enumeration, the binomial special case, SciPy's ``poisson_binom`` where
available, and a brute-force simulation.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from modelsteward.performance import poisson_binomial_pmf


def test_pmf_against_enumeration() -> None:
    p = np.array([0.1, 0.5, 0.9, 0.3, 0.77, 0.02, 0.6, 0.45])
    brute = np.zeros(p.size + 1)
    for outcome in itertools.product([0, 1], repeat=p.size):
        o = np.array(outcome)
        brute[o.sum()] += np.prod(np.where(o == 1, p, 1 - p))
    np.testing.assert_allclose(poisson_binomial_pmf(p), brute, rtol=1e-12, atol=1e-15)


def test_pmf_equal_probabilities_is_binomial_and_certain_trials_shift() -> None:
    np.testing.assert_allclose(poisson_binomial_pmf(np.full(40, 0.3)), stats.binom.pmf(np.arange(41), 40, 0.3), rtol=1e-10, atol=1e-300)
    p = np.r_[np.full(5, 0.3), [1.0, 1.0, 0.0]]
    expected = np.r_[0.0, 0.0, stats.binom.pmf(np.arange(6), 5, 0.3), 0.0]
    np.testing.assert_allclose(poisson_binomial_pmf(p), expected, atol=1e-15)
    assert poisson_binomial_pmf([]).tolist() == [1.0]


def test_pmf_against_scipy_poisson_binom() -> None:
    if not hasattr(stats, "poisson_binom"):  # SciPy >= 1.15
        pytest.skip("scipy.stats.poisson_binom needs SciPy >= 1.15")
    p = np.random.default_rng(1).uniform(size=300)
    np.testing.assert_allclose(poisson_binomial_pmf(p), stats.poisson_binom.pmf(np.arange(301), p), rtol=1e-8, atol=1e-14)


def test_exact_variance_against_brute_force_simulation() -> None:
    rng = np.random.default_rng(2)
    p = rng.beta(4, 2, size=1000)
    pmf = poisson_binomial_pmf(p)
    k = np.arange(p.size + 1)
    mean, var = k @ pmf, (k - k @ pmf) ** 2 @ pmf
    assert mean == pytest.approx(p.sum(), rel=1e-12)
    assert var == pytest.approx(np.sum(p * (1 - p)), rel=1e-10)
    sims = np.zeros(200_000, dtype=np.int64)
    for start in range(0, p.size, 100):  # 200 000 windows of 1000 Bernoulli draws
        sims += np.count_nonzero(rng.random((200_000, 100)) < p[start : start + 100], axis=1)
    assert sims.var(ddof=1) == pytest.approx(var, rel=0.02)  # sd of the sample variance ~0.3%
    assert sims.mean() == pytest.approx(mean, abs=0.1)
    freq = np.bincount(sims, minlength=p.size + 1) / sims.size
    assert np.max(np.abs(np.cumsum(freq) - np.cumsum(pmf))) < 0.005  # KS distance
