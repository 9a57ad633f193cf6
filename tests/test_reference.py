"""The reference profile, from a training file (Parquet or CSV) and from a logged period."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from modelsteward.config import StewardConfig
from modelsteward.drift.psi import bin_counts, quantile_edges
from modelsteward.errors import ConfigError, NotFoundError
from modelsteward.metrics.window import compute_window_metrics
from modelsteward.monitor import Monitor
from modelsteward.reference import build_reference, load_profile

LABELS = ["urgent", "routine"]
FEATURES = [{"name": "x", "type": "numeric"}, {"name": "category", "type": "categorical", "categories": ["technical", "other"]}]


def config(reference: dict[str, Any], *, bins: int = 10, threshold: float | None = None, window: str = "day") -> StewardConfig:
    model: dict[str, Any] = {"name": "tickets", "task": "binary", "labels": LABELS, "features": FEATURES,
                             "reference": reference, "drift": {"bins": bins}, "window": window}
    if threshold is not None:
        model["low_confidence_threshold"] = threshold
    return StewardConfig.model_validate({"models": [model]})


def training_frame(seed: int = 3, n: int = 700) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.round(rng.gamma(2.0, 3.0, n), 1)  # rounded: many ties
    x[rng.random(n) < 0.1] = np.nan
    category = rng.choice(["technical", "other", "billing"], n, p=[0.4, 0.5, 0.1]).astype(object)
    category[rng.random(n) < 0.05] = None
    pred = rng.choice(LABELS, n, p=[0.3, 0.7])
    correct = rng.random(n) < 0.85
    label = np.where(correct, pred, np.where(pred == "urgent", "routine", "urgent"))
    return pd.DataFrame({"x": x, "category": category, "confidence": rng.beta(8, 2, n), "prediction": pred, "label": label})


def expected_profile(df: pd.DataFrame, bins: int, threshold: float = 0.6) -> dict[str, Any]:
    out: dict[str, Any] = {"numeric": {}, "categorical": {}, "baselines": {}}
    for subject in ("x", "confidence"):
        v = df[subject].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        edges = quantile_edges(v, bins)
        out["numeric"][subject] = {"n": v.size, "min": v.min(), "max": v.max(), "mean": v.mean(), "std": v.std(ddof=1),
                                   "edges": edges, "counts": bin_counts(v, edges)}
    out["baselines"]["feature.x.mean"] = out["numeric"]["x"]["mean"]
    out["baselines"]["mean_confidence"] = out["numeric"]["confidence"]["mean"]
    conf = df["confidence"].dropna().to_numpy()
    out["baselines"]["low_confidence_rate"] = float((conf < threshold).mean())
    for subject, prefix in (("category", "feature.category.share"), ("prediction", "class_share"), ("label", "label_share")):
        counts = Counter(df[subject].dropna())
        out["categorical"][subject] = dict(counts)
        total = sum(counts.values())
        cats = LABELS if subject != "category" else counts
        for c in cats:
            out["baselines"][f"{prefix}.{c}"] = counts.get(c, 0) / total
    both = df.dropna(subset=["prediction", "label"])
    y_true, y_pred = both["label"].tolist(), both["prediction"].tolist()
    classes = sorted(set(y_true) | set(y_pred))
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    pm, rm, fm, _ = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    out["baselines"].update(accuracy=accuracy_score(y_true, y_pred), precision_macro=pm, recall_macro=rm, f1_macro=fm)
    for i, c in enumerate(classes):
        out["baselines"].update({f"precision.{c}": p[i], f"recall.{c}": r[i], f"f1.{c}": f[i]})
    return out


def assert_profile(profile: Any, expected: dict[str, Any], n_rows: int) -> None:
    assert profile.n_rows == n_rows
    assert set(profile.numeric) == set(expected["numeric"])
    for subject, exp in expected["numeric"].items():
        got = profile.numeric[subject]
        assert got["n"] == exp["n"], subject
        for k in ("min", "max"):
            assert got[k] == exp[k], (subject, k)
        np.testing.assert_allclose(got["mean"], exp["mean"], rtol=1e-12)
        np.testing.assert_allclose(got["std"], exp["std"], rtol=1e-10)
        np.testing.assert_allclose(got["edges"], exp["edges"], rtol=1e-12, atol=0, err_msg=subject)
        assert list(got["counts"]) == exp["counts"].tolist(), subject
        assert sum(got["counts"]) == exp["n"]
    assert profile.categorical == expected["categorical"]
    assert set(profile.baselines) >= set(expected["baselines"])
    for k, v in expected["baselines"].items():
        np.testing.assert_allclose(profile.baselines[k], v, rtol=1e-12, err_msg=k)


# -- training files ---------------------------------------------------------------------------
def test_profile_of_a_parquet_file_with_a_column_mapping(tmp_path: Path) -> None:
    df = training_frame()
    renamed = df.rename(columns={"x": "x value", "category": "Área", "confidence": "score", "label": "truth"})
    renamed["unused"] = 1.0
    pq.write_table(pa.Table.from_pandas(renamed, preserve_index=False), tmp_path / "train.parquet")
    cfg = config({"file": str(tmp_path / "train.parquet"),
                  "columns": {"x": "x value", "category": "Área", "confidence": "score", "label": "truth"}})
    mon = Monitor(cfg, store=":memory:")
    profile = mon.reference()
    assert profile is not None
    assert profile.source["file"] == str(tmp_path / "train.parquet")
    assert_profile(profile, expected_profile(df, 10), len(df))
    # the stored profile is what a later load returns
    loaded = load_profile(mon.store, "tickets")
    assert (loaded.numeric, loaded.categorical, loaded.baselines, loaded.n_rows) == (
        profile.numeric, profile.categorical, profile.baselines, profile.n_rows)
    assert mon.reference().numeric == loaded.numeric


def test_profile_of_a_csv_file(tmp_path: Path) -> None:
    df = training_frame(seed=11, n=300)
    df.rename(columns={"confidence": "p_hat"}).to_csv(tmp_path / "train.csv", index=False)
    cfg = config({"file": str(tmp_path / "train.csv"), "columns": {"confidence": "p_hat"}}, bins=4, threshold=0.7)
    profile = build_reference(Monitor(cfg, store=":memory:").store, cfg.model())
    # CSV keeps 17 significant digits of pandas' floats, so the values read back are the same numbers
    assert_profile(profile, expected_profile(df, 4, threshold=0.7), len(df))


def test_nan_values_in_a_file_are_missing_values(tmp_path: Path) -> None:
    """A float NaN (not a null) in the training file is a missing value, not a number."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=200)
    x[::7] = np.nan
    conf = rng.uniform(0.5, 1.0, 200)
    table = pa.table({"x": pa.array(x, from_pandas=False), "confidence": conf, "prediction": ["urgent"] * 200})
    assert table.column("x").null_count == 0  # the NaNs are real NaNs
    pq.write_table(table, tmp_path / "train.parquet")
    cfg = config({"file": str(tmp_path / "train.parquet")})
    profile = Monitor(cfg, store=":memory:").reference()
    present = x[~np.isnan(x)]
    ref = profile.numeric["x"]
    assert ref["n"] == present.size
    assert ref["max"] == present.max() and ref["min"] == present.min()
    np.testing.assert_allclose(ref["mean"], present.mean(), rtol=1e-12)
    np.testing.assert_allclose(ref["edges"], quantile_edges(present, 10), rtol=1e-12)
    assert ref["counts"] == bin_counts(present, quantile_edges(present, 10)).tolist()


