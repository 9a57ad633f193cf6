"""Retraining triggers: the lab's scenario, the guards, idempotency, schedules, the manual trigger.

Every expected week and count is computed here from the lab's draws (scipy for the KS test) or
by hand, never read back from the code under test.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from scipy import stats

from modelsteward.errors import ConfigError, RetrainError
from modelsteward.lab import DEMO_START, lab_draws, lab_events
from modelsteward.monitor import Monitor
from modelsteward.retrain.evaluate import evaluate_triggers, request_retrain
from modelsteward.retrain.requests import list_requests

from .conftest import DAY0, daily_config, log_days, write_lab

WEEK = timedelta(weeks=1)


def _lab_triggers(model: dict[str, Any]) -> None:
    model["retraining"]["triggers"] += [
        {"name": "accuracy_two_weeks", "kind": "metric", "metric": "accuracy",
         "condition": {"kind": "below", "value": 0.85}, "for": 2},
        {"name": "confidence_ks", "kind": "drift", "test": "ks", "subjects": ["confidence"], "p_value": 0.01},
    ]


def _expected_lab_weeks() -> tuple[int, int]:
    """From the lab's own draws: the week the 2-consecutive-weeks accuracy rule completes, and
    the first week whose confidence differs from training by KS p < 0.01."""
    draws = lab_draws()
    acc = [w.correct.mean() for w in draws.weeks]
    accuracy_week = next(i + 1 for i in range(1, len(acc)) if acc[i] < 0.85 and acc[i - 1] < 0.85)
    ks_week = next(w.week for w in draws.weeks if stats.ks_2samp(draws.training_confidence, w.confidence).pvalue < 0.01)
    return accuracy_week, ks_week


def _log_lab(mon: Monitor) -> Any:
    events = lab_events(lab_draws())
    mon.log_predictions(events.predictions)
    mon.log_feedbacks(events.feedback)
    return events


@pytest.fixture(scope="module")
def lab_once(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The lab logged at once and checked once, with the template's triggers and two more."""
    folder = tmp_path_factory.mktemp("lab")
    config = write_lab(folder, _lab_triggers)
    mon = Monitor(config, store=folder / "s.duckdb")
    _log_lab(mon)
    report = mon.check(until=DEMO_START + 8 * WEEK)
    yield config, mon, report
    mon.close()


def test_lab_fires_the_consecutive_weeks_trigger_in_the_week_the_data_says(lab_once: Any) -> None:
    accuracy_week, ks_week = _expected_lab_weeks()
    draws = lab_draws()
    _, mon, report = lab_once
    by_trigger = {r.trigger: r for r in list_requests(mon.store, "ticket-classifier")}
    # the template's alert rule with retrain: true and the metric trigger agree
    for name in ("accuracy_two_weeks", "retrain_accuracy_below_85"):
        req = by_trigger[name]
        assert req.as_of == DEMO_START + accuracy_week * WEEK  # the end of the week that completes the run
        windows = req.evidence["windows"]
        assert [w["start"] for w in windows] == [(DEMO_START + (accuracy_week - 2 + k) * WEEK).isoformat() for k in range(2)]
        expected_values = [draws.weeks[accuracy_week - 2 + k].correct.mean() for k in range(2)]
        assert [w["value"] for w in windows] == pytest.approx(expected_values, abs=1e-12)
        assert all(w["threshold"] == "< 0.85" for w in windows)
    drift = by_trigger["confidence_ks"]
    assert drift.as_of == DEMO_START + ks_week * WEEK
    (sig,) = drift.evidence["windows"][0]["significant"]
    expected_p = stats.ks_2samp(draws.training_confidence, draws.weeks[ks_week - 1].confidence).pvalue
    assert sig["subject"] == "confidence" and sig["p_value"] == pytest.approx(expected_p, rel=1e-9)
    # one request per episode: the low-accuracy run and the drift last to week 8, each asked once
    assert sorted(by_trigger) == ["accuracy_two_weeks", "confidence_ks", "retrain_accuracy_below_85", "retrain_confidence_drift"]
    assert {o.request_id for o in report.retrain_requests} == {r.request_id for r in by_trigger.values()}
    # labels up to the request: every lab prediction is labelled within minutes or hours of it
    events = lab_events(draws)
    until = by_trigger["accuracy_two_weeks"].as_of
    label_ts: dict[str, datetime] = {}
    for f in events.feedback:
        if f["kind"] in ("explicit", "expert") or f.get("action") == "accepted":
            label_ts[f["prediction_id"]] = min(label_ts.get(f["prediction_id"], f["timestamp"]), f["timestamp"])
    assert by_trigger["accuracy_two_weeks"].labels_total == sum(t <= until for t in label_ts.values())


