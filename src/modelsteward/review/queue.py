"""The review queue: items routed to people, claimed under a lease, decided exactly once.

States of an item::

    pending ──claim──► in_review ──decide──► decided      (enough decisions: ``review.overlap``)
       ▲                  │   │
       └── lease expired ─┘   └──skip──► pending again, or skipped (after ``review.max_skips``)

A claim holds an item for ``review.lease``; only its holder may decide it, and an undecided
item returns to the queue when the lease ends. Every change is one transaction of the store.
Claims take the highest priority first, then the earliest due. With ``overlap`` N, an item
goes back to the queue after each decision until N different reviewers have decided it; a
reviewer never gets an item twice.

Two reviewers never hold the same item: the claim is a single ``UPDATE ... WHERE state =
'pending' ... RETURNING`` inside a transaction, under the store's lock within a process; and
DuckDB lets one process at a time open the file, so across processes each claim runs while
its process alone holds the file (:func:`~modelsteward.review.locking.open_monitor` retries
while another process has it).

Accept and correct decisions become ``expert`` feedback through ``Monitor.log_feedback``,
with a feedback id derived from the claim, so a retry or a recovery never adds a second copy;
a decision stored before a crash that kept its feedback from landing is landed again by the
next queue operation. Reject (the suggestion is wrong and no label fits) and skip carry no
label: they stay in the review log.

>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "review": {}}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> pid = mon.log_prediction(prediction_id="t-1", prediction="urgent", confidence=0.55)
>>> mon.route("t-1").to_human
True
>>> queue = mon.review_queue()
>>> item = queue.claim("alice")
>>> item.prediction_id, item.state, item.holder
('t-1', 'in_review', 'alice')
>>> queue.decide(item.item_id, "alice", "correct", label="routine").label
'routine'
>>> mon.labelled().column("label").to_pylist()
['routine']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from modelsteward.config import ModelConfig, parse_duration
from modelsteward.errors import NotFoundError, ReviewStateError, StewardError
from modelsteward.review.policy import PRIORITY_RANK, RouteInput
from modelsteward.review.routing import RoutingDecision
from modelsteward.store.base import row_lock_clause

if TYPE_CHECKING:
    from modelsteward.monitor import Monitor

__all__ = ["DECISIONS", "Decision", "ReviewItem", "ReviewQueue"]

DECISIONS = ("accept", "correct", "reject", "skip")
ITEM_STATES = ("pending", "in_review", "decided", "skipped")
_ITEM_COLUMNS = ("item_id, model, prediction_id, queue, priority, reasons, suggestion, confidence, model_version, input, "
                 "required, state, holder, claim_id, lease_until, routed_at, due_at, closed_at")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def item_id_for(model: str, prediction_id: str) -> str:
    """The item of a prediction: one per prediction, so routing it again adds nothing."""
    return "ri-" + hashlib.sha256(f"{model}\x00{prediction_id}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class ReviewItem:
    """One prediction waiting for (or given) a person's decision: what to show, and its state."""

    item_id: str
    model: str
    prediction_id: str
    queue: str
    priority: str
    reasons: list[dict[str, str]]
    suggestion: str | None
    confidence: float | None
    model_version: str | None
    input: dict[str, Any]
    required: int
    state: str
    holder: str | None
    claim_id: str | None
    lease_until: datetime | None
    routed_at: datetime
    due_at: datetime | None
    closed_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        """Still open past its SLA."""
        return self.state in ("pending", "in_review") and self.due_at is not None and now > self.due_at

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """A reviewer's decision on an item; ``replayed`` is true when a retry returned a stored one."""

    decision_id: str
    item_id: str
    prediction_id: str
    reviewer: str
    decision: str
    label: str | None
    comment: str | None
    decided_at: datetime
    seconds_from_routing: float
    seconds_from_claim: float
    feedback_id: str | None
    item_state: str
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _item(row: tuple[Any, ...]) -> ReviewItem:
    (item_id, model, pid, queue, priority, reasons, suggestion, confidence, version, inp, required, state, holder,
     claim_id, lease_until, routed_at, due_at, closed_at) = row
    return ReviewItem(item_id, model, pid, queue, priority, json.loads(reasons), suggestion, confidence, version, json.loads(inp),
                      int(required), state, holder, claim_id, lease_until, routed_at, due_at, closed_at)


