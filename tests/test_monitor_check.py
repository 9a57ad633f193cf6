"""``Monitor.check``: windows measured, rules evaluated, alerts stored once; and the course lab.

Alerts are checked against conditions computed independently from the logged rows, so a rule
that fires where its condition does not hold (the course pseudocode's defect: every rule
always fired) fails these tests.
"""

from __future__ import annotations

import shutil
import statistics
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from modelsteward.config import SEVERITY_RANK, StewardConfig
from modelsteward.lab import DEMO_START, lab_draws, lab_events
from modelsteward.monitor import Monitor

D1, D2, D3, D4, D5 = (datetime(2026, 1, 5) + timedelta(days=i) for i in range(5))
DAY = timedelta(days=1)

RULES = [
    {"name": "errors", "metric": "error_rate", "condition": {"kind": "above", "value": 0.05}, "severity": "critical",
     "owner": "sre", "runbook": "docs/runbooks.md#errors", "response_sla": "1h", "action": "Check the logs"},
    {"name": "acc_low", "metric": "accuracy", "condition": {"kind": "below", "value": 0.8}, "severity": "high"},
    {"name": "acc_two_days", "metric": "accuracy", "condition": {"kind": "below", "value": 0.8}, "for": 2,
     "severity": "high", "retrain": True},
    {"name": "latency_high", "metric": "latency_p95", "condition": {"kind": "above", "value": 500}, "severity": "medium"},
    {"name": "conf_drop", "metric": "mean_confidence", "condition": {"kind": "change", "direction": "down", "by_more_than": 0.1},
     "severity": "medium"},
    {"name": "volume_band", "metric": "volume", "condition": {"kind": "outside_band", "lower": 0.5, "upper": 1.5},
     "baseline": "trailing", "trailing_windows": 2, "severity": "low"},
    {"name": "volume_fixed", "metric": "volume", "condition": {"kind": "change", "direction": "either", "by_more_than": 30,
     "relative": False}, "baseline": 40, "severity": "info"},
]


def make_monitor(tmp_path: Path, *, reference: bool = True, rules: list[dict[str, Any]] = RULES, store: str = ":memory:") -> Monitor:
    model: dict[str, Any] = {"name": "tickets", "task": "binary", "labels": ["yes", "no"], "window": "day",
                             "owner": "ml-team", "alerts": rules}
    if reference:
        pq.write_table(pa.table({"confidence": [0.9] * 100, "prediction": ["yes"] * 100}), tmp_path / "ref.parquet")
        model["reference"] = {"file": str(tmp_path / "ref.parquet")}
    return Monitor(StewardConfig.model_validate({"models": [model]}), store=store)


def log_day(mon: Monitor, day: datetime, *, answered: int, right: int, errors: int = 0, slow: int = 0,
            confidence: float = 0.9) -> None:
    """``answered`` predictions (``right`` of them confirmed, the rest corrected), ``errors`` failed calls."""
    rows, feedback = [], []
    for i in range(answered + errors):
        pid = f"{day:%m%d}-{i:03d}"
        ts = day + timedelta(minutes=10 * i)
        if i < answered:
            rows.append({"prediction_id": pid, "timestamp": ts, "prediction": "yes", "confidence": confidence,
                         "latency_ms": 1000.0 if i < slow else 100.0})
            feedback.append({"prediction_id": pid, "kind": "implicit", "action": "accepted"} if i >= answered - right
                            else {"prediction_id": pid, "kind": "explicit", "label": "no"})
        else:
            rows.append({"prediction_id": pid, "timestamp": ts, "prediction": None, "confidence": None,
                         "latency_ms": 100.0, "error": "timeout"})
    mon.log_predictions(rows)
    mon.log_feedbacks(feedback)


