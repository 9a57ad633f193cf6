"""Window metrics from the store against an independent computation over the same rows.

Rows are generated with numpy, logged through :class:`Monitor`, aggregated by
``compute_window_metrics`` (and by ``Monitor.check``), and compared with pandas / numpy /
scikit-learn computed directly on the generated rows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from modelsteward.config import ModelConfig, StewardConfig
from modelsteward.metrics.window import WINDOW_LENGTH, compute_window_metrics, window_bounds
from modelsteward.monitor import Monitor

LABELS = ["red", "green", "blue"]
DECLARED = ["u", "v"]
ERROR_TYPES = ["timeout", "oom"]
EVERYTHING = (datetime(2000, 1, 1), datetime(2100, 1, 1))
TOL = {"rtol": 1e-12, "atol": 1e-12}


# -- fixtures ---------------------------------------------------------------------------------
def write_reference(path: Path, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    ref = pd.DataFrame({
        "x": rng.uniform(0.0, 10.0, n),
        "c": rng.choice(["u", "v", "t"], n),  # 't' is known only from the reference
        "confidence": rng.uniform(0.2, 1.0, n),
        "prediction": rng.choice(LABELS, n),
        "label": rng.choice(LABELS, n),
    })
    pq.write_table(pa.Table.from_pandas(ref, preserve_index=False), path)
    return ref


def make_config(tmp_path: Path, *, window: str = "day", threshold: float | None = None) -> StewardConfig:
    model: dict[str, Any] = {
        "name": "clf", "task": "multiclass", "labels": LABELS, "window": window,
        "features": [{"name": "x", "type": "numeric"}, {"name": "c", "type": "categorical", "categories": DECLARED}],
        "reference": {"file": str(tmp_path / "ref.parquet")},
    }
    if threshold is not None:
        model["low_confidence_threshold"] = threshold
    return StewardConfig.model_validate({"models": [model]})


def generate(seed: int, start: datetime, span: timedelta, n: int, boundaries: list[datetime]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Prediction rows (with errors, missing values, unseen categories) and their feedback."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, int(span.total_seconds()), n))
    ts = [start + timedelta(seconds=int(s), microseconds=int(rng.integers(0, 10**6))) for s in seconds]
    ts[: len(boundaries)] = boundaries  # rows exactly on window boundaries
    is_error = rng.random(n) < 0.08
    conf = np.round(rng.uniform(0.3, 1.0, n), 3)
    conf[rng.random(n) < 0.1] = 0.6  # exactly at the default low-confidence threshold
    x = rng.uniform(-2.0, 12.0, n)  # the reference range is about [0, 10]
    x_missing = rng.random(n) < 0.15
    c = rng.choice(["u", "v", "t", "z", "w"], n, p=[0.35, 0.3, 0.15, 0.1, 0.1])
    c_missing = rng.random(n) < 0.12
    latency = rng.lognormal(np.log(150), 0.5, n)
    lat_missing = rng.random(n) < 0.05
    users = rng.integers(0, 40, n)
    user_missing = rng.random(n) < 0.1
    pred = rng.choice(LABELS, n, p=[0.5, 0.3, 0.2])
    rows = []
    for i in range(n):
        rows.append({
            "prediction_id": f"p{i:05d}",
            "timestamp": ts[i],
            "prediction": None if is_error[i] else str(pred[i]),
            "confidence": None if is_error[i] else float(conf[i]),
            "error": str(rng.choice(ERROR_TYPES)) if is_error[i] else None,
            "latency_ms": None if lat_missing[i] else float(latency[i]),
            "user_id": None if user_missing[i] else f"user-{users[i]}",
            "features": {"x": None if x_missing[i] else float(x[i]), "c": None if c_missing[i] else str(c[i])},
        })
    df = pd.DataFrame({
        "prediction_id": [r["prediction_id"] for r in rows],
        "ts": pd.to_datetime(ts),
        "prediction": [r["prediction"] for r in rows],
        "confidence": [np.nan if r["confidence"] is None else r["confidence"] for r in rows],
        "error": [r["error"] for r in rows],
        "latency_ms": [np.nan if r["latency_ms"] is None else r["latency_ms"] for r in rows],
        "user_id": [r["user_id"] for r in rows],
        "x": [np.nan if r["features"]["x"] is None else r["features"]["x"] for r in rows],
        "c": [r["features"]["c"] for r in rows],
    })
    # Feedback: the resolved label is expert, else explicit, else implicit acceptance (= prediction).
    feedback: list[dict[str, Any]] = []
    truth: list[str | None] = []
    for i, r in enumerate(rows):
        pid, t = r["prediction_id"], ts[i] + timedelta(minutes=1)
        u = rng.random()
        label: str | None = None
        if u < 0.2:
            label = str(rng.choice(LABELS))
            feedback.append({"prediction_id": pid, "kind": "expert", "label": label, "timestamp": t})
            if rng.random() < 0.5:  # a disagreeing explicit correction loses to the expert
                feedback.append({"prediction_id": pid, "kind": "explicit", "label": str(rng.choice(LABELS)), "timestamp": t})
        elif u < 0.4:
            label = str(rng.choice(LABELS))
            feedback.append({"prediction_id": pid, "kind": "explicit", "label": label, "timestamp": t})
        elif u < 0.6:
            feedback.append({"prediction_id": pid, "kind": "implicit", "action": "accepted", "timestamp": t})
            label = r["prediction"]  # None on error rows: nothing to confirm
        elif u < 0.7:
            feedback.append({"prediction_id": pid, "kind": "implicit", "action": "rejected", "timestamp": t})
        elif u < 0.8:
            feedback.append({"prediction_id": pid, "kind": "outcome", "csat": 4.0, "timestamp": t})
        truth.append(label)
    df["truth"] = truth
    return df, feedback


def window_start(ts: pd.Series, window: str) -> pd.Series:
    """Independent window assignment: floor to the hour / day, or back to Monday."""
    if window == "hour":
        return ts.dt.floor("h")
    day = ts.dt.floor("D")
    if window == "day":
        return day
    return day - pd.to_timedelta(day.dt.day_of_week, unit="D")


def expected_metrics(df: pd.DataFrame, window: str, ref: pd.DataFrame, threshold: float) -> dict[datetime, dict[str, float | None]]:
    out: dict[datetime, dict[str, float | None]] = {}
    known = set(DECLARED) | set(ref["c"])
    lo, hi = ref["x"].min(), ref["x"].max()
    for ws, g in df.groupby(window_start(df["ts"], window)):
        m: dict[str, float | None] = {}
        n = len(g)
        m["volume"] = float(n)
        m["unique_users"] = float(g["user_id"].dropna().nunique())
        lat = g["latency_ms"].dropna().to_numpy()
        for q, name in ((0.5, "latency_p50"), (0.95, "latency_p95"), (0.99, "latency_p99")):
            m[name] = float(np.quantile(lat, q)) if lat.size else None
        m["error_rate"] = float(g["error"].notna().mean())
        for e in sorted(set(g["error"].dropna())):
            m[f"error_type_share.{e}"] = float((g["error"] == e).sum() / n)
        conf = g["confidence"].dropna().to_numpy()
        m["mean_confidence"] = float(conf.mean()) if conf.size else None
        m["low_confidence_rate"] = float((conf < threshold).mean()) if conf.size else None
        answered = g["prediction"].dropna()
        for lab in sorted(set(LABELS) | set(answered)):
            m[f"class_share.{lab}"] = float((answered == lab).sum() / len(answered)) if len(answered) else None
        x = g["x"]
        present = x.dropna().to_numpy()
        m["feature.x.missing_rate"] = float(x.isna().mean())
        m["feature.x.mean"] = float(present.mean()) if present.size else None
        m["feature.x.out_of_range_rate"] = float(((present < lo) | (present > hi)).mean()) if present.size else None
        c = g["c"]
        cp = c.dropna()
        m["feature.c.missing_rate"] = float(c.isna().mean())
        m["feature.c.unseen_rate"] = float((~cp.isin(known)).mean()) if len(cp) else None
        for cat in sorted(known | set(cp)):
            m[f"feature.c.share.{cat}"] = float((cp == cat).sum() / len(cp)) if len(cp) else None
        lab_rows = g[g["prediction"].notna() & g["truth"].notna()]
        m["labelled"] = float(len(lab_rows))
        m["label_coverage"] = float(len(lab_rows) / len(answered)) if len(answered) else None
        for lab in LABELS:
            m[f"label_share.{lab}"] = float((lab_rows["truth"] == lab).mean()) if len(lab_rows) else None
        if len(lab_rows):
            y_true, y_pred = lab_rows["truth"].tolist(), lab_rows["prediction"].tolist()
            classes = sorted(set(y_true) | set(y_pred))
            p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=classes, average=None, zero_division=0)
            pm, rm, fm, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
            m.update(accuracy=accuracy_score(y_true, y_pred), precision_macro=pm, recall_macro=rm, f1_macro=fm)
            for i, cls in enumerate(classes):
                m[f"precision.{cls}"], m[f"recall.{cls}"], m[f"f1.{cls}"] = p[i], r[i], f[i]
        out[ws.to_pydatetime()] = m
    return out


def assert_metrics_equal(got: dict[str, float | None], expected: dict[str, float | None], where: object) -> None:
    assert set(got) == set(expected), (where, sorted(set(got) ^ set(expected)))
    for key, value in expected.items():
        if value is None:
            assert got[key] is None, (where, key, got[key])
        else:
            assert got[key] is not None, (where, key)
            np.testing.assert_allclose(got[key], value, **TOL, err_msg=f"{where} {key}")


def build(tmp_path: Path, *, window: str, threshold: float | None = None, seed: int = 7, n: int = 900,
          start: datetime = datetime(2026, 1, 7, 5, 0), span: timedelta = timedelta(days=20),
          boundaries: list[datetime] | None = None) -> tuple[Monitor, ModelConfig, pd.DataFrame, pd.DataFrame, list[dict[str, Any]]]:
    ref = write_reference(tmp_path / "ref.parquet")
    cfg = make_config(tmp_path, window=window, threshold=threshold)
    mon = Monitor(cfg, store=":memory:")
    df, feedback = generate(seed, start, span, n, boundaries or [])
    mon.log_predictions(generate_rows(df))
    mon.log_feedbacks(feedback)
    return mon, cfg.model(), df, ref, feedback


def generate_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    def val(v: Any) -> Any:
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else v
    return [{
        "prediction_id": r.prediction_id, "timestamp": r.ts.to_pydatetime(), "prediction": val(r.prediction),
        "confidence": val(r.confidence), "error": val(r.error), "latency_ms": val(r.latency_ms),
        "user_id": val(r.user_id), "features": {"x": val(r.x), "c": val(r.c)},
    } for r in df.itertuples()]


# -- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("window", ["day", "week"])
def test_window_metrics_match_independent_computation(tmp_path: Path, window: str) -> None:
    boundaries = [datetime(2026, 1, 12, 0, 0), datetime(2026, 1, 11, 23, 59, 59, 999999), datetime(2026, 1, 9, 0, 0)]
    mon, cfg, df, ref, _ = build(tmp_path, window=window, boundaries=boundaries)
    got = compute_window_metrics(mon.store, cfg, *EVERYTHING, profile=mon.reference())
    expected = expected_metrics(df, window, ref, 0.6)
    assert sorted(got) == sorted(expected)
    assert len(expected) >= 3
    for ws in expected:
        assert_metrics_equal(got[ws], expected[ws], ws)


def test_hour_windows(tmp_path: Path) -> None:
    boundaries = [datetime(2026, 1, 7, 7, 0), datetime(2026, 1, 7, 6, 59, 59, 999999)]
    mon, cfg, df, ref, _ = build(tmp_path, window="hour", n=500, span=timedelta(hours=9), boundaries=boundaries)
    got = compute_window_metrics(mon.store, cfg, *EVERYTHING, profile=mon.reference())
    expected = expected_metrics(df, "hour", ref, 0.6)
    assert sorted(got) == [datetime(2026, 1, 7, h) for h in range(5, 14)]
    for ws in expected:
        assert_metrics_equal(got[ws], expected[ws], ws)


def test_weeks_start_on_monday(tmp_path: Path) -> None:
    write_reference(tmp_path / "ref.parquet")
    mon = Monitor(make_config(tmp_path, window="week"), store=":memory:")
    stamps = [datetime(2026, 1, 4, 23, 59, 59), datetime(2026, 1, 5, 0, 0), datetime(2026, 1, 11, 23, 0), datetime(2026, 1, 12, 0, 0)]
    for i, ts in enumerate(stamps):  # Sunday, Monday, Sunday, Monday
        mon.log_prediction(prediction_id=f"p{i}", prediction="red", confidence=0.9, timestamp=ts)
    got = compute_window_metrics(mon.store, mon.model(), *EVERYTHING, profile=None)
    assert {ws: m["volume"] for ws, m in got.items()} == {
        datetime(2025, 12, 29): 1.0, datetime(2026, 1, 5): 2.0, datetime(2026, 1, 12): 1.0}
    assert all(ws.weekday() == 0 for ws in got)


@pytest.mark.parametrize(("window", "when", "start"), [
    ("hour", datetime(2026, 3, 4, 13, 59, 59), datetime(2026, 3, 4, 13)),
    ("day", datetime(2026, 3, 4, 0, 0), datetime(2026, 3, 4)),
    ("day", datetime(2026, 3, 4, 23, 59), datetime(2026, 3, 4)),
    ("week", datetime(2026, 3, 8, 23, 59), datetime(2026, 3, 2)),   # Sunday -> previous Monday
    ("week", datetime(2026, 3, 9, 0, 0), datetime(2026, 3, 9)),     # Monday
])
def test_window_bounds(window: str, when: datetime, start: datetime) -> None:
    m = ModelConfig(name="m", task="binary", labels=["a", "b"], window=window)
    assert window_bounds(m, when) == (start, start + WINDOW_LENGTH[window])


@pytest.mark.parametrize("threshold", [0.6, 0.75, 0.5])
def test_low_confidence_threshold_is_configurable(tmp_path: Path, threshold: float) -> None:
    mon, cfg, df, ref, _ = build(tmp_path, window="week", threshold=None if threshold == 0.6 else threshold, n=300)
    assert cfg.low_confidence_threshold == threshold
    got = compute_window_metrics(mon.store, cfg, *EVERYTHING, profile=mon.reference())
    groups = df.groupby(window_start(df["ts"], "week"))
    for ws, g in groups:
        conf = g["confidence"].dropna().to_numpy()
        assert got[ws.to_pydatetime()]["low_confidence_rate"] == pytest.approx((conf < threshold).mean(), abs=1e-15)


def test_quality_rates_left_out_without_a_profile(tmp_path: Path) -> None:
    mon, cfg, df, ref, _ = build(tmp_path, window="week", n=200)
    got = compute_window_metrics(mon.store, cfg, *EVERYTHING, profile=None)
    for m in got.values():
        assert "feature.x.out_of_range_rate" not in m
        # the declared categories alone still define what is unseen
        assert "feature.c.unseen_rate" in m
    for ws, g in df.groupby(window_start(df["ts"], "week")):
        cp = g["c"].dropna()
        assert got[ws.to_pydatetime()]["feature.c.unseen_rate"] == pytest.approx((~cp.isin(DECLARED)).mean(), abs=1e-15)


def test_category_shares_are_among_present_values(tmp_path: Path) -> None:
    """Missing values are counted by missing_rate, not as a drop in every category's share."""
    write_reference(tmp_path / "ref.parquet")
    mon = Monitor(make_config(tmp_path, window="day"), store=":memory:")
    ts = datetime(2026, 1, 5, 10)
    cats = ["u"] * 4 + ["v"] * 4 + [None] * 2
    for i, c in enumerate(cats):
        mon.log_prediction(prediction_id=f"p{i}", prediction="red", confidence=0.9, timestamp=ts, features={"c": c})
    m = compute_window_metrics(mon.store, mon.model(), *EVERYTHING, profile=None)[datetime(2026, 1, 5)]
    assert m["feature.c.missing_rate"] == pytest.approx(0.2)
    assert m["feature.c.share.u"] == pytest.approx(0.5)
    assert m["feature.c.share.v"] == pytest.approx(0.5)


