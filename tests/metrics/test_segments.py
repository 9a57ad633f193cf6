"""Triage by segment: metrics per segment, the shift-share decomposition, and drift drivers.

Rows are generated with numpy, logged through :class:`Monitor` (with attributes, a
categorical feature, model versions, errors and feedback of several kinds), measured by
``Monitor.check``, and broken down by ``modelsteward.metrics.segments``; every number is
compared with pandas computed directly on the generated rows and their true labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from modelsteward.config import StewardConfig
from modelsteward.errors import ConfigError, InsufficientDataError, NotFoundError
from modelsteward.metrics.segments import (
    MISSING,
    explain_drift,
    explain_drop,
    newcombe_interval,
    segment_metrics,
    wilson_interval,
)
from modelsteward.monitor import Monitor

LABELS = ["yes", "no"]
D1, D2 = datetime(2026, 1, 5), datetime(2026, 1, 6)
DAY = timedelta(days=1)
BASE, CUR = (D1, D1 + DAY), (D2, D2 + DAY)
TIERS = ["enterprise", "pro", "free"]
CHANNELS = ["email", "chat"]
CATEGORIES = ["billing", "technical", "account"]


# -- fixtures ---------------------------------------------------------------------------------
def make_monitor(tmp_path: Path) -> Monitor:
    rng = np.random.default_rng(0)
    n = 600
    pq.write_table(pa.table({
        "category": rng.choice(CATEGORIES, n).tolist(),
        "length": rng.normal(100.0, 20.0, n).tolist(),
        "confidence": rng.uniform(0.3, 1.0, n).tolist(),
        "prediction": rng.choice(LABELS, n).tolist(),
    }), tmp_path / "ref.parquet")
    cfg = StewardConfig.model_validate({"models": [{
        "name": "tickets", "task": "binary", "labels": LABELS, "window": "day", "low_confidence_threshold": 0.6,
        "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}],
        "reference": {"file": str(tmp_path / "ref.parquet")},
    }]})
    return Monitor(cfg, store=tmp_path / "steward.duckdb")


def generate(rng: np.random.Generator, day: datetime, n: int, *, tier_p: list[float], acc: dict[str, float],
             category_p: list[float], prefix: str) -> tuple[pd.DataFrame, list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of one day (the truth, as a frame), the prediction records and their feedback."""
    tier = rng.choice(TIERS, n, p=tier_p)
    tier_missing = rng.random(n) < 0.07  # no tier attribute at all (or no attributes)
    channel = rng.choice(CHANNELS, n)
    category = rng.choice(CATEGORIES, n, p=category_p)
    is_error = rng.random(n) < 0.05
    conf = np.round(rng.uniform(0.3, 1.0, n), 3)
    pred = rng.choice(LABELS, n)
    right = rng.random(n) < np.array([acc[t] for t in tier])
    truth = np.where(right, pred, np.where(pred == "yes", "no", "yes"))
    kind = rng.random(n)  # < .35 explicit, < .6 implicit accepted (only when right), else no label
    frame: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    for i in range(n):
        pid = f"{prefix}{i:04d}"
        attrs: dict[str, Any] | None = {"channel": str(channel[i])}
        if not tier_missing[i]:
            attrs = {**(attrs or {}), "tier": str(tier[i])}
        elif i % 2:
            attrs = None
        err = bool(is_error[i])
        records.append({
            "prediction_id": pid, "timestamp": day + timedelta(seconds=100 * i),
            "prediction": None if err else str(pred[i]), "confidence": None if err else float(conf[i]),
            "error": "timeout" if err else None, "latency_ms": 100.0, "model_version": "v1" if i % 3 else "v2",
            "features": {"category": str(category[i]), "length": float(rng.normal(100.0, 20.0))},
            "attributes": attrs,
        })
        label: str | None = None
        if not err and kind[i] < 0.35:
            label = str(truth[i])
            feedback.append({"prediction_id": pid, "kind": "explicit", "label": label})
        elif not err and kind[i] < 0.6 and right[i]:
            label = str(pred[i])
            feedback.append({"prediction_id": pid, "kind": "implicit", "action": "accepted"})
        elif kind[i] < 0.7:
            feedback.append({"prediction_id": pid, "kind": "outcome", "csat": 3.0})  # not a label
        frame.append({
            "tier": None if tier_missing[i] else str(tier[i]), "channel": None if attrs is None else str(channel[i]),
            "category": str(category[i]),
            "model_version": records[-1]["model_version"],
            "prediction": None if err else str(pred[i]), "confidence": np.nan if err else float(conf[i]),
            "error": "timeout" if err else None, "label": label,
        })
    return pd.DataFrame(frame), records, feedback


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Monitor, pd.DataFrame, pd.DataFrame]]:
    """Two days: the second with enterprise accuracy down, more enterprise traffic, more billing."""
    tmp_path = tmp_path_factory.mktemp("segments")
    mon = make_monitor(tmp_path)
    rng = np.random.default_rng(7)
    base, r1, f1 = generate(rng, D1, 700, tier_p=[0.2, 0.3, 0.5], acc={"enterprise": 0.9, "pro": 0.85, "free": 0.8},
                            category_p=[0.34, 0.33, 0.33], prefix="a")
    cur, r2, f2 = generate(rng, D2, 700, tier_p=[0.35, 0.3, 0.35], acc={"enterprise": 0.6, "pro": 0.85, "free": 0.8},
                           category_p=[0.7, 0.15, 0.15], prefix="b")
    mon.log_predictions(r1 + r2)
    mon.log_feedbacks(f1 + f2)
    mon.check(until=D2 + DAY)
    yield mon, base, cur
    mon.close()