def troubled_days(mon: Monitor) -> None:
    log_day(mon, D1, answered=40, right=36)                    # all well
    log_day(mon, D2, answered=40, right=28, slow=4)            # accuracy 0.7, p95 1000 ms
    log_day(mon, D3, answered=37, right=26, errors=3, confidence=0.7)  # accuracy 0.70, errors 7.5%, confidence down 22%
    # D4: no predictions at all (an outage): volume 0, far outside both volume rules' bands
    log_day(mon, D5, answered=100, right=70)                   # volume 100: 5x the trailing median of (40, 0)


EXPECTED = {
    ("errors", D3), ("acc_low", D2), ("acc_low", D3), ("acc_low", D5), ("acc_two_days", D3),
    ("latency_high", D2), ("conf_drop", D3), ("volume_band", D4), ("volume_fixed", D4), ("volume_band", D5), ("volume_fixed", D5),
}


def test_alerts_fire_exactly_where_conditions_hold(tmp_path: Path, any_store: str) -> None:  # on DuckDB and on PostgreSQL
    mon = make_monitor(tmp_path, store=any_store)
    troubled_days(mon)
    report = mon.check(until=D5 + DAY)
    assert report.windows == [D1, D2, D3, D4, D5]
    assert {(a["rule"], a["window_start"]) for a in report.new_alerts} == EXPECTED
    assert report.worst_severity() == "critical"
    stored = mon.alerts()
    assert {(a["rule"], a["window_start"]) for a in stored} == EXPECTED
    assert len(stored) == len(EXPECTED)
    by_key = {(a["rule"], a["window_start"]): a for a in stored}

    err = by_key[("errors", D3)]
    assert err["value"] == pytest.approx(3 / 40)
    assert err["window_end"] == D3 + DAY
    assert err["metric"] == "error_rate" and "0.05" in err["threshold"]
    assert (err["severity"], err["owner"], err["runbook"], err["response_sla"], err["action"]) == (
        "critical", "sre", "docs/runbooks.md#errors", "1h", "Check the logs")
    assert by_key[("acc_low", D3)]["value"] == pytest.approx(26 / 37)
    assert by_key[("acc_low", D3)]["owner"] == "ml-team"  # the model's owner when the rule names none
    assert by_key[("acc_two_days", D3)]["retrain"] is True
    assert by_key[("latency_high", D2)]["value"] == pytest.approx(np.quantile([100.0] * 36 + [1000.0] * 4, 0.95))
    conf = by_key[("conf_drop", D3)]
    assert conf["value"] == pytest.approx(0.7) and conf["baseline"] == pytest.approx(0.9)
    vol = by_key[("volume_band", D5)]
    assert (vol["value"], vol["baseline"]) == (100.0, statistics.median([40.0, 0.0]))
    assert by_key[("volume_band", D4)]["value"] == 0.0
    assert by_key[("volume_fixed", D5)]["baseline"] == 40.0

    # evaluations cover every rule in every window, and fire only where the condition holds
    assert len(report.evaluations) == len(RULES) * 5
    for e in report.evaluations:
        assert e.fired == ((e.rule, e.window_start) in EXPECTED)
        if e.fired:
            assert e.holds is True


def test_alerts_are_ordered_by_window_then_severity(tmp_path: Path, any_store: str) -> None:  # on DuckDB and on PostgreSQL
    mon = make_monitor(tmp_path, store=any_store)
    troubled_days(mon)
    mon.check(until=D5 + DAY)
    alerts = mon.alerts()
    keys = [(a["window_start"], -SEVERITY_RANK[a["severity"]]) for a in alerts]
    assert keys == sorted(keys)
    assert [a["rule"] for a in alerts if a["window_start"] == D3] == ["errors", "acc_low", "acc_two_days", "conf_drop"]
    assert [a["rule"] for a in alerts if a["window_start"] == D5] == ["acc_low", "volume_band", "volume_fixed"]
    high = mon.alerts(min_severity="high")
    assert {(a["rule"], a["window_start"]) for a in high} == {k for k in EXPECTED if k[0] in ("errors", "acc_low", "acc_two_days")}


