"""One exception tree for modelsteward.

Every error says what was wrong and where: which file and key path, which record and field,
and what was expected, so a person (or a script reading ``--json``) can act on it::

    StewardError
    ├── ConfigError          a steward.yaml (or a setting) is invalid: file, key path, expected
    ├── ValidationError      a logged record is invalid: record index or id, field, expected
    │   └── BatchRejected    a batch had invalid rows: every rejected row is listed, nothing written
    ├── ConflictError        the same id was sent again with different content
    ├── NotFoundError        an unknown model, window, alert or prediction
    ├── StoreError           the store could not be opened, migrated or written
    │   └── BackupError      a backup could not be made or restored: which file or table, what was found
    ├── InsufficientDataError a statistic was asked of a sample too small to say anything
    ├── DeliveryError        a notification receiver did not take a message (secrets redacted)
    ├── IncidentStateError   an incident is not in a state that allows what was asked (which incident, its status)
    ├── ReviewStateError     a review decision or claim refused: which item, its state, who holds it
    └── RetrainError         a retrain request could not be made as asked (e.g. a manual request without a reason)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BackupError",
    "BatchRejected",
    "ConfigError",
    "ConflictError",
    "DeliveryError",
    "IncidentStateError",
    "InsufficientDataError",
    "NotFoundError",
    "RetrainError",
    "ReviewStateError",
    "RowError",
    "StewardError",
    "StoreError",
    "ValidationError",
]


class StewardError(Exception):
    """Base of every error raised on purpose by modelsteward.

    ``hint`` says what to do next; ``to_dict()`` is the machine-readable form used by
    ``--json`` output and, later, by the HTTP API's single error shape.
    """

    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.kind, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class ConfigError(StewardError):
    """A configuration file or setting is invalid.

    >>> str(ConfigError("expected a number", file="steward.yaml", path="alerts[0].value"))
    'steward.yaml: alerts[0].value: expected a number'
    """

    kind = "config_error"

    def __init__(
        self, message: str, *, file: str | None = None, path: str | None = None, hint: str | None = None
    ) -> None:
        where = ": ".join(p for p in (file, path) if p)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.file = file
        self.path = path
        self.detail = message

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "file": self.file, "path": self.path}


@dataclass(frozen=True)
class RowError:
    """One problem with one logged record: where it is (index, id), which field, what was wrong."""

    index: int | None
    record_id: str | None
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            where.append(f"record {self.index}")
        if self.record_id is not None:
            where.append(f"id {self.record_id!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where) or 'record'}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.record_id, "field": self.field, "problem": self.problem}


class ValidationError(StewardError):
    """A record to be logged is invalid; ``rows`` lists each problem found."""

    kind = "validation_error"

    def __init__(self, rows: list[RowError], *, hint: str | None = None, total: int | None = None) -> None:
        self.rows = rows
        self.total = total
        head = "; ".join(str(r) for r in rows[:5])
        more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
        super().__init__(head + more, hint=hint)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "rows": [r.to_dict() for r in self.rows]}


class BatchRejected(ValidationError):
    """A batch contained invalid rows. Nothing from the batch was written."""

    kind = "batch_rejected"

    def __init__(self, rows: list[RowError], *, total: int) -> None:
        rows = sorted(rows, key=lambda r: (r.index is None, r.index or 0))
        super().__init__(
            rows,
            total=total,
            hint="nothing from this batch was written; fix the listed rows and send the batch again",
        )
        bad = len({(r.index, r.record_id) for r in rows})
        self.message = f"batch rejected: {bad} of {total} rows invalid: " + self.message
        self.args = (self.message,)


class ConflictError(StewardError):
    """The same id was logged again with different content (the first write is kept)."""

    kind = "conflict"

    def __init__(self, message: str, *, ids: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.ids = ids or []

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "ids": self.ids}


class NotFoundError(StewardError):
    """Something named does not exist (a model, a window, a prediction)."""

    kind = "not_found"


class StoreError(StewardError):
    """The store could not be opened, migrated or written."""

    kind = "store_error"


class BackupError(StoreError):
    """A backup could not be made or restored: which file or table, what was expected, what was found."""

    kind = "backup_error"


class InsufficientDataError(StewardError):
    """A statistic was asked of a sample too small to give an answer."""

    kind = "insufficient_data"


class DeliveryError(StewardError):
    """A receiver did not take a notification message: which receiver, what happened (secrets redacted).

    ``permanent`` is true when retrying cannot help (the receiver refused the request itself).

    >>> str(DeliveryError("HTTP 500 from the receiver", receiver="ops-hook", status_code=500))
    'receiver ops-hook: HTTP 500 from the receiver'
    """

    kind = "delivery_error"

    def __init__(self, message: str, *, receiver: str, status_code: int | None = None, permanent: bool = False,
                 hint: str | None = None) -> None:
        super().__init__(f"receiver {receiver}: {message}", hint=hint)
        self.receiver = receiver
        self.status_code = status_code
        self.permanent = permanent

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "receiver": self.receiver, "status_code": self.status_code, "permanent": self.permanent}


class ReviewStateError(StewardError):
    """A review item is not in a state that allows what was asked (which item, its state, its holder).

    >>> err = ReviewStateError("item 'ri-1' is pending", item_id="ri-1", state="pending", hint="claim it first")
    >>> err.to_dict()["state"], err.message
    ('pending', "item 'ri-1' is pending")
    """

    kind = "review_state"

    def __init__(self, message: str, *, item_id: str, state: str | None = None, holder: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.item_id = item_id
        self.state = state
        self.holder = holder

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "item_id": self.item_id, "state": self.state, "holder": self.holder}


class IncidentStateError(StewardError):
    """An incident is not in a state that allows what was asked: which incident, its status, who changed it last.

    >>> err = IncidentStateError("incident inc-1 is resolved", incident_id="inc-1", status="resolved")
    >>> err.to_dict()["status"]
    'resolved'
    """

    kind = "incident_state"

    def __init__(self, message: str, *, incident_id: str, status: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.incident_id = incident_id
        self.status = status

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "incident_id": self.incident_id, "status": self.status}


class RetrainError(StewardError):
    """A retrain request could not be made as asked (what was missing, and what to give).

    >>> RetrainError("a manual retrain request needs a reason", hint="pass --reason").to_dict()
    {'error': 'retrain_error', 'message': 'a manual retrain request needs a reason', 'hint': 'pass --reason'}
    """

    kind = "retrain_error"
