"""Incidents: one open incident per problem, with a stored history of everything that happened to it.

An alert is identified by a *fingerprint*: a hash of its identifying labels (the model, the
rule and the rule's own ``labels``). The same problem firing again, window after window,
updates the open incident of its fingerprint rather than opening a new one. Incidents are
``open``, then ``acknowledged`` (who, when, comment), then ``resolved`` — by hand, or when the
condition clears. Every event is stored in ``incident_events`` with its reason; every change of
the alert's state in ``alert_transitions``.

>>> fingerprint({"model": "tickets", "rule": "accuracy_drop"}) == fingerprint({"rule": "accuracy_drop", "model": "tickets"})
True
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa

from modelsteward.config import AlertRule, ModelConfig
from modelsteward.errors import IncidentStateError, NotFoundError

__all__ = [
    "INCIDENT_STATUSES", "Changes", "alert_labels", "fingerprint", "get_incident", "identity_labels", "incident_events",
    "list_incidents", "list_instances", "new_incident_id", "transitions",
]

INCIDENT_STATUSES = ("open", "acknowledged", "resolved")


def identity_labels(cfg: ModelConfig, rule: AlertRule) -> dict[str, str]:
    """The labels that say which problem an alert is: model, rule and the rule's own labels."""
    return {**rule.labels, "model": cfg.name, "rule": rule.name}


def alert_labels(cfg: ModelConfig, rule: AlertRule) -> dict[str, str]:
    """Every label of an alert: the identity labels plus severity and, when known, owner."""
    out = {**identity_labels(cfg, rule), "severity": rule.severity}
    owner = rule.owner or cfg.owner
    if owner:
        out["owner"] = owner
    return out


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable hash of a label set (order does not matter)."""
    text = json.dumps(sorted((str(k), str(v)) for k, v in labels.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def new_incident_id() -> str:
    return f"inc-{uuid.uuid4().hex[:10]}"


def _dicts(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts, through the store (``query_dicts``) or an open transaction's connection."""
    if hasattr(con, "query_dicts"):
        return list(con.query_dicts(sql, params))
    cur = con.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


INCIDENT_COLUMNS = (
    "incident_id", "fingerprint", "model", "rule", "labels", "severity", "summary", "status", "alert_state", "started_at",
    "opened_at", "updated_at", "window_start", "window_end", "value", "threshold", "fire_count", "owner", "runbook",
    "response_sla", "acknowledged_at", "acknowledged_by", "ack_comment", "resolved_at", "resolved_by", "resolve_comment",
    "escalation_level", "escalated_at", "notified_firing", "notified_resolved",
)
EVENT_COLUMNS = ("incident_id", "occurred_at", "kind", "actor", "reason", "escalation_level", "notified", "silenced_by")
TRANSITION_COLUMNS = ("fingerprint", "model", "rule", "window_end", "window_start", "from_state", "to_state", "reason", "value",
                      "held", "flapping", "silenced_by", "incident_id", "recorded_at")
INSTANCE_COLUMNS = ("fingerprint", "model", "rule", "labels", "state", "raw_state", "since", "clear_since", "flips", "flapping",
                    "last_window_start", "last_window_end", "last_value", "updated_at")
def _arrow(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> pa.Table:
    return pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)})


def _insert(con: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *, verb: str = "INSERT") -> None:
    """One INSERT of many rows, through Arrow (a long VALUES list costs DuckDB far more to bind)."""
    con.register("_alert_rows", _arrow(columns, rows))
    try:
        con.execute(f"{verb} INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM _alert_rows").fetchall()
    finally:
        con.unregister("_alert_rows")


