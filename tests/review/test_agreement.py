"""Cohen's and Fleiss' kappa against scikit-learn, statsmodels (when installed) and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from modelsteward.review.agreement import cohen_kappa, fleiss_kappa, rating_table


@pytest.mark.parametrize("seed", range(8))
def test_cohen_matches_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 200)), int(rng.integers(2, 5))
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n))
    labels_a, labels_b = [f"c{x}" for x in a], [f"c{x}" for x in b]
    assert cohen_kappa(labels_a, labels_b) == pytest.approx(cohen_kappa_score(labels_a, labels_b), abs=1e-12)


def test_cohen_by_hand() -> None:
    # 50 items: both yes 20, a yes b no 5, a no b yes 10, both no 15 (the textbook example)
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    p_o = 35 / 50
    p_e = (25 / 50) * (30 / 50) + (25 / 50) * (20 / 50)
    assert cohen_kappa(a, b) == pytest.approx((p_o - p_e) / (1 - p_e))
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))  # one category: undefined
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["a"], ["a", "b"])


WIKIPEDIA_FLEISS = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def test_fleiss_by_hand() -> None:
    t = np.array(WIKIPEDIA_FLEISS, float)
    n = 14
    p_i = ((t**2).sum(1) - n) / (n * (n - 1))
    p_j = t.sum(0) / t.sum()
    expected = (p_i.mean() - (p_j**2).sum()) / (1 - (p_j**2).sum())
    assert fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx(expected)
    assert fleiss_kappa(WIKIPEDIA_FLEISS) == pytest.approx(0.20993, abs=1e-5)  # Fleiss (1971), as usually quoted: 0.210
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[1, 1], [2, 1]])


def test_fleiss_with_two_raters_equals_scotts_pi() -> None:
    # With two raters Fleiss' kappa is Scott's pi: chance from the pooled category shares.
    a = ["u", "u", "r", "r", "u", "r", "u", "u"]
    b = ["u", "r", "r", "r", "u", "u", "u", "u"]
    table, _ = rating_table([[x, y] for x, y in zip(a, b, strict=True)])
    p_o = np.mean([x == y for x, y in zip(a, b, strict=True)])
    pooled = {c: (a + b).count(c) / 16 for c in ("u", "r")}
    p_e = sum(v**2 for v in pooled.values())
    assert fleiss_kappa(table) == pytest.approx((p_o - p_e) / (1 - p_e))


@pytest.mark.parametrize("seed", range(5))
def test_fleiss_matches_statsmodels(seed: int) -> None:
    irr = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(seed)
    items, raters, k = 40, int(rng.integers(2, 6)), 3
    truth = rng.integers(0, k, items)
    ratings = [[int(t) if rng.random() < 0.7 else int(rng.integers(0, k)) for _ in range(raters)] for t in truth]
    table, _ = rating_table(ratings)
    assert fleiss_kappa(table) == pytest.approx(irr.fleiss_kappa(table, method="fleiss"), abs=1e-12)
