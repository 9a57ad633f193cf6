"""Concept drift statistics: the fall of accuracy and F1, checked against independent computations."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score

from modelsteward.drift.concept import accuracy_drop, f1_drop, f1_from_confusion


def test_accuracy_drop_interval_is_newcombes_published_example():
    # Newcombe (1998), Table II, example (a): 56/70 against 48/80, method 10: 0.0524 to 0.3339.
    d = accuracy_drop(correct=48, n=80, reference_correct=56, reference_n=70)
    assert d.drop == pytest.approx(56 / 70 - 48 / 80)
    assert (round(d.lower, 4), round(d.upper, 4)) == (0.0524, 0.3339)


def test_accuracy_drop_p_value_is_half_the_two_sided_chi_square_p_value():
    table = np.array([[4400, 600], [780, 220]])  # reference right/wrong, window right/wrong
    chi2, p_two, _, _ = stats.chi2_contingency(table, correction=False)
    d = accuracy_drop(correct=780, n=1000, reference_correct=4400, reference_n=5000)
    assert d.p_value == pytest.approx(p_two / 2, rel=1e-6)
    assert d.significant


def test_a_rise_is_not_a_drop_and_a_trivial_fall_is_not_significant():
    rise = accuracy_drop(correct=950, n=1000, reference_correct=4400, reference_n=5000)
    assert rise.drop < 0 and rise.p_value > 0.99 and not rise.significant
    # 0.5 points lower on a huge window: statistically clear, practically nothing.
    tiny = accuracy_drop(correct=875_000, n=1_000_000, reference_correct=880_000, reference_n=1_000_000, min_drop=0.02)
    assert tiny.p_value < 1e-10 and not tiny.significant


def test_accuracy_drop_against_a_declared_baseline_uses_the_one_sample_score_test():
    d = accuracy_drop(correct=170, n=200, reference_accuracy=0.9)
    z = (0.9 - 0.85) / np.sqrt(0.9 * 0.1 / 200)
    assert d.p_value == pytest.approx(stats.norm.sf(z))
    lo, hi = stats.binomtest(170, 200).proportion_ci(method="wilson")
    assert (d.lower, d.upper) == pytest.approx((0.9 - hi, 0.9 - lo))


def test_f1_from_confusion_matches_scikit_learn():
    rng = np.random.default_rng(3)
    y_true = rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2])
    y_pred = np.where(rng.random(500) < 0.7, y_true, rng.choice(["a", "b", "c"], 500))
    conf: dict[tuple[str, str], int] = {}
    for p, t in zip(y_pred, y_true, strict=True):
        conf[(p, t)] = conf.get((p, t), 0) + 1
    assert f1_from_confusion(conf) == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert f1_from_confusion(conf, positive="b") == pytest.approx(f1_score(y_true, y_pred, labels=["b"], average="macro"))


def _rows(rng, n, acc):
    y = rng.choice(["a", "b"], n)
    pred = np.where(rng.random(n) < acc, y, np.where(y == "a", "b", "a"))
    return pred, y


def _confusion(pred, y):
    out: dict[tuple[str, str], int] = {}
    for p, t in zip(pred, y, strict=True):
        out[(str(p), str(t))] = out.get((str(p), str(t)), 0) + 1
    return out


def test_f1_drop_interval_agrees_with_a_row_bootstrap_done_with_scikit_learn():
    rng = np.random.default_rng(11)
    ref_pred, ref_y = _rows(rng, 3000, 0.9)
    cur_pred, cur_y = _rows(rng, 800, 0.8)
    d = f1_drop(_confusion(cur_pred, cur_y), reference=_confusion(ref_pred, ref_y), positive="a", seed=1)
    boot = np.random.default_rng(5)
    falls = []
    for _ in range(500):
        i, j = boot.integers(0, 3000, 3000), boot.integers(0, 800, 800)
        falls.append(f1_score(ref_y[i], ref_pred[i], pos_label="a") - f1_score(cur_y[j], cur_pred[j], pos_label="a"))
    lo, hi = np.percentile(falls, [2.5, 97.5])
    assert d.drop == pytest.approx(f1_score(ref_y, ref_pred, pos_label="a") - f1_score(cur_y, cur_pred, pos_label="a"))
    assert d.lower == pytest.approx(lo, abs=0.012) and d.upper == pytest.approx(hi, abs=0.012)
    assert d.significant and d.p_value < 0.01


def test_f1_drop_on_identical_matrices_is_not_significant():
    rng = np.random.default_rng(2)
    conf = _confusion(*_rows(rng, 1000, 0.85))
    d = f1_drop(conf, reference=conf, seed=0)
    assert d.drop == 0 and not d.significant
    assert 0.3 < d.p_value < 0.7  # no fall: about half of the drawn falls are at or below zero
