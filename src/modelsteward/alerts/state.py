"""The life of one alert (one rule of one model): normal → pending → firing → resolved.

:func:`step` is a pure function: it takes the alert's state and one window's evaluation and
returns the new state and the transitions, each with its reason. Times are the windows' ends,
passed in, never read from a clock, so every timer can be driven on both sides in tests.

- **pending**: the condition holds but not yet for the rule's ``for`` windows;
- **firing**: it held for ``for`` windows. With ``keep_firing_for`` a firing alert whose
  condition clears keeps firing until it has been clear that long, measured from the end of
  the first clear window (as Prometheus measures it);
- **no data**: a window without a value is handled as the rule says (``no_data``): ``keep``
  the state, ``resolve`` (the condition counts as clear), or ``alert`` (the state
  ``no_data``, which alerts like firing);
- **flapping**: an alert whose alerting-or-not flips more than ``max_flips`` times within
  ``period`` is marked flapping and *held* firing (its incident stays open and quiet) until
  the flips within the period drop back to ``max_flips``; then it takes the state its
  condition says. Flips go on being recorded while held.

>>> from datetime import datetime, timedelta
>>> t0 = datetime(2026, 1, 12)
>>> timers = Timers()
>>> s = AlertState()
>>> s, ts = step(s, Observation(t0, t0 - timedelta(weeks=1), holds=True, fired=False), timers)
>>> s.state, ts[0].reason
('pending', 'condition holds (1 of the windows `for` needs)')
>>> s, ts = step(s, Observation(t0 + timedelta(weeks=1), t0, holds=True, fired=True), timers)
>>> s.state
'firing'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

__all__ = ["ALERTING", "STATES", "AlertState", "Observation", "Timers", "Transition", "step"]

State = Literal["normal", "pending", "firing", "no_data", "resolved"]
STATES: tuple[State, ...] = ("normal", "pending", "firing", "no_data", "resolved")
ALERTING = frozenset({"firing", "no_data"})  # states that hold an incident open


@dataclass(frozen=True)
class Observation:
    """One window's evaluation of the rule: at the window's end, did the condition hold?

    ``holds`` is None when the window had no value; ``fired`` says the condition has held for
    the rule's ``for`` windows (see :func:`modelsteward.alerts.rules.evaluate_rule`).
    """

    at: datetime
    window_start: datetime
    holds: bool | None
    fired: bool
    value: float | None = None
    threshold: str = ""


@dataclass(frozen=True)
class Timers:
    """The rule's settings that the state machine needs."""

    keep_firing_for: timedelta | None = None
    no_data: Literal["keep", "resolve", "alert"] = "keep"
    max_flips: int | None = 4          # None: flapping detection off
    flap_period: timedelta = timedelta(weeks=10)


@dataclass(frozen=True)
class AlertState:
    """Where one alert stands. ``state`` is what people see; ``raw`` what the condition alone says
    (they differ only while the alert is held because it is flapping)."""

    state: State = "normal"
    raw: State = "normal"
    since: datetime | None = None
    clear_since: datetime | None = None   # end of the first clear window of a firing alert
    flips: tuple[datetime, ...] = ()
    flapping: bool = False
    last_at: datetime | None = None

    @property
    def alerting(self) -> bool:
        return self.state in ALERTING


@dataclass(frozen=True)
class Transition:
    """One change of state, with its reason. ``held`` marks a change of the condition that was
    recorded but not shown, because the alert was held as flapping."""

    at: datetime
    window_start: datetime
    from_state: State
    to_state: State
    reason: str
    value: float | None = None
    held: bool = False
    flapping: bool = False


def _fmt(d: timedelta) -> str:
    secs = int(d.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def _raw_next(s: AlertState, obs: Observation, t: Timers) -> tuple[State, datetime | None, str]:
    """The condition's own next state, the new ``clear_since``, and the reason."""
    holds = obs.holds
    if holds is None:
        if t.no_data == "keep":
            return s.raw, s.clear_since, "no data in the window; state kept (no_data: keep)"
        if t.no_data == "alert":
            return "no_data", None, "no data in the window (no_data: alert)"
        holds = False  # no_data: resolve
    if holds and (obs.fired or s.raw == "firing"):
        if s.raw == "firing":
            return "firing", None, "condition still holds"
        return "firing", None, f"condition holds, for as many windows as `for` needs ({obs.threshold})"
    if holds:
        if s.raw != "pending":
            return "pending", None, "condition holds (1 of the windows `for` needs)"
        return "pending", None, "condition holds, not yet for `for` windows"
    clear = "no data, counted as clear (no_data: resolve)" if obs.holds is None else "condition clear"
    if s.raw == "firing":
        if t.keep_firing_for is not None:
            since = s.clear_since or obs.at
            if obs.at - since < t.keep_firing_for:
                return "firing", since, f"{clear}; kept firing for {_fmt(t.keep_firing_for)} (keep_firing_for) from {since:%Y-%m-%d %H:%M}"
            return "resolved", None, f"{clear} for {_fmt(obs.at - since)}, at least keep_firing_for {_fmt(t.keep_firing_for)}"
        return "resolved", None, clear
    if s.raw == "no_data":
        return "resolved", None, f"data again; {clear}"
    if s.raw == "pending":
        return "normal", None, f"{clear} before `for` windows"
    return s.raw, None, clear


def step(s: AlertState, obs: Observation, t: Timers) -> tuple[AlertState, list[Transition]]:
    """Advance ``s`` by one window; returns the new state and its transitions (possibly none)."""
    raw, clear_since, reason = _raw_next(s, obs, t)
    flips = s.flips
    if (raw in ALERTING) != (s.raw in ALERTING):
        flips = (*flips, obs.at)
    flips = tuple(f for f in flips if obs.at - f < t.flap_period)
    out: list[Transition] = []
    flapping = s.flapping
    n = len(flips)
    if t.max_flips is not None and not flapping and n > t.max_flips:
        flapping = True
        reason_f = f"flapping: {n} flips within {_fmt(t.flap_period)} (more than {t.max_flips}); held firing until it settles"
        if raw != s.raw:
            out.append(Transition(obs.at, obs.window_start, s.raw, raw, reason, obs.value, held=True, flapping=True))
        shown: State = "firing"
        if s.state != shown:
            out.append(Transition(obs.at, obs.window_start, s.state, shown, reason_f, obs.value, flapping=True))
        else:
            out.append(Transition(obs.at, obs.window_start, s.state, shown, reason_f, obs.value, held=True, flapping=True))
    elif flapping and (t.max_flips is None or n <= t.max_flips):
        flapping = False
        shown = raw
        settle = f"stopped flapping ({n} flips within {_fmt(t.flap_period)}); {reason}"
        out.append(Transition(obs.at, obs.window_start, s.state, shown, settle, obs.value))
    elif flapping:
        shown = s.state
        if raw != s.raw:
            out.append(Transition(obs.at, obs.window_start, s.raw, raw, reason + " (held: flapping)", obs.value, held=True, flapping=True))
    else:
        shown = raw
        if raw != s.raw:
            out.append(Transition(obs.at, obs.window_start, s.raw, raw, reason, obs.value))
    since = s.since if shown == s.state else obs.at
    return replace(s, state=shown, raw=raw, since=since, clear_since=clear_since, flips=flips,
                   flapping=flapping, last_at=obs.at), out
