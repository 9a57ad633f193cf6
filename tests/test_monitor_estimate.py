"""Performance estimated before labels arrive (CBPE), inside Monitor.check, usable by alert rules."""

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward import Monitor, StewardConfig
from modelsteward.performance import ConfidenceCalibrator, estimate_performance

START = datetime(2026, 1, 5)
LABELS = ["yes", "no"]


def simulate(rng, n, conf_a, conf_b):
    """Predictions whose confidence is calibrated: P(correct | confidence) = confidence."""
    conf = rng.beta(conf_a, conf_b, n) * 0.5 + 0.5
    pred = rng.choice(LABELS, n, p=[0.4, 0.6])
    correct = rng.random(n) < conf
    truth = np.where(correct, pred, np.where(pred == "yes", "no", "yes"))
    return conf, pred, truth


@pytest.fixture
def mon(tmp_path):
    rng = np.random.default_rng(5)
    conf, pred, truth = simulate(rng, 5000, 4, 2)
    pq.write_table(pa.table({"confidence": conf, "prediction": pred, "label": truth}), tmp_path / "ref.parquet")
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": LABELS, "window": "day",
        "reference": {"file": str(tmp_path / "ref.parquet")},
        "alerts": [{"name": "estimate_low", "metric": "estimated.accuracy", "condition": {"kind": "below", "value": 0.70}}],
    }]})
    monitor = Monitor(cfg, store=tmp_path / "s.duckdb")
    windows = []
    for day, (a, b) in enumerate([(4, 2), (4, 2), (2, 4), (1, 5)]):  # confidence falls on days 2 and 3 (covariate shift)
        conf, pred, truth = simulate(rng, 1000, a, b)
        monitor.log_predictions([{"prediction_id": f"d{day}-{i}", "timestamp": START + timedelta(days=day, seconds=i),
                                  "prediction": str(p), "confidence": float(c)} for i, (p, c) in enumerate(zip(pred, conf, strict=True))])
        windows.append((conf, pred, truth))
    monitor.check(until=START + timedelta(days=4))
    yield monitor, windows
    monitor.close()


def test_window_estimates_equal_the_row_level_estimate(mon):
    monitor, windows = mon
    profile = monitor.reference()
    assert profile.calibration is not None and profile.calibration["rows"] == 5000
    cal = ConfidenceCalibrator.from_dict(profile.calibration["calibrator"])
    pos = ConfidenceCalibrator.from_dict(profile.calibration["positive_calibrator"])
    history = monitor.metric_history()
    for (_, _, metrics), (conf, pred, _) in zip(history, windows, strict=True):
        direct = estimate_performance(pred, conf, labels=LABELS, calibrator=cal, positive_label="yes",
                                      positive_calibrator=pos, accuracy_interval="normal")
        assert metrics["estimated.accuracy"] == pytest.approx(direct.accuracy.value, rel=1e-9)
        assert metrics["estimated_lower.accuracy"] == pytest.approx(direct.accuracy.lower, rel=1e-9)
        assert metrics["estimated.precision.yes"] == pytest.approx(direct.precision.value, rel=1e-9)


def test_estimates_track_the_realised_accuracy_and_rules_use_them(mon):
    monitor, windows = mon
    history = monitor.metric_history()
    realised = [float(np.mean(pred == truth)) for _, pred, truth in windows]
    for (_, _, m), acc in zip(history, realised, strict=True):
        assert m.get("accuracy") is None  # no label has arrived
        assert abs(m["estimated.accuracy"] - acc) < 0.04
    inside = sum(m["estimated_lower.accuracy"] <= acc <= m["estimated_upper.accuracy"] for (_, _, m), acc in zip(history, realised, strict=True))
    assert inside >= 3
    fired = {a["window_start"] for a in monitor.alerts()}
    assert fired == {ws for ws, _, m in history if m["estimated.accuracy"] < 0.70}
    assert START + timedelta(days=3) in fired and START not in fired  # the confidence collapse on day 3 shows before any label


def test_estimated_metric_names_are_checked():
    bad = {"models": [{"name": "m", "task": "binary", "labels": LABELS,
                       "alerts": [{"name": "r", "metric": "estimated.f1.maybe", "condition": {"kind": "below", "value": 0.5}}]}]}
    with pytest.raises(Exception, match="maybe"):
        StewardConfig.model_validate(bad)
    good = {"models": [{"name": "m", "task": "binary", "labels": LABELS,
                        "alerts": [{"name": "r", "metric": "estimated_lower.f1.yes", "condition": {"kind": "below", "value": 0.5}}]}]}
    StewardConfig.model_validate(good)
