"""Concept drift with labels: did realised accuracy or F1 fall against the reference?

Two questions, two tests, both one-sided (only a *fall* is concept-drift evidence):

* :func:`accuracy_drop` - the fall of accuracy ``d = p0 - p1`` (reference minus window) with
  its 95 % interval by Newcombe's hybrid score method (his method 10, built from Wilson score
  intervals) [1]_ [2]_, and the one-sided p-value of the pooled two-proportion z-test of
  ``H0: p1 >= p0`` [3]_. When the reference's accuracy is only declared (``reference.baselines``,
  no labelled reference rows), the reference is a constant: the interval is ``p0`` minus the
  window's Wilson interval and the test is the one-sample score test.
* :func:`f1_drop` - the fall of F1 (of the positive class for a binary task, else macro F1
  over the classes seen, as :func:`~modelsteward.metrics.quality.quality_metrics`) by a seeded
  parametric bootstrap of both confusion matrices (multinomial draws at the observed cell
  shares) [4]_: the 2.5 and 97.5 percentiles of the drawn falls bound the interval, and the
  share of draws with no fall, ``(1 + #{d* <= 0}) / (B + 1)``, approximates the one-sided
  p-value (a percentile-bootstrap test, accurate when the falls' distribution is roughly
  symmetric, which the tests check against the z-test on accuracy).

A drop *counts* (``significant``) when the p-value is below ``alpha`` and the fall is at least
``min_drop``: on large windows a trivial fall is significant, and a large but noisy one is not.

References
----------
.. [1] Newcombe, R. G. (1998). Interval estimation for the difference between independent
   proportions: comparison of eleven methods. *Statistics in Medicine* 17(8), 873-890.
.. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
   inference. *JASA* 22(158), 209-212.
.. [3] Fleiss, J. L., Levin, B. and Paik, M. C. (2003). *Statistical Methods for Rates and
   Proportions*, 3rd ed. Wiley, section 2.5 (the two-proportion z-test).
.. [4] Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman &
   Hall, chapters 13 and 16 (percentile intervals, bootstrap tests).

Examples
--------
>>> d = accuracy_drop(correct=780, n=1000, reference_correct=4400, reference_n=5000)
>>> print(f"{d.drop:.3f} [{d.lower:.3f}, {d.upper:.3f}] p={d.p_value:.2g} {d.significant}")
0.100 [0.074, 0.128] p=2.2e-17 True
>>> f = f1_drop({("a", "a"): 400, ("a", "b"): 100, ("b", "b"): 400, ("b", "a"): 100},
...             reference={("a", "a"): 450, ("a", "b"): 50, ("b", "b"): 450, ("b", "a"): 50}, positive="a", seed=0)
>>> print(f"{f.reference:.2f} -> {f.current:.2f}: drop {f.drop:.2f} [{f.lower:.2f}, {f.upper:.2f}] {f.significant}")
0.90 -> 0.80: drop 0.10 [0.07, 0.13] True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

from modelsteward.errors import InsufficientDataError
from modelsteward.metrics.segments import newcombe_interval, wilson_interval

__all__ = ["DropTest", "accuracy_drop", "f1_drop", "f1_from_confusion"]

Confusion = Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class DropTest:
    """The fall of one metric from the reference to a window.

    ``drop = reference - current`` (positive: the metric fell); ``lower``/``upper`` bound its
    95 % interval; ``p_value`` is one-sided for a fall. ``method`` names how both were computed.
    """

    metric: str
    reference: float
    current: float
    drop: float
    lower: float
    upper: float
    p_value: float
    n_reference: int | None
    n_current: int
    method: str
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def accuracy_drop(*, correct: int, n: int, reference_correct: int | None = None, reference_n: int | None = None,
                  reference_accuracy: float | None = None, alpha: float = 0.05, min_drop: float = 0.02) -> DropTest:
    """Fall of accuracy from the reference to a window: Newcombe interval, two-proportion z-test.

    Give the reference as counts (``reference_correct`` of ``reference_n``) or, when only its
    accuracy is known, as ``reference_accuracy`` (treated as exact).
    """
    if n <= 0:
        raise ValueError("the window has no labelled predictions")
    p1 = correct / n
    if reference_n:
        assert reference_correct is not None
        p0 = reference_correct / reference_n
        lo, hi = newcombe_interval(reference_correct, reference_n, correct, n)
        pooled = (correct + reference_correct) / (n + reference_n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / reference_n))
        method = "Newcombe hybrid score interval; pooled two-proportion z-test (one-sided)"
    elif reference_accuracy is not None:
        p0 = float(reference_accuracy)
        if not 0.0 <= p0 <= 1.0:  # also refuses NaN
            raise ValueError(f"reference_accuracy must be in [0, 1], got {reference_accuracy!r}")
        w_lo, w_hi = wilson_interval(correct, n)
        lo, hi = p0 - w_hi, p0 - w_lo
        se = math.sqrt(p0 * (1 - p0) / n)
        method = "Wilson score interval against a declared reference accuracy; one-sample score test (one-sided)"
    else:
        raise ValueError("give the reference as counts or as reference_accuracy")
    drop = p0 - p1
    p_value = float(special.ndtr(-drop / se)) if se > 0 else (0.0 if drop > 0 else 1.0)
    return DropTest("accuracy", p0, p1, drop, lo, hi, p_value, reference_n, n, method,
                    bool(p_value < alpha and drop >= min_drop))


def _matrix(confusion: Confusion, classes: Sequence[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for (p, t), count in confusion.items():
        m[index[p], index[t]] += int(count)
    return m


def _f1(m: np.ndarray, pos: int | None, seen: np.ndarray) -> np.ndarray:
    """F1 of ``(..., k, k)`` confusion matrices ``[predicted, true]``: of class ``pos``, or macro over ``seen``.

    ``2 TP / (predicted + actual)`` equals ``2 P R / (P + R)``, and 0 where there is no TP
    (scikit-learn's ``zero_division=0``).
    """
    tp = np.diagonal(m, axis1=-2, axis2=-1).astype(np.float64)
    denom = m.sum(axis=-1) + m.sum(axis=-2)
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    if pos is not None:
        return np.asarray(f1[..., pos])
    return np.asarray(f1[..., seen].mean(axis=-1))


def f1_from_confusion(confusion: Confusion, *, positive: str | None = None) -> float:
    """F1 of the positive class, or macro F1 over the classes seen in ``{(predicted, true): count}``.

    >>> round(f1_from_confusion({("a", "a"): 8, ("a", "b"): 2, ("b", "b"): 5, ("b", "a"): 1}, positive="a"), 4)
    0.8421
    """
    classes = sorted({p for p, _ in confusion} | {t for _, t in confusion} | ({positive} if positive is not None else set()))
    m = _matrix(confusion, classes)
    pos = classes.index(positive) if positive is not None else None
    seen = np.flatnonzero((m.sum(axis=0) + m.sum(axis=1)) > 0)  # a cell with count 0 shows no class
    if seen.size == 0:
        raise InsufficientDataError("the confusion matrix has no labelled prediction: F1 is undefined")
    return float(_f1(m, pos, seen))


def f1_drop(confusion: Confusion, *, reference: Confusion | None = None, reference_f1: float | None = None,
            positive: str | None = None, alpha: float = 0.05, min_drop: float = 0.02, draws: int = 2000,
            seed: int = 0) -> DropTest:
    """Fall of F1 from the reference to a window, by a seeded parametric bootstrap of both confusion matrices.

    ``positive`` names the class whose F1 is compared (binary tasks); without it macro F1 over
    the classes seen in each matrix. Give the reference as a confusion matrix or, when only its
    F1 is known, as ``reference_f1`` (treated as exact).
    """
    n = int(sum(confusion.values()))
    if n <= 0:
        raise ValueError("the window has no labelled predictions")
    if reference is None and reference_f1 is None:
        raise ValueError("give the reference as a confusion matrix or as reference_f1")
    if reference is not None and int(sum(reference.values())) <= 0:
        raise ValueError("the reference confusion matrix has no labelled predictions")
    cells = dict(confusion) | (dict(reference) if reference else {})
    classes = sorted({p for p, _ in cells} | {t for _, t in cells} | ({positive} if positive is not None else set()))
    pos = classes.index(positive) if positive is not None else None
    rng = np.random.default_rng(seed)
    k = len(classes)

    def draw(conf: Confusion) -> tuple[float, np.ndarray]:
        m = _matrix(conf, classes)
        seen = np.flatnonzero((m.sum(axis=0) + m.sum(axis=1)) > 0)
        total = int(m.sum())
        sims = rng.multinomial(total, (m / total).ravel(), size=draws).reshape(draws, k, k)
        return float(_f1(m, pos, seen)), _f1(sims, pos, seen)

    f_cur, sims_cur = draw(confusion)
    if reference is not None:
        f_ref, sims_ref = draw(reference)
        n_ref: int | None = int(sum(reference.values()))
    else:
        assert reference_f1 is not None
        f_ref, sims_ref, n_ref = float(reference_f1), np.full(draws, float(reference_f1)), None
    falls = sims_ref - sims_cur
    lo, hi = (float(x) for x in np.percentile(falls, [2.5, 97.5]))
    drop = f_ref - f_cur
    p_value = float((1 + np.count_nonzero(falls <= 0)) / (draws + 1))
    name = f"f1.{positive}" if positive is not None else "f1_macro"
    return DropTest(name, f_ref, f_cur, drop, lo, hi, p_value, n_ref, n,
                    f"parametric bootstrap of the confusion matrices ({draws} draws, seed {seed}); percentile interval and test",
                    bool(p_value < alpha and drop >= min_drop))
