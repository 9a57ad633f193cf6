"""The durable outbox: notification events, their groups, the messages made of them, and every attempt.

All SQL of the notification system lives here (tables from migration 0005). Writes are one
transaction each, so a crash between steps leaves either the old or the new state, never half:
an event queued is never lost, a message sent is never sent twice by the same step.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modelsteward.alerts.notify.model import Notification

__all__ = ["GroupState", "NewMessage", "Outbox", "StoredMessage"]

MESSAGE_STATUSES = ("pending", "retrying", "sent", "failed")


@dataclass(frozen=True)
class GroupState:
    group_id: str
    route: str
    receiver: str
    group_labels: dict[str, str]
    last_sent_at: datetime | None


@dataclass(frozen=True)
class NewMessage:
    """A message to make from a group: its id, why (new or repeat), what it says, which queued events it takes."""

    message_id: str
    group: GroupState
    reason: str
    notifications: Sequence[Notification]
    event_ids: Sequence[str]


@dataclass(frozen=True)
class StoredMessage:
    message_id: str
    group_id: str
    receiver: str
    status: str
    reason: str
    payload: dict[str, Any]
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime

    def notifications(self) -> list[Notification]:
        return [Notification.from_dict(d) for d in self.payload.get("notifications", [])]


class Outbox:
    """Notification tables of one store (anything with ``query``, ``query_dicts`` and ``transaction``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    # -- submit -----------------------------------------------------------------------------
    def add_events(self, events: Sequence[tuple[str, Notification, Sequence[tuple[str, str, str, dict[str, str]]]]],
                   submitted_at: datetime) -> int:
        """Store events in one transaction, each queued on its (group_id, route, receiver, group_labels).

        An event already stored (the same notification submitted again) is skipped; returns how many were new.
        """
        with self.store.transaction() as con:
            ids = [e for e, _, _ in events]
            known = {r[0] for r in con.execute("SELECT event_id FROM notification_events WHERE list_contains(?, event_id)",
                                               [ids]).fetchall()}
            rows: list[tuple[Any, ...]] = []
            groups: dict[str, tuple[Any, ...]] = {}
            queue: list[tuple[Any, ...]] = []
            for event_id, n, queues in events:
                if event_id in known:
                    continue
                known.add(event_id)
                rows.append((event_id, n.kind, n.incident_id, n.fingerprint, json.dumps(n.to_dict()), n.at, submitted_at, len(queues)))
                for group_id, route, receiver, labels in queues:
                    groups.setdefault(group_id, (group_id, route, receiver, json.dumps(labels), submitted_at, None))
                    queue.append((group_id, event_id, n.at, None, None))
            _insert(con, "notification_events", rows)
            _insert(con, "notification_groups", list(groups.values()), "ON CONFLICT DO NOTHING")
            _insert(con, "notification_queue", queue)
        return len(rows)

    # -- grouping ---------------------------------------------------------------------------
    def groups_with_waiting(self) -> list[tuple[GroupState, datetime]]:
        """Groups with queued events not yet in a message, with the time of their oldest one."""
        rows = self.store.query(
            "SELECT g.group_id, g.route, g.receiver, g.group_labels, g.last_sent_at, min(q.queued_at) "
            "FROM notification_groups g JOIN notification_queue q USING (group_id) "
            "WHERE q.message_id IS NULL GROUP BY ALL ORDER BY 6, 1")
        return [(GroupState(r[0], r[1], r[2], json.loads(r[3]), r[4]), r[5]) for r in rows]

    def groups_with_open(self) -> list[GroupState]:
        """Groups that last notified some incident as firing or escalated and have no message still being sent."""
        rows = self.store.query(
            "SELECT DISTINCT g.group_id, g.route, g.receiver, g.group_labels, g.last_sent_at "
            "FROM notification_groups g JOIN notification_group_incidents i USING (group_id) "
            "WHERE i.last_kind IN ('firing', 'escalated') AND NOT EXISTS (SELECT 1 FROM notification_messages m "
            "WHERE m.group_id = g.group_id AND m.status IN ('pending', 'retrying')) ORDER BY 1")
        return [GroupState(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in rows]

    def waiting(self, group_ids: Sequence[str]) -> dict[str, list[tuple[str, Notification]]]:
        """Queued events not yet in a message, per group, in order of time."""
        rows = self.store.query(
            "SELECT q.group_id, e.event_id, e.payload FROM notification_queue q JOIN notification_events e USING (event_id) "
            "WHERE list_contains(?, q.group_id) AND q.message_id IS NULL ORDER BY e.event_at, e.submitted_at, e.event_id",
            [list(group_ids)])
        out: dict[str, list[tuple[str, Notification]]] = {g: [] for g in group_ids}
        for group_id, event_id, payload in rows:
            out[group_id].append((event_id, Notification.from_dict(json.loads(payload))))
        return out

    def last_notified(self, group_ids: Sequence[str]) -> dict[str, dict[str, Notification]]:
        """What each incident of each group was last notified as (resolved incidents are forgotten)."""
        rows = self.store.query("SELECT group_id, incident_id, payload FROM notification_group_incidents "
                                "WHERE list_contains(?, group_id)", [list(group_ids)])
        out: dict[str, dict[str, Notification]] = {g: {} for g in group_ids}
        for group_id, incident_id, payload in rows:
            out[group_id][incident_id] = Notification.from_dict(json.loads(payload))
        return out

    def apply(self, suppressed: Sequence[tuple[str, Sequence[str]]], messages: Sequence[NewMessage], now: datetime) -> None:
        """In one transaction: mark repeats dropped, fold events into messages, and remember what each
        incident was last notified as (per group)."""
        dropped = [(g, e) for g, events in suppressed for e in events]
        taken = [(m.group.group_id, e, m.message_id) for m in messages for e in m.event_ids]
        rows = []
        for m in messages:
            g = m.group
            payload = {"group_id": g.group_id, "route": g.route, "receiver": g.receiver, "group_labels": g.group_labels,
                       "reason": m.reason, "notifications": [n.to_dict() for n in m.notifications]}
            rows.append((m.message_id, g.group_id, g.receiver, "pending", m.reason, json.dumps(payload), 0, now, None, now, None))
        touched = [(m.group.group_id, n.incident_id) for m in messages for n in m.notifications]
        state = [(m.group.group_id, n.incident_id, n.kind, json.dumps(n.to_dict()), now)
                 for m in messages for n in m.notifications if n.kind != "resolved"]
        with self.store.transaction() as con:
            if dropped:
                con.execute("UPDATE notification_queue q SET message_id = '', outcome = 'suppressed_repeat' "
                            "FROM (SELECT unnest(?) AS g, unnest(?) AS e) v WHERE q.group_id = v.g AND q.event_id = v.e",
                            [list(c) for c in zip(*dropped, strict=True)])
            _insert(con, "notification_messages", rows)
            if taken:
                con.execute("UPDATE notification_queue q SET message_id = v.m, outcome = 'sent' "
                            "FROM (SELECT unnest(?) AS g, unnest(?) AS e, unnest(?) AS m) v WHERE q.group_id = v.g AND q.event_id = v.e",
                            [list(c) for c in zip(*taken, strict=True)])
            if touched:
                con.execute("DELETE FROM notification_group_incidents t USING (SELECT unnest(?) AS g, unnest(?) AS i) v "
                            "WHERE t.group_id = v.g AND t.incident_id = v.i", [list(c) for c in zip(*touched, strict=True)])
            _insert(con, "notification_group_incidents", state)
            if messages:
                con.execute("UPDATE notification_groups SET last_sent_at = ? WHERE list_contains(?, group_id)",
                            [now, [m.group.group_id for m in messages]])

    # -- delivery ---------------------------------------------------------------------------
    def due_messages(self, now: datetime) -> list[StoredMessage]:
        rows = self.store.query_dicts(
            "SELECT * FROM notification_messages WHERE status IN ('pending', 'retrying') AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, created_at, message_id", [now])
        return [_message(r) for r in rows]

    def add_test_message(self, message_id: str, receiver: str, payload: dict[str, Any], now: datetime) -> None:
        with self.store.transaction() as con:
            con.execute("INSERT INTO notification_messages VALUES (?, '', ?, 'pending', 'test', ?, 0, ?, NULL, ?, NULL)",
                        [message_id, receiver, json.dumps(payload), now, now])

    def message(self, message_id: str) -> StoredMessage | None:
        rows = self.store.query_dicts("SELECT * FROM notification_messages WHERE message_id = ?", [message_id])
        return _message(rows[0]) if rows else None

    def record_attempt(self, message: StoredMessage, *, at: datetime, ok: bool, status_code: int | None, error: str | None,
                       duration_ms: float, next_attempt_at: datetime | None) -> str:
        """Log one attempt and move the message on; returns its new status."""
        attempt = message.attempts + 1
        status = "sent" if ok else ("retrying" if next_attempt_at is not None else "failed")
        with self.store.transaction() as con:
            con.execute("INSERT INTO notification_attempts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [message.message_id, attempt, message.receiver, at, "sent" if ok else "failed", status_code, error, duration_ms])
            con.execute("UPDATE notification_messages SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
                        "sent_at = ? WHERE message_id = ?",
                        [status, attempt, next_attempt_at, None if ok else error, at if ok else None, message.message_id])
        return status

    # -- reading ----------------------------------------------------------------------------
    def messages(self, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The latest messages (newest first), without their payload."""
        where, params = ("WHERE status = ?", [status]) if status else ("", [])
        return self.store.query_dicts(
            "SELECT message_id, receiver, status, reason, attempts, next_attempt_at, last_error, created_at, sent_at, "
            "json_array_length(json_extract(payload, '$.notifications')) AS notifications "
            f"FROM notification_messages {where} ORDER BY created_at DESC, message_id LIMIT ?", [*params, limit])

    def attempts(self, message_id: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE message_id = ?", [message_id]) if message_id else ("", [])
        return self.store.query_dicts(
            f"SELECT * FROM notification_attempts {where} ORDER BY attempted_at, message_id, attempt", params)


def _message(r: dict[str, Any]) -> StoredMessage:
    return StoredMessage(r["message_id"], r["group_id"], r["receiver"], r["status"], r["reason"], json.loads(r["payload"]),
                         r["attempts"], r["next_attempt_at"], r["created_at"])


def _insert(con: Any, table: str, rows: Sequence[tuple[Any, ...]], suffix: str = "") -> None:
    """Insert many rows with one statement: each column goes in as a list and is unnested."""
    if not rows:
        return
    columns = [list(c) for c in zip(*rows, strict=True)]
    select = ", ".join("unnest(?)" for _ in columns)
    con.execute(f"INSERT INTO {table} SELECT {select} {suffix}", columns)  # table: a constant of this module
