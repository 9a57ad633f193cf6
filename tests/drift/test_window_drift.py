"""Drift of a logged window against the stored reference, against scipy and the pure functions.

The reference is a Parquet training file; the window's rows are logged through ``Monitor``.
Expected values come from ``scipy.stats.ks_2samp`` / ``chi2_contingency`` on the raw values and
from :mod:`modelsteward.drift.psi` on numpy-binned counts.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from modelsteward.config import StewardConfig
from modelsteward.drift.psi import bin_counts, psi, quantile_edges
from modelsteward.drift.window_drift import DriftResult, window_drift
from modelsteward.monitor import Monitor

LABELS = ["urgent", "routine", "other"]
DAY = datetime(2026, 1, 5)
WINDOW = (DAY, DAY + timedelta(days=1))
RTOL = 1e-9


def write_reference(path: Path, columns: dict[str, Any]) -> None:
    arrays = {}
    for k, v in columns.items():
        v = np.asarray(v)
        arrays[k] = pa.array(v, from_pandas=False) if v.dtype.kind == "f" else pa.array(v.tolist())
    pq.write_table(pa.table(arrays), path)


def monitor(tmp_path: Path, reference: dict[str, Any], *, min_samples: int = 30, bins: int = 10, **drift: Any) -> Monitor:
    write_reference(tmp_path / "ref.parquet", reference)
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "multiclass", "labels": LABELS, "window": "day",
        "features": [{"name": "x", "type": "numeric"}, {"name": "category", "type": "categorical"}],
        "reference": {"file": str(tmp_path / "ref.parquet")},
        "drift": {"min_samples": min_samples, "bins": bins, **drift},
    }]})
    return Monitor(cfg, store=":memory:")


def log_window(mon: Monitor, *, x: Any = None, category: Any = None, confidence: Any = None, prediction: Any = None,
               labels: Any = None, n: int | None = None, day: datetime = DAY) -> None:
    cols = {"x": x, "category": category, "confidence": confidence, "prediction": prediction}
    n = n or max(len(v) for v in cols.values() if v is not None)
    rows = []
    for i in range(n):
        feats = {}
        if x is not None:
            feats["x"] = float(x[i])  # NaN is a missing value
        if category is not None:
            feats["category"] = category[i]
        rows.append({
            "prediction_id": f"{day:%Y%m%d}-{i}", "timestamp": day + timedelta(seconds=i % 86400),
            "prediction": prediction[i] if prediction is not None else "urgent",
            "confidence": float(confidence[i]) if confidence is not None else 0.9,
            "features": feats,
        })
    mon.log_predictions(rows)
    if labels is not None:
        mon.log_feedbacks([{"prediction_id": f"{day:%Y%m%d}-{i}", "kind": "expert", "label": lab}
                           for i, lab in enumerate(labels) if lab is not None])


def run(mon: Monitor) -> dict[tuple[str, str], DriftResult]:
    profile = mon.reference()
    assert profile is not None
    results = window_drift(mon.store, mon.model(), profile, *WINDOW)
    out = {(r.subject, r.test): r for r in results}
    assert len(out) == len(results)
    return out


def present(v: Any) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    return a[~np.isnan(a)]


def base_reference(rng: np.random.Generator, n: int = 500) -> dict[str, Any]:
    return {
        "x": rng.normal(0, 1, n), "confidence": rng.beta(8, 2, n),
        "category": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
        "prediction": rng.choice(LABELS, n, p=[0.3, 0.5, 0.2]), "label": rng.choice(LABELS, n, p=[0.3, 0.5, 0.2]),
    }


# -- numeric subjects ------------------------------------------------------------------------
@pytest.mark.parametrize(("n_ref", "n_cur", "decimals", "shift", "seed"), [
    (500, 300, None, 0.0, 1),     # continuous, no drift
    (500, 300, None, 0.3, 2),     # continuous, drift
    (400, 400, 1, 0.1, 3),        # ties within and across samples, equal sizes
    (300, 45, 0, 0.0, 4),         # heavy ties, small window (exact p-value)
    (12000, 200, 2, 0.05, 5),     # a reference above scipy's exact limit
])
def test_ks_equals_scipy_on_the_same_values(tmp_path: Path, n_ref: int, n_cur: int, decimals: int | None, shift: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ref = base_reference(rng, n_ref)
    cur_x = rng.normal(shift, 1, n_cur)
    cur_conf = rng.beta(7, 2.5, n_cur)
    if decimals is not None:
        ref["x"], cur_x = np.round(ref["x"], decimals), np.round(cur_x, decimals)
        ref["confidence"], cur_conf = np.round(ref["confidence"], decimals + 1), np.round(cur_conf, decimals + 1)
    ref["x"][rng.random(n_ref) < 0.05] = np.nan       # NaN in the training file
    cur_x[rng.random(n_cur) < 0.1] = np.nan           # missing in the window
    mon = monitor(tmp_path, ref, min_samples=10)
    log_window(mon, x=cur_x, confidence=cur_conf)
    res = run(mon)
    for subject, r_vals, c_vals in (("x", ref["x"], cur_x), ("confidence", ref["confidence"], cur_conf)):
        expected = stats.ks_2samp(present(r_vals), present(c_vals))
        ks = res[(subject, "ks")]
        np.testing.assert_allclose(ks.statistic, expected.statistic, rtol=RTOL, atol=0, err_msg=subject)
        np.testing.assert_allclose(ks.p_value, expected.pvalue, rtol=RTOL, atol=0, err_msg=subject)
        assert (ks.n_reference, ks.n_current) == (present(r_vals).size, present(c_vals).size)
        w = res[(subject, "wasserstein")]  # computed in SQL from the same ECDFs
        expected_w = stats.wasserstein_distance(present(r_vals), present(c_vals)) / np.std(present(r_vals), ddof=1)
        np.testing.assert_allclose(w.statistic, expected_w, rtol=RTOL, atol=1e-15, err_msg=subject)
    # KS p-values are adjusted across every subject of the window that ran KS: x and the confidence score
    raw = [stats.ks_2samp(present(a), present(b)).pvalue for a, b in ((ref["x"], cur_x), (ref["confidence"], cur_conf))]
    for subject, p_adj in zip(("x", "confidence"), stats.false_discovery_control(raw, method="bh"), strict=True):
        ks = res[(subject, "ks")]
        np.testing.assert_allclose(ks.details["p_adjusted"], p_adj, rtol=1e-12)
        significant, large = p_adj < 0.05, ks.effect_size >= 0.1
        assert ks.status == ("drift" if significant and large else "small_change" if significant else "no_drift")


@pytest.mark.parametrize("bins", [10, 4])
def test_psi_equals_psi_of_numpy_binned_counts(tmp_path: Path, bins: int) -> None:
    rng = np.random.default_rng(21)
    ref = base_reference(rng, 800)
    ref["x"] = np.round(ref["x"], 1)  # values exactly on the edges
    ref["x"][::13] = np.nan
    cur = np.round(rng.normal(0.4, 1.3, 250), 1)
    cur[::11] = np.nan
    mon = monitor(tmp_path, ref, bins=bins)
    log_window(mon, x=cur)
    res = run(mon)
    edges = quantile_edges(present(ref["x"]), bins)
    ref_counts, cur_counts = bin_counts(present(ref["x"]), edges), bin_counts(present(cur), edges)
    r = res[("x", "psi")]
    np.testing.assert_allclose(r.details["edges"], edges, rtol=1e-12)
    assert r.details["reference_counts"] == ref_counts.tolist()
    assert r.details["current_counts"] == cur_counts.tolist()
    np.testing.assert_allclose(r.statistic, psi(ref_counts, cur_counts), rtol=1e-12)
    assert r.status == ("drift" if r.statistic >= 0.1 else "no_drift")


# -- categorical subjects --------------------------------------------------------------------
def expected_categorical(ref_values: Any, cur_values: Any) -> dict[str, Any]:
    rc = Counter(v for v in ref_values if v is not None)
    cc = Counter(v for v in cur_values if v is not None)
    cats = sorted(set(rc) | set(cc))
    r = np.array([rc[c] for c in cats], dtype=float)
    k = np.array([cc[c] for c in cats], dtype=float)
    chi2, p, dof, _ = stats.chi2_contingency(np.vstack([r, k]), correction=False)
    change = 100 * (k / k.sum() - r / r.sum())
    return {"cats": cats, "chi2": chi2, "p": p, "dof": dof, "max_pp": float(np.abs(change).max()),
            "psi": psi(r, k), "n_ref": int(r.sum()), "n_cur": int(k.sum()),
            "tv": float(0.5 * np.abs(k / k.sum() - r / r.sum()).sum()),
            "w": float(np.sqrt(chi2 * (r.sum() + k.sum()) / (r.sum() * k.sum())))}  # Cohen's w


def assert_categorical(res: dict[tuple[str, str], DriftResult], subject: str, exp: dict[str, Any]) -> None:
    chi = res[(subject, "chi2")]
    np.testing.assert_allclose(chi.statistic, exp["chi2"], rtol=RTOL, err_msg=subject)
    np.testing.assert_allclose(chi.p_value, exp["p"], rtol=RTOL, err_msg=subject)
    np.testing.assert_allclose(chi.effect_size, exp["w"], rtol=RTOL, err_msg=subject)
    assert chi.details["categories"] == exp["cats"]
    assert (chi.n_reference, chi.n_current) == (exp["n_ref"], exp["n_cur"])
    tv = res[(subject, "total_variation")]
    np.testing.assert_allclose(tv.statistic, exp["tv"], rtol=1e-12, err_msg=subject)
    np.testing.assert_allclose(tv.details["max_share_change_pp"], exp["max_pp"], rtol=1e-12, err_msg=subject)
    np.testing.assert_allclose(res[(subject, "psi")].statistic, exp["psi"], rtol=1e-12, err_msg=subject)


def test_categorical_feature_chi_square_share_change_and_psi(tmp_path: Path) -> None:
    rng = np.random.default_rng(31)
    ref = base_reference(rng, 600)
    ref["category"] = ref["category"].astype(object)
    ref["category"][::17] = None
    cur = list(rng.choice(["a", "b", "c", "new"], 220, p=[0.35, 0.35, 0.2, 0.1]))  # an unseen category
    cur[::9] = [None] * len(cur[::9])
    mon = monitor(tmp_path, ref)
    log_window(mon, category=cur)
    res = run(mon)
    exp = expected_categorical(ref["category"], cur)
    assert exp["cats"] == ["a", "b", "c", "new"]
    assert_categorical(res, "category", exp)
    shares = res[("category", "total_variation")].details["shares"]
    cur_present = [c for c in cur if c is not None]
    assert shares["new"]["reference"] == 0.0
    assert shares["new"]["current"] == pytest.approx(cur_present.count("new") / len(cur_present))
    assert shares["a"]["change_pp"] == pytest.approx(
        100 * (cur_present.count("a") / len(cur_present) - list(ref["category"]).count("a") / exp["n_ref"]))


def test_share_change_in_percentage_points(tmp_path: Path) -> None:
    # the course's example: technical 40% -> 20%, billing 30% -> 50%, account 30% -> 30%
    ref = {"category": ["technical"] * 40 + ["billing"] * 30 + ["account"] * 30, "confidence": np.full(100, 0.9)}
    cur = ["technical"] * 20 + ["billing"] * 50 + ["account"] * 30
    mon = monitor(tmp_path, ref)
    log_window(mon, category=cur)
    res = run(mon)
    share = res[("category", "total_variation")]
    assert share.details["max_share_change_pp"] == pytest.approx(20.0)
    assert share.statistic == pytest.approx(0.2)  # half the sum of |share changes|: 20 points moved
    assert {c: round(v["change_pp"], 9) for c, v in share.details["shares"].items()} == {
        "account": 0.0, "billing": 20.0, "technical": -20.0}
    assert_categorical(res, "category", expected_categorical(ref["category"], cur))


def test_prediction_and_label_drift(tmp_path: Path) -> None:
    rng = np.random.default_rng(41)
    ref = base_reference(rng, 700)
    n = 300
    pred = list(rng.permutation(["urgent"] * 180 + ["routine"] * 90 + ["other"] * 30))  # the prediction mix moved
    ref_label_share = Counter(ref["label"])
    truth = [lab for lab in LABELS for _ in range(round(210 * ref_label_share[lab] / 700))]  # the label mix did not
    labels = list(rng.permutation(truth + [None] * (n - len(truth))))
    mon = monitor(tmp_path, ref)
    log_window(mon, prediction=pred, labels=labels)
    res = run(mon)
    exp_pred = expected_categorical(ref["prediction"], pred)
    exp_label = expected_categorical(ref["label"], labels)
    assert_categorical(res, "prediction", exp_pred)
    assert_categorical(res, "label", exp_label)
    assert exp_pred["p"] < 0.05 and exp_pred["max_pp"] >= 10
    assert res[("prediction", "verdict")].status == "drift"
    assert exp_label["p"] > 0.05 and res[("label", "verdict")].status == "no_drift"
    assert res[("label", "chi2")].n_current == len(truth)


def test_label_drift_uses_resolved_ground_truth(tmp_path: Path) -> None:
    ref = {"label": ["urgent"] * 50 + ["routine"] * 50, "confidence": np.full(100, 0.9)}
    mon = monitor(tmp_path, ref)
    log_window(mon, prediction=["urgent"] * 60)
    # 40 accepted (label = prediction = urgent), 20 corrected by an expert to routine
    mon.log_feedbacks([{"prediction_id": f"{DAY:%Y%m%d}-{i}", "kind": "implicit", "action": "accepted"} for i in range(60)])
    mon.log_feedbacks([{"prediction_id": f"{DAY:%Y%m%d}-{i}", "kind": "expert", "label": "routine"} for i in range(40, 60)])
    res = run(mon)
    assert_categorical(res, "label", expected_categorical(ref["label"], ["urgent"] * 40 + ["routine"] * 20))


# -- how much data, and what to compare with --------------------------------------------------
def test_not_enough_data_below_min_samples(tmp_path: Path) -> None:
    rng = np.random.default_rng(51)
    ref = base_reference(rng, 300)
    x = rng.normal(size=40)
    x[:11] = np.nan                       # 29 values of x: one short
    category = ["a"] * 30 + [None] * 10   # exactly 30 values of category: enough
    labels = ["urgent"] * 29 + [None] * 11
    mon = monitor(tmp_path, ref, min_samples=30)
    log_window(mon, x=x, category=category, labels=labels)
    res = run(mon)
    for subject, n in (("x", 29), ("label", 29)):
        v = res[(subject, "verdict")]
        assert v.status == "not_enough_data" and v.n_current == n, subject
        assert (subject, "ks") not in res and (subject, "chi2") not in res and (subject, "psi") not in res
    assert res[("x", "verdict")].n_reference == present(ref["x"]).size
    assert res[("category", "verdict")].status in ("drift", "small_change", "no_drift")
    assert res[("category", "chi2")].n_current == 30
    # categories of the reference absent from the window count as zero
    assert_categorical(res, "category", expected_categorical(ref["category"], category))
    assert res[("confidence", "ks")].n_current == 40


def test_no_reference_when_the_reference_lacks_a_subject(tmp_path: Path) -> None:
    rng = np.random.default_rng(61)
    ref = {"confidence": rng.beta(8, 2, 200), "prediction": rng.choice(LABELS, 200)}  # no x, category or label
    mon = monitor(tmp_path, ref)
    log_window(mon, x=rng.normal(size=50), category=["a"] * 50, labels=["urgent"] * 50)
    res = run(mon)
    for subject in ("x", "category", "label"):
        assert res[(subject, "verdict")].status == "no_reference", subject
        assert not any(s == subject and t != "verdict" for s, t in res)
    assert res[("confidence", "verdict")].status in ("drift", "small_change", "no_drift")
    assert res[("prediction", "verdict")].status in ("drift", "small_change", "no_drift")


# -- verdicts ---------------------------------------------------------------------------------
def test_identical_distributions_are_no_drift(tmp_path: Path) -> None:
    rng = np.random.default_rng(71)
    ref = base_reference(rng, 300)
    mon = monitor(tmp_path, ref)
    log_window(mon, x=ref["x"], confidence=ref["confidence"], category=list(ref["category"]),
               prediction=list(ref["prediction"]), labels=list(ref["label"]))
    res = run(mon)
    for subject in ("x", "confidence", "category", "prediction", "label"):
        v = res[(subject, "verdict")]
        assert v.status == "no_drift", subject
        assert v.p_value == pytest.approx(1.0)
    assert res[("x", "ks")].statistic == 0.0
    assert res[("x", "psi")].statistic == pytest.approx(0.0, abs=1e-15)


def test_drift_needs_significance_and_a_large_effect(tmp_path: Path) -> None:
    # Deterministic samples: normal quantiles, and a categorical mix given by exact counts.
    n = 10_000
    grid = stats.norm.ppf((np.arange(n) + 0.5) / n)
    ref = {"x": grid, "confidence": np.clip(0.7 + 0.1 * grid / 4, 0, 1),
           "category": ["a"] * 5000 + ["b"] * 5000, "prediction": ["urgent"] * 5000 + ["routine"] * 5000}
    mon = monitor(tmp_path, ref)
    log_window(mon,
               x=grid + 0.07,                                        # tiny but real shift of x (0.07 sd)
               confidence=np.clip(0.7 + 0.1 * (grid + 1.0) / 4, 0, 1),  # a large shift of confidence
               category=["a"] * 5350 + ["b"] * 4650,                 # +3.5 pp: significant, small
               prediction=["urgent"] * 7000 + ["routine"] * 3000)    # +20 pp: significant, large
    res = run(mon)
    x = res[("x", "verdict")]
    assert res[("x", "ks")].details["p_adjusted"] < 0.05 and res[("x", "wasserstein")].statistic < 0.1
    assert x.status == "small_change"
    assert res[("confidence", "ks")].details["p_adjusted"] < 0.05 and res[("confidence", "wasserstein")].statistic >= 0.1
    assert res[("confidence", "verdict")].status == "drift"
    assert res[("category", "chi2")].p_value < 0.05
    assert res[("category", "total_variation")].details["max_share_change_pp"] == pytest.approx(3.5)
    assert res[("category", "verdict")].status == "small_change"
    assert res[("prediction", "total_variation")].details["max_share_change_pp"] == pytest.approx(20.0)
    assert res[("prediction", "verdict")].status == "drift"


def test_large_effect_without_significance_is_not_drift(tmp_path: Path) -> None:
    # a small window that moved a lot by chance: not significant at 0.001
    rng = np.random.default_rng(81)
    ref = base_reference(rng, 400)
    mon = monitor(tmp_path, ref, min_samples=5, p_value=0.001)
    log_window(mon, category=["a", "a", "b", "b", "c", "c"], x=[-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
    res = run(mon)
    assert res[("category", "total_variation")].statistic >= 0.1
    assert res[("category", "chi2")].p_value >= 0.001
    assert res[("category", "verdict")].status == "no_drift"
    assert res[("x", "wasserstein")].statistic >= 0.1 or res[("x", "ks")].p_value >= 0.001
    assert res[("x", "verdict")].status == "no_drift"


# -- through Monitor.check ----------------------------------------------------------------------
def test_check_stores_drift_results_and_drift_metrics(tmp_path: Path) -> None:
    rng = np.random.default_rng(91)
    ref = base_reference(rng, 500)
    mon = monitor(tmp_path, ref)
    log_window(mon, x=rng.normal(1.0, 1, 200), category=list(rng.choice(["a", "b", "c"], 200, p=[0.2, 0.3, 0.5])),
               confidence=rng.beta(8, 2, 200))
    log_window(mon, x=rng.normal(0, 1, 100), category=list(rng.choice(["a", "b", "c"], 100, p=[0.5, 0.3, 0.2])),
               confidence=rng.beta(8, 2, 100), day=DAY + timedelta(days=1))
    mon.check(until=DAY + timedelta(days=3))
    stored = {(d["window_start"], d["subject"], d["test"]): d for d in mon.drift()}
    direct = run(mon)
    for (subject, test), r in direct.items():
        s = stored[(DAY, subject, test)]
        assert (s["status"], s["n_reference"], s["n_current"]) == (r.status, r.n_reference, r.n_current)
        if r.statistic is not None:
            assert s["statistic"] == pytest.approx(r.statistic, rel=1e-12)
    assert {d["window_start"] for d in mon.drift(window_start=DAY)} == {DAY}
    metrics = {row["window_start"]: row for row in mon.metrics().to_pylist()}
    day1 = metrics[DAY]
    assert day1["drift.x.ks_statistic"] == pytest.approx(direct[("x", "ks")].statistic, rel=1e-12)
    assert day1["drift.x.ks_p_value"] == pytest.approx(direct[("x", "ks")].p_value, rel=1e-12)
    assert day1["drift.x.psi"] == pytest.approx(direct[("x", "psi")].statistic, rel=1e-12)
    assert day1["drift.category.chi2_p_value"] == pytest.approx(direct[("category", "chi2")].p_value, rel=1e-12)
    assert day1["drift.category.max_share_change_pp"] == pytest.approx(
        direct[("category", "total_variation")].details["max_share_change_pp"], rel=1e-12)
    assert day1["drift.x.wasserstein"] == pytest.approx(direct[("x", "wasserstein")].statistic, rel=1e-12)
    assert day1["drift.inputs_drifted"] == (1.0 if direct[("inputs", "verdict")].status == "drift" else 0.0)
    verdicts = [direct[(s, "verdict")].status for s in ("x", "category", "confidence")]
    assert day1["drift.features_drifted"] == float(verdicts.count("drift"))
    assert verdicts[:2] == ["drift", "drift"]


def test_every_subject_of_the_window_is_one_correction_family(tmp_path: Path) -> None:
    rng = np.random.default_rng(17)
    ref = base_reference(rng, 600)
    ref["y"] = rng.normal(0, 1, 600)
    write_reference(tmp_path / "ref.parquet", ref)
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "multiclass", "labels": LABELS, "window": "day",
        "features": [{"name": "x", "type": "numeric"}, {"name": "y", "type": "numeric"}, {"name": "category", "type": "categorical"}],
        "reference": {"file": str(tmp_path / "ref.parquet")}}]})
    mon = Monitor(cfg, store=":memory:")
    x, y, conf = rng.normal(0.2, 1, 300), rng.normal(0, 1, 300), rng.beta(7, 2, 300)
    pred = rng.choice(LABELS, 300, p=[0.4, 0.45, 0.15])
    rows = [{"prediction_id": f"p{i}", "timestamp": DAY + timedelta(seconds=i), "prediction": str(pred[i]),
             "confidence": float(conf[i]), "features": {"x": float(x[i]), "y": float(y[i])}} for i in range(300)]
    mon.log_predictions(rows)
    res = run(mon)
    # each test across the subjects that ran it: KS over x, y and the confidence score
    raw_ks = {k: stats.ks_2samp(ref[k], v).pvalue for k, v in (("x", x), ("y", y), ("confidence", conf))}
    for subject, p_adj in zip(raw_ks, stats.false_discovery_control(list(raw_ks.values()), method="bh"), strict=True):
        np.testing.assert_allclose(res[(subject, "ks")].details["p_adjusted"], p_adj, rtol=1e-9)
    # the verdicts: one family over inputs and outputs (KS for numeric subjects, chi-square for the predicted class)
    counts = Counter(ref["prediction"].tolist()), Counter(pred.tolist())
    table = np.array([[c[k] for k in LABELS] for c in counts])
    raw = {**raw_ks, "prediction": stats.chi2_contingency(table, correction=False).pvalue}
    for subject, p_adj in zip(raw, stats.false_discovery_control(list(raw.values()), method="bh"), strict=True):
        v = res[(subject, "verdict")]
        np.testing.assert_allclose(v.details["p_adjusted"], p_adj, rtol=1e-9, err_msg=subject)
        assert v.details["family_size"] == 4
    assert res[("category", "verdict")].status == res[("label", "verdict")].status == "not_enough_data"
    inputs = res[("inputs", "verdict")]
    assert inputs.statistic == float(sum(res[(s, "verdict")].status == "drift" for s in ("x", "y", "category")))
    # the window's own evidence is Simes' test over the tested inputs only (x and y)
    assert inputs.p_value == pytest.approx(min(stats.false_discovery_control([raw["x"], raw["y"]], method="bh")), rel=1e-9)


def test_underflowed_p_values_stay_finite_and_never_read_zero(tmp_path: Path) -> None:
    # A shift of 10 sd and a category mix turned over: scipy's p-values underflow to 0.
    rng = np.random.default_rng(23)
    ref = base_reference(rng, 3000)
    x, category = rng.normal(10, 1, 3000), ["c"] * 3000
    assert stats.ks_2samp(ref["x"], x).pvalue == 0.0
    counts = Counter(ref["category"].tolist())
    assert stats.chi2_contingency([[counts[k] for k in "abc"], [0, 0, 3000]], correction=False).pvalue == 0.0
    mon = monitor(tmp_path, ref)
    log_window(mon, x=x, category=category)
    res = run(mon)
    for subject, test in (("x", "ks"), ("category", "chi2"), ("x", "verdict"), ("category", "verdict"), ("inputs", "verdict")):
        r = res[(subject, test)]
        assert r.p_value == 1e-300, (subject, test)
        if test != "verdict" or subject != "inputs":
            assert r.details["p_adjusted"] == 1e-300
        assert r.status == "drift"
        assert "< 1e-300" in r.reading and "e+00" not in r.reading and "p = 0" not in r.reading, r.reading
    assert math.isfinite(math.log10(res[("x", "ks")].p_value))  # type: ignore[arg-type]
    mon.check(until=DAY + timedelta(days=2))
    metrics = {row["window_start"]: row for row in mon.metrics().to_pylist()}[DAY]
    assert metrics["drift.x.ks_p_value"] == metrics["drift.x.ks_p_adjusted"] == 1e-300
    assert metrics["drift.inputs_drifted"] == 1.0
