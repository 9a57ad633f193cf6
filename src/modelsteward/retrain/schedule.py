"""Cron schedules for scheduled retraining: a small, documented 5-field matcher.

``croniter`` is not among the packages available to this project, so schedules are read here.
A schedule is five fields separated by spaces, matched against naive UTC times::

    minute (0-59)  hour (0-23)  day-of-month (1-31)  month (1-12)  day-of-week (0-6, 0 = Sunday; 7 = Sunday too)

Each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list
of these. Months and days of week also take three-letter names (``jan``, ``mon``). As in
Vixie cron, when both day-of-month and day-of-week are restricted (neither is ``*``), a day
matches if *either* matches. Aliases: ``@yearly`` (``@annually``), ``@quarterly`` (also
``quarterly``: midnight on 1 January, April, July and October — the course's "Quarterly (Q1,
Q2, Q3, Q4)"), ``@monthly``, ``@weekly``, ``@daily`` (``@midnight``) and ``@hourly``.

>>> from datetime import datetime
>>> q = CronSchedule("quarterly")
>>> q.previous(datetime(2026, 3, 2, 9, 30))
datetime.datetime(2026, 1, 1, 0, 0)
>>> q.next(datetime(2026, 1, 1))
datetime.datetime(2026, 4, 1, 0, 0)
>>> CronSchedule("30 9 * * mon-fri").previous(datetime(2026, 1, 4, 12, 0))  # a Sunday
datetime.datetime(2026, 1, 2, 9, 30)
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["CronSchedule"]

ALIASES = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    "@quarterly": "0 0 1 1,4,7,10 *", "quarterly": "0 0 1 1,4,7,10 *",
    "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, _MONTHS),
           ("day of week", 0, 7, _DAYS))
_SEARCH_DAYS = 366 * 5  # a schedule that matches no day in five years (say 31 February) matches never


def _number(text: str, names: dict[str, int], what: str, expr: str) -> int:
    key = text.lower()
    if key in names:
        return names[key]
    if not text.isdigit():
        raise ValueError(f"cron {expr!r}: {what} {text!r} is not a number" + (f" or a name ({', '.join(names)})" if names else ""))
    return int(text)


def _field(text: str, lo: int, hi: int, names: dict[str, int], what: str, expr: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        rng, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"cron {expr!r}: {what} step {step_text!r} must be a whole number of at least 1")
            step = int(step_text)
        if rng == "*":
            a, b = lo, hi
        elif "-" in rng:
            left, right = rng.split("-", 1)
            a, b = _number(left, names, what, expr), _number(right, names, what, expr)
        else:
            a = _number(rng, names, what, expr)
            b = hi if step_text else a
        if not (lo <= a <= hi and lo <= b <= hi) or a > b:
            raise ValueError(f"cron {expr!r}: {what} {rng!r} must lie within {lo}-{hi} (low end first)")
        values.update(range(a, b + 1, step))
    return frozenset(values)


class CronSchedule:
    """A parsed 5-field cron expression (or alias); see the module's docstring for the syntax.

    Parameters
    ----------
    expression : str
        ``"0 6 1 */3 *"``, ``"quarterly"``, ``"@monthly"``...

    Raises
    ------
    ValueError
        Naming the field that is wrong and the range it must lie in.
    """

    def __init__(self, expression: str) -> None:
        self.expression = expression
        text = ALIASES.get(expression.strip().lower(), expression.strip())
        parts = text.split()
        if len(parts) != 5:
            raise ValueError(f"cron {expression!r}: expected 5 fields (minute hour day-of-month month day-of-week) "
                             f"or an alias ({', '.join(sorted(ALIASES))}), got {len(parts)} field(s)")
        sets = [_field(p, lo, hi, names, what, expression) for p, (what, lo, hi, names) in zip(parts, _FIELDS, strict=True)]
        self._minutes, self._hours, self._dom, self._months, dow = sets
        self._dow = frozenset(d % 7 for d in dow)
        self._dom_any, self._dow_any = parts[2] == "*", parts[4] == "*"

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r})"

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self._months:
            return False
        dom = day.day in self._dom
        dow = (day.weekday() + 1) % 7 in self._dow  # Python: Monday = 0; cron: Sunday = 0
        if self._dom_any or self._dow_any:
            return dom and dow
        return dom or dow

    def matches(self, when: datetime) -> bool:
        """Whether the schedule fires at the minute of ``when``."""
        return self._day_matches(when) and when.hour in self._hours and when.minute in self._minutes

    def previous(self, at: datetime) -> datetime | None:
        """The latest time at or before ``at`` (to the minute) at which the schedule fires."""
        at = at.replace(second=0, microsecond=0)
        day = at.replace(hour=0, minute=0)
        for i in range(_SEARCH_DAYS):
            if self._day_matches(day):
                times = [(h, m) for h in sorted(self._hours, reverse=True) for m in sorted(self._minutes, reverse=True)]
                for h, m in times:
                    candidate = day.replace(hour=h, minute=m)
                    if i > 0 or candidate <= at:
                        return candidate
            day -= timedelta(days=1)
        return None

    def next(self, after: datetime) -> datetime | None:
        """The first time strictly after ``after`` at which the schedule fires."""
        start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.replace(hour=0, minute=0)
        for i in range(_SEARCH_DAYS):
            if self._day_matches(day):
                for h in sorted(self._hours):
                    for m in sorted(self._minutes):
                        candidate = day.replace(hour=h, minute=m)
                        if i > 0 or candidate >= start:
                            return candidate
            day += timedelta(days=1)
        return None

    def ticks(self, start: datetime, end: datetime) -> list[datetime]:
        """Every firing time in ``(start, end]``, in order."""
        out: list[datetime] = []
        t = self.next(start)
        while t is not None and t <= end:
            out.append(t)
            t = self.next(t)
        return out