# -- independent computations -----------------------------------------------------------------
def expected_segments(df: pd.DataFrame, by: str, threshold: float = 0.6) -> dict[str | None, dict[str, Any]]:
    out: dict[str | None, dict[str, Any]] = {}
    key = df[by].where(df[by].notna(), None)
    for seg, g in df.groupby(key.fillna("\0"), sort=False):
        conf = g["confidence"].dropna()
        lab = g[g["prediction"].notna() & g["label"].notna()]
        out[None if seg == "\0" else str(seg)] = {
            "volume": len(g), "share": len(g) / len(df),
            "mean_confidence": conf.mean() if len(conf) else None,
            "low_confidence_rate": (conf < threshold).mean() if len(conf) else None,
            "error_rate": g["error"].notna().mean(), "labelled": len(lab),
            "accuracy": (lab["prediction"] == lab["label"]).mean() if len(lab) else None,
        }
    return out


def rates(df: pd.DataFrame, by: str, metric: str) -> tuple[dict[str | None, tuple[float, float]], float]:
    """Per segment (numerator, denominator) of a metric, and the overall metric."""
    if metric == "accuracy":
        d = df[df["prediction"].notna() & df["label"].notna()]
        num = (d["prediction"] == d["label"]).astype(float)
    elif metric == "error_rate":
        d, num = df, df["error"].notna().astype(float)
    else:
        d = df[df["confidence"].notna()]
        num = (d["confidence"] < 0.6).astype(float) if metric == "low_confidence_rate" else d["confidence"]
    key = d[by].fillna("\0")
    out = {None if s == "\0" else s: (float(num[key == s].sum()), float((key == s).sum())) for s in key.unique()}
    return out, float(num.sum() / len(d))


def kitagawa(base: pd.DataFrame, cur: pd.DataFrame, by: str, metric: str) -> dict[str | None, tuple[float, float]]:
    """Per segment (mix, rate) by the symmetric decomposition, with the centred mix term."""
    b, m0 = rates(base, by, metric)
    c, m1 = rates(cur, by, metric)
    den0, den1 = sum(v[1] for v in b.values()), sum(v[1] for v in c.values())
    out = {}
    for s in set(b) | set(c):
        n0, d0 = b.get(s, (0.0, 0.0))
        n1, d1 = c.get(s, (0.0, 0.0))
        r0 = n0 / d0 if d0 else n1 / d1
        r1 = n1 / d1 if d1 else r0
        w0, w1 = d0 / den0, d1 / den1
        out[s] = ((w1 - w0) * ((r0 + r1) / 2 - (m0 + m1) / 2), (w0 + w1) / 2 * (r1 - r0))
    return out