def test_explicit_baselines_override_computed_ones(tmp_path: Path) -> None:
    df = training_frame()
    df.to_parquet(tmp_path / "train.parquet", index=False)
    cfg = config({"file": str(tmp_path / "train.parquet"), "baselines": {"accuracy": 0.88, "volume": 1234.0}})
    profile = Monitor(cfg, store=":memory:").reference()
    computed = expected_profile(df, 10)["baselines"]
    assert computed["accuracy"] != 0.88
    assert profile.baselines["accuracy"] == 0.88
    assert profile.baselines["volume"] == 1234.0
    np.testing.assert_allclose(profile.baselines["precision_macro"], computed["precision_macro"], rtol=1e-12)


def test_missing_columns_leave_subjects_out(tmp_path: Path) -> None:
    pq.write_table(pa.table({"confidence": [0.9, 0.8, 0.7], "category": ["technical", "other", "other"]}), tmp_path / "t.parquet")
    profile = Monitor(config({"file": str(tmp_path / "t.parquet")}), store=":memory:").reference()
    assert set(profile.numeric) == {"confidence"}
    assert set(profile.categorical) == {"category"}
    assert "accuracy" not in profile.baselines and "class_share.urgent" not in profile.baselines


def test_missing_or_empty_reference_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        Monitor(config({"file": str(tmp_path / "nope.parquet")}), store=":memory:").reference()
    pq.write_table(pa.table({"confidence": pa.array([], pa.float64())}), tmp_path / "empty.parquet")
    with pytest.raises(ConfigError, match="no rows"):
        Monitor(config({"file": str(tmp_path / "empty.parquet")}), store=":memory:").reference()