def test_check_stores_the_same_metrics_for_ended_windows(tmp_path: Path) -> None:
    mon, cfg, df, ref, _ = build(tmp_path, window="day", n=400, span=timedelta(days=4))
    until = datetime(2026, 1, 10)  # the window of 2026-01-10 is not over yet
    report = mon.check(until=until)
    expected = expected_metrics(df, "day", ref, 0.6)
    ended = [ws for ws in sorted(expected) if ws + timedelta(days=1) <= until]
    assert report.windows == ended
    table = mon.metrics().to_pylist()
    assert [r["window_start"] for r in table] == ended
    for row in table:
        ws = row["window_start"]
        assert row["window_end"] == ws + timedelta(days=1)
        stored = {k: v for k, v in row.items() if k in expected[ws]}
        assert_metrics_equal(stored, expected[ws], ws)
    one_day = mon.metrics(start=datetime(2026, 1, 8), end=datetime(2026, 1, 9)).to_pylist()
    assert [r["window_start"] for r in one_day] == [datetime(2026, 1, 8)]


def test_late_feedback_changes_accuracy_after_a_new_check(tmp_path: Path) -> None:
    write_reference(tmp_path / "ref.parquet")
    mon = Monitor(make_config(tmp_path, window="day"), store=":memory:")
    day1, day2 = datetime(2026, 1, 5), datetime(2026, 1, 6)
    for i in range(10):
        mon.log_prediction(prediction_id=f"a{i}", prediction="red", confidence=0.9, timestamp=day1 + timedelta(hours=i))
        mon.log_prediction(prediction_id=f"b{i}", prediction="red", confidence=0.9, timestamp=day2 + timedelta(hours=i))
    for i in range(4):  # day 1: 4 labelled, 3 right
        mon.log_feedback(f"a{i}", kind="expert", label="red" if i < 3 else "blue")
        mon.log_feedback(f"b{i}", kind="expert", label="red")
    until = datetime(2026, 1, 7)  # day 2 has just ended
    first = mon.check(until=until)
    assert first.windows == [day1, day2]
    assert mon.due_windows(until=until) == []  # nothing new
    acc = {r["window_start"]: (r["accuracy"], r["labelled"], r["label_coverage"]) for r in mon.metrics().to_pylist()}
    assert acc[day1] == (pytest.approx(0.75), 4.0, pytest.approx(0.4))

    for i in range(4, 8):  # late feedback for day 1 only, all wrong
        mon.log_feedback(f"a{i}", kind="explicit", label="green")
    assert mon.due_windows(until=until) == [day1]
    second = mon.check(until=until)
    assert second.windows == [day1]
    acc = {r["window_start"]: (r["accuracy"], r["labelled"], r["label_coverage"]) for r in mon.metrics().to_pylist()}
    assert acc[day1] == (pytest.approx(3 / 8), 8.0, pytest.approx(0.8))
    assert acc[day2] == (pytest.approx(1.0), 4.0, pytest.approx(0.4))


def test_late_prediction_makes_its_window_due(tmp_path: Path) -> None:
    write_reference(tmp_path / "ref.parquet")
    mon = Monitor(make_config(tmp_path, window="day"), store=":memory:")
    mon.log_prediction(prediction_id="a", prediction="red", confidence=0.9, timestamp=datetime(2026, 1, 5, 3))
    mon.log_prediction(prediction_id="b", prediction="red", confidence=0.9, timestamp=datetime(2026, 1, 6, 3))
    until = datetime(2026, 1, 9)
    assert mon.due_windows(until=datetime(2026, 1, 6, 12)) == [datetime(2026, 1, 5)]
    mon.check(until=until)
    mon.log_prediction(prediction_id="c", prediction="blue", confidence=0.4, timestamp=datetime(2026, 1, 6, 4))
    assert mon.due_windows(until=until) == [datetime(2026, 1, 6)]
    mon.check(until=until)
    vol = {r["window_start"]: r["volume"] for r in mon.metrics().to_pylist()}
    # days 7 and 8 ended without a prediction: windows with volume 0
    assert vol == {datetime(2026, 1, 5): 1.0, datetime(2026, 1, 6): 2.0, datetime(2026, 1, 7): 0.0, datetime(2026, 1, 8): 0.0}