def test_the_same_evidence_never_makes_a_second_request(lab_once: Any) -> None:
    _, mon, _ = lab_once
    first = [(r.request_id, r.dedup_key) for r in list_requests(mon.store)]
    again = mon.check(until=DEMO_START + 8 * WEEK, everything=True)
    assert again.retrain_requests == []
    outcomes = evaluate_triggers(mon, until=DEMO_START + 8 * WEEK)
    assert outcomes and {o.status for o in outcomes} == {"exists"}
    assert [(r.request_id, r.dedup_key) for r in list_requests(mon.store)] == first


def test_week_by_week_checks_make_the_same_requests_as_one_check(lab_once: Any, opened, tmp_path: Path) -> None:
    """As in `steward demo`: data arrives a week at a time and check runs after each week."""
    accuracy_week, _ = _expected_lab_weeks()
    config, one_shot, _ = lab_once
    events = lab_events(lab_draws())
    week_of = {p["prediction_id"]: (p["timestamp"] - DEMO_START).days // 7 + 1 for p in events.predictions}
    mon = Monitor(config, store=tmp_path / "weekly.duckdb")
    opened.append(mon)
    made_in: dict[str, int] = {}
    for week in range(1, 9):
        mon.log_predictions([p for p in events.predictions if week_of[p["prediction_id"]] == week])
        mon.log_feedbacks([f for f in events.feedback if week_of[f["prediction_id"]] == week])
        for o in mon.check(until=DEMO_START + week * WEEK).retrain_requests:
            made_in[o.trigger] = week
    assert made_in["accuracy_two_weeks"] == accuracy_week
    assert {r.request_id for r in list_requests(mon.store)} == {r.request_id for r in list_requests(one_shot.store)}


METRIC = {"name": "acc_low", "kind": "metric", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}}
PATTERN = [0.5, 1.0] * 5  # a low day, a good day: an episode of one window every other day


def _expected(pattern: list[float], *, cooldown: timedelta, min_labels: int, per_day: int = 10) -> list[datetime]:
    """Request times by hand: each low day is an episode; fire when the guards allow."""
    made: list[datetime] = []
    for d, acc in enumerate(pattern):
        if acc >= 0.85:
            continue
        as_of = DAY0 + timedelta(days=d + 1)
        prev = made[-1] if made else None
        labels = per_day * (d + 1) - (per_day * (prev - DAY0).days if prev else 0)
        if (prev is None or as_of - prev >= cooldown) and labels >= min_labels:
            made.append(as_of)
    return made


@pytest.mark.parametrize("cooldown,min_labels", [("0m", 0), ("3d", 0), ("0m", 25), ("2d", 15)])
def test_cooldown_and_minimum_new_labels_keep_a_trigger_from_repeating(opened, tmp_path: Path, cooldown: str, min_labels: int) -> None:
    from modelsteward.config import parse_duration

    cfg = daily_config({"triggers": [METRIC], "cooldown": cooldown, "min_new_labels": min_labels, "export_dir": str(tmp_path / "x")})
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    opened.append(mon)
    log_days(mon, PATTERN)
    mon.check(until=DAY0 + timedelta(days=len(PATTERN)))
    got = [r.as_of for r in list_requests(mon.store)]
    assert got == _expected(PATTERN, cooldown=parse_duration(cooldown), min_labels=min_labels)
    assert len(got) >= 2 or (cooldown, min_labels) != ("0m", 0)
    suppressed = [o for o in evaluate_triggers(mon, until=DAY0 + timedelta(days=10)) if o.status == "suppressed"]
    assert len(suppressed) == sum(a < 0.85 for a in PATTERN) - len(got)


def test_a_suppressed_run_fires_later_in_the_same_run_once_enough_labels_arrived(opened, tmp_path: Path) -> None:
    trigger = {**METRIC, "for": 2}
    cfg = daily_config({"triggers": [trigger], "cooldown": "0m", "min_new_labels": 35, "export_dir": str(tmp_path / "x")})
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    opened.append(mon)
    log_days(mon, [0.5, 0.5, 0.5, 0.5, 1.0])  # the run completes on day 2 with 20 labels; 40 by day 4
    mon.check(until=DAY0 + timedelta(days=5))
    (req,) = list_requests(mon.store)
    assert req.as_of == DAY0 + timedelta(days=4) and req.new_labels == 40
    assert [w["start"] for w in req.evidence["windows"]] == [(DAY0 + timedelta(days=k)).isoformat() for k in (2, 3)]
    assert req.evidence["run_started"] == DAY0.isoformat() and req.evidence["run_length"] == 4