def test_no_profile_before_it_is_built(tmp_path: Path) -> None:
    df = training_frame(n=50)
    df.to_parquet(tmp_path / "train.parquet", index=False)
    mon = Monitor(config({"file": str(tmp_path / "train.parquet")}), store=":memory:")
    with pytest.raises(NotFoundError):
        load_profile(mon.store, "tickets")


# -- a logged period --------------------------------------------------------------------------
def test_profile_of_a_logged_period(tmp_path: Path) -> None:
    start, end = datetime(2026, 1, 5), datetime(2026, 1, 8)
    cfg = config({"start": start.isoformat(), "end": end.isoformat(), "baselines": {"latency_p95": 400.0}}, bins=5)
    mon = Monitor(cfg, store=":memory:")
    rng = np.random.default_rng(9)
    n = 400
    ts = [datetime(2026, 1, 4) + timedelta(seconds=int(s)) for s in rng.integers(0, 5 * 86400, n)]
    ts[0], ts[1] = start, end  # start is in, end is out
    df = pd.DataFrame({
        "prediction_id": [f"p{i}" for i in range(n)], "ts": ts,
        "x": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.normal(5, 2, n), 2)),
        "category": rng.choice(["technical", "other"], n),
        "confidence": rng.uniform(0.3, 1.0, n), "prediction": rng.choice(LABELS, n),
        "latency_ms": rng.uniform(50, 500, n),
    })
    labelled = rng.random(n) < 0.6
    df["label"] = pd.Series(np.where(labelled, rng.choice(LABELS, n), None), dtype=object)
    mon.log_predictions([{
        "prediction_id": r.prediction_id, "timestamp": r.ts, "prediction": r.prediction, "confidence": r.confidence,
        "latency_ms": r.latency_ms, "features": {"x": None if np.isnan(r.x) else r.x, "category": r.category},
    } for r in df.itertuples()])
    mon.log_feedbacks([{"prediction_id": r.prediction_id, "kind": "expert", "label": r.label}
                       for r in df.itertuples() if isinstance(r.label, str)])
    profile = mon.reference()
    inside = df[(df["ts"] >= start) & (df["ts"] < end)]
    assert 0 < len(inside) < n
    expected = expected_profile(inside, 5)
    # a period's baselines: what the pooled rows define (means, shares, accuracy), then the mean of
    # its window metrics for the rest (volume, latency, ...), then the declared ones
    per_window = compute_window_metrics(mon.store, cfg.model(), start, end, profile=None)
    assert sorted(per_window) == [datetime(2026, 1, 5), datetime(2026, 1, 6), datetime(2026, 1, 7)]
    days = inside.groupby(inside["ts"].dt.floor("D"))
    expected["baselines"]["volume"] = float(np.mean([len(g) for _, g in days]))
    assert expected["baselines"]["accuracy"] == pytest.approx(accuracy_score(
        inside["label"].dropna(), inside.loc[inside["label"].notna(), "prediction"]), rel=1e-12)
    for k in {k for w in per_window.values() for k in w} - set(expected["baselines"]):
        values = [per_window[w][k] for w in per_window if per_window[w].get(k) is not None]
        if values:
            expected["baselines"][k] = float(np.mean(values))
    expected["baselines"]["latency_p95"] = 400.0
    assert_profile(profile, expected, len(inside))
    assert (profile.source["start"], profile.source["end"]) == (start.isoformat(), end.isoformat())


