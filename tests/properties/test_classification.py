"""Classification statistics on odd data: AUC and DeLong, window quality metrics, F1, the
accuracy and F1 drop tests, Wilson and Newcombe intervals, Cohen's and Fleiss' kappa.

Odd data here: one class only, a single row, all scores tied, NaN and infinite scores,
labels never seen in the other matrix, counts of zero, successes beyond the trials.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from modelsteward.drift.auc import delong, roc_auc
from modelsteward.drift.concept import accuracy_drop, f1_drop, f1_from_confusion
from modelsteward.errors import InsufficientDataError
from modelsteward.metrics.quality import quality_metrics
from modelsteward.metrics.segments.intervals import Z95, newcombe_interval, wilson_interval
from modelsteward.review.agreement import cohen_kappa, fleiss_kappa, rating_table

from ._odd import SEEDED, SPECIAL, Refused, close, outcome

scores = st.one_of(st.sampled_from(SPECIAL + [math.inf, -math.inf]), st.integers(-3, 3).map(float))


# --------------------------------------------------------------------------- AUC


@SEEDED
@given(s=st.lists(scores, min_size=1, max_size=12), data=st.data())
@example(s=[0.5, 0.5], data=None).via("one class only")
def test_roc_auc_equals_sklearn_or_refuses(s: list[float], data: st.DataObject | None) -> None:
    y = [1] * len(s) if data is None else data.draw(st.lists(st.integers(0, 1), min_size=len(s), max_size=len(s)))
    res = outcome(roc_auc, np.asarray(s), np.asarray(y))
    if isinstance(res, Refused):
        assert isinstance(res.exc, InsufficientDataError) and len(set(y)) < 2, res
        return
    pos, neg = [v for v, t in zip(s, y, strict=True) if t == 1], [v for v, t in zip(s, y, strict=True) if t == 0]
    u = stats.mannwhitneyu(pos, neg, alternative="two-sided", method="asymptotic").statistic
    assert close(res, float(u) / (len(pos) * len(neg)), rel=1e-12)
    if all(math.isfinite(v) for v in s):  # scikit-learn refuses infinite scores
        assert close(res, float(roc_auc_score(y, s)), rel=1e-12)


@SEEDED
@given(pos=st.lists(scores, max_size=8), neg=st.lists(scores, max_size=8))
@example(pos=[1.0], neg=[0.0, 2.0]).via("one positive: AUC defined, standard error NaN")
@example(pos=[math.nan, 1.0], neg=[0.0, 2.0]).via("a NaN score")
def test_delong_auc_equals_mann_whitney(pos: list[float], neg: list[float]) -> None:
    res = outcome(delong, np.asarray(pos, dtype=float), np.asarray(neg, dtype=float))
    if isinstance(res, Refused):
        assert min(len(pos), len(neg)) == 0 or any(math.isnan(v) for v in pos + neg), res
        return
    auc, se = res
    u = stats.mannwhitneyu(pos, neg, alternative="two-sided", method="asymptotic").statistic
    assert close(auc, float(u) / (len(pos) * len(neg)), rel=1e-12)
    if min(len(pos), len(neg)) < 2:
        assert math.isnan(se)
    else:
        assert se >= 0.0 and math.isfinite(se)
        # DeLong's variance by its definition: placement values, ddof 1
        v10 = [np.mean([1.0 if p > q else 0.5 if p == q else 0.0 for q in neg]) for p in pos]
        v01 = [np.mean([1.0 if p > q else 0.5 if p == q else 0.0 for p in pos]) for q in neg]
        want = math.sqrt(np.var(v10, ddof=1) / len(pos) + np.var(v01, ddof=1) / len(neg))
        assert close(se, want, rel=1e-9, abs_=1e-12)


# --------------------------------------------------------------------------- quality metrics, F1

labels = st.sampled_from(["a", "b", "c", "", "ü", "1"])
confusions = st.dictionaries(st.tuples(labels, labels), st.integers(0, 50), max_size=8)


def _hand_metrics(conf: dict[tuple[str, str], int]) -> dict[str, float]:
    total = sum(conf.values())
    if total == 0:
        return {}
    seen = [k for k, n in conf.items() if n]
    classes = sorted({p for p, _ in seen} | {t for _, t in seen})
    out = {"accuracy": sum(n for (p, t), n in conf.items() if p == t) / total}
    pred, true = Counter(), Counter()
    for (p, t), n in conf.items():
        pred[p] += n
        true[t] += n
    per = []
    for c in classes:
        tp = conf.get((c, c), 0)
        prec = tp / pred[c] if pred[c] else 0.0
        rec = tp / true[c] if true[c] else 0.0
        f1 = 2 * tp / (pred[c] + true[c]) if tp else 0.0
        out |= {f"precision.{c}": prec, f"recall.{c}": rec, f"f1.{c}": f1}
        per.append((prec, rec, f1))
    out |= {"precision_macro": float(np.mean([x[0] for x in per])), "recall_macro": float(np.mean([x[1] for x in per])),
            "f1_macro": float(np.mean([x[2] for x in per]))}
    return out


@SEEDED
@given(conf=confusions)
@example(conf={}).via("nothing labelled")
@example(conf={("a", "b"): 0}).via("only zero counts")
@example(conf={("a", "a"): 1}).via("a single row")
@example(conf={("a", "b"): 5}).via("a label never predicted, a prediction never true")
@example(conf={("a", "a"): 3, ("b", "b"): 0}).via("a zero cell shows no class")
def test_quality_metrics_equal_hand_counts(conf: dict[tuple[str, str], int]) -> None:
    got = outcome(quality_metrics, conf)
    want = _hand_metrics(conf)
    assert got.keys() == want.keys()
    for k in want:
        assert close(got[k], want[k], rel=1e-12), k
    macro = outcome(f1_from_confusion, conf)
    if want:
        assert close(macro, want["f1_macro"], rel=1e-12)
    else:
        assert isinstance(macro, Refused) and isinstance(macro.exc, InsufficientDataError)


@SEEDED
@given(conf=confusions, positive=labels)
@example(conf={("a", "a"): 1}, positive="").via("an empty label is a label, not 'no positive class'")
def test_f1_of_a_class_never_seen_is_zero(conf: dict[tuple[str, str], int], positive: str) -> None:
    got = outcome(f1_from_confusion, conf, positive=positive)
    if sum(conf.values()) == 0:
        assert isinstance(got, Refused) and isinstance(got.exc, InsufficientDataError)
        return
    want = _hand_metrics(conf).get(f"f1.{positive}", 0.0)
    assert close(got, want, rel=1e-12)


@SEEDED
@given(conf=confusions, ref=confusions, ref_f1=st.sampled_from([None, 0.0, 1.0, 0.7]), positive=st.sampled_from([None, "a", "z"]))
@example(conf={("a", "a"): 3}, ref={("b", "b"): 3}, ref_f1=None, positive=None).via("disjoint labels")
@example(conf={("a", "a"): 3}, ref={}, ref_f1=None, positive=None).via("an empty reference")
def test_f1_drop_defined_or_clear(conf: dict[tuple[str, str], int], ref: dict[tuple[str, str], int],
                                  ref_f1: float | None, positive: str | None) -> None:
    reference = ref if ref_f1 is None else None
    res = outcome(f1_drop, conf, reference=reference, reference_f1=ref_f1, positive=positive, draws=200)
    n_ref = sum(ref.values()) if reference is not None else 1
    if isinstance(res, Refused):
        assert sum(conf.values()) == 0 or n_ref == 0, res
        return
    assert 0.0 < res.p_value <= 1.0 and res.lower <= res.upper
    assert close(res.current, f1_from_confusion(conf, positive=positive), rel=1e-12)
    assert close(res.drop, res.reference - res.current, rel=1e-12, abs_=1e-15)


# --------------------------------------------------------------------------- proportions


def _hand_wilson(x: float, n: float, z: float = Z95) -> tuple[float, float]:
    p = x / n
    centre = (2 * n * p + z * z) / (2 * (n + z * z))
    half = z * math.sqrt(z * z + 4 * n * p * (1 - p)) / (2 * (n + z * z))
    return max(0.0, centre - half), min(1.0, centre + half)


counts = st.one_of(st.integers(-1, 60), st.sampled_from([0.5, math.nan, math.inf, 1e300, -0.0]))


@SEEDED
@given(x=counts, n=counts)
@example(x=5, n=3).via("more successes than trials")
@example(x=0, n=0).via("no trials")
@example(x=math.nan, n=10).via("NaN successes")
@example(x=0, n=1e300).via("lower bound above p = 0 by cancellation")
@example(x=13, n=13).via("upper bound below p = 1 by rounding")
def test_wilson_interval_equals_hand_formula(x: float, n: float) -> None:
    res = outcome(wilson_interval, x, n)
    valid = math.isfinite(x) and math.isfinite(n) and 0 <= x <= n and n > 0
    if isinstance(res, Refused):
        assert not valid, res
        return
    assert valid, (x, n, res)
    lo, hi = res
    wlo, whi = _hand_wilson(x, n)
    assert close(lo, wlo, rel=1e-9, abs_=1e-12) and close(hi, whi, rel=1e-9, abs_=1e-12)
    assert 0.0 <= lo <= x / n <= hi <= 1.0


@SEEDED
@given(x1=counts, n1=counts, x0=counts, n0=counts)
def test_newcombe_interval_equals_hand_formula(x1: float, n1: float, x0: float, n0: float) -> None:
    res = outcome(newcombe_interval, x1, n1, x0, n0)
    valid = all(math.isfinite(v) for v in (x1, n1, x0, n0)) and 0 <= x1 <= n1 and 0 <= x0 <= n0 and min(n1, n0) > 0
    if isinstance(res, Refused):
        assert not valid, res
        return
    assert valid, res
    (l1, u1), (l0, u0) = _hand_wilson(x1, n1), _hand_wilson(x0, n0)
    d = x1 / n1 - x0 / n0
    want = (d - math.sqrt((x1 / n1 - l1) ** 2 + (u0 - x0 / n0) ** 2), d + math.sqrt((u1 - x1 / n1) ** 2 + (x0 / n0 - l0) ** 2))
    assert close(res[0], want[0], rel=1e-9, abs_=1e-12) and close(res[1], want[1], rel=1e-9, abs_=1e-12)
    assert res[0] <= d <= res[1] and res[0] >= -1.0 and res[1] <= 1.0


@SEEDED
@given(correct=counts, n=counts, ref_correct=counts, ref_n=st.one_of(st.none(), counts),
       ref_acc=st.sampled_from([None, 0.0, 1.0, 0.9, math.nan, 1.5]))
@example(correct=3, n=3, ref_correct=5, ref_n=5, ref_acc=None).via("perfect both: no spread, no drop")
def test_accuracy_drop_defined_or_clear(correct: float, n: float, ref_correct: float, ref_n: float | None,
                                        ref_acc: float | None) -> None:
    res = outcome(accuracy_drop, correct=correct, n=n, reference_correct=ref_correct, reference_n=ref_n,
                  reference_accuracy=ref_acc)
    window_ok = math.isfinite(correct) and math.isfinite(n) and 0 <= correct <= n and n > 0
    by_counts = ref_n is not None and ref_n != 0
    ref_ok = ((math.isfinite(ref_n) and math.isfinite(ref_correct) and 0 <= ref_correct <= ref_n) if by_counts and ref_n is not None
              else ref_acc is not None and 0.0 <= ref_acc <= 1.0)
    if isinstance(res, Refused):
        assert not (window_ok and ref_ok), res
        return
    assert window_ok and ref_ok, res
    assert 0.0 <= res.p_value <= 1.0 and res.lower <= res.drop <= res.upper
    assert close(res.drop, res.reference - correct / n, rel=1e-12, abs_=1e-15)


# --------------------------------------------------------------------------- agreement

ratings = st.sampled_from(["yes", "no", "maybe", 0, 1, None])


def _hand_kappa(a: list[object], b: list[object]) -> float:
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(map(repr, a)), Counter(map(repr, b))
    pe = sum(ca[k] * cb[k] for k in ca) / n / n
    return math.nan if pe == 1 else (po - pe) / (1 - pe)


@SEEDED
@given(a=st.lists(ratings, max_size=15), data=st.data())
@example(a=[], data=None).via("no items")
@example(a=["yes", "yes"], data=None).via("both raters always the same single category")
def test_cohen_kappa_equals_hand_formula_and_sklearn(a: list[object], data: st.DataObject | None) -> None:
    b = list(a) if data is None else data.draw(st.lists(ratings, min_size=len(a), max_size=len(a)))
    res = outcome(cohen_kappa, a, b)
    if isinstance(res, Refused):
        assert not a, res
        return
    want = _hand_kappa(a, b)
    assert close(res, want, rel=1e-9, abs_=1e-12)
    if not math.isnan(want):
        assert close(res, float(cohen_kappa_score([repr(x) for x in a], [repr(x) for x in b])), rel=1e-9, abs_=1e-12)
    assert outcome(cohen_kappa, a, b + ["extra"]).__class__ is Refused


@SEEDED
@given(items=st.lists(st.lists(ratings, min_size=1, max_size=4), max_size=8))
@example(items=[["yes", "yes"], ["yes", "yes"]]).via("one category only: chance agreement 1")
@example(items=[["yes"]]).via("a single rating per item")
def test_fleiss_kappa_equals_hand_formula(items: list[list[object]]) -> None:
    table, cats = outcome(rating_table, items)
    assert table.sum() == sum(len(i) for i in items) and len(cats) == len({repr(r) for i in items for r in i})
    res = outcome(fleiss_kappa, table)
    sizes = {len(i) for i in items}
    if isinstance(res, Refused):
        assert not items or len(sizes) > 1 or min(sizes) < 2, res
        return
    n, m = len(items), sizes.pop()
    p_i = [(sum(c * c for c in row) - m) / (m * (m - 1)) for row in table.tolist()]
    p_j = [sum(row[j] for row in table.tolist()) / (n * m) for j in range(len(cats))]
    pe = sum(p * p for p in p_j)
    want = math.nan if pe >= 1 else (sum(p_i) / n - pe) / (1 - pe)
    assert close(res, want, rel=1e-9, abs_=1e-12)
