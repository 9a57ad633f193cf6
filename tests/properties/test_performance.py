"""Calibration and confidence-based performance estimation on odd data.

The isotonic calibrator against scikit-learn's ``IsotonicRegression``; the Poisson-binomial
law and CBPE's accuracy (value and exact interval) against enumeration of every outcome for
small windows; all-equal confidences, confidences of exactly 0 and 1, -0.0 and subnormal
confidences, a single-row window, predictions of a label the model does not have.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from modelsteward.errors import InsufficientDataError
from modelsteward.performance import ConfidenceCalibrator, estimate_performance, poisson_binomial_pmf

from ._odd import FEW, SEEDED, Refused, close, outcome

probabilities = st.one_of(st.sampled_from([0.0, -0.0, 1.0, 5e-324, 1e-300, 0.5, 1 - 1e-16]), st.floats(0.0, 1.0))
odd_conf = st.one_of(probabilities, st.sampled_from([math.nan, math.inf, -1e-300, 1.0000000000000002]))


def _enumerated_pmf(p: list[float]) -> list[float]:
    pmf = [0.0] * (len(p) + 1)
    for outcome_ in itertools.product([0, 1], repeat=len(p)):
        prob = math.prod(pi if o else 1.0 - pi for pi, o in zip(p, outcome_, strict=True))
        pmf[sum(outcome_)] += prob
    return pmf


@SEEDED
@given(p=st.lists(odd_conf, max_size=10))
@example(p=[]).via("no trials: all mass on 0")
@example(p=[1.0, 1.0, 0.0]).via("certain outcomes only shift the support")
def test_poisson_binomial_equals_enumeration(p: list[float]) -> None:
    res = outcome(poisson_binomial_pmf, p)
    if isinstance(res, Refused):
        assert not all(0.0 <= v <= 1.0 for v in p), res
        return
    np.testing.assert_allclose(res, _enumerated_pmf(p), rtol=1e-9, atol=1e-15)
    assert close(float(res.sum()), 1.0, rel=1e-12)


@SEEDED
@given(conf=st.lists(odd_conf, max_size=40), data=st.data(), method=st.sampled_from(["isotonic", "histogram"]))
@example(conf=[0.7] * 5, data=None, method="isotonic").via("all confidences equal")
@example(conf=[0.0, -0.0, 5e-324, 1.0], data=None, method="histogram").via("edges of [0, 1]")
def test_calibrator_fits_or_refuses_and_matches_isotonic_regression(conf: list[float], data: st.DataObject | None,
                                                                  method: str) -> None:
    correct = [True] * len(conf) if data is None else data.draw(st.lists(st.booleans(), min_size=len(conf), max_size=len(conf)))
    res = outcome(ConfidenceCalibrator.fit, conf, correct, method=method, bins=4, min_rows=1)
    valid = all(0.0 <= c <= 1.0 for c in conf)
    if isinstance(res, Refused):
        assert not valid or (not conf and isinstance(res.exc, InsufficientDataError)), res
        return
    assert valid and conf
    fitted = outcome(res.predict, conf)
    assert np.all((fitted >= 0) & (fitted <= 1))
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(conf, np.asarray(correct, dtype=float))
        np.testing.assert_allclose(fitted, iso.predict(conf), rtol=1e-9, atol=1e-12)
    slopes = outcome(res.slope, conf)
    assert np.all(np.isfinite(slopes)) and (method == "histogram" or np.all(slopes >= 0))  # binning is not monotone
    lo, hi, t = outcome(res.interpolation_weights, conf)
    y = np.asarray(res.y)
    np.testing.assert_allclose((1 - t) * y[lo] + t * y[hi], fitted, rtol=1e-9, atol=1e-12)
    variance = res.block_variance()
    assert variance is not None and np.all(np.isfinite(variance)) and np.all(variance > 0)
    assert close(outcome(res.brier_score, conf, correct), float(np.mean((fitted - np.asarray(correct, dtype=float)) ** 2)),
                 rel=1e-12, abs_=1e-15)


@FEW
@given(n=st.integers(0, 8), data=st.data())
@example(n=1, data=None).via("a single prediction")
def test_cbpe_accuracy_equals_enumeration_for_small_windows(n: int, data: st.DataObject | None) -> None:
    rng = np.random.default_rng(n)
    ref_conf = rng.uniform(0.5, 1.0, size=400)
    cal = ConfidenceCalibrator.fit(ref_conf, rng.random(400) < ref_conf)
    if data is None:
        conf, pred = [0.8] * n, ["a"] * n
    else:
        conf = data.draw(st.lists(probabilities, min_size=n, max_size=n))
        pred = data.draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    res = outcome(estimate_performance, pred, conf, labels=["a", "b"], calibrator=cal, positive_label="a",
                  n_draws=200, calibration_uncertainty=False, accuracy_interval="exact")
    if isinstance(res, Refused):
        assert n == 0 and isinstance(res.exc, InsufficientDataError), res
        return
    p = cal.predict(conf).tolist()
    assert close(res.accuracy.value, sum(p) / n, rel=1e-12)
    cdf = np.cumsum(_enumerated_pmf(p))
    lo = int(np.searchsorted(cdf - 1e-12, 0.025, side="left"))
    hi = int(np.searchsorted(cdf - 1e-12, 0.975, side="left"))
    assert abs(res.accuracy.lower * n - lo) <= 1 and abs(res.accuracy.upper * n - hi) <= 1
    assert 0.0 <= res.accuracy.lower <= res.accuracy.value <= res.accuracy.upper <= 1.0
    for m in (res.precision, res.recall, res.f1):
        assert 0.0 <= m.lower <= m.upper <= 1.0 and 0.0 <= m.value <= 1.0


@FEW
@given(pred=st.lists(st.sampled_from(["a", "b", "zzz", "", None]), min_size=1, max_size=6), data=st.data())
def test_cbpe_refuses_labels_the_model_does_not_have(pred: list[str | None], data: st.DataObject) -> None:
    conf = data.draw(st.lists(st.sampled_from([0.6, 0.9, math.nan]), min_size=len(pred), max_size=len(pred)))
    rng = np.random.default_rng(0)
    ref_conf = rng.uniform(0.5, 1.0, size=200)
    cal = ConfidenceCalibrator.fit(ref_conf, rng.random(200) < ref_conf)
    res = outcome(estimate_performance, pred, conf, labels=["a", "b"], calibrator=cal, n_draws=100)
    if all(p in ("a", "b") for p in pred) and not any(math.isnan(c) for c in conf):
        assert not isinstance(res, Refused)
    else:
        assert isinstance(res, Refused)


@FEW
@given(n=st.integers(1, 30), data=st.data(), binary=st.booleans())
def test_cbpe_summary_route_gives_the_row_route_point_estimates(n: int, data: st.DataObject, binary: bool) -> None:
    from modelsteward.performance import estimate_from_summary, summarise_window, summary_edges

    rng = np.random.default_rng(n)
    ref_conf = rng.uniform(0.5, 1.0, size=300)
    cal = ConfidenceCalibrator.fit(ref_conf, rng.random(300) < ref_conf)
    conf = data.draw(st.lists(st.sampled_from([0.0, -0.0, 5e-324, 0.5, 0.75, 1.0, 0.999]), min_size=n, max_size=n))
    labels = ["a", "b"] if binary else ["a", "b", "c"]
    pred = data.draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
    positive = "a" if binary else None
    rows = outcome(estimate_performance, pred, conf, labels=labels, calibrator=cal, positive_label=positive, n_draws=100)
    edges = summary_edges(labels, calibrator=cal)
    summary = outcome(summarise_window, pred, conf, edges)
    assert summary.n == n
    est = outcome(estimate_from_summary, summary, labels=labels, calibrator=cal, positive_label=positive, n_draws=100)
    for name in ("accuracy", "precision", "recall", "f1"):
        assert close(getattr(est, name).value, getattr(rows, name).value, rel=1e-9, abs_=1e-12), name
    for key, value in rows.expected_confusion.items():
        assert close(est.expected_confusion.get(key, 0.0), value, rel=1e-9, abs_=1e-12), key


@SEEDED
@given(conf=st.dictionaries(st.tuples(st.sampled_from(["a", "b", "c", "never"]), st.sampled_from(["a", "b", "c", "never"])),
                            st.one_of(st.integers(0, 9), st.sampled_from([-1, 1e300, math.nan, math.inf, 0.5])), max_size=8),
       labels=st.sampled_from([["a", "b", "c"], ["a", "b"], ["a"], [], ["a", "a"]]))
@example(conf={("a", "b"): math.nan}, labels=["a", "b", "c"]).via("a NaN count gave NaN shares")
def test_error_mix_shares_sum_to_one_or_refused(conf: dict[tuple[str, str], float], labels: list[str]) -> None:
    from modelsteward.performance import error_mix_from_confusion

    res = outcome(error_mix_from_confusion, conf, labels)
    rows = {k: [conf.get((k, j), 0) for j in labels if j != k] for k in labels}
    valid = len(set(labels)) == len(labels) >= 2 and all(math.isfinite(v) and v >= 0 for r in rows.values() for v in r)
    if isinstance(res, Refused):
        assert not valid, res
        return
    assert valid, res
    for k in labels:
        row = rows[k]
        total = math.fsum(row)
        for j, share in res[k].items():
            want = conf.get((k, j), 0) / total if total else 1.0 / (len(labels) - 1)
            assert close(share, want, rel=1e-12), (k, j)
        assert close(math.fsum(res[k].values()), 1.0, rel=1e-12)


@SEEDED
@given(pred=st.lists(st.sampled_from(["a", "b", ""]), max_size=8), data=st.data())
def test_positive_scores_mirror_the_confidence(pred: list[str], data: st.DataObject) -> None:
    from modelsteward.performance import positive_scores

    conf = data.draw(st.lists(odd_conf, min_size=len(pred), max_size=len(pred)))
    res = outcome(positive_scores, pred, conf, "a")
    if isinstance(res, Refused):
        assert not all(0.0 <= c <= 1.0 for c in conf), res
        return
    assert res.tolist() == [c if p == "a" else 1.0 - c for p, c in zip(pred, conf, strict=True)]