def close(x: float) -> Any:
    return pytest.approx(x, rel=1e-12, abs=1e-12)


def approx(x: float | None) -> Any:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else close(x)


# -- segment metrics --------------------------------------------------------------------------
@pytest.mark.parametrize("by", ["tier", "channel", "category", "feature.category", "model_version", "attributes.tier"])
def test_segment_metrics_match_pandas(logged: tuple[Monitor, pd.DataFrame, pd.DataFrame], by: str) -> None:
    mon, base, cur = logged
    column = by.split(".")[-1]
    got = segment_metrics(mon.store, mon.model(), *CUR, by=by, baseline_start=BASE[0], baseline_end=BASE[1])
    exp, exp_base = expected_segments(cur, column), expected_segments(base, column)
    assert {s.segment for s in got} == set(exp) | set(exp_base)
    assert [s.volume for s in got] == sorted((s.volume for s in got), reverse=True)
    for s in got:
        e = exp[s.segment]
        assert s.dimension == by and s.label == f"{by}={MISSING if s.segment is None else s.segment}"
        assert (s.volume, s.labelled) == (e["volume"], e["labelled"])
        for name in ("share", "mean_confidence", "low_confidence_rate", "error_rate", "accuracy"):
            assert getattr(s, name) == approx(e[name]), name
        eb = exp_base[s.segment]
        assert (s.baseline_volume, s.baseline_labelled) == (eb["volume"], eb["labelled"])
        assert s.baseline_share == approx(eb["share"])
        assert s.baseline_accuracy == approx(eb["accuracy"])
    assert sum(s.volume for s in got) == len(cur)
    if column == "tier":  # rows without the attribute form their own segment
        assert any(s.segment is None for s in got)


def test_segment_metrics_by_name_without_baseline(logged: tuple[Monitor, pd.DataFrame, pd.DataFrame]) -> None:
    mon, _, cur = logged
    got = segment_metrics(mon.store, "tickets", *CUR, by="tier")  # the model named: its config is read from the store
    assert all(s.baseline_volume is None and s.accuracy_change is None for s in got)
    exp = expected_segments(cur, "tier")
    assert {s.segment: s.accuracy for s in got} == {k: approx(v["accuracy"]) for k, v in exp.items()}
    assert segment_metrics(mon.store, "tickets", datetime(2030, 1, 1), datetime(2030, 1, 2), by="tier") == []


# -- the decomposition ------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["accuracy", "error_rate", "low_confidence_rate", "mean_confidence"])
def test_decomposition_parts_sum_to_the_change(logged: tuple[Monitor, pd.DataFrame, pd.DataFrame], metric: str) -> None:
    mon, base, cur = logged
    dims = ["tier", "channel", "category", "model_version"]
    why = explain_drop(mon.store, "tickets", metric=metric, current=CUR, baseline=BASE, by=dims)
    _, m0 = rates(base, "tier", metric)
    _, m1 = rates(cur, "tier", metric)
    assert why.baseline_value == approx(m0) and why.current_value == approx(m1)
    assert [d.dimension for d in why.dimensions] == dims
    for d in why.dimensions:
        assert abs(d.rate + d.mix - why.change) <= 1e-12
        assert abs(math.fsum(s.contribution for s in d.segments) - why.change) <= 1e-12
        exp = kitagawa(base, cur, d.dimension, metric)
        assert {s.segment for s in d.segments} == set(exp)
        for s in d.segments:
            assert (s.mix, s.rate) == (approx(exp[s.segment][0]), approx(exp[s.segment][1]))
        if d.total:
            assert d.rate_fraction is not None and d.mix_fraction is not None
            assert d.rate_fraction + d.mix_fraction == pytest.approx(1.0)
    contributions = [abs(s.contribution) for s in why.ranked]
    assert contributions == sorted(contributions, reverse=True)
    assert len(why.ranked) == sum(len(d.segments) for d in why.dimensions)
    assert why.change_low is not None and why.change_high is not None and why.change_low < why.change < why.change_high
    readable = {"accuracy": "accuracy", "error_rate": "error rate", "low_confidence_rate": "low-confidence rate",
                "mean_confidence": "mean confidence"}[metric]
    assert why.summary.startswith(readable) and why.summary.endswith(".")


