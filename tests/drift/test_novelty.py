"""Novelty percentiles: calibrated on the reference, monotone in distance, storable."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from modelsteward.drift.novelty import NoveltyScorer
from modelsteward.errors import InsufficientDataError

KINDS = {"amount": "numeric", "age": "numeric", "score": "numeric", "channel": "categorical"}


def sample(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    amount = rng.lognormal(3.0, 0.5, size=n)
    age = rng.normal(40, 10, size=n)
    score = 0.02 * amount + rng.normal(size=n)
    age[rng.random(n) < 0.05] = np.nan
    channel = rng.choice(["web", "app", "phone"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    channel[rng.random(n) < 0.02] = None
    return {"amount": amount, "age": age, "score": score, "channel": channel}


@pytest.fixture(scope="module")
def scorer() -> NoveltyScorer:
    return NoveltyScorer.fit(sample(8000, np.random.default_rng(0)), kinds=KINDS, seed=0)


def test_sizes_are_bounded() -> None:
    big = NoveltyScorer.fit(sample(12_000, np.random.default_rng(1)), kinds=KINDS, seed=1, k=5)
    assert (big.n_neighbours, big.n_calibration, big.k) == (5000, 5000, 5)
    small = NoveltyScorer.fit(sample(301, np.random.default_rng(1)), kinds=KINDS, seed=1)
    assert (small.n_neighbours, small.n_calibration) == (151, 150)


def test_reference_rows_get_uniform_percentiles(scorer: NoveltyScorer) -> None:
    assert (scorer.n_neighbours, scorer.n_calibration) == (4000, 4000)
    held_out = sample(1000, np.random.default_rng(42))  # new draws from the reference distribution
    pct = scorer.score_many(held_out)
    assert pct.shape == (1000,) and np.all((pct >= 0) & (pct <= 100))
    assert stats.kstest(pct / 100, "uniform").pvalue > 0.01
    # so a threshold reads as a reference percentile: about 5% cross 95
    assert 0.02 < np.mean(pct > 95) < 0.08


def test_far_away_rows_score_above_99(scorer: NoveltyScorer) -> None:
    far = {
        "amount": np.array([20.0, 5000.0, 20.0, 20.0]),
        "age": np.array([40.0, 40.0, 140.0, -30.0]),
        "score": np.array([15.0, 0.4, 0.4, 0.4]),
        "channel": np.array(["web", "web", "app", "fax"], dtype=object),
    }
    assert np.all(scorer.score_many(far) > 99)
    assert scorer.score_one({"amount": 20.0, "age": 40.0, "score": 0.4, "channel": "web"}) < 90
    # the score grows with the distance from the reference
    ages = {"amount": np.full(5, 20.0), "age": np.array([40.0, 60.0, 80.0, 100.0, 120.0]),
            "score": np.full(5, 0.4), "channel": np.array(["web"] * 5, dtype=object)}
    assert np.all(np.diff(scorer.distances(ages)) > 0)


def test_score_one_matches_score_many(scorer: NoveltyScorer) -> None:
    rows = sample(50, np.random.default_rng(5))
    many = scorer.score_many(rows)
    one = [scorer.score_one({f: rows[f][i] for f in KINDS}) for i in range(50)]
    np.testing.assert_allclose(one, many, atol=1e-9)
    raw = scorer.distances(rows)
    np.testing.assert_allclose([scorer.distance_one({f: rows[f][i] for f in KINDS}) for i in range(50)], raw, rtol=1e-9)
    # missing values and unseen categories are scored, not rejected
    assert 0 <= scorer.score_one({"amount": None, "age": float("nan"), "score": 0.0, "channel": "fax"}) <= 100


def test_state_round_trips_with_identical_scores(scorer: NoveltyScorer) -> None:
    text = json.dumps(scorer.to_dict())
    again = NoveltyScorer.from_dict(json.loads(text))
    assert (again.k, again.n_neighbours, again.n_calibration) == (scorer.k, scorer.n_neighbours, scorer.n_calibration)
    rows = sample(300, np.random.default_rng(6))
    np.testing.assert_array_equal(again.score_many(rows), scorer.score_many(rows))
    row = {f: rows[f][0] for f in KINDS}
    assert again.score_one(row) == scorer.score_one(row)


def test_seeded_fit_is_repeatable() -> None:
    ref = sample(600, np.random.default_rng(7))
    a = NoveltyScorer.fit(ref, kinds=KINDS, seed=3)
    b = NoveltyScorer.fit(ref, kinds=KINDS, seed=3)
    assert a.to_dict() == b.to_dict()


def test_errors(scorer: NoveltyScorer) -> None:
    rng = np.random.default_rng(8)
    with pytest.raises(InsufficientDataError, match="at least 100 reference rows"):
        NoveltyScorer.fit(sample(99, rng), kinds=KINDS, seed=0)
    with pytest.raises(InsufficientDataError, match="k = 80"):
        NoveltyScorer.fit(sample(150, rng), kinds=KINDS, seed=0, k=80)
    with pytest.raises(ValueError, match="k must be"):
        NoveltyScorer.fit(sample(150, rng), kinds=KINDS, seed=0, k=0)
    with pytest.raises(ValueError, match="lacks feature 'channel'"):
        scorer.score_one({"amount": 1.0, "age": 1.0, "score": 1.0})
    with pytest.raises(ValueError, match="is numeric"):
        scorer.score_one({"amount": "lots", "age": 1.0, "score": 1.0, "channel": "web"})
    with pytest.raises(ValueError, match="not a NoveltyScorer state"):
        NoveltyScorer.from_dict({"version": 1, "method": "knn_mean_distance"})
