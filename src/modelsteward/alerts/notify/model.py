"""What a notification says: one event in the life of an incident, ready for any receiver.

The alert state machine builds :class:`Notification` objects and hands them to the
:class:`~modelsteward.alerts.notify.dispatcher.Dispatcher`; routing, grouping, rendering and
delivery happen from there.

>>> from datetime import UTC, datetime
>>> n = Notification(kind="firing", incident_id="inc-1", fingerprint="fp1",
...                  labels={"model": "tickets", "rule": "accuracy_drop", "severity": "high", "owner": "ml-team"},
...                  severity="high", summary="accuracy below 0.85", value=0.81, threshold=0.85,
...                  window_start=datetime(2026, 1, 5), window_end=datetime(2026, 1, 12),
...                  owner="ml-team", runbook="https://runbooks/acc", response_sla="4h",
...                  at=datetime(2026, 1, 12, 0, 5))
>>> n.rule, n.model
('accuracy_drop', 'tickets')
>>> Notification.from_dict(n.to_dict()) == n
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from modelsteward.times import naive_utc, utcnow

__all__ = ["KINDS", "Notification", "NotificationKind", "naive_utc", "utcnow"]

NotificationKind = Literal["firing", "acknowledged", "escalated", "resolved"]
KINDS: tuple[NotificationKind, ...] = ("firing", "acknowledged", "escalated", "resolved")




def _iso(x: datetime | None) -> str | None:
    return None if x is None else x.isoformat()


def _dt(x: Any) -> datetime | None:
    return None if x is None else datetime.fromisoformat(x)


@dataclass(frozen=True)
class Notification:
    """One event of one incident: it fired, was acknowledged, escalated or resolved.

    ``labels`` holds at least ``model``, ``rule``, ``severity`` and ``owner`` (when known),
    plus the rule's own labels; routing matches on them.
    """

    kind: NotificationKind
    incident_id: str
    fingerprint: str
    labels: Mapping[str, str]
    severity: str
    summary: str
    value: float | None = None
    threshold: float | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    owner: str | None = None
    runbook: str | None = None
    response_sla: str | None = None
    escalation_level: int | None = None
    escalate_to: str | None = None
    actor: str | None = None
    comment: str | None = None
    at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Notification.kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        # a read-only copy, so a caller's later edits cannot change a queued notification
        object.__setattr__(self, "labels", MappingProxyType({str(k): str(v) for k, v in dict(self.labels).items()}))
        for name in ("window_start", "window_end", "at"):
            object.__setattr__(self, name, naive_utc(getattr(self, name)))

    def __hash__(self) -> int:
        return hash((self.kind, self.incident_id, self.fingerprint, self.at))

    @property
    def rule(self) -> str | None:
        return self.labels.get("rule")

    @property
    def model(self) -> str | None:
        return self.labels.get("model")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 text)."""
        return {
            "kind": self.kind,
            "incident_id": self.incident_id,
            "fingerprint": self.fingerprint,
            "labels": dict(sorted(self.labels.items())),
            "severity": self.severity,
            "summary": self.summary,
            "value": self.value,
            "threshold": self.threshold,
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "owner": self.owner,
            "runbook": self.runbook,
            "response_sla": self.response_sla,
            "escalation_level": self.escalation_level,
            "escalate_to": self.escalate_to,
            "actor": self.actor,
            "comment": self.comment,
            "at": _iso(self.at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        """The inverse of :meth:`to_dict`."""
        return cls(
            kind=data["kind"],
            incident_id=data["incident_id"],
            fingerprint=data["fingerprint"],
            labels=data.get("labels") or {},
            severity=data["severity"],
            summary=data.get("summary") or "",
            value=data.get("value"),
            threshold=data.get("threshold"),
            window_start=_dt(data.get("window_start")),
            window_end=_dt(data.get("window_end")),
            owner=data.get("owner"),
            runbook=data.get("runbook"),
            response_sla=data.get("response_sla"),
            escalation_level=data.get("escalation_level"),
            escalate_to=data.get("escalate_to"),
            actor=data.get("actor"),
            comment=data.get("comment"),
            at=_dt(data["at"]) or utcnow(),
        )