class ReviewQueue:
    """The review queue of one model in a Monitor's store.

    ``clock`` returns the current time (naive UTC); tests pass a fixed one to move time.
    """

    def __init__(self, monitor: Monitor, model: str | None = None, *, clock: Callable[[], datetime] | None = None) -> None:
        self.monitor = monitor
        self.store = monitor.store
        self.model: ModelConfig = monitor.model(model)
        if self.model.review is None:
            raise NotFoundError(f"model {self.model.name!r} has no review queue",
                                hint="add a `review:` section to the model in steward.yaml")
        self.settings = self.model.review
        self.lease = parse_duration(self.settings.lease)
        self.clock = clock or _utcnow

    # -- writing -------------------------------------------------------------------------
    def enqueue(self, decision: RoutingDecision, inp: RouteInput, *, routed_at: datetime | None = None) -> str:
        """Put a routed prediction in the queue (once: a prediction routed again keeps its item)."""
        if not decision.to_human or decision.priority is None:
            raise ValueError(f"prediction {decision.prediction_id!r} was not routed to a person; nothing to enqueue")
        now = routed_at or self.clock()
        item_id = item_id_for(self.model.name, inp.prediction_id)
        due = now + timedelta(seconds=decision.sla_seconds) if decision.sla_seconds is not None else None
        payload = json.dumps({"features": dict(inp.features), "attributes": dict(inp.attributes),
                              "novelty": inp.novelty, "challengers": [dict(c) for c in inp.challengers]},
                             sort_keys=True, default=str)
        # A plain INSERT: the key refuses a prediction queued before, whose item stands as it was
        # (ON CONFLICT would double the cost of the write).
        with contextlib.suppress(duckdb.ConstraintException):
            self._insert_item([item_id, self.model.name, inp.prediction_id, decision.queue, decision.priority,
                               json.dumps([r.to_dict() for r in decision.reasons]), inp.prediction, inp.confidence, inp.model_version,
                               payload, self.settings.overlap, "pending", None, None, None, now, due, None,
                               PRIORITY_RANK[decision.priority]])
        return item_id

    def _insert_item(self, values: list[Any]) -> None:
        # One statement, autocommitted: atomic on its own, and a third of the cost of BEGIN ... COMMIT.
        self.store.query(f"INSERT INTO review_items ({_ITEM_COLUMNS}, priority_rank) VALUES ({', '.join('?' * 19)})", values)

    def _expire(self, con: Any, now: datetime) -> int:
        """Return items whose lease ended to the queue; their claims end as expired."""
        expired = con.execute(
            "UPDATE review_items SET state = 'pending', holder = NULL, claim_id = NULL, lease_until = NULL "
            "WHERE model = ? AND state = 'in_review' AND lease_until < ? RETURNING claim_id",
            [self.model.name, now],
        ).fetchall()
        con.execute(
            "UPDATE review_claims SET outcome = 'expired', ended_at = lease_until WHERE outcome IS NULL AND lease_until < ? "
            "AND item_id IN (SELECT item_id FROM review_items WHERE model = ?)",
            [now, self.model.name],
        ).fetchall()
        return len(expired)

    def expire_leases(self) -> int:
        """Return every item whose lease has ended to the queue; returns how many."""
        with self.store.transaction() as con:
            return self._expire(con, self.clock())

    def claim(self, reviewer: str, *, item_id: str | None = None, queue: str | None = None) -> ReviewItem | None:
        """Hold the next item (highest priority, then earliest due), or ``item_id``; None when none is left.

        A reviewer is never given an item they decided or skipped before.
        """
        _check_reviewer(reviewer)
        self.land_feedback()
        now = self.clock()
        claim_id = "rc-" + uuid.uuid4().hex
        lease_until = now + self.lease
        with self.store.transaction() as con:
            self._expire(con, now)
            if item_id is not None:
                pick_sql, params = "?", [item_id]
            else:
                pick_sql = ("(SELECT item_id FROM review_items i WHERE model = ? AND state = 'pending'"
                            + (" AND queue = ?" if queue is not None else "")
                            + " AND NOT EXISTS (SELECT 1 FROM review_decisions d WHERE d.item_id = i.item_id AND d.reviewer = ?)"
                            " ORDER BY priority_rank DESC, due_at NULLS LAST, routed_at, item_id LIMIT 1"
                            + row_lock_clause(self.store) + ")")  # PostgreSQL: SKIP LOCKED, exclusive across processes
                params = [self.model.name, *([queue] if queue is not None else []), reviewer]
            got = con.execute(
                f"UPDATE review_items SET state = 'in_review', holder = ?, claim_id = ?, lease_until = ? "
                f"WHERE item_id = {pick_sql} AND state = 'pending' AND model = ? RETURNING item_id",
                [reviewer, claim_id, lease_until, *params, self.model.name],
            ).fetchall()
            if got and item_id is not None and con.execute(
                    "SELECT count(*) FROM review_decisions WHERE item_id = ? AND reviewer = ?", [item_id, reviewer]).fetchall()[0][0]:
                raise ReviewStateError(f"item {item_id!r}: {reviewer} has decided or skipped it already",
                                       item_id=item_id, state="pending", hint="each reviewer decides an item once; claim another item")
            if not got:
                if item_id is None:
                    return None
                current = self._row(con, item_id)
                raise _not_claimable(current, reviewer)
            con.execute("INSERT INTO review_claims VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                        [claim_id, got[0][0], reviewer, now, lease_until]).fetchall()
            return self._row(con, got[0][0])

    def decide(self, item_id: str, reviewer: str, decision: str, *, label: str | None = None, comment: str | None = None) -> Decision:
        """Record the holder's decision: accept, correct (with ``label``), reject or skip.

        Refused with :class:`~modelsteward.errors.ReviewStateError` when ``reviewer`` does not
        hold the item (pending, held by someone else, lease ended, already closed). Calling it
        again with the same decision after it succeeded returns the stored decision
        (``replayed``); a different decision on the same item is refused.
        """
        _check_reviewer(reviewer)
        label = self._check_decision(item_id, decision, label)
        self.land_feedback()
        now = self.clock()
        lapsed: ReviewStateError | None = None
        with self.store.transaction() as con:
            row = self._row(con, item_id)
            earlier = con.execute(
                "SELECT decision_id, decision, label, comment FROM review_decisions WHERE item_id = ? AND reviewer = ?",
                [item_id, reviewer]).fetchall()
            if earlier:
                return self._replay(con, row, reviewer, earlier[0], decision, label, comment)
            if row.state != "in_review" or row.holder != reviewer:
                raise _not_held(row, reviewer)
            assert row.lease_until is not None and row.claim_id is not None
            if row.lease_until < now:
                self._expire(con, now)
                lapsed = ReviewStateError(
                    f"item {item_id!r}: {reviewer}'s lease ended at {row.lease_until:%Y-%m-%d %H:%M:%S} UTC; "
                    "the item went back to the queue and the decision was not recorded",
                    item_id=item_id, state="pending", holder=None,
                    hint=f"claim it again (steward review claim --item {item_id} --reviewer {reviewer}) and decide within the lease "
                         f"({self.settings.lease})")
            else:
                result = self._record(con, row, reviewer, decision, label, comment, now)
        if lapsed is not None:
            raise lapsed  # after the commit: the expiry stands
        self.land_feedback()
        return result

    def _check_decision(self, item_id: str, decision: str, label: str | None) -> str | None:
        if decision not in DECISIONS:
            raise ReviewStateError(f"item {item_id!r}: unknown decision {decision!r}", item_id=item_id,
                                   hint=f"decide one of: {', '.join(DECISIONS)}")
        if decision == "correct":
            if label is None or label not in self.model.labels:
                raise ReviewStateError(
                    f"item {item_id!r}: a correction needs the right label, one of {self.model.labels}; got {label!r}",
                    item_id=item_id, hint="pass label=<the right label> (--label on the command line)")
        elif label is not None and decision != "accept":
            raise ReviewStateError(f"item {item_id!r}: {decision} takes no label (got {label!r})", item_id=item_id,
                                   hint="to give the right label, decide `correct` with that label")
        return label

    def _record(self, con: Any, row: ReviewItem, reviewer: str, decision: str, label: str | None, comment: str | None,
                now: datetime) -> Decision:
        assert row.claim_id is not None
        if decision == "accept":
            if row.suggestion is None:
                raise ReviewStateError(f"item {row.item_id!r}: the model gave no suggestion to accept", item_id=row.item_id,
                                       state=row.state, holder=row.holder, hint="decide `correct` with the right label, or `reject`")
            if label is not None and label != row.suggestion:
                raise ReviewStateError(f"item {row.item_id!r}: accept keeps the suggestion {row.suggestion!r}, not {label!r}",
                                       item_id=row.item_id, state=row.state, holder=row.holder, hint="decide `correct` to change the label")
            label = row.suggestion
        if decision == "correct" and label == row.suggestion:
            raise ReviewStateError(f"item {row.item_id!r}: {label!r} is the model's own suggestion", item_id=row.item_id,
                                   state=row.state, holder=row.holder, hint="decide `accept` to confirm the suggestion")
        claimed_at = con.execute("SELECT claimed_at FROM review_claims WHERE claim_id = ?", [row.claim_id]).fetchall()[0][0]
        feedback_id = f"fb-review-{row.claim_id[3:]}" if decision in ("accept", "correct") else None
        decision_id = "rd-" + row.claim_id[3:]
        from_routing = (now - row.routed_at).total_seconds()
        from_claim = (now - claimed_at).total_seconds()
        con.execute("INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [decision_id, row.item_id, self.model.name, row.prediction_id, row.claim_id, reviewer, decision, label, comment,
                     now, from_routing, from_claim, feedback_id]).fetchall()
        con.execute("UPDATE review_claims SET outcome = ?, ended_at = ? WHERE claim_id = ?",
                    ["skipped" if decision == "skip" else "decided", now, row.claim_id]).fetchall()
        done, skips = con.execute(
            "SELECT count(*) FILTER (WHERE decision <> 'skip'), count(*) FILTER (WHERE decision = 'skip') "
            "FROM review_decisions WHERE item_id = ?",
            [row.item_id]).fetchall()[0]
        state = "decided" if done >= row.required else "skipped" if skips >= self.settings.max_skips else "pending"
        con.execute("UPDATE review_items SET state = ?, holder = NULL, claim_id = NULL, lease_until = NULL, closed_at = ? "
                    "WHERE item_id = ?",
                    [state, now if state in ("decided", "skipped") else None, row.item_id]).fetchall()
        return Decision(decision_id, row.item_id, row.prediction_id, reviewer, decision, label, comment, now, from_routing, from_claim,
                        feedback_id, state)

    def _replay(self, con: Any, row: ReviewItem, reviewer: str, earlier: tuple[Any, ...], decision: str, label: str | None,
                comment: str | None) -> Decision:
        decision_id, said, said_label, said_comment = earlier
        same = said == decision and (decision == "accept" or said_label == label) and said_comment == comment
        if not same:
            raise ReviewStateError(
                f"item {row.item_id!r}: {reviewer} already decided {said}"
                + (f" ({said_label!r})" if said_label else "") + f"; a decision is final (item is {row.state})",
                item_id=row.item_id, state=row.state, holder=row.holder,
                hint="a further opinion is a new review by another reviewer (review.overlap)")
        r = con.execute("SELECT decision_id, item_id, prediction_id, reviewer, decision, label, comment, decided_at, "
                        "seconds_from_routing, seconds_from_claim, feedback_id FROM review_decisions WHERE decision_id = ?",
                        [decision_id]).fetchall()[0]
        did, iid, pid, who, what, lab, com, at, from_routing, from_claim, fid = r
        return Decision(did, iid, pid, who, what, lab, com, at, from_routing, from_claim, fid, item_state=row.state, replayed=True)

    def land_feedback(self) -> int:
        """Send decisions whose expert feedback is not stored yet (after a crash) through ``log_feedback``."""
        missing = self.store.query(
            "SELECT prediction_id, label, reviewer, comment, decided_at, feedback_id FROM review_decisions d "
            "WHERE model = ? AND feedback_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.feedback_id = d.feedback_id) "
            "ORDER BY decided_at", [self.model.name])
        for pid, label, reviewer, comment, decided_at, feedback_id in missing:
            self.monitor.log_feedback(pid, kind="expert", label=label, reviewer=reviewer, comment=comment, timestamp=decided_at,
                                      feedback_id=feedback_id, model=self.model.name)
        return len(missing)

    # -- reading -------------------------------------------------------------------------
    def _row(self, con: Any, item_id: str) -> ReviewItem:
        rows = con.execute(f"SELECT {_ITEM_COLUMNS} FROM review_items WHERE item_id = ? AND model = ?",
                           [item_id, self.model.name]).fetchall()
        if not rows:
            raise NotFoundError(f"no review item {item_id!r} for model {self.model.name!r}",
                                hint="list the items with `steward review list`")
        return _item(rows[0])

    def item(self, item_id: str) -> ReviewItem:
        with self.store.transaction() as con:
            return self._row(con, item_id)

    def items(self, *, state: str | None = None, reviewer: str | None = None, overdue: bool = False,
              limit: int | None = None) -> list[ReviewItem]:
        """Items in claim order; ``state`` filters (pending, in_review, decided, skipped), ``overdue`` keeps open items past their SLA."""
        if state is not None and state not in ITEM_STATES:
            raise StewardError(f"unknown item state {state!r}", hint=f"one of: {', '.join(ITEM_STATES)}")
        now = self.clock()
        with self.store.transaction() as con:
            self._expire(con, now)
            sql = f"SELECT {_ITEM_COLUMNS} FROM review_items WHERE model = ?"
            params: list[Any] = [self.model.name]
            if state is not None:
                sql += " AND state = ?"
                params.append(state)
            if reviewer is not None:
                sql += " AND holder = ?"
                params.append(reviewer)
            if overdue:
                sql += " AND state IN ('pending', 'in_review') AND due_at < ?"
                params.append(now)
            sql += " ORDER BY priority_rank DESC, due_at NULLS LAST, routed_at, item_id"
            if limit is not None:
                sql += f" LIMIT {int(limit)}"
            return [_item(r) for r in con.execute(sql, params).fetchall()]

    def overdue(self) -> list[ReviewItem]:
        """Open items past their SLA, most urgent first."""
        return self.items(overdue=True)

    def decisions(self, item_id: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM review_decisions WHERE model = ?"
        params: list[Any] = [self.model.name]
        if item_id is not None:
            sql += " AND item_id = ?"
            params.append(item_id)
        return self.store.query_dicts(sql + " ORDER BY decided_at, decision_id", params)


def _check_reviewer(reviewer: str) -> None:
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise StewardError("a reviewer is needed: who is reviewing?", hint="pass reviewer=<name> (--reviewer on the command line)")


def _not_held(row: ReviewItem, reviewer: str) -> ReviewStateError:
    if row.state == "pending":
        why, hint = "is pending: nobody holds it", f"claim it first: steward review claim --item {row.item_id} --reviewer {reviewer}"
    elif row.state == "in_review":
        why = f"is held by {row.holder} until {row.lease_until:%Y-%m-%d %H:%M:%S} UTC" if row.lease_until else f"is held by {row.holder}"
        hint = "only the holder can decide it; claim another item (steward review claim)"
    else:
        why, hint = f"is {row.state} already", "nothing to do; claim another item (steward review claim)"
    return ReviewStateError(f"item {row.item_id!r} {why}; {reviewer}'s decision was not recorded", item_id=row.item_id,
                            state=row.state, holder=row.holder, hint=hint)


def _not_claimable(row: ReviewItem, reviewer: str) -> ReviewStateError:
    if row.state == "in_review":
        return ReviewStateError(f"item {row.item_id!r} is held by {row.holder}" + (" (you)" if row.holder == reviewer else ""),
                                item_id=row.item_id, state=row.state, holder=row.holder,
                                hint="wait for the lease to end or claim another item")
    return ReviewStateError(f"item {row.item_id!r} is {row.state}; only pending items can be claimed", item_id=row.item_id,
                            state=row.state, holder=row.holder, hint="claim another item (steward review claim)")
