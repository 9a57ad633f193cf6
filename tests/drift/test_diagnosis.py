"""The per-window diagnosis on simulated streams where the truth is known (seeded).

The reference and every window come from one generative model: the class y is drawn first
(P(y = yes) = 0.5 in the reference), then the input x1 ~ N(+1, 1) for yes and N(-1, 1) for no,
and x2 ~ N(0, 1) is noise. The model predicts with the Bayes posterior s = sigmoid(2 x1), so its
confidence max(s, 1 - s) is calibrated on the reference: P(correct | confidence) = confidence.

* covariate shift, labelling function fixed: x1 ~ N(0, 0.5), y ~ Bernoulli(sigmoid(2 x1)).
  Confidence and accuracy fall together; the label mix stays at 50 %.
* concept drift: the same inputs as the reference, the labelling flipped, y ~ Bernoulli(sigmoid(-2 x1)).
* label drift: P(y = yes) = 0.85, the class-conditional inputs unchanged (a prior shift).
"""

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward import Monitor, StewardConfig
from modelsteward.drift.diagnosis import diagnose

START = datetime(2026, 3, 2)
N = 2000
SCENARIOS = ["none", "covariate", "concept", "label", "unlabelled"]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def generate(rng, n, scenario):
    if scenario == "covariate":
        x1 = rng.normal(0.0, 0.5, n)
        y = rng.random(n) < sigmoid(2 * x1)
    else:
        y = rng.random(n) < (0.85 if scenario == "label" else 0.5)
        x1 = rng.normal(np.where(y, 1.0, -1.0), 1.0)
        if scenario == "concept":
            y = rng.random(n) < sigmoid(-2 * x1)
    x2 = rng.normal(0.0, 1.0, n)
    s = sigmoid(2 * x1)
    pred = np.where(s > 0.5, "yes", "no")
    conf = np.maximum(s, 1 - s)
    label = np.where(y, "yes", "no")
    return x1, x2, pred, conf, label


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("diagnosis")
    rng = np.random.default_rng(2026)
    x1, x2, pred, conf, label = generate(rng, 5000, "none")
    pq.write_table(pa.table({"x1": x1, "x2": x2, "prediction": pred, "confidence": conf, "label": label}), tmp / "ref.parquet")
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["yes", "no"], "window": "day",
        "features": [{"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"}],
        "reference": {"file": str(tmp / "ref.parquet")},
        "alerts": [{"name": "concept", "metric": "diagnosis.concept_drift", "condition": {"kind": "above", "value": 0.75}}],
    }]})
    mon = Monitor(cfg, store=tmp / "s.duckdb")
    truth = {}
    for day, scenario in enumerate(SCENARIOS):
        x1, x2, pred, conf, label = generate(rng, N, scenario)
        ids = [f"{scenario}-{i}" for i in range(N)]
        mon.log_predictions([{"prediction_id": pid, "timestamp": START + timedelta(days=day, seconds=20 * i), "prediction": str(p),
                              "confidence": float(c), "features": {"x1": float(a), "x2": float(b)}}
                             for i, (pid, a, b, p, c) in enumerate(zip(ids, x1, x2, pred, conf, strict=True))])
        if scenario != "unlabelled":
            mon.log_feedbacks([{"prediction_id": pid, "kind": "explicit", "label": str(t)} for pid, t in zip(ids, label, strict=True)])
        truth[scenario] = (pred, conf, label)
    report = mon.check(until=START + timedelta(days=len(SCENARIOS)))
    diagnoses = {s: d for s, d in zip(SCENARIOS, mon.diagnosis(), strict=True)}
    metrics = {s: m for s, (_, _, m) in zip(SCENARIOS, mon.metric_history(), strict=True)}
    yield mon, report, diagnoses, metrics, truth
    mon.close()


def status(diag, kind):
    return diag["findings"][kind]["status"]


def test_every_window_gets_a_diagnosis_of_every_kind(checked):
    _, _, diagnoses, _, _ = checked
    for d in diagnoses.values():
        assert set(d["findings"]) == {"data", "concept", "label", "prediction"}
        assert d["summary"]


def test_no_drift_window_is_diagnosed_clean(checked):
    _, _, diagnoses, _, _ = checked
    d = diagnoses["none"]
    assert {k: v["status"] for k, v in d["findings"].items()} == {"data": "absent", "concept": "absent", "label": "absent",
                                                                   "prediction": "absent"}
    assert d["summary"].startswith("No drift of any kind")