def test_a_mapping_to_a_column_the_file_lacks_is_a_config_error(tmp_path: Path) -> None:
    pq.write_table(pa.table({"score": [0.9, 0.8], "category": ["technical", "other"]}), tmp_path / "t.parquet")
    cfg = config({"file": str(tmp_path / "t.parquet"), "columns": {"confidence": "scores"}})
    with pytest.raises(ConfigError, match="'scores'") as info:
        Monitor(cfg, store=":memory:").reference()
    assert "reference.columns.confidence" in str(info.value)
    assert "score" in str(info.value)


def test_period_baselines_use_only_windows_inside_the_period(tmp_path: Path) -> None:
    # weekly windows; the period runs Wednesday 7 to Wednesday 21 January: only the week of
    # Monday 12 January lies wholly inside it
    start, end = datetime(2026, 1, 7), datetime(2026, 1, 21)
    cfg = config({"start": start.isoformat(), "end": end.isoformat()}, window="week")
    mon = Monitor(cfg, store=":memory:")
    per_day = {datetime(2026, 1, 5) + timedelta(days=d): 1 + d % 4 for d in range(28)}
    rows = [{"prediction_id": f"{day:%m%d}-{i}", "timestamp": day + timedelta(hours=i), "prediction": "urgent",
             "confidence": 0.5 + 0.01 * d, "features": {"x": float(d), "category": "technical"}}
            for d, (day, n) in enumerate(per_day.items()) for i in range(n)]
    mon.log_predictions(rows)
    profile = mon.reference()
    week_12 = [r for r in rows if datetime(2026, 1, 12) <= r["timestamp"] < datetime(2026, 1, 19)]
    inside = [r for r in rows if start <= r["timestamp"] < end]
    assert profile.n_rows == len(inside)
    assert profile.baselines["volume"] == float(len(week_12))
    # the pooled rows of the whole period give the mean; only per-window figures need whole windows
    np.testing.assert_allclose(profile.baselines["mean_confidence"], np.mean([r["confidence"] for r in inside]), rtol=1e-12)
    assert profile.numeric["x"]["n"] == len(inside)


def test_a_period_shorter_than_a_window_has_no_window_baselines(tmp_path: Path) -> None:
    start, end = datetime(2026, 1, 6), datetime(2026, 1, 8)
    cfg = config({"start": start.isoformat(), "end": end.isoformat()}, window="week")
    mon = Monitor(cfg, store=":memory:")
    mon.log_predictions([{"prediction_id": f"p{i}", "timestamp": datetime(2026, 1, 5) + timedelta(hours=5 * i),
                          "prediction": "urgent", "confidence": 0.8} for i in range(30)])
    profile = mon.reference()
    assert "volume" not in profile.baselines
    assert profile.baselines["mean_confidence"] == pytest.approx(0.8)  # from the period's rows
    assert profile.n_rows == sum(start <= datetime(2026, 1, 5) + timedelta(hours=5 * i) < end for i in range(30))
