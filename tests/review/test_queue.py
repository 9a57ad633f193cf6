"""The review queue's state machine: claims, leases, decisions, expert feedback exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelsteward.errors import NotFoundError, ReviewStateError
from modelsteward.monitor import Monitor

from .conftest import Clock


@pytest.fixture(params=["duckdb", "postgres"])
def db_path(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """The queue's contract holds on both stores: a DuckDB file, then a fresh PostgreSQL database."""
    return tmp_path / "steward.duckdb" if request.param == "duckdb" else str(request.getfixturevalue("pg_url"))


def feedback_rows(mon: Monitor) -> list[dict[str, Any]]:
    return mon.store.query_dicts("SELECT prediction_id, kind, label, reviewer, comment, feedback_id FROM feedback ORDER BY prediction_id")


def test_claim_shows_input_suggestion_confidence_and_why(routed: Callable[..., Any], clock: Clock) -> None:
    mon, ids = routed(1)
    item = mon.review_queue(clock=clock).claim("alice")
    assert item is not None and item.item_id == ids[0]
    assert (item.state, item.holder, item.suggestion, item.confidence) == ("in_review", "alice", "billing", 0.5)
    assert item.input["features"] == {"category": "invoice", "length": 10.0}
    assert [r["name"] for r in item.reasons] == ["confidence_below"] and "0.5 < 0.7" in item.reasons[0]["detail"]
    assert item.lease_until == clock.now.replace(minute=10)
    assert item.due_at == clock.now.replace(hour=13)  # medium priority: 4h SLA


def test_claims_take_the_highest_priority_then_the_earliest_due(make_monitor: Callable[..., Monitor], clock: Clock) -> None:
    mon = make_monitor()
    for i, tier in enumerate(["silver", "gold", "silver", "gold"]):
        mon.log_prediction(prediction_id=f"p{i}", prediction="billing", confidence=0.5, attributes={"tier": tier})
        mon.route(f"p{i}", routed_at=clock.now)
        clock.advance(minutes=1)
    queue = mon.review_queue(clock=clock)
    order = []
    while (item := queue.claim("alice")) is not None:
        order.append(item.prediction_id)
    assert order == ["p1", "p3", "p0", "p2"]  # high (gold) first, each priority in order of due time


def test_accept_and_correct_become_expert_feedback_once(routed: Callable[..., Any], clock: Clock) -> None:
    mon, ids = routed(3)
    queue = mon.review_queue(clock=clock)
    a = queue.claim("alice")
    clock.advance(minutes=3)
    d1 = queue.decide(a.item_id, "alice", "accept", comment="looks right")
    b = queue.claim("alice")
    d2 = queue.decide(b.item_id, "alice", "correct", label="technical")
    c = queue.claim("alice")
    d3 = queue.decide(c.item_id, "alice", "reject", comment="spam")
    assert (d1.label, d2.label, d3.label) == ("billing", "technical", None)
    assert d1.seconds_from_routing == 180 and d1.seconds_from_claim == 180
    rows = feedback_rows(mon)
    assert [(r["prediction_id"], r["kind"], r["label"], r["reviewer"]) for r in rows] == [
        (a.prediction_id, "expert", "billing", "alice"), (b.prediction_id, "expert", "technical", "alice")]
    assert rows[0]["comment"] == "looks right"
    # the resolved ground truth now carries the reviewers' labels
    labelled = dict(zip(*[mon.labelled().column(c).to_pylist() for c in ("prediction_id", "label")], strict=True))
    assert labelled == {a.prediction_id: "billing", b.prediction_id: "technical"}
    assert {i.state for i in queue.items()} == {"decided"}


def test_a_retry_returns_the_stored_decision_and_writes_nothing_twice(routed: Callable[..., Any], clock: Clock) -> None:
    mon, _ = routed(1)
    queue = mon.review_queue(clock=clock)
    item = queue.claim("alice")
    first = queue.decide(item.item_id, "alice", "correct", label="account", comment="x")
    clock.advance(minutes=5)
    again = queue.decide(item.item_id, "alice", "correct", label="account", comment="x")
    assert again.replayed and not first.replayed
    assert again.decision_id == first.decision_id and again.decided_at == first.decided_at
    assert len(feedback_rows(mon)) == 1 and len(queue.decisions()) == 1
    with pytest.raises(ReviewStateError, match="already decided correct") as info:
        queue.decide(item.item_id, "alice", "correct", label="billing")
    assert info.value.state == "decided"


def test_feedback_lost_in_a_crash_is_landed_by_the_next_operation(routed: Callable[..., Any], clock: Clock) -> None:
    mon, _ = routed(2)
    queue = mon.review_queue(clock=clock)
    item = queue.claim("alice")
    queue.decide(item.item_id, "alice", "correct", label="account")
    # as if the process died between the decision's commit and the feedback write
    with mon.store.transaction() as con:
        con.execute("DELETE FROM feedback").fetchall()
    assert feedback_rows(mon) == []
    queue.claim("bob")
    rows = feedback_rows(mon)
    assert [(r["prediction_id"], r["label"]) for r in rows] == [(item.prediction_id, "account")]
    assert queue.land_feedback() == 0  # nothing left to land: never twice