def test_alerts_are_stored_once_per_rule_and_window(tmp_path: Path, any_store: str) -> None:  # on DuckDB and on PostgreSQL
    mon = make_monitor(tmp_path, store=any_store)
    troubled_days(mon)
    mon.check(until=D5 + DAY)
    again = mon.check(until=D5 + DAY)
    assert again.windows == [] and again.new_alerts == []
    everything = mon.check(until=D5 + DAY, everything=True)
    assert everything.windows == [D1, D2, D3, D4, D5]
    assert everything.new_alerts == []
    assert len(mon.alerts()) == len(EXPECTED)
    count = mon.store.query("SELECT count(*), count(DISTINCT (rule, window_start)) FROM alerts")[0]
    assert count == (len(EXPECTED), len(EXPECTED))


def test_late_feedback_fires_alerts_for_an_earlier_window(tmp_path: Path, any_store: str) -> None:  # on DuckDB and on PostgreSQL
    mon = make_monitor(tmp_path, store=any_store)
    troubled_days(mon)
    mon.check(until=D5 + DAY)
    # day 1's confirmed predictions are corrected late: accuracy 36/40 -> 20/40
    mon.log_feedbacks([{"prediction_id": f"{D1:%m%d}-{i:03d}", "kind": "expert", "label": "no"} for i in range(20, 36)])
    assert mon.due_windows(until=D5 + DAY) == [D1]
    report = mon.check(until=D5 + DAY)
    assert report.windows == [D1]
    assert {(a["rule"], a["window_start"]) for a in report.new_alerts} == {("acc_low", D1), ("acc_two_days", D2)}
    assert {r["window_start"]: r["accuracy"] for r in mon.metrics().to_pylist()}[D1] == pytest.approx(0.5)
    assert len(mon.alerts()) == len(EXPECTED) + 2