def _upsert(con: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Write rows keyed by their table's primary key, replacing the stored versions."""
    _insert(con, table, columns, rows, verb="INSERT OR REPLACE")


class Changes:
    """The writes of one engine call, gathered in memory and written in a few statements.

    Incidents are plain dicts (``labels`` a dict); events and transitions are appended in the
    order they happen and numbered when written, so history reads back in that order.
    """

    def __init__(self) -> None:
        self.incidents: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[Any, ...]] = []
        self.transitions: list[tuple[Any, ...]] = []
        self.instances: list[tuple[Any, ...]] = []

    def touch(self, row: dict[str, Any]) -> dict[str, Any]:
        self.incidents[row["incident_id"]] = row
        return row

    def event(self, incident_id: str, *, at: datetime, kind: str, reason: str, actor: str | None = None,
              level: int | None = None, notified: bool = False, silenced_by: str | None = None) -> None:
        self.events.append((incident_id, at, kind, actor, reason, level, notified, silenced_by))

    def flush(self, con: Any) -> None:
        if self.incidents:
            rows = [tuple(json.dumps(r[c]) if c == "labels" else r[c] for c in INCIDENT_COLUMNS) for r in self.incidents.values()]
            _upsert(con, "incidents", INCIDENT_COLUMNS, rows)
        if self.instances:
            _upsert(con, "alert_instances", INSTANCE_COLUMNS, self.instances)
        if self.events or self.transitions:
            seqs = con.execute("SELECT (SELECT coalesce(max(seq), 0) FROM incident_events), "
                               "(SELECT coalesce(max(seq), 0) FROM alert_transitions)").fetchall()[0]
            for table, columns, rows, base in (("incident_events", EVENT_COLUMNS, self.events, seqs[0]),
                                               ("alert_transitions", TRANSITION_COLUMNS, self.transitions, seqs[1])):
                if rows:
                    _insert(con, table, ("seq", *columns), [(int(base) + i + 1, *r) for i, r in enumerate(rows)])
        self.incidents, self.events, self.transitions, self.instances = {}, [], [], []


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    if isinstance(row.get("labels"), str):
        row["labels"] = json.loads(row["labels"])
    if isinstance(row.get("flips"), str):
        row["flips"] = [datetime.fromisoformat(x) for x in json.loads(row["flips"])]
    return row


def get_incident(con: Any, incident_id: str) -> dict[str, Any]:
    """One incident (raises NotFoundError naming what to do)."""
    rows = _dicts(con, "SELECT * FROM incidents WHERE incident_id = ?", [incident_id])
    if not rows:
        raise NotFoundError(f"no incident {incident_id!r}", hint="list incidents with `steward incidents`")
    return _decode(rows[0])


def require_unresolved(row: Mapping[str, Any], action: str) -> None:
    if row["status"] == "resolved":
        who = row["resolved_by"] or "the monitoring pass (its condition cleared)"
        raise IncidentStateError(f"incident {row['incident_id']} was resolved at {row['resolved_at']:%Y-%m-%d %H:%M} by {who}; "
                                 f"it cannot be {action}", incident_id=row["incident_id"], status="resolved",
                                 hint="a new occurrence of the problem opens a new incident")


def list_incidents(con: Any, *, model: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Incidents, newest first; ``status`` is one of open, acknowledged, resolved, or ``unresolved``."""
    sql, params = "SELECT * FROM incidents WHERE 1 = 1", []
    if model is not None:
        sql += " AND model = ?"
        params.append(model)
    if status == "unresolved":
        sql += " AND status <> 'resolved'"
    elif status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [_decode(r) for r in _dicts(con, sql + " ORDER BY opened_at DESC, incident_id", params)]


def incident_events(con: Any, incident_id: str) -> list[dict[str, Any]]:
    return _dicts(con, "SELECT * FROM incident_events WHERE incident_id = ? ORDER BY seq", [incident_id])


def transitions(con: Any, *, fingerprint: str | None = None, incident_id: str | None = None) -> list[dict[str, Any]]:
    sql, params = "SELECT * FROM alert_transitions WHERE 1 = 1", []
    if fingerprint is not None:
        sql += " AND fingerprint = ?"
        params.append(fingerprint)
    if incident_id is not None:
        sql += " AND incident_id = ?"
        params.append(incident_id)
    return _dicts(con, sql + " ORDER BY seq", params)


def list_instances(con: Any, *, model: str | None = None) -> list[dict[str, Any]]:
    sql, params = "SELECT * FROM alert_instances", []
    if model is not None:
        sql += " WHERE model = ?"
        params.append(model)
    return [_decode(r) for r in _dicts(con, sql + " ORDER BY model, rule", params)]
