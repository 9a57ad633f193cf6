"""Incidents: deduplication by fingerprint, automatic and manual resolution, acknowledgement,
every transition stored with its reason, one notification per transition."""

from __future__ import annotations

from datetime import timedelta

import pytest

from modelsteward.alerts.incidents import alert_labels, fingerprint, identity_labels
from modelsteward.errors import IncidentStateError, NotFoundError
from modelsteward.store.duckdb_store import DuckDBStore

from .helpers import HIGH, LOW, START, WEEK, Driver, config


def test_the_same_problem_firing_again_updates_one_incident() -> None:
    d = Driver(config())
    for v in (LOW, LOW, LOW):
        d.window(v)
    [only] = d.incidents()
    assert only["status"] == "open" and only["fire_count"] == 3
    assert only["window_start"] == START + 2 * WEEK and only["value"] == pytest.approx(LOW)
    # no one acknowledged within the 1h SLA: at the next pass it went up both remaining steps
    assert d.capture.kinds() == ["firing", "escalated", "escalated"]
    n = d.capture.sent[0]
    assert (n.severity, n.owner, n.runbook, n.response_sla, n.threshold) == ("high", "ml-team", "docs/runbooks.md#acc", "1h", 0.85)
    assert dict(n.labels) == {"model": "tickets", "rule": "acc", "severity": "high", "owner": "ml-team"}
    assert (n.window_start, n.window_end) == (START, START + WEEK)
    assert n.fingerprint == only["fingerprint"] == fingerprint({"model": "tickets", "rule": "acc"})


def test_clearing_resolves_the_incident_and_a_new_occurrence_opens_a_new_one() -> None:
    d = Driver(config(rule={"response_sla": None}))
    for v in (LOW, LOW, HIGH, HIGH, LOW):
        d.window(v)
    first, second = sorted(d.incidents(), key=lambda r: r["opened_at"])
    assert first["status"] == "resolved" and first["resolved_by"] is None
    assert first["resolved_at"] == d.end(2) + timedelta(minutes=5)
    assert second["status"] == "open" and second["fire_count"] == 1
    assert d.capture.kinds() == ["firing", "resolved", "firing"]
    assert [n.incident_id for n in d.capture.sent] == [first["incident_id"], first["incident_id"], second["incident_id"]]


def test_every_transition_is_stored_with_its_reason() -> None:
    d = Driver(config(rule={"for": 2}))
    for v in (LOW, LOW, HIGH):
        d.window(v)
    [i] = d.incidents()
    detail = d.engine.incident(i["incident_id"])
    assert [e["kind"] for e in detail["events"]] == ["opened", "notified_firing", "resolved", "notified_resolved"]
    moves = [(t["from_state"], t["to_state"]) for t in d.engine.transitions(fingerprint=i["fingerprint"])]
    assert moves == [("normal", "pending"), ("pending", "firing"), ("firing", "resolved")]
    assert all(t["reason"] for t in d.engine.transitions())
    [state] = d.engine.instances()
    assert state["state"] == "resolved" and state["last_window_start"] == START + 2 * WEEK


def test_reprocessing_the_same_windows_changes_nothing() -> None:
    d = Driver(config())
    d.window(LOW)
    model = d.cfg.models[0]
    from modelsteward.alerts.rules import evaluate_rule

    evals = evaluate_rule(model.alerts[0], d.history, {})
    assert d.engine.process(model, evals, now=d.end(0) + timedelta(hours=0.5)) == []
    assert len(d.incidents()) == 1 and d.incidents()[0]["fire_count"] == 1


