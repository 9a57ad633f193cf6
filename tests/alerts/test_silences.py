"""Silences: matchers as Alertmanager writes them, pending/active/expired, and what a silenced
alert records and sends (exactly one notification per transition, whenever the silence ends)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from modelsteward.alerts.silences import Silence, parse_matcher
from modelsteward.errors import ConfigError

from .helpers import HIGH, LOW, START, Driver, config

LABELS = {"model": "tickets", "rule": "accuracy_drop", "severity": "high", "team": "support"}
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("matcher", "expected"), [
    ("model=tickets", True), ("model=ticket", False),
    ("model!=tickets", False), ("model!=search", True),
    ("rule=~accuracy_.*", True), ("rule=~accuracy", False),           # a regex matches the whole value
    ("rule!~accuracy_.*", False), ("rule!~volume.*", True),
    ('severity=~"high|critical"', True), ("severity=~'low|info'", False),
    ("owner=", True), ("owner!=", False),                               # a missing label reads as ""
    ("team!=search", True), ("missing!=x", True),
])
def test_each_operator_on_both_sides(matcher: str, expected: bool) -> None:
    m = parse_matcher(matcher)
    assert m.matches(LABELS) is expected
    # a second method: the same decision written out with Python's re and dict.get
    name, op, value = re.match(r"(\w+)(=~|!~|!=|=)(.*)", matcher).groups()  # type: ignore[union-attr]
    value = value.strip("\"'")
    have = LABELS.get(name, "")
    other = {"=": have == value, "!=": have != value, "=~": bool(re.fullmatch(value, have)),
             "!~": not re.fullmatch(value, have)}[op]
    assert other is expected


@pytest.mark.parametrize("bad", ["model", "=x", "rule=~(", "9x=1"])
def test_bad_matchers_are_refused_with_the_expected_form(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_matcher(bad)


def test_a_silence_must_not_match_everything_and_must_say_who_and_why() -> None:
    t = datetime(2026, 1, 1)
    with pytest.raises(ConfigError, match="every alert"):
        Silence.create(["team!=search"], starts_at=t, ends_at=t + SECOND, created_by="ana", comment="x")
    with pytest.raises(ConfigError, match="end after"):
        Silence.create(["model=tickets"], starts_at=t, ends_at=t, created_by="ana", comment="x")
    with pytest.raises(ConfigError, match="author"):
        Silence.create(["model=tickets"], starts_at=t, ends_at=t + SECOND, created_by=" ", comment="x")
    with pytest.raises(ConfigError, match="comment"):
        Silence.create(["model=tickets"], starts_at=t, ends_at=t + SECOND, created_by="ana", comment="")


def test_status_on_both_sides_of_start_and_end() -> None:
    start, end = datetime(2026, 1, 1), datetime(2026, 1, 2)
    s = Silence.create(["model=tickets"], starts_at=start, ends_at=end, created_by="ana", comment="deploy")
    assert [s.status(start - SECOND), s.status(start), s.status(end - SECOND), s.status(end)] == [
        "pending", "active", "active", "expired"]


def test_silenced_then_expired_alert_notifies_exactly_once_per_transition() -> None:
    d = Driver(config(rule={"response_sla": None}))
    t_fire = d.end(0) + timedelta(minutes=5)
    s = d.engine.silence(["model=tickets", "rule=acc"], starts_at=START, ends_at=t_fire + timedelta(days=2),
                         created_by="ana", comment="known: new data source", now=START)
    d.window(LOW)                                                   # fires while silenced
    assert d.capture.sent == []
    [inc] = d.incidents()
    assert inc["status"] == "open"
    events = d.engine.incident(inc["incident_id"])["events"]
    assert [(e["kind"], e["silenced_by"]) for e in events] == [("opened", None), ("firing_silenced", s.silence_id)]
    assert d.engine.tick(now=s.ends_at - SECOND) == []             # still silenced
    [firing] = d.engine.tick(now=s.ends_at)                         # the silence ends: firing, once
    assert firing.kind == "firing" and firing.at == s.ends_at
    assert d.engine.tick(now=s.ends_at + timedelta(hours=1)) == []
    d.window(LOW)
    d.window(HIGH)                                                  # resolves: told at once
    assert d.capture.kinds() == ["firing", "resolved"]
    assert d.engine.tick(now=d.end(2) + timedelta(days=9)) == []


def test_resolved_during_the_silence_sends_its_resolved_notification_when_it_ends() -> None:
    d = Driver(config(rule={"response_sla": None}))
    d.window(LOW)                                                   # fires, and people are told
    silence_start = d.end(0) + timedelta(hours=1)
    silence_end = d.end(3)
    d.engine.silence(["rule=~acc.*"], starts_at=silence_start, ends_at=silence_end, created_by="ana",
                     comment="working on it", now=silence_start)
    d.window(LOW)
    d.window(HIGH)                                                  # resolves inside the silence: recorded, not sent
    [inc] = d.incidents()
    assert inc["status"] == "resolved" and d.capture.kinds() == ["firing"]
    moves = [(t["from_state"], t["to_state"], t["silenced_by"] is not None) for t in d.engine.transitions()]
    assert moves == [("normal", "firing", False), ("firing", "resolved", True)]
    assert d.engine.tick(now=silence_end - SECOND) == []
    [resolved] = d.engine.tick(now=silence_end)
    assert resolved.kind == "resolved" and resolved.incident_id == inc["incident_id"]
    d.window(HIGH)
    assert d.engine.tick(now=silence_end + timedelta(days=30)) == []
    assert d.capture.kinds() == ["firing", "resolved"]


def test_fired_and_resolved_inside_a_silence_sends_nothing() -> None:
    d = Driver(config(rule={"response_sla": None}))
    d.engine.silence(["model=tickets"], starts_at=START, ends_at=d.end(5), created_by="ana", comment="migration", now=START)
    d.window(LOW)
    d.window(HIGH)
    assert d.engine.tick(now=d.end(5)) == []
    assert d.capture.sent == []
    assert [t["to_state"] for t in d.engine.transitions()] == ["firing", "resolved"]


def test_a_pending_silence_does_not_mute_and_expiring_early_releases_what_it_held() -> None:
    d = Driver(config(rule={"response_sla": None}))
    later = d.engine.silence(["model=tickets"], starts_at=d.end(1), ends_at=d.end(9), created_by="ana",
                             comment="planned maintenance", now=START)
    assert later.status(d.end(0)) == "pending"
    d.window(LOW)                                                   # before the silence starts: sent
    d.window(HIGH)                                                  # resolves at end(1) + 5 min, inside the silence: held
    assert d.capture.kinds() == ["firing"]
    s, sent = d.engine.unsilence(later.silence_id, now=d.end(1) + timedelta(hours=1))
    assert s.status(d.end(1) + timedelta(hours=1)) == "expired"
    assert [n.kind for n in sent] == ["resolved"]
    assert d.capture.kinds() == ["firing", "resolved"]


def test_silence_matches_the_rules_labels() -> None:
    d = Driver(config(rule={"response_sla": None, "labels": {"team": "support"}}))
    d.engine.silence(["team=search"], starts_at=START, ends_at=d.end(3), created_by="ana", comment="other team", now=START)
    d.window(LOW)
    assert d.capture.kinds() == ["firing"]                          # team=search does not match team=support
    assert dict(d.capture.sent[0].labels)["team"] == "support"
