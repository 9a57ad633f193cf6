"""Cron schedules: checked against a brute-force walk over every minute."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from modelsteward.retrain.schedule import CronSchedule


def _brute_matches(expr: tuple[set[int], set[int], set[int] | None, set[int], set[int] | None], t: datetime) -> bool:
    """An independent reading of cron: field sets, Sunday = 0, either day field when both are given."""
    minutes, hours, dom, months, dow = expr
    cron_dow = (t.weekday() + 1) % 7
    if dom is None and dow is None:
        day = True
    elif dom is None:
        day = cron_dow in dow  # type: ignore[operator]
    elif dow is None:
        day = t.day in dom
    else:
        day = t.day in dom or cron_dow in dow
    return t.minute in minutes and t.hour in hours and t.month in months and day


def _brute_previous(expr, at: datetime, horizon: timedelta) -> datetime | None:  # type: ignore[no-untyped-def]
    t = at.replace(second=0, microsecond=0)
    stop = t - horizon
    while t >= stop:
        if _brute_matches(expr, t):
            return t
        t -= timedelta(minutes=1)
    return None


CASES = [
    ("*/15 * * * *", (set(range(0, 60, 15)), set(range(24)), None, set(range(1, 13)), None)),
    ("30 9 * * 1-5", ({30}, {9}, None, set(range(1, 13)), {1, 2, 3, 4, 5})),
    ("0 0 1,15 * 0", ({0}, {0}, {1, 15}, set(range(1, 13)), {0})),
    ("5 4 * * sun", ({5}, {4}, None, set(range(1, 13)), {0})),
    ("0 22 * * 7", ({0}, {22}, None, set(range(1, 13)), {0})),
    ("10-20/5 8,20 * jan-jun *", ({10, 15, 20}, {8, 20}, None, set(range(1, 7)), None)),
]


@pytest.mark.parametrize("text,expr", CASES)
def test_previous_and_next_agree_with_a_minute_by_minute_walk(text: str, expr) -> None:  # type: ignore[no-untyped-def]
    cron = CronSchedule(text)
    rng = np.random.default_rng(7)
    base = datetime(2026, 1, 1)
    for _ in range(15):
        at = base + timedelta(minutes=int(rng.integers(0, 365 * 24 * 60)))
        horizon = timedelta(days=16)
        expected = _brute_previous(expr, at, horizon)
        got = cron.previous(at)
        if expected is None:  # further back than the walk goes
            assert got is not None and got < at - horizon and _brute_matches(expr, got)
        else:
            assert got == expected, (text, at)
        nxt = cron.next(at)
        assert nxt is not None and nxt > at and _brute_matches(expr, nxt)
        t = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while t < min(nxt, at + horizon):  # nothing fires between
            assert not _brute_matches(expr, t), (text, t)
            t += timedelta(minutes=1)


def test_quarterly_is_the_first_of_january_april_july_october() -> None:
    q = CronSchedule("quarterly")
    ticks = q.ticks(datetime(2025, 12, 31), datetime(2027, 1, 1))
    assert ticks == [datetime(y, m, 1) for y in (2026,) for m in (1, 4, 7, 10)] + [datetime(2027, 1, 1)]
    assert q.previous(datetime(2026, 6, 30, 23, 59)) == datetime(2026, 4, 1)
    assert q.previous(datetime(2026, 4, 1)) == datetime(2026, 4, 1)  # a tick is at-or-before itself
    assert CronSchedule("@quarterly").ticks(datetime(2026, 1, 1), datetime(2026, 12, 31)) == ticks[1:4]


def test_impossible_dates_never_fire() -> None:
    assert CronSchedule("0 0 31 2 *").previous(datetime(2030, 1, 1)) is None
    assert CronSchedule("0 0 31 2 *").next(datetime(2030, 1, 1)) is None


@pytest.mark.parametrize("text,words", [
    ("* * *", "expected 5 fields"),
    ("61 * * * *", "minute '61' must lie within 0-59"),
    ("* 25 * * *", "hour '25' must lie within 0-23"),
    ("* * * foo *", "month 'foo' is not a number or a name"),
    ("*/0 * * * *", "step '0' must be a whole number"),
    ("* * 20-10 * *", "low end first"),
])
def test_bad_expressions_say_which_field_and_range(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace("*", r"\*")):
        CronSchedule(text)
