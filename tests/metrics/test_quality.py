"""Quality metrics from confusion counts against scikit-learn on the expanded label vectors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from modelsteward.metrics.quality import quality_metrics

RTOL = 1e-12


def expand(confusion: dict[tuple[str, str], int]) -> tuple[list[str], list[str]]:
    """The (y_true, y_pred) vectors that a confusion table summarises."""
    y_true: list[str] = []
    y_pred: list[str] = []
    for (pred, true), n in confusion.items():
        y_true += [true] * n
        y_pred += [pred] * n
    return y_true, y_pred


def sklearn_metrics(confusion: dict[tuple[str, str], int]) -> dict[str, float]:
    y_true, y_pred = expand(confusion)
    classes = sorted(set(y_true) | set(y_pred))
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=classes, average=None, zero_division=0)
    pm, rm, fm, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    out = {"accuracy": accuracy_score(y_true, y_pred), "precision_macro": pm, "recall_macro": rm, "f1_macro": fm}
    for i, c in enumerate(classes):
        out[f"precision.{c}"], out[f"recall.{c}"], out[f"f1.{c}"] = p[i], r[i], f[i]
    return out


def assert_matches_sklearn(confusion: dict[tuple[str, str], int]) -> None:
    got = quality_metrics(confusion)
    expected = sklearn_metrics(confusion)
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=RTOL, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("seed", range(40))
def test_random_confusion_tables_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c", "d"][: int(rng.integers(2, 5))]
    confusion = {}
    for p in labels:
        for t in labels:
            n = int(rng.integers(0, 30)) if rng.random() < 0.8 else 0
            if n:
                confusion[(p, t)] = n
    if not confusion:
        confusion[(labels[0], labels[1])] = 1
    assert_matches_sklearn(confusion)


def test_class_never_predicted_has_precision_zero_and_class_never_true_recall_zero() -> None:
    # 'c' is only ever true (never predicted); 'd' only ever predicted (never true).
    confusion = {("a", "a"): 5, ("a", "c"): 2, ("b", "b"): 3, ("d", "a"): 1, ("b", "c"): 1}
    got = quality_metrics(confusion)
    assert got["precision.c"] == 0.0 and got["recall.c"] == 0.0 and got["f1.c"] == 0.0
    assert got["precision.d"] == 0.0 and got["recall.d"] == 0.0
    assert_matches_sklearn(confusion)


def test_perfect_and_all_wrong() -> None:
    perfect = {("a", "a"): 7, ("b", "b"): 3}
    got = quality_metrics(perfect)
    assert got["accuracy"] == 1.0 and got["f1_macro"] == 1.0
    assert_matches_sklearn(perfect)
    wrong = {("a", "b"): 4, ("b", "a"): 6}
    got = quality_metrics(wrong)
    assert got["accuracy"] == 0.0 and got["precision_macro"] == 0.0 and got["f1_macro"] == 0.0
    assert_matches_sklearn(wrong)


def test_single_class_window() -> None:
    confusion = {("a", "a"): 4}
    assert quality_metrics(confusion) == {
        "accuracy": 1.0, "precision.a": 1.0, "recall.a": 1.0, "f1.a": 1.0,
        "precision_macro": 1.0, "recall_macro": 1.0, "f1_macro": 1.0,
    }
    assert_matches_sklearn(confusion)


def test_hand_computed_example() -> None:
    # predicted a: 8 right, 2 wrong (true b); predicted b: 5 right, 1 wrong (true a).
    got = quality_metrics({("a", "a"): 8, ("a", "b"): 2, ("b", "b"): 5, ("b", "a"): 1})
    assert got["accuracy"] == pytest.approx(13 / 16)
    assert got["precision.a"] == pytest.approx(8 / 10)
    assert got["recall.a"] == pytest.approx(8 / 9)
    assert got["precision.b"] == pytest.approx(5 / 6)
    assert got["recall.b"] == pytest.approx(5 / 7)
    f1a = 2 * 0.8 * (8 / 9) / (0.8 + 8 / 9)
    f1b = 2 * (5 / 6) * (5 / 7) / (5 / 6 + 5 / 7)
    assert got["f1_macro"] == pytest.approx((f1a + f1b) / 2)


def test_nothing_labelled_gives_no_metrics() -> None:
    assert quality_metrics({}) == {}
    assert quality_metrics({("a", "a"): 0}) == {}