def test_acknowledge_records_who_when_and_why_and_notifies_once() -> None:
    d = Driver(config())
    d.window(LOW)
    iid = d.incidents()[0]["incident_id"]
    at = d.end(0) + timedelta(minutes=20)
    row = d.engine.acknowledge(iid, by="ana", comment="looking at the feature pipeline", now=at)
    assert (row["status"], row["acknowledged_by"], row["acknowledged_at"], row["ack_comment"]) == (
        "acknowledged", "ana", at, "looking at the feature pipeline")
    assert d.capture.kinds() == ["firing", "acknowledged"]
    ack = d.capture.sent[-1]
    assert (ack.actor, ack.comment, ack.at) == ("ana", "looking at the feature pipeline", at)
    d.engine.acknowledge(iid, by="ana", now=at + timedelta(minutes=1))  # again: no second notification
    assert d.capture.kinds() == ["firing", "acknowledged"]
    d.window(LOW)                                   # still firing: the acknowledged incident is updated
    assert d.incidents()[0]["status"] == "acknowledged" and d.incidents()[0]["fire_count"] == 2
    d.window(HIGH)
    assert d.capture.kinds() == ["firing", "acknowledged", "resolved"]


def test_resolve_by_hand_then_still_firing_opens_a_new_incident() -> None:
    d = Driver(config())
    d.window(LOW)
    iid = d.incidents()[0]["incident_id"]
    row = d.engine.resolve(iid, by="ana", comment="rolled back", now=d.end(0) + timedelta(hours=2))
    assert (row["status"], row["resolved_by"], row["resolve_comment"]) == ("resolved", "ana", "rolled back")
    with pytest.raises(IncidentStateError, match="resolved .* by ana"):
        d.engine.acknowledge(iid, by="bo", now=d.end(0) + timedelta(hours=3))
    d.window(LOW)
    incidents = d.incidents()
    assert len(incidents) == 2
    newer = [i for i in incidents if i["incident_id"] != iid][0]
    assert newer["status"] == "open"
    events = d.engine.incident(newer["incident_id"])["events"]
    assert "resolved by hand" in events[0]["reason"]
    assert d.capture.kinds() == ["firing", "resolved", "firing"]
    assert d.capture.sent[1].actor == "ana"


def test_unknown_incident_says_how_to_find_one() -> None:
    d = Driver(config())
    with pytest.raises(NotFoundError) as info:
        d.engine.acknowledge("inc-nope", by="ana", now=START)
    assert "steward incidents" in (info.value.hint or "")


def test_fingerprint_uses_the_rules_labels_but_not_severity_or_owner() -> None:
    a = config(rule={"labels": {"team": "support"}}).models[0]
    b = config(rule={"labels": {"team": "support"}, "severity": "low"}, owner="other").models[0]
    c = config(rule={"labels": {"team": "search"}}).models[0]
    assert fingerprint(identity_labels(a, a.alerts[0])) == fingerprint(identity_labels(b, b.alerts[0]))
    assert fingerprint(identity_labels(a, a.alerts[0])) != fingerprint(identity_labels(c, c.alerts[0]))
    assert alert_labels(a, a.alerts[0]) == {"team": "support", "model": "tickets", "rule": "acc", "severity": "high", "owner": "ml-team"}


def test_no_data_alert_opens_an_incident_that_data_resolves() -> None:
    d = Driver(config(rule={"no_data": "alert"}))
    d.window(HIGH)
    d.window(None)
    [i] = d.incidents()
    assert i["alert_state"] == "no_data" and "no value of accuracy" in i["summary"]
    d.window(HIGH)
    assert d.incidents()[0]["status"] == "resolved"
    assert d.capture.kinds() == ["firing", "resolved"]
    assert d.capture.sent[0].value is None


def test_flapping_holds_one_incident_open_and_quiet() -> None:
    d = Driver(config(rule={"response_sla": None}, alerting={"flapping": {"max_flips": 2, "period": "10w"}}))
    for v in (LOW, HIGH, LOW, HIGH, LOW, HIGH):
        d.window(v)
    # flips: w0 on, w1 off (resolved, notified), w2 on (a second incident, notified) — the 3rd flip
    # marks it flapping and holds it firing; w3..w5 change nothing people see.
    assert d.capture.kinds() == ["firing", "resolved", "firing"]
    incidents = sorted(d.incidents(), key=lambda r: r["opened_at"])
    assert [i["status"] for i in incidents] == ["resolved", "open"]
    [state] = d.engine.instances()
    assert state["flapping"] and state["state"] == "firing" and state["raw_state"] == "resolved"
    kinds = [e["kind"] for e in d.engine.incident(incidents[1]["incident_id"])["events"]]
    assert "flapping" in kinds