def test_schedule_fires_once_per_tick_and_not_before_the_data(opened, tmp_path: Path) -> None:
    cfg = daily_config({"triggers": [{"name": "quarterly", "kind": "schedule", "cron": "quarterly"}],
                        "min_new_labels": 1, "export_dir": str(tmp_path / "x")})
    mon = Monitor(cfg, store=tmp_path / "s.duckdb")
    opened.append(mon)
    start = datetime(2026, 3, 23)
    log_days(mon, [1.0] * 21, start=start)  # 23 March to 12 April
    mon.check(until=datetime(2026, 3, 31))
    assert list_requests(mon.store) == []  # 1 January is before the first prediction
    mon.check(until=datetime(2026, 4, 13))
    mon.check(until=datetime(2026, 6, 30))
    (req,) = list_requests(mon.store)
    assert (req.kind, req.as_of, req.evidence["tick"]) == ("schedule", datetime(2026, 4, 1), "2026-04-01T00:00:00")
    assert req.labels_total == 10 * (datetime(2026, 4, 1) - start).days  # every prediction before 1 April
    rows = pq.read_table(req.export_path).num_rows
    assert rows == req.labels_total


def test_manual_trigger_needs_a_reason_and_a_retraining_section(opened, tmp_path: Path) -> None:
    guarded = daily_config({"export_dir": str(tmp_path / "x"), "cooldown": "30d", "min_new_labels": 10_000})
    mon = Monitor(guarded, store=tmp_path / "s.duckdb")
    opened.append(mon)
    log_days(mon, [1.0, 1.0])
    with pytest.raises(RetrainError, match="needs a reason") as err:
        request_retrain(mon, reason="  ")
    assert "--reason" in (err.value.hint or "")
    now = DAY0 + timedelta(days=5)
    req = request_retrain(mon, reason="new product line launched", requested_by="ana", now=now)
    again = request_retrain(mon, reason="second change", requested_by="ana", now=now + timedelta(hours=1))
    assert (req.kind, req.trigger, req.as_of, req.requested_by) == ("manual", "manual", now, "ana")
    assert req.evidence["reason"] == "new product line launched"
    assert (req.labels_total, req.new_labels, again.new_labels) == (20, 20, 0)  # manual requests skip the guards
    assert req.request_id != again.request_id
    bare = Monitor(daily_config({}).model_copy(update={"models": [daily_config({}).models[0].model_copy(update={"retraining": None})]}),
                   store=tmp_path / "bare.duckdb")
    opened.append(bare)
    with pytest.raises(ConfigError, match="no `retraining` section") as err2:
        request_retrain(bare, reason="x")
    assert "steward.yaml" in (err2.value.hint or "")
    assert evaluate_triggers(bare) == []


def test_drift_trigger_reads_raw_or_adjusted_p_values_of_the_watched_subjects(opened, tmp_path: Path) -> None:
    import json as _json

    from modelsteward.config import DriftTrigger
    from modelsteward.retrain.triggers import drift_candidates

    mon = Monitor(daily_config({}), store=tmp_path / "s.duckdb")
    opened.append(mon)
    days = [DAY0 + timedelta(days=k) for k in range(5)]
    #          day:         0      1      2      3      4 (day 3 missing: a gap)
    raw = {"confidence": [0.5, 0.004, 0.002, None, 0.001], "length": [0.001, 0.2, 0.3, None, 0.4]}
    adjusted = {"confidence": [0.9, 0.02, 0.004, None, 0.003], "length": [0.003, 0.4, 0.5, None, 0.6]}
    with mon.store.transaction() as con:
        for k, day in enumerate(days):
            for subject in raw:
                if raw[subject][k] is None:
                    continue
                con.execute("INSERT INTO drift_results (model, window_start, window_end, subject, test, statistic, p_value, effect_size, "
                            "status, reading, n_reference, n_current, details, computed_at) "
                            "VALUES (?, ?, ?, ?, 'ks', 0.3, ?, 0.3, 'drift', '', 100, 100, ?, ?)",
                            ["tickets", day, day + timedelta(days=1), subject, raw[subject][k],
                             _json.dumps({"p_adjusted": adjusted[subject][k]}), DAY0]).fetchall()

    def fired(**kw: Any) -> list[tuple[str, datetime]]:
        t = DriftTrigger.model_validate({"name": "d", "kind": "drift", **kw})
        return [(c.episode, c.as_of) for c in drift_candidates(t, mon.store, "tickets")]

    end = [d + timedelta(days=1) for d in days]
    iso = [d.isoformat() for d in days]
    assert fired() == [(iso[0], end[0]), (iso[0], end[1]), (iso[0], end[2]), (iso[4], end[4])]  # any subject, raw p < 0.01
    assert fired(subjects=["confidence"]) == [(iso[1], end[1]), (iso[1], end[2]), (iso[4], end[4])]
    assert fired(subjects=["confidence"], adjusted=True) == [(iso[2], end[2]), (iso[4], end[4])]
    assert fired(subjects=["confidence"], **{"for": 2}) == [(iso[1], end[2])]  # the gap on day 3 ends the run
    assert fired(p_value=0.0005) == []
