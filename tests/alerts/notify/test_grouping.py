"""Grouping, group_wait / group_interval, repeat_interval and reminders, counted at a real HTTP receiver."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from modelsteward.alerts.notify import Dispatcher
from modelsteward.store import DuckDBStore

from .conftest import make_notification, notify_config

T0 = datetime(2026, 1, 12, 9, 0)
S = timedelta(seconds=1)


@pytest.fixture
def store(tmp_path: Path):
    with DuckDBStore(tmp_path / "g.duckdb") as s:
        yield s


def dispatcher(store, url: str, **route: object) -> Dispatcher:
    base = {"receiver": "hook", "group_by": ["model", "severity"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
    cfg = notify_config([{"name": "hook", "type": "webhook", "url": url}], {**base, **route})
    return Dispatcher(store, cfg, seed=0)


def bad_window(n: int = 20, at: datetime = T0, kind: str = "firing"):
    """``n`` rule instances of one window: severities alternate high / medium."""
    return [make_notification(kind, incident=f"inc-{i}", rule=f"rule_{i}", severity=("high", "medium")[i % 2], at=at)
            for i in range(n)]


def test_one_bad_window_sends_one_message_per_group(hook, store) -> None:
    d = dispatcher(store, hook.url)
    batch = bad_window(20)
    d.submit(batch)
    assert d.deliver_due(T0 + 29 * S).sent == 0  # inside group_wait
    report = d.deliver_due(T0 + 30 * S)
    expected = Counter(n.severity for n in batch)  # groups computed from the input, independently
    assert report.sent == len(expected) == len(hook.received) == 2
    got = Counter()
    for r in hook.received:
        body = r.json()
        sev = {n["severity"] for n in body["notifications"]}
        assert len(sev) == 1 and body["group_labels"] == {"model": "tickets", "severity": sev.pop()}
        got[body["group_labels"]["severity"]] += len(body["notifications"])
        assert {n["incident_id"] for n in body["notifications"]} == {
            n.incident_id for n in batch if n.severity == body["group_labels"]["severity"]}
    assert got == expected


def test_group_by_all_labels_sends_one_message_per_incident(hook, store) -> None:
    d = dispatcher(store, hook.url, group_by=["..."])
    d.submit(bad_window(6))
    assert d.deliver_due(T0 + 30 * S).sent == 6


def test_news_within_group_interval_waits_for_it(hook, store) -> None:
    d = dispatcher(store, hook.url)
    d.submit([make_notification(incident="a", at=T0)])
    d.deliver_due(T0 + 30 * S)
    sent_at = T0 + 30 * S
    d.submit([make_notification(incident="b", rule="other", at=T0 + 60 * S)])
    assert d.deliver_due(sent_at + 5 * 60 * S - S).sent == 0  # group_interval not over
    report = d.deliver_due(sent_at + 5 * 60 * S)
    assert report.sent == 1
    assert [n["incident_id"] for n in hook.received[-1].json()["notifications"]] == ["b"]


def test_repeat_within_repeat_interval_is_dropped_after_it_is_sent(hook, store) -> None:
    d = dispatcher(store, hook.url, group_by=["model", "rule"])
    d.submit([make_notification(incident="a", at=T0)])
    d.deliver_due(T0 + 30 * S)
    first_sent = T0 + 30 * S
    # the same incident reported firing again by the next evaluation, 1 h later: no news
    d.submit([make_notification(incident="a", at=T0 + timedelta(hours=1))])
    report = d.deliver_due(T0 + timedelta(hours=1))
    assert (report.sent, report.suppressed) == (0, 1)
    # at first_sent + 4 h the reminder goes out (exactly once), one second before it does not
    assert d.deliver_due(first_sent + timedelta(hours=4) - S).sent == 0
    assert d.deliver_due(first_sent + timedelta(hours=4)).sent == 1
    assert d.deliver_due(first_sent + timedelta(hours=4, minutes=10)).sent == 0
    assert len(hook.received) == 2
    assert hook.received[1].json()["reason"] == "repeat"


def test_state_changes_are_news_and_acknowledged_stops_reminders(hook, store) -> None:
    d = dispatcher(store, hook.url, group_by=["model", "rule"])
    d.submit([make_notification(incident="a", at=T0)])
    d.deliver_due(T0 + 30 * S)
    d.submit([make_notification("acknowledged", incident="a", at=T0 + 10 * 60 * S, actor="sam", comment="looking")])
    assert d.deliver_due(T0 + 10 * 60 * S).sent == 1  # group_interval (5 min) has passed since the first message
    assert d.deliver_due(T0 + timedelta(hours=9)).sent == 0  # acknowledged: no reminders
    d.submit([make_notification("resolved", incident="a", at=T0 + timedelta(hours=10), actor="sam")])
    assert d.deliver_due(T0 + timedelta(hours=10)).sent == 1
    kinds = [r.json()["notifications"][0]["kind"] for r in hook.received]
    assert kinds == ["firing", "acknowledged", "resolved"]
    assert d.deliver_due(T0 + timedelta(days=2)).sent == 0


def test_escalation_to_a_new_level_is_news(hook, store) -> None:
    d = dispatcher(store, hook.url, group_by=["model", "rule"])
    d.submit([make_notification(incident="a", at=T0)])
    d.deliver_due(T0 + 30 * S)
    for level, who in ((1, "lead"), (1, "lead"), (2, "director")):
        d.submit([make_notification("escalated", incident="a", at=T0 + timedelta(hours=level), escalation_level=level, escalate_to=who)])
        d.deliver_due(T0 + timedelta(hours=level, minutes=1))
    got = [(n["kind"], n["escalation_level"]) for r in hook.received for n in r.json()["notifications"]]
    assert got == [("firing", None), ("escalated", 1), ("escalated", 2)]


def test_firing_and_resolved_inside_group_wait_send_the_latest_state(hook, store) -> None:
    d = dispatcher(store, hook.url)
    d.submit([make_notification(incident="a", at=T0), make_notification("resolved", incident="a", at=T0 + 10 * S)])
    d.deliver_due(T0 + 30 * S)
    [msg] = hook.received
    assert [n["kind"] for n in msg.json()["notifications"]] == ["resolved"]


def test_continue_sends_to_two_receivers_and_unmatched_goes_to_the_root(hook, store, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    cfg = notify_config(
        [{"name": "hook", "type": "webhook", "url": hook.url}, {"name": "audit", "type": "log", "url": str(audit)}],
        {"receiver": "audit", "group_wait": 0, "routes": [
            {"match": {"severity": "critical"}, "receiver": "hook", "continue": True},
            {"match_re": {"owner": "ml-.*"}, "receiver": "audit"}]})
    d = Dispatcher(store, cfg, seed=0)
    d.submit([make_notification(incident="c", severity="critical"), make_notification(incident="l", severity="low", owner="data-team")])
    report = d.deliver_due(T0)
    assert report.sent == 3  # critical → hook and (continue) audit; low from data-team → root (audit)
    assert [n["incident_id"] for r in hook.received for n in r.json()["notifications"]] == ["c"]
    assert len(audit.read_text().splitlines()) == 2