def test_state_survives_reopening_the_store(tmp_path) -> None:
    path = tmp_path / "s.duckdb"
    d = Driver(config(), DuckDBStore(path))
    d.window(LOW)
    d.store.close()
    d2 = Driver(config(), DuckDBStore(path))
    d2.history = d.history
    d2.window(HIGH)
    assert d2.capture.kinds() == ["resolved"]
    assert d2.incidents()[0]["status"] == "resolved"


@pytest.mark.parametrize(("condition", "value", "baseline", "expected"), [
    ({"kind": "below", "value": 0.85}, 0.8, None, 0.85),
    ({"kind": "change", "direction": "down", "by_more_than": 0.1}, 0.5, 0.8, 0.72),              # 0.8 × 0.9
    ({"kind": "change", "direction": "up", "by_more_than": 0.1}, 0.95, 0.8, 0.88),               # 0.8 × 1.1
    ({"kind": "change", "direction": "either", "by_more_than": 0.1, "relative": False}, 0.35, 0.4, 0.3),
    ({"kind": "change", "direction": "either", "by_more_than": 0.1, "relative": False}, 0.6, 0.4, 0.5),
    ({"kind": "outside_band", "lower": 0.5, "upper": 2.0}, 20.0, 100.0, 50.0),
    ({"kind": "outside_band", "lower": 0.5, "upper": 2.0}, 300.0, 100.0, 200.0),
    ({"kind": "outside_band", "lower": 0.5, "upper": 2.0}, 300.0, None, None),
])
def test_the_numeric_threshold_of_a_notification_is_the_bound_crossed(condition, value, baseline, expected) -> None:
    from modelsteward.alerts.rules import numeric_threshold
    from modelsteward.config import AlertRule

    r = AlertRule.model_validate({"name": "r", "metric": "accuracy", "condition": condition})
    got = numeric_threshold(r, value, baseline)
    assert got == (None if expected is None else pytest.approx(expected, abs=1e-12))


def test_resolved_by_hand_then_only_kept_firing_does_not_reopen() -> None:
    d = Driver(config(rule={"response_sla": None, "keep_firing_for": "2w"}))
    d.window(LOW)
    d.engine.resolve(d.incidents()[0]["incident_id"], by="ana", now=d.end(0) + timedelta(hours=1))
    d.window(HIGH)            # clear, kept firing by keep_firing_for: no new incident
    assert len(d.incidents()) == 1
    d.window(LOW)             # the condition itself holds again: a new incident
    assert len(d.incidents()) == 2
    assert d.capture.kinds() == ["firing", "resolved", "firing"]


def test_a_first_pass_over_past_windows_records_history_but_opens_only_what_stands_now() -> None:
    d = Driver(config(rule={"response_sla": None}, alerting={"flapping": {"enabled": False}}))
    d.windows([LOW, HIGH, LOW, HIGH, LOW, LOW])      # three past runs; the last is still firing
    [only] = d.incidents()
    assert only["status"] == "open" and only["started_at"] == d.end(4)
    assert "first evaluation" in d.engine.incident(only["incident_id"])["events"][0]["reason"]
    assert d.capture.kinds() == ["firing"]
    moves = [t["to_state"] for t in d.engine.transitions()]
    assert moves == ["firing", "resolved", "firing", "resolved", "firing"]
    d.windows([HIGH, LOW])                            # later passes take every window in: resolved, then a new incident
    assert d.capture.kinds() == ["firing", "resolved", "firing"]


def test_a_first_pass_ending_clear_opens_nothing() -> None:
    d = Driver(config(rule={"response_sla": None}))
    d.windows([LOW, LOW, HIGH])
    assert d.incidents() == [] and d.capture.sent == []
    assert [t["to_state"] for t in d.engine.transitions()] == ["firing", "resolved"]