def test_no_rule_fires_where_no_condition_holds(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    for day in (D1, D2, D3, D4, D5):
        log_day(mon, day, answered=40, right=36, slow=1)  # p95 of 39 x 100 ms and 1 x 1000 ms is 100 ms
    report = mon.check(until=D5 + DAY)
    assert report.windows == [D1, D2, D3, D4, D5]
    assert report.new_alerts == [] and mon.alerts() == []
    assert report.worst_severity() is None
    assert len(report.evaluations) == 5 * len(RULES)
    assert not any(e.fired for e in report.evaluations)
    stored = mon.store.query("SELECT count(*), count(*) FILTER (WHERE fired) FROM rule_evaluations")[0]
    assert stored == (5 * len(RULES), 0)


def test_rules_without_a_baseline_do_not_fire(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path, reference=False)
    log_day(mon, D1, answered=40, right=36, confidence=0.1)  # confidence far below anything
    report = mon.check(until=D2)
    assert "conf_drop" not in {a["rule"] for a in report.new_alerts}
    (e,) = [e for e in report.evaluations if e.rule == "conf_drop"]
    assert (e.holds, e.fired, e.baseline) == (None, False, None)


def test_no_data_no_alerts(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    report = mon.check(until=D5)
    assert report.windows == [] and report.new_alerts == [] and mon.alerts() == []


def test_windows_not_over_are_not_checked(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    troubled_days(mon)
    report = mon.check(until=D3 + timedelta(hours=23))
    assert report.windows == [D1, D2]
    assert {w for _, w in ((a["rule"], a["window_start"]) for a in mon.alerts())} == {D2}


# -- the course lab -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> tuple[Monitor, Any, Any]:
    folder = tmp_path_factory.mktemp("lab")
    draws = lab_draws()
    events = lab_events(draws)
    pq.write_table(pa.table(events.training), folder / "training.parquet")
    shutil.copy(resources.files("modelsteward") / "templates" / "steward.yaml", folder / "steward.yaml")
    mon = Monitor(folder / "steward.yaml", store=":memory:")
    mon.log_predictions(events.predictions)
    mon.log_feedbacks(events.feedback)
    report = mon.check(until=DEMO_START + timedelta(weeks=8))
    yield mon, draws, report
    mon.close()


def test_lab_weekly_numbers_equal_the_labs(lab: tuple[Monitor, Any, Any]) -> None:
    mon, draws, report = lab
    assert report.windows == [DEMO_START + timedelta(weeks=i) for i in range(8)]
    rows = mon.metrics().to_pylist()
    assert len(rows) == 8
    for row, week in zip(rows, draws.weeks, strict=True):
        assert row["window_start"] == DEMO_START + timedelta(weeks=week.week - 1)
        assert abs(row["accuracy"] - week.correct.mean()) <= 1e-12
        assert abs(row["mean_confidence"] - week.confidence.mean()) <= 1e-12
        assert abs(row["feature.category.share.technical"] - week.technical.mean()) <= 1e-12
        assert abs(row["low_confidence_rate"] - (week.confidence < 0.6).mean()) <= 1e-12
        assert row["volume"] == len(week.correct)
        assert row["label_coverage"] == 1.0


def test_lab_reference_is_the_training_draws(lab: tuple[Monitor, Any, Any]) -> None:
    mon, draws, _ = lab
    profile = mon.reference()
    assert profile.n_rows == len(draws.training_confidence)
    assert abs(profile.baselines["mean_confidence"] - draws.training_confidence.mean()) <= 1e-12
    assert abs(profile.baselines["feature.category.share.technical"] - draws.training_technical.mean()) <= 1e-12
    assert profile.baselines["accuracy"] == 0.88  # declared in steward.yaml


def test_lab_confidence_drift_equals_scipy(lab: tuple[Monitor, Any, Any]) -> None:
    mon, draws, _ = lab
    rows = mon.metrics().to_pylist()
    for row, week in zip(rows, draws.weeks, strict=True):
        expected = stats.ks_2samp(draws.training_confidence, week.confidence)
        np.testing.assert_allclose(row["drift.confidence.ks_statistic"], expected.statistic, rtol=1e-9)
        np.testing.assert_allclose(row["drift.confidence.ks_p_value"], expected.pvalue, rtol=1e-9)


def test_lab_alerts_fire_exactly_where_their_conditions_hold(lab: tuple[Monitor, Any, Any]) -> None:
    """Each of the template's rules, recomputed from the lab's draws (and scipy for the drift test)."""
    mon, draws, _ = lab
    events = lab_events(draws)
    weeks = draws.weeks
    starts = [DEMO_START + timedelta(weeks=i) for i in range(8)]
    acc = [w.correct.mean() for w in weeks]
    conf = [w.confidence.mean() for w in weeks]
    tech = [w.technical.mean() for w in weeks]
    ks_p = [stats.ks_2samp(draws.training_confidence, w.confidence).pvalue for w in weeks]
    latency = np.array([p["latency_ms"] for p in events.predictions]).reshape(8, -1)
    train_conf, train_tech = draws.training_confidence.mean(), draws.training_technical.mean()
    drifted = {row["window_start"]: row["drift.inputs_drifted"] for row in mon.metrics().to_pylist()}
    expected: set[tuple[str, datetime]] = set()
    for i, s in enumerate(starts):
        checks = {
            "accuracy_drop": acc[i] < 0.85,
            "confidence_drop": conf[i] < 0.70,
            "distribution_shift": abs(tech[i] - train_tech) > 0.10,
            "volume_anomaly": False,  # 200 a week, every week
            "volume_off_baseline": False,
            "latency_p95_high": np.quantile(latency[i], 0.95) > 500,
            "accuracy_relative_drop": acc[i] < 0.88 * 0.95,
            "confidence_relative_drop": conf[i] < train_conf * 0.9,
            "distribution_tests_failing": drifted[s] > 0,
            "error_rate_high": False,
            "retrain_accuracy_below_85": acc[i] < 0.85 and i > 0 and acc[i - 1] < 0.85,
            "retrain_confidence_drift": ks_p[i] < 0.01,
        }
        assert set(checks) == {r.name for r in mon.model().alerts}
        expected |= {(rule, s) for rule, holds in checks.items() if holds}
    got = {(a["rule"], a["window_start"]) for a in mon.alerts()}
    assert got == expected
    # the lab's story: the first alert is the accuracy drop of week 1; drift from week 5 on
    assert ("accuracy_drop", starts[0]) in got
    assert {s for r, s in got if r == "retrain_confidence_drift"} == set(starts[4:])
    assert {s for r, s in got if r == "distribution_shift"} == set(starts[4:])
    assert not any(r.startswith("volume") or r == "error_rate_high" for r, _ in got)


def test_metrics_table_has_every_metric_of_every_window(tmp_path: Path) -> None:
    mon = make_monitor(tmp_path)
    mon.log_predictions([{"prediction_id": f"n{i}", "timestamp": D1 + timedelta(minutes=i), "prediction": "yes",
                          "confidence": 0.9} for i in range(5)])  # day 1: no labels, no errors
    troubled_days_from_d2(mon)
    mon.check(until=D5 + DAY)
    table = mon.metrics()
    assert table.column_names[:2] == ["window_start", "window_end"]
    rows = {r["window_start"]: r for r in table.to_pylist()}
    assert rows[D1]["accuracy"] is None and rows[D1]["error_type_share.timeout"] is None
    assert rows[D2]["accuracy"] == pytest.approx(0.7)
    assert rows[D3]["error_type_share.timeout"] == pytest.approx(3 / 40)
    assert table.num_rows == 5
    assert rows[D4]["volume"] == 0 and rows[D4]["accuracy"] is None
    assert mon.metrics(start=D3).column("window_start").to_pylist() == [D3, D4, D5]
    assert mon.metrics(start=D4 + 5 * DAY).num_rows == 0


def troubled_days_from_d2(mon: Monitor) -> None:
    log_day(mon, D2, answered=40, right=28, slow=4)
    log_day(mon, D3, answered=37, right=26, errors=3, confidence=0.7)
    log_day(mon, D5, answered=100, right=70)


def test_until_may_be_timezone_aware(tmp_path: Path) -> None:
    from datetime import UTC, timezone

    mon = make_monitor(tmp_path)
    troubled_days(mon)
    # 2026-01-08 01:00 at UTC+2 is 2026-01-07 23:00 UTC: day 3 is not over yet
    plus_two = timezone(timedelta(hours=2))
    assert mon.due_windows(until=datetime(2026, 1, 8, 1, 0, tzinfo=plus_two)) == [D1, D2]
    assert mon.check(until=(D3 + DAY).replace(tzinfo=UTC)).windows == [D1, D2, D3]


def test_data_arriving_during_a_check_leaves_its_window_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelsteward.monitor as monitor_module

    mon = make_monitor(tmp_path)
    log_day(mon, D1, answered=10, right=9)
    real = monitor_module.compute_window_metrics
    arrived: list[str] = []

    def compute_then_a_prediction_arrives(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        if not arrived:  # logged after the window's rows were read, before they are saved
            arrived.append(mon.log_prediction(prediction_id="late", prediction="yes", confidence=0.9,
                                              timestamp=D1 + timedelta(hours=23)))
        return out

    monkeypatch.setattr(monitor_module, "compute_window_metrics", compute_then_a_prediction_arrives)
    assert mon.check(until=D2).windows == [D1]
    assert arrived == ["late"]
    assert mon.due_windows(until=D2) == [D1]
    monkeypatch.setattr(monitor_module, "compute_window_metrics", real)
    mon.check(until=D2)
    assert mon.metrics().column("volume").to_pylist() == [11.0]
