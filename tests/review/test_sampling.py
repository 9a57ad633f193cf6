"""Audit sampling: deterministic per id, and the realised rate within its binomial interval."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy import stats

from modelsteward.review.sampling import audit_fraction, audit_sampled

N = 100_000


def independent_fraction(pid: str, salt: str) -> float:
    digest = hashlib.blake2b(pid.encode(), digest_size=8, key=salt.encode()).digest()
    return int.from_bytes(digest, "big") / 2**64


@pytest.mark.parametrize("percent", [5.0, 0.5, 20.0, 50.0])
@pytest.mark.parametrize("style", ["sequential", "uuid"])
def test_realised_rate_is_within_the_binomial_interval(percent: float, style: str) -> None:
    rng = np.random.default_rng(7)
    if style == "sequential":
        ids = [f"ticket-{i}" for i in range(N)]
    else:
        ids = [f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**63, size=(N, 2))]
    hits = sum(audit_sampled(i, percent, salt="tickets") for i in ids)
    low, high = stats.binom.interval(0.999, N, percent / 100)
    assert low <= hits <= high, (hits, low, high)


def test_same_id_same_answer_and_matches_an_independent_hash() -> None:
    ids = [f"p-{i}" for i in range(2000)]
    first = [audit_sampled(i, 5.0, salt="m") for i in ids]
    assert first == [audit_sampled(i, 5.0, salt="m") for i in ids]
    assert first == [independent_fraction(i, "m") < 0.05 for i in ids]
    assert all(audit_fraction(i, salt="m") == independent_fraction(i, "m") for i in ids[:100])


def test_a_larger_percentage_keeps_every_id_sampled_before() -> None:
    ids = [f"p-{i}" for i in range(20_000)]
    five = {i for i in ids if audit_sampled(i, 5.0, salt="m")}
    ten = {i for i in ids if audit_sampled(i, 10.0, salt="m")}
    assert five < ten


def test_another_salt_draws_an_independent_sample() -> None:
    ids = [f"p-{i}" for i in range(N)]
    a = np.array([audit_sampled(i, 10.0, salt="model-a") for i in ids])
    b = np.array([audit_sampled(i, 10.0, salt="model-b") for i in ids])
    # independent 10% samples overlap on about 1% of ids: test the 2x2 table for independence
    table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
    assert stats.chi2_contingency(table).pvalue > 0.001
