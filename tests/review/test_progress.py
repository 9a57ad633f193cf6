"""SLA and backlog in window metrics (usable by alert rules), progress per reviewer, agreement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sklearn.metrics import cohen_kappa_score

from modelsteward.monitor import Monitor
from modelsteward.review.agreement import fleiss_kappa, rating_table
from modelsteward.review.progress import agreement, queue_stats, review_window_metrics

from .conftest import START, Clock


def test_window_metrics_count_backlog_and_overdue_at_the_window_end(make_monitor: Callable[..., Monitor], clock: Clock) -> None:
    mon = make_monitor()
    queue = mon.review_queue(clock=clock)
    # day 1 09:00: a (vip, 1h SLA) and b (low confidence, 4h SLA); day 1 22:00: c (4h SLA)
    for pid, conf, tier, at in (("a", 0.9, "gold", START), ("b", 0.5, None, START), ("c", 0.5, None, START.replace(hour=22))):
        mon.log_prediction(prediction_id=pid, prediction="billing", confidence=conf, attributes={"tier": tier} if tier else None,
                           timestamp=at)
        mon.route(pid, routed_at=at)
    clock.now = START + timedelta(minutes=55)
    item = queue.claim("alice")  # a (high priority) first
    assert item.prediction_id == "a"
    clock.advance(minutes=5)  # decided 1 h after routing: within its SLA
    queue.decide(item.item_id, "alice", "accept")
    day1, day2, day3 = START.replace(hour=0), START.replace(hour=0) + timedelta(days=1), START.replace(hour=0) + timedelta(days=2)
    m1 = review_window_metrics(mon.store, mon.model(), day1, day2)
    # at the end of day 1: b (due 13:00) is overdue; c (due 02:00 next day) is open but not yet due
    assert m1 == {"review.routed": 3.0, "review.decided": 1.0, "review.pending": 2.0, "review.overdue": 1.0,
                  "review.hours_to_decision": 1.0}
    m2 = review_window_metrics(mon.store, mon.model(), day2, day3)
    assert (m2["review.routed"], m2["review.pending"], m2["review.overdue"], m2["review.hours_to_decision"]) == (0.0, 2.0, 2.0, None)
    clock.now = START.replace(hour=14)
    assert [i.prediction_id for i in queue.overdue()] == ["b"]  # due 13:00; c is due at 02:00 next day


def test_overdue_feeds_an_alert_rule_through_check(open_monitor: Callable[..., Monitor], clock: Clock) -> None:
    from .conftest import review_config

    cfg = review_config(window="day", alerts=[{"name": "review_backlog", "metric": "review.overdue",
                                               "condition": {"kind": "above", "value": 0}, "severity": "high"}])
    mon = open_monitor(cfg)
    mon.log_prediction(prediction_id="b", prediction="billing", confidence=0.5, timestamp=START)
    mon.route("b", routed_at=START)
    report = mon.check(until=START + timedelta(days=1))
    history = {ws: m for ws, _, m in mon.metric_history()}
    assert history[START.replace(hour=0)]["review.overdue"] == 1.0
    assert [a["rule"] for a in report.new_alerts] == ["review_backlog"]


def test_progress_per_reviewer(routed: Callable[..., Any], clock: Clock) -> None:
    mon, _ = routed(5)
    queue = mon.review_queue(clock=clock)
    plan = [("alice", "accept", 2), ("alice", "correct", 4), ("bob", "skip", 1), ("bob", "reject", 6)]
    for who, what, minutes in plan:
        item = queue.claim(who)
        clock.advance(minutes=minutes)
        queue.decide(item.item_id, who, what, label="account" if what == "correct" else None)
    queue.claim("carol")  # holding one
    clock.advance(minutes=11)  # ... until its lease ended
    queue.expire_leases()
    queue.claim("dave")
    stats = queue_stats(mon.store, mon.model(), clock.now)
    by = {r["reviewer"]: r for r in stats["reviewers"]}
    alice = by["alice"]
    assert (alice["decided"], alice["accept"], alice["correct"], alice["median_minutes_to_decide"]) == (2, 1, 1, 3.0)
    assert (by["bob"]["decided"], by["bob"]["skip"], by["bob"]["reject"], by["bob"]["median_minutes_to_decide"]) == (1, 1, 1, 6.0)
    assert (by["carol"]["expired"], by["carol"]["holding"], by["dave"]["holding"]) == (1, 0, 1)
    assert stats["states"] == {"pending": 1, "in_review": 1, "decided": 3, "skipped": 0}


def test_agreement_between_overlapping_reviewers(routed: Callable[..., Any], clock: Clock) -> None:
    review = {"conditions": [{"kind": "confidence_below"}], "overlap": 3}
    mon, ids = routed(8, review)
    queue = mon.review_queue(clock=clock)
    # what each reviewer says, item by item (None = accept the suggestion 'billing', 'X' = reject)
    said = {
        "alice": ["billing", "technical", "technical", "account", "billing", "account", "technical", "billing"],
        "bob": ["billing", "technical", "account", "account", "X", "account", "billing", "billing"],
        "carol": ["technical", "technical", "technical", "account", "billing", "billing", "technical", "X"],
    }
    for who, labels in said.items():
        for _ in labels:
            item = queue.claim(who)
            label = labels[int(item.prediction_id.split("-")[1])]
            if label == "billing":
                queue.decide(item.item_id, who, "accept")
            elif label == "X":
                queue.decide(item.item_id, who, "reject")
            else:
                queue.decide(item.item_id, who, "correct", label=label)
    result = agreement(mon.store, mon.model())
    as_rated = {w: ["<rejected>" if x == "X" else x for x in v] for w, v in said.items()}
    table, _ = rating_table([[as_rated[w][i] for w in said] for i in range(8)])
    assert result["items"] == 8 and result["raters_per_item"] == 3
    assert result["fleiss_kappa"] == pytest.approx(fleiss_kappa(table))
    pairs = {tuple(p["reviewers"]): p["cohen_kappa"] for p in result["pairs"]}
    assert pairs[("alice", "bob")] == pytest.approx(cohen_kappa_score(as_rated["alice"], as_rated["bob"]))
    assert pairs[("bob", "carol")] == pytest.approx(cohen_kappa_score(as_rated["bob"], as_rated["carol"]))
