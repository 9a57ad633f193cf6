"""Text drift and per-prediction novelty on odd inputs.

Texts: empty strings, ``None``, one text repeated, unicode and control characters, words
the reference never saw, one text against many. Novelty: constant columns, NaN and
infinite values, huge and tiny magnitudes, categories never seen in the reference. Each
returns numbers in range (AUC, p-values and percentiles in their intervals) or the
package's clear error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelsteward.drift.novelty import MIN_REFERENCE_ROWS, NoveltyScorer
from modelsteward.drift.text import TextProfile, text_drift
from modelsteward.errors import InsufficientDataError

from ._odd import Refused, outcome

TEXTS = {
    "words": lambda rng, n: [" ".join(rng.choice(["late", "refund", "parcel", "broken", "thanks"], size=5)) for _ in range(n)],
    "empty": lambda rng, n: [""] * n,
    "none": lambda rng, n: [None] * n,
    "same": lambda rng, n: ["the same text"] * n,
    "unicode": lambda rng, n: [rng.choice(["é\u0301 ünïcödé", "emoji \U0001f600", "\x00\x1f ctrl", "右 左", "RTL \u202e"])
                               for _ in range(n)],
    "unseen": lambda rng, n: [f"token{rng.integers(10**6)} novelword" for _ in range(n)],
}


@pytest.mark.parametrize("ref_kind", ["words", "empty", "same"])
@pytest.mark.parametrize("cur_kind", sorted(TEXTS))
def test_text_drift_defined_or_clear(ref_kind: str, cur_kind: str) -> None:
    rng = np.random.default_rng(0)
    ref = TEXTS[ref_kind](rng, 120)
    profile = outcome(TextProfile.build, ref, seed=0, dims=8)
    if isinstance(profile, Refused):
        assert isinstance(profile.exc, InsufficientDataError) or ref_kind in ("empty", "same"), profile
        return
    res = outcome(text_drift, profile, ref, TEXTS[cur_kind](rng, 80), seed=0)
    if isinstance(res, Refused):
        assert isinstance(res.exc, InsufficientDataError), res
        return
    assert 0.0 <= res.auc <= 1.0 and 0.0 <= res.p_value <= 1.0
    assert all(math.isfinite(getattr(res, f)) for f in ("auc", "p_value"))


@pytest.mark.parametrize("n_cur", [0, 1, 1000])
def test_text_drift_one_text_against_many(n_cur: int) -> None:
    rng = np.random.default_rng(1)
    ref = TEXTS["words"](rng, 200)
    profile = TextProfile.build(ref, seed=0, dims=8)
    res = outcome(text_drift, profile, ref, TEXTS["words"](rng, n_cur), seed=0)
    if isinstance(res, Refused):
        assert isinstance(res.exc, InsufficientDataError) and n_cur < 10, res
    else:
        assert 0.0 <= res.auc <= 1.0 and 0.0 <= res.p_value <= 1.0


COLUMNS = {
    "normal": lambda rng, n: rng.normal(size=n),
    "constant": lambda rng, n: np.full(n, -0.0),
    "huge": lambda rng, n: rng.normal(size=n) * 1e300,
    "tiny": lambda rng, n: rng.normal(size=n) * 1e-300,
    "nan_inf": lambda rng, n: np.where(rng.random(n) < 0.2, np.nan, np.where(rng.random(n) < 0.1, -np.inf, rng.normal(size=n))),
}


@pytest.mark.parametrize("column", sorted(COLUMNS))
@pytest.mark.parametrize("n_ref", [MIN_REFERENCE_ROWS - 1, 300])
def test_novelty_percentiles_defined_or_clear(column: str, n_ref: int) -> None:
    rng = np.random.default_rng(2)
    ref = {"x": COLUMNS[column](rng, n_ref), "c": rng.choice(np.asarray(["a", "b"], dtype=object), size=n_ref)}
    kinds = {"x": "numeric", "c": "categorical"}
    scorer = outcome(NoveltyScorer.fit, ref, kinds=kinds, seed=0, k=5)
    if isinstance(scorer, Refused):
        assert isinstance(scorer.exc, InsufficientDataError) and n_ref < MIN_REFERENCE_ROWS, scorer
        return
    rows = {"x": np.concatenate([COLUMNS[column](rng, 20), [np.nan, np.inf, 1e308, -0.0]]),
            "c": np.asarray(["a"] * 20 + ["never seen", None, "b", ""], dtype=object)}
    scores = outcome(scorer.score_many, rows)
    assert not isinstance(scores, Refused), scores
    assert np.all((scores >= 0) & (scores <= 100)), scores
    one = outcome(scorer.score_one, {"x": rows["x"][0], "c": rows["c"][0]})
    assert one == pytest.approx(float(scores[0]), abs=1e-9)