def test_covariate_shift_with_fixed_labelling_is_data_drift(checked):
    _, _, diagnoses, metrics, truth = checked
    d, m = diagnoses["covariate"], metrics["covariate"]
    assert status(d, "data") == "present"
    assert status(d, "concept") == "absent"
    assert status(d, "label") == "absent"
    pred, _, label = truth["covariate"]
    realised = float(np.mean(pred == label))
    assert m["accuracy"] == pytest.approx(realised)
    assert m["concept.accuracy_drop"] > 0.1  # accuracy fell, as the shift predicts ...
    assert m["concept.expected_accuracy_lower"] <= realised <= m["concept.expected_accuracy_upper"]  # ... no more than predicted
    assert "covariate shift the model handles as expected" in d["summary"]


def test_flipped_labelling_on_the_same_inputs_is_concept_drift(checked):
    _, _, diagnoses, metrics, _ = checked
    d, m = diagnoses["concept"], metrics["concept"]
    assert status(d, "concept") == "present"
    assert status(d, "data") == "absent"
    assert status(d, "label") == "absent"
    assert m["accuracy"] < m["concept.expected_accuracy_lower"]
    assert m["concept.dropped"] == 1.0 and m["diagnosis.concept_drift"] == 1.0
    assert d["summary"].startswith("Concept drift")


def test_changed_class_priors_are_label_drift(checked):
    _, _, diagnoses, metrics, truth = checked
    d = diagnoses["label"]
    assert status(d, "label") == "present"
    assert status(d, "concept") != "present"
    _, _, label = truth["label"]
    assert metrics["label"]["label_share.yes"] == pytest.approx(float(np.mean(label == "yes")))
    assert "Label drift" in d["summary"]


def test_without_labels_the_concept_question_waits_and_the_estimate_is_quoted(checked):
    _, _, diagnoses, metrics, _ = checked
    d, m = diagnoses["unlabelled"], metrics["unlabelled"]
    assert status(d, "concept") == "unknown"
    reason = d["findings"]["concept"]["reason"]
    assert "waits on labels" in reason
    assert f"{m['estimated.accuracy']:.3f}" in reason
    assert "diagnosis.concept_drift" not in m or m["diagnosis.concept_drift"] is None


def test_alert_rules_can_use_the_diagnosis(checked):
    _, report, _, _, _ = checked
    fired = {a["window_start"] for a in report.new_alerts if a["rule"] == "concept"}
    assert fired == {START + timedelta(days=SCENARIOS.index("concept"))}


def test_adwin_finds_the_change_in_the_error_stream_early_in_the_concept_window(checked):
    mon, _, _, metrics, _ = checked
    assert metrics["concept"]["concept.errors.adwin_changes"] >= 1
    assert metrics["none"]["concept.errors.adwin_changes"] == 0
    row = next(r for r in mon.drift(window_start=START + timedelta(days=2)) if r["subject"] == "errors" and r["test"] == "adwin")
    assert row["status"] == "drift"
    first = mon.store.query("SELECT details FROM drift_results WHERE subject = 'errors' AND test = 'adwin' AND window_start = ?",
                            [START + timedelta(days=2)])[0][0]
    import json

    change = json.loads(first)["change_points"][0]
    assert change["position"] < 300  # within the first 300 labelled predictions of the window
    assert change["error_rate_after"] > change["error_rate_before"]


def test_diagnose_without_calibration_reads_the_fall_against_input_movement():
    from modelsteward.drift.window_drift import DriftResult

    quiet = [DriftResult("inputs", "verdict", "no_drift", "-"), DriftResult("label", "verdict", "no_drift", "-")]
    moved = [DriftResult("inputs", "verdict", "drift", "-"), DriftResult("label", "verdict", "no_drift", "-")]
    fell = {"labelled": 400.0, "accuracy": 0.7, "concept.accuracy_drop": 0.15, "concept.accuracy_drop_p_value": 1e-6,
            "concept.dropped": 1.0}
    assert diagnose(fell, quiet).status("concept") == "present"
    assert diagnose(fell, moved).status("concept") == "possible"
    assert diagnose({**fell, "concept.dropped": 0.0}, moved).status("concept") == "absent"