@pytest.mark.parametrize("case", ["pending", "other_holder", "decided", "unknown"])
def test_a_decision_on_an_item_the_reviewer_does_not_hold_is_refused(routed: Callable[..., Any], clock: Clock, case: str) -> None:
    mon, ids = routed(2)
    queue = mon.review_queue(clock=clock)
    if case == "pending":
        with pytest.raises(ReviewStateError, match="is pending: nobody holds it") as info:
            queue.decide(ids[0], "alice", "accept")
        assert info.value.item_id == ids[0] and "steward review claim --item" in (info.value.hint or "")
    elif case == "other_holder":
        item = queue.claim("bob")
        with pytest.raises(ReviewStateError, match="is held by bob") as info:
            queue.decide(item.item_id, "alice", "accept")
        assert info.value.holder == "bob"
    elif case == "decided":
        item = queue.claim("bob")
        queue.decide(item.item_id, "bob", "accept")
        with pytest.raises(ReviewStateError, match="is decided already"):
            queue.decide(item.item_id, "alice", "accept")
    else:
        with pytest.raises(NotFoundError, match="no review item 'ri-nope'"):
            queue.decide("ri-nope", "alice", "accept")
    assert len(feedback_rows(mon)) == (1 if case == "decided" else 0)


def test_an_expired_lease_returns_the_item_and_refuses_the_late_decision(routed: Callable[..., Any], clock: Clock) -> None:
    mon, ids = routed(1)
    queue = mon.review_queue(clock=clock)
    item = queue.claim("alice")
    assert queue.claim("bob") is None  # held
    clock.advance(minutes=10)
    assert queue.item(item.item_id).state == "in_review"  # the lease ends after 10 minutes, not at them
    clock.advance(seconds=1)
    with pytest.raises(ReviewStateError, match="lease ended") as info:
        queue.decide(item.item_id, "alice", "accept")
    assert info.value.state == "pending"
    assert queue.item(item.item_id).state == "pending"
    again = queue.claim("bob")
    assert again is not None and again.item_id == item.item_id and again.holder == "bob"
    claims = mon.store.query("SELECT reviewer, outcome FROM review_claims ORDER BY claimed_at")
    assert claims == [("alice", "expired"), ("bob", None)]
    assert feedback_rows(mon) == []


def test_skip_returns_the_item_to_others_and_max_skips_sets_it_aside(routed: Callable[..., Any], clock: Clock) -> None:
    review = {"conditions": [{"kind": "confidence_below"}], "max_skips": 2}
    mon, ids = routed(1, review)
    queue = mon.review_queue(clock=clock)
    item = queue.claim("alice")
    d = queue.decide(item.item_id, "alice", "skip", comment="not my area")
    assert d.item_state == "pending" and d.feedback_id is None
    assert queue.claim("alice") is None  # never offered again to who skipped it
    with pytest.raises(ReviewStateError, match="decided or skipped it already"):
        queue.claim("alice", item_id=item.item_id)
    item = queue.claim("bob")
    assert queue.decide(item.item_id, "bob", "skip").item_state == "skipped"
    assert queue.claim("carol") is None and queue.item(item.item_id).closed_at == clock.now
    assert feedback_rows(mon) == []


def test_overlap_needs_distinct_reviewers_and_lands_each_opinion(routed: Callable[..., Any], clock: Clock) -> None:
    review = {"conditions": [{"kind": "confidence_below"}], "overlap": 3}
    mon, ids = routed(1, review)
    queue = mon.review_queue(clock=clock)
    states = []
    for who, label in (("alice", "technical"), ("bob", "technical"), ("carol", None)):
        item = queue.claim(who)
        assert item is not None
        assert queue.claim(who) is None  # one holder at a time
        states.append(queue.decide(item.item_id, who, "correct" if label else "accept", label=label).item_state)
    assert states == ["pending", "pending", "decided"]
    assert queue.claim("dave") is None
    assert sorted((r["reviewer"], r["label"]) for r in feedback_rows(mon)) == [
        ("alice", "technical"), ("bob", "technical"), ("carol", "billing")]


@pytest.mark.parametrize(("decision", "label", "message"), [
    ("correct", None, "needs the right label"), ("correct", "weather", "needs the right label"),
    ("correct", "billing", "the model's own suggestion"), ("accept", "technical", "accept keeps the suggestion"),
    ("reject", "billing", "takes no label"), ("approve", None, "unknown decision"),
])
def test_invalid_decisions_are_refused_and_the_item_stays_held(routed: Callable[..., Any], clock: Clock, decision: str,
                                                                label: str | None, message: str) -> None:
    mon, _ = routed(1)
    queue = mon.review_queue(clock=clock)
    item = queue.claim("alice")
    with pytest.raises(ReviewStateError, match=message):
        queue.decide(item.item_id, "alice", decision, label=label)
    assert queue.item(item.item_id).holder == "alice"
    assert queue.decide(item.item_id, "alice", "correct", label="account").label == "account"


def test_reviewer_is_required(routed: Callable[..., Any], clock: Clock) -> None:
    mon, _ = routed(1)
    with pytest.raises(Exception, match="reviewer is needed"):
        mon.review_queue(clock=clock).claim("  ")


def test_a_model_without_review_has_no_queue(open_monitor: Callable[..., Monitor], make_config: Callable[..., Any]) -> None:
    with pytest.raises(NotFoundError, match="no review queue"):
        open_monitor(make_config()).review_queue()