def test_generated_drop_points_at_enterprise(logged: tuple[Monitor, pd.DataFrame, pd.DataFrame]) -> None:
    mon, base, cur = logged
    why = explain_drop(mon.store, "tickets", current=CUR, baseline=BASE, by=["channel", "tier", "category"])
    assert why.change < 0
    tier = next(d for d in why.dimensions if d.dimension == "tier")
    assert tier.segments[0].segment == "enterprise"
    assert "tier=enterprise" in why.summary and why.summary.startswith("accuracy fell")
    ent = tier.segments[0]
    assert ent.change is not None and ent.change_low is not None and ent.change_high is not None
    assert ent.change_low < ent.change < ent.change_high < 0  # a clear fall within enterprise
    # the interval is Newcombe's hybrid score interval over Wilson intervals (scipy's Wilson here)
    b, _ = rates(base, "tier", "accuracy")
    c, _ = rates(cur, "tier", "accuracy")
    (x0, n0), (x1, n1) = b["enterprise"], c["enterprise"]
    ci0 = stats.binomtest(int(x0), int(n0)).proportion_ci(method="wilson")
    ci1 = stats.binomtest(int(x1), int(n1)).proportion_ci(method="wilson")
    p0, p1 = x0 / n0, x1 / n1
    assert ent.change_low == pytest.approx(p1 - p0 - math.hypot(p1 - ci1.low, ci0.high - p0), rel=1e-9)
    assert ent.change_high == pytest.approx(p1 - p0 + math.hypot(ci1.high - p1, p0 - ci0.low), rel=1e-9)
    d = why.to_dict()
    assert d["ranked"][0]["label"] == why.ranked[0].label and d["current"][0] == D2.isoformat()


def test_wilson_matches_scipy() -> None:
    for k, n in [(0, 5), (3, 10), (47, 50), (120, 400)]:
        ci = stats.binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k, n) == (pytest.approx(ci.low, rel=1e-9, abs=1e-12), pytest.approx(ci.high, rel=1e-9))
    low, high = newcombe_interval(56, 70, 48, 80)  # Newcombe (1998), the worked example: 0.0524 to 0.3339
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)


def constructed(mon: Monitor, day: datetime, prefix: str, groups: list[tuple[str, int, int]]) -> None:
    """``(tier, labelled, right)`` groups; the channel alternates within each group."""
    rows, fb = [], []
    for tier, n, right in groups:
        for i in range(n):
            pid = f"{prefix}-{tier}-{i:03d}"
            rows.append({"prediction_id": pid, "timestamp": day + timedelta(minutes=i), "prediction": "yes",
                         "confidence": 0.9, "features": {"category": "billing", "length": 100.0},
                         "attributes": {"tier": tier, "channel": CHANNELS[i % 2]}})
            fb.append({"prediction_id": pid, "kind": "explicit", "label": "yes" if i < right else "no"})
    mon.log_predictions(rows)
    mon.log_feedbacks(fb)


