"""`steward demo` reproduces the course lab exactly.

The expected values come from the lab's own code, run verbatim here (global ``np.random.seed``,
pandas ``groupby``, ``scipy.stats.ks_2samp``): an independent second method, not the product's
generator.
"""

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelsteward.demo import run_demo


def lab_reference():
    """The lab exercise's code, as in mlops-week9.md."""
    np.random.seed(42)
    training_df = pd.DataFrame({
        "confidence": np.random.beta(8, 2, 1000),
        "category_technical": np.random.choice([0, 1], 1000, p=[0.6, 0.4]),
        "resolution_hours": np.random.exponential(4, 1000),
    })
    weeks = []
    for week in range(8):
        n = 200
        if week < 4:
            data = {"week": week + 1, "confidence": np.random.beta(8, 2, n),
                    "category_technical": np.random.choice([0, 1], n, p=[0.6, 0.4]),
                    "accuracy": np.random.choice([0, 1], n, p=[0.12, 0.88])}
        else:
            data = {"week": week + 1, "confidence": np.random.beta(6, 3, n),
                    "category_technical": np.random.choice([0, 1], n, p=[0.3, 0.7]),
                    "accuracy": np.random.choice([0, 1], n, p=[0.20, 0.80])}
        weeks.append(pd.DataFrame(data))
    production_df = pd.concat(weeks, ignore_index=True)
    weekly = production_df.groupby("week").agg(
        {"accuracy": "mean", "confidence": "mean", "category_technical": "mean"}).reset_index()
    recent = production_df[production_df["week"] >= 5]
    ks = stats.ks_2samp(training_df["confidence"], recent["confidence"])
    return training_df, weekly, recent, ks


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def lab():
    return lab_reference()


def test_weekly_table_equals_the_lab(demo, lab):
    _, weekly, _, _ = lab
    assert [w["week"] for w in demo.weekly] == list(range(1, 9))
    for row, (_, ref) in zip(demo.weekly, weekly.iterrows(), strict=True):
        assert row["accuracy"] == pytest.approx(ref["accuracy"], abs=1e-12)
        assert row["mean_confidence"] == pytest.approx(ref["confidence"], abs=1e-12)
        assert row["technical_share"] == pytest.approx(ref["category_technical"], abs=1e-12)
        assert row["volume"] == 200


def test_confidence_ks_equals_the_lab(demo, lab):
    _, _, _, ks = lab
    assert demo.ks["statistic"] == pytest.approx(ks.statistic, rel=1e-9)
    assert demo.ks["p_value"] == pytest.approx(ks.pvalue, rel=1e-9)
    assert demo.ks["n_reference"] == 1000 and demo.ks["n_current"] == 800
    assert demo.ks["drift_detected"] is True


def test_technical_rate_change_equals_the_lab(demo, lab):
    training_df, _, recent, _ = lab
    train, prod = training_df["category_technical"].mean(), recent["category_technical"].mean()
    assert demo.technical["training"] == pytest.approx(train, abs=1e-12)
    assert demo.technical["recent"] == pytest.approx(prod, abs=1e-12)
    assert demo.technical["change_pp"] == pytest.approx((prod - train) * 100, abs=1e-9)
    assert demo.technical["drift_detected"] == (abs(prod - train) > 0.1)


def test_alerts_fire_exactly_where_the_lab_rules_hold(demo, lab):
    training_df, weekly, _, _ = lab
    fired = {(a["rule"], a["week"]) for a in demo.alerts}
    acc = dict(zip(weekly["week"], weekly["accuracy"], strict=True))
    conf = dict(zip(weekly["week"], weekly["confidence"], strict=True))
    tech = dict(zip(weekly["week"], weekly["category_technical"], strict=True))
    baseline_tech = training_df["category_technical"].mean()
    assert {w for r, w in fired if r == "accuracy_drop"} == {w for w, a in acc.items() if a < 0.85}
    assert {w for r, w in fired if r == "confidence_drop"} == {w for w, c in conf.items() if c < 0.70}
    assert {w for r, w in fired if r == "distribution_shift"} == {w for w, t in tech.items() if abs(t - baseline_tech) > 0.10}
    assert not any(r == "volume_anomaly" for r, _ in fired)  # 200 a week: never outside 0.5x–2x
    below = [acc[w] < 0.85 for w in range(1, 9)]
    two_weeks = {w for w in range(2, 9) if below[w - 1] and below[w - 2]}
    assert {w for r, w in fired if r == "retrain_accuracy_below_85"} == two_weeks
    # Printed in order: by week, most severe first within a week.
    rank = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    order = [(a["week"], -rank[a["severity"]]) for a in demo.alerts]
    assert order == sorted(order)


def test_answers_are_derived_from_the_data(demo, lab):
    _, weekly, _, _ = lab
    answers = {a["question"][:2]: a["answer"] for a in demo.answers}
    assert answers["1."].startswith("Week 5.")
    before = weekly[weekly.week < 5].accuracy.mean()
    after = weekly[weekly.week >= 5].accuracy.mean()
    assert f"{before:.1%}" in answers["1."] and f"{after:.1%}" in answers["1."]
    assert answers["2."].startswith("Both. Data drift: category has drifted") and "Concept drift: accuracy fell within each" in answers["2."]
    first_week = min(w for w, a in zip(weekly.week, weekly.accuracy, strict=True) if a < 0.85)
    assert answers["3."].startswith(f"accuracy_drop (high) in week {first_week}")
    assert "retrain_accuracy_below_85 in week" in answers["4."]


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in is not None:
            self.scripts[-1][1] += data


def test_html_report_has_the_labs_three_panels(demo, lab):
    _, weekly, _, _ = lab
    html = open(demo.report, encoding="utf-8").read()
    parser = _Collect()
    parser.feed(html)
    figures = [json.loads(body) for attrs, body in parser.scripts if attrs.get("type") == "application/json"]
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert titles[:3] == ["Model Accuracy Over Time", "Model Confidence Over Time", "Input Distribution (Data Drift)"]
    accuracy = figures[0]
    assert accuracy["data"][0]["y"] == pytest.approx(list(weekly["accuracy"]), abs=1e-12)
    lines = [s for s in accuracy["layout"]["shapes"] if s["type"] == "line"]
    assert {round(s["y0"], 6) for s in lines} == {0.85, 0.88}
    assert any(s["name"].startswith("Threshold") for s in lines) and any(s["name"].startswith("Training baseline") for s in lines)
    mix = figures[2]
    assert mix["data"][0]["y"] == pytest.approx(list(weekly["category_technical"]), abs=1e-12)
    assert not re.search(r"<script[^>]+src=\"https?://", html)
