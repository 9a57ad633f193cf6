"""Time conventions: the store keeps every timestamp as naive UTC.

>>> from datetime import datetime, timedelta, timezone
>>> naive_utc(datetime(2026, 1, 5, 10, tzinfo=timezone(timedelta(hours=2))))
datetime.datetime(2026, 1, 5, 8, 0)
>>> naive_utc(datetime(2026, 1, 5, 10)), naive_utc(None)
(datetime.datetime(2026, 1, 5, 10, 0), None)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

__all__ = ["naive_utc", "utcnow"]


@overload
def naive_utc(x: datetime) -> datetime: ...
@overload
def naive_utc(x: None) -> None: ...
@overload
def naive_utc(x: datetime | None) -> datetime | None: ...
def naive_utc(x: datetime | None) -> datetime | None:
    """A datetime in naive UTC (an aware one is converted; a naive one is taken as UTC)."""
    if x is None or x.tzinfo is None:
        return x
    return x.astimezone(UTC).replace(tzinfo=None)


def utcnow() -> datetime:
    """Now, in naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
