"""Retrain requests: what fired, on which evidence, and what was done about it.

A request is stored once per *episode* of a trigger: ``dedup_key`` names the trigger and the
first window of the run of windows it held in (or the schedule's tick, or the manual request),
and a unique index on ``(model, dedup_key)`` makes a repeated evaluation on the same evidence
find the stored request instead of making a second one. Its id is derived from that key, so
the same evidence gets the same id in every store.

>>> request_id_for("tickets", "accuracy_below_85:2026-02-02T00:00:00")
'rr-...'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from modelsteward.errors import NotFoundError
from modelsteward.store.base import Store

__all__ = ["RetrainRequest", "get_request", "insert_request", "list_requests", "request_id_for", "update_request"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def request_id_for(model: str, dedup_key: str) -> str:
    """The id of the request for ``dedup_key``: ``rr-`` and 12 hex digits of a SHA-256."""
    return "rr-" + hashlib.sha256(f"{model}\x00{dedup_key}".encode()).hexdigest()[:12]


@dataclass
class RetrainRequest:
    """A request to retrain a model, with the evidence of the trigger that made it."""

    request_id: str
    model: str
    trigger: str
    kind: str
    dedup_key: str
    reason: str
    evidence: dict[str, Any]
    as_of: datetime
    labels_total: int
    new_labels: int
    requested_by: str | None = None
    status: str = "open"
    export_path: str | None = None
    export_rows: int | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime = field(default_factory=_now)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def payload(self) -> dict[str, Any]:
        """The JSON-ready form sent to a webhook (times as ISO 8601 strings)."""
        return json.loads(json.dumps(self.to_dict(), default=lambda o: o.isoformat() if isinstance(o, datetime) else str(o)))


_COLUMNS = ("request_id", "model", "trigger_name", "kind", "dedup_key", "reason", "evidence", "as_of", "labels_total",
            "new_labels", "requested_by", "status", "export_path", "export_rows", "actions", "created_at")


def _from_row(row: dict[str, Any]) -> RetrainRequest:
    return RetrainRequest(
        request_id=row["request_id"], model=row["model"], trigger=row["trigger_name"], kind=row["kind"],
        dedup_key=row["dedup_key"], reason=row["reason"], evidence=json.loads(row["evidence"]), as_of=row["as_of"],
        labels_total=int(row["labels_total"]), new_labels=int(row["new_labels"]), requested_by=row["requested_by"],
        status=row["status"], export_path=row["export_path"],
        export_rows=None if row["export_rows"] is None else int(row["export_rows"]),
        actions=json.loads(row["actions"]), created_at=row["created_at"],
    )


def _json(obj: Any) -> str:
    return json.dumps(obj, default=lambda o: o.isoformat() if isinstance(o, datetime) else str(o), sort_keys=True)


def insert_request(store: Store, request: RetrainRequest) -> bool:
    """Store ``request`` unless a request with its ``dedup_key`` exists; True when stored."""
    values = [request.request_id, request.model, request.trigger, request.kind, request.dedup_key, request.reason,
              _json(request.evidence), request.as_of, request.labels_total, request.new_labels, request.requested_by,
              request.status, request.export_path, request.export_rows, _json(request.actions), request.created_at]
    with store.transaction() as con:
        n = con.execute(f"INSERT INTO retrain_requests ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' for _ in _COLUMNS)}) "
                        "ON CONFLICT DO NOTHING", values).fetchall()[0][0]
    return bool(n)


def update_request(store: Store, request: RetrainRequest) -> None:
    """Save the request's status, export and action log."""
    with store.transaction() as con:
        con.execute("UPDATE retrain_requests SET status = ?, export_path = ?, export_rows = ?, actions = ? WHERE request_id = ?",
                    [request.status, request.export_path, request.export_rows, _json(request.actions), request.request_id]).fetchall()


def list_requests(store: Store, model: str | None = None, *, status: str | None = None) -> list[RetrainRequest]:
    """Stored requests, oldest first (by the data time they are about, then creation)."""
    sql, params = "SELECT * FROM retrain_requests WHERE 1 = 1", []
    if model is not None:
        sql += " AND model = ?"
        params.append(model)
    if status is not None:
        sql += " AND status = ?"
        params.append(status)
    return [_from_row(r) for r in store.query_dicts(sql + " ORDER BY as_of, created_at, request_id", params)]


def get_request(store: Store, request_id: str) -> RetrainRequest:
    """One request by id (a unique prefix of at least 6 characters is enough)."""
    rows = store.query_dicts("SELECT * FROM retrain_requests WHERE request_id = ?", [request_id])
    if not rows and len(request_id) >= 6:
        rows = store.query_dicts("SELECT * FROM retrain_requests WHERE starts_with(request_id, ?) ORDER BY request_id", [request_id])
        if len(rows) > 1:
            raise NotFoundError(f"retrain request id {request_id!r} is ambiguous: {', '.join(r['request_id'] for r in rows[:5])}",
                                hint="give more characters of the id")
    if not rows:
        raise NotFoundError(f"no retrain request {request_id!r}", hint="list the requests with `steward retrain list`")
    return _from_row(rows[0])
