"""The shared pieces of the ``steward.yaml`` schema: the :class:`_Strict` base model, name patterns,
severities, windows, feedback sources, and parsing of durations and notification intervals."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "DEFAULT_PRIORITY",
    "FEEDBACK_SOURCES",
    "FeedbackSource",
    "IDENTIFIER",
    "MODEL_NAME",
    "RESERVED_ALERT_LABELS",
    "RESERVED_FEATURE_NAMES",
    "SEVERITIES",
    "SEVERITY_ALIASES",
    "SEVERITY_RANK",
    "WINDOWS",
    "parse_duration",
    "parse_interval",
]

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, which would let "name\n" through.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
MODEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
# Names a feature may not take: the fields of a logged prediction (a feature called `error`
# would be read as the error field), the nested `features` key, and the columns a reference
# file is read by (`confidence`, `prediction`, `label`).
RESERVED_FEATURE_NAMES = frozenset({
    "prediction_id", "timestamp", "model_version", "prediction", "confidence", "probabilities",
    "latency_ms", "error", "user_id", "attributes", "features", "label",
})
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_ALIASES = {"p0": "critical", "p1": "high", "p2": "medium", "p3": "low", "p4": "info"}
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}
RESERVED_ALERT_LABELS = frozenset({"model", "rule", "severity", "owner", "alertname"})  # set on every alert
WINDOWS = ("hour", "day", "week")
FEEDBACK_SOURCES = ("expert", "explicit", "implicit", "outcome")
FeedbackSource = Literal["expert", "explicit", "implicit", "outcome"]
DEFAULT_PRIORITY: tuple[FeedbackSource, ...] = ("expert", "explicit", "outcome", "implicit")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)\s*$", re.I)
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> timedelta:
    """Parse a response time such as ``"1h"``, ``"24 hours"``, ``"3d"`` or ``"next business day"``.

    A number is read as seconds. "next business day" is read as 24 hours (calendars are not
    modelled).

    >>> parse_duration("1h"), parse_duration("30m").total_seconds()
    (datetime.timedelta(seconds=3600), 1800.0)
    """
    if isinstance(text, (int, float)):
        return timedelta(seconds=float(text))
    if text.strip().lower() in ("next business day", "next_business_day"):
        return timedelta(hours=24)
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like '30m', '1h', '24h', '3d' or 'next business day', got {text!r}")
    return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)[0].lower()])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds?)\s*$", re.I)


def parse_interval(text: str | int | float) -> timedelta:
    """Parse a notification interval: seconds as a number or ``"30s"``, else as :func:`parse_duration`.

    >>> parse_interval("30s").total_seconds(), parse_interval("5m").total_seconds(), parse_interval(0).total_seconds()
    (30.0, 300.0, 0.0)
    """
    if isinstance(text, str):
        match = _INTERVAL.match(text)
        if match:
            return timedelta(seconds=float(match.group(1)))
    value = parse_duration(text)
    if value.total_seconds() < 0:
        raise ValueError(f"expected a duration of 0 or more, got {text!r}")
    return value


def _check_interval(v: str | int | float) -> str | int | float:
    parse_interval(v)
    return v