def test_drop_entirely_from_one_segments_rate(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    constructed(mon, D1, "a", [("enterprise", 80, 72), ("pro", 80, 68), ("free", 80, 64)])
    constructed(mon, D2, "b", [("enterprise", 80, 48), ("pro", 80, 68), ("free", 80, 64)])
    why = explain_drop(mon.store, "tickets", current=CUR, baseline=BASE, by=["channel", "tier"])
    assert why.change == close(-24 / 240)
    top = why.ranked[0]
    assert top.label == "tier=enterprise" and not top.uncertain
    assert top.rate == close(why.change) and top.mix == pytest.approx(0.0, abs=1e-12)
    tier = why.dimensions[1]
    assert tier.rate == close(why.change) and tier.mix == pytest.approx(0.0, abs=1e-12)
    assert tier.rate_fraction == pytest.approx(1.0)
    assert why.summary == ("accuracy fell 10.0 points (0.85 → 0.75); 10.0 of them come from tier=enterprise, "
                           "where accuracy fell from 0.90 to 0.60.")
    mon.close()


def test_drop_entirely_from_the_mix(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    # Rates unchanged (enterprise 0.5, free 0.9); enterprise goes from 20% to 60% of the labelled rows.
    constructed(mon, D1, "a", [("enterprise", 20, 10), ("free", 80, 72)])
    constructed(mon, D2, "b", [("enterprise", 60, 30), ("free", 40, 36)])
    why = explain_drop(mon.store, "tickets", current=CUR, baseline=BASE, by="tier")
    assert why.change == close(66 / 100 - 82 / 100)
    (tier,) = why.dimensions
    assert tier.rate == pytest.approx(0.0, abs=1e-12) and tier.mix == close(why.change)
    assert tier.mix_fraction == pytest.approx(1.0)
    ent = why.ranked[0]
    assert ent.label == "tier=enterprise" and ent.change == pytest.approx(0.0, abs=1e-12)
    assert (ent.baseline_weight, ent.current_weight) == (pytest.approx(0.2), pytest.approx(0.6))
    assert ent.uncertain and ent.baseline_n == 20  # fewer than 30 labelled in the baseline
    assert not why.ranked[1].uncertain  # free: 80 and 40 labelled
    assert why.summary.endswith("(only 20 labelled predictions there in one period: a lead, not a finding); "
                                "the largest part from a well-measured segment is 6.4 points, from tier=free.")
    sure = explain_drop(mon.store, "tickets", current=CUR, baseline=BASE, by="tier", min_labelled=20)
    assert not sure.ranked[0].uncertain
    assert sure.summary == ("accuracy fell 16.0 points (0.82 → 0.66); 9.6 of them come from tier=enterprise, "
                            "whose share of labelled predictions grew from 20% to 60% (accuracy there 0.50).")
    mon.close()


def test_segment_only_in_one_period(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    constructed(mon, D1, "a", [("free", 40, 36)])
    constructed(mon, D2, "b", [("free", 40, 36), ("trial", 40, 20)])
    why = explain_drop(mon.store, "tickets", current=CUR, baseline=BASE, by="tier")
    trial = why.ranked[0]
    assert trial.segment == "trial" and trial.baseline_value is None and trial.change is None
    assert (trial.change_low, trial.change_high) == (None, None) and trial.rate == 0.0
    assert abs(why.dimensions[0].mix + why.dimensions[0].rate - why.change) <= 1e-12
    got = segment_metrics(mon.store, mon.model(), *BASE, by="tier", baseline_start=CUR[0], baseline_end=CUR[1])
    assert [(s.segment, s.volume, s.baseline_volume) for s in got] == [("free", 40, 40), ("trial", 0, 40)]
    assert got[1].accuracy is None and got[1].baseline_accuracy == 0.5
    mon.close()


def test_no_labels_is_insufficient_data(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    constructed(mon, D2, "b", [("free", 40, 36)])
    with pytest.raises(InsufficientDataError, match="no labelled predictions in the baseline period"):
        explain_drop(mon.store, "tickets", current=CUR, baseline=BASE, by="tier")
    mon.close()


# -- validation -------------------------------------------------------------------------------
@pytest.mark.parametrize("by", [
    "tier'); DROP TABLE feedback; --", "tier\"", "tier.name", "$.tier", "a b", "tier\n", "", "x" * 65,
    "attributes.t'r", "attributes.", "tier/../x",
])
def test_injection_attempts_are_refused(logged: tuple[Monitor, pd.DataFrame, pd.DataFrame], by: str) -> None:
    mon, _, _ = logged
    n_feedback = mon.store.query("SELECT count(*) FROM feedback")[0][0]
    with pytest.raises(ConfigError, match="invalid attribute key|expected a dimension"):
        segment_metrics(mon.store, mon.model(), *CUR, by=by)
    with pytest.raises(ConfigError):
        explain_drop(mon.store, mon.model(), current=CUR, baseline=BASE, by=["tier", by])
    assert mon.store.query("SELECT count(*) FROM feedback")[0][0] == n_feedback


def test_other_refusals(logged: tuple[Monitor, pd.DataFrame, pd.DataFrame]) -> None:
    mon, _, _ = logged
    with pytest.raises(ConfigError, match="numeric"):
        segment_metrics(mon.store, mon.model(), *CUR, by="length")
    with pytest.raises(ConfigError, match="no feature"):
        segment_metrics(mon.store, mon.model(), *CUR, by="feature.tier")
    with pytest.raises(ConfigError, match="cannot decompose"):
        explain_drop(mon.store, mon.model(), metric="latency_p95", current=CUR, baseline=BASE, by="tier")
    with pytest.raises(ConfigError, match="start before"):
        explain_drop(mon.store, mon.model(), current=(D2, D1), baseline=BASE, by="tier")
    with pytest.raises(ConfigError, match="at least one"):
        explain_drop(mon.store, mon.model(), current=CUR, baseline=BASE, by=[])
    with pytest.raises(NotFoundError):
        segment_metrics(mon.store, "nope", *CUR, by="tier")


# -- drift ------------------------------------------------------------------------------------
def test_explain_drift_ranks_the_moved_feature_first(logged: tuple[Monitor, pd.DataFrame, pd.DataFrame]) -> None:
    mon, _, _ = logged
    latest = explain_drift(mon.store, "tickets")
    assert latest.window_start == D2 and latest.window_end == D2 + DAY
    why = explain_drift(mon.store, mon.model(), window=D2 + timedelta(hours=5), top=2)
    assert why == latest.__class__(**{**latest.__dict__, "drivers": latest.drivers[:2]})
    assert why.drivers[0].subject == "category" and why.drivers[0].status == "drift"
    assert why.drivers[0].kind == "feature" and why.drivers[0].effect_unit == "total_variation"
    stored = [r for r in mon.drift(window_start=D2) if r["test"] == "verdict" and r["subject"] != "inputs"]
    assert why.tested == len(stored) and why.drifted == sum(r["status"] == "drift" for r in stored)
    by_subject = {r["subject"]: r for r in stored}
    order = ["drift", "small_change", "no_drift", "not_enough_data", "no_reference"]
    keys = [(order.index(d.status), -(d.relative_effect or 0.0)) for d in latest.drivers]
    assert keys == sorted(keys)
    for d in latest.drivers:
        r = by_subject[d.subject]
        assert (d.status, d.reading, d.effect_size) == (r["status"], r["reading"], r["effect_size"])
        if r["effect_size"] is None:  # no reference for it (the reference file has no labels), or too few values
            assert d.relative_effect is None and d.status in ("no_reference", "not_enough_data")
        else:
            threshold = {"wasserstein": 0.1, "total_variation": 0.1}[d.effect_unit]  # the registry's defaults
            assert d.threshold == threshold
            assert d.relative_effect == pytest.approx(r["effect_size"] / threshold)
    assert why.summary.startswith(f"{why.drifted} of {why.tested} subjects drifted") and "category" in why.summary
    with pytest.raises(NotFoundError):
        explain_drift(mon.store, "tickets", window=datetime(2030, 1, 1))


def test_names_stay_importable_from_the_module_path() -> None:
    """The module became a package of smaller modules; its names are still imported from here."""
    import importlib

    module = importlib.import_module("modelsteward.metrics.segments")
    public = [
        "DECOMPOSABLE_METRICS", "MISSING", "DimensionBreakdown", "DriftDriver", "DriftExplanation", "DropExplanation",
        "SegmentContribution", "SegmentMetrics", "explain_drift", "explain_drop", "newcombe_interval",
        "segment_metrics", "wilson_interval"
    ]
    compat = [
        "ATTRIBUTE_KEY", "COLUMN_DIMENSIONS", "Z95"
    ]  # importable here before the split too
    assert module.__all__ == public
    for name in public + compat:
        assert getattr(module, name, None) is not None, name
