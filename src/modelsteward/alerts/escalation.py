"""Response SLAs and the escalation path.

An incident starts at step 1 of the model's escalation path (the course's path: first
responder, escalation, executive). While it is not acknowledged (or, with
``escalate_until: resolved``, not resolved), it moves to the next step when the time allowed
at the current step runs out: the step's ``after``, or else the rule's ``response_sla``.

SLAs are durations (``15m``, ``1h``, ``24h``, ``3d``) except ``next business day``, which is a
calendar deadline, not a duration: the end of the next weekday (Monday to Friday, in UTC;
public holidays are not modelled). :func:`sla_note` says so wherever an SLA is shown.

>>> from datetime import datetime
>>> sla_deadline("1h", datetime(2026, 1, 9, 15, 0))
datetime.datetime(2026, 1, 9, 16, 0)
>>> sla_deadline("next business day", datetime(2026, 1, 9, 15, 0))   # a Friday: by the end of Monday
datetime.datetime(2026, 1, 13, 0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from modelsteward.config import AlertingSettings, EscalationStep, parse_duration

__all__ = ["Escalation", "due_escalations", "is_calendar_sla", "sla_deadline", "sla_note"]

_NEXT_BUSINESS_DAY = ("next business day", "next_business_day")


def is_calendar_sla(sla: str | None) -> bool:
    """True for an SLA that is a calendar rule rather than a duration."""
    return sla is not None and sla.strip().lower() in _NEXT_BUSINESS_DAY


def sla_deadline(sla: str | None, start: datetime) -> datetime | None:
    """When an SLA that starts at ``start`` runs out (None without an SLA)."""
    if sla is None:
        return None
    if is_calendar_sla(sla):
        day = start.date() + timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day + timedelta(days=1), datetime.min.time())
    return start + parse_duration(sla)


def sla_note(sla: str | None) -> str:
    """How an SLA is read, for people: durations as they are; free text flagged with its reading.

    >>> sla_note("24h"), sla_note(None)
    ('24h', 'no SLA (escalation off: set response_sla)')
    >>> sla_note("next business day")
    'next business day (read as: by the end of the next weekday, UTC; holidays not modelled)'
    """
    if sla is None:
        return "no SLA (escalation off: set response_sla)"
    if is_calendar_sla(sla):
        return f"{sla} (read as: by the end of the next weekday, UTC; holidays not modelled)"
    return sla


@dataclass(frozen=True)
class Escalation:
    """An incident reaching step ``level`` (1-based) of the path at ``at``; ``who`` is None for a step nobody fills."""

    level: int
    step: str
    who: str | None
    at: datetime
    reason: str


def _step_who(step: EscalationStep, level: int, owner: str | None) -> str | None:
    return step.who if step.who is not None else (owner if level == 1 else None)


def due_escalations(settings: AlertingSettings, *, level: int, reached_at: datetime, sla: str | None,
                    owner: str | None, now: datetime) -> list[Escalation]:
    """The steps an incident at ``level`` (reached at ``reached_at``) has passed by ``now``, in order.

    An incident left unanswered long enough passes several steps in one call; each is returned
    with the time it was due.
    """
    out: list[Escalation] = []
    path = settings.escalation
    while level < len(path):
        step = path[level]
        allowed = step.after if step.after is not None else sla
        due = sla_deadline(allowed, reached_at)
        if due is None or due > now:
            break
        level += 1
        what = "not acknowledged" if settings.escalate_until == "acknowledged" else "not resolved"
        basis = f"after {step.after}" if step.after is not None else f"response SLA {sla_note(sla)}"
        who = _step_who(step, level, owner)
        gap = "" if who else f" (nobody is set for this step: fill alerting.escalation[{level - 1}].who)"
        out.append(Escalation(level, step.level, who, due, f"{what} by {due:%Y-%m-%d %H:%M} ({basis}){gap}"))
        reached_at = due
    return out


def first_responder(settings: AlertingSettings, owner: str | None) -> str | None:
    """Who is told first: the first step's ``who``, or the owner."""
    return _step_who(settings.escalation[0], 1, owner)
