"""Alert rules evaluated on window metrics.

A rule fires in a window only where its condition holds on that window's value, and only once
it has held for ``for`` consecutive windows. Conditions:

- ``below`` / ``above`` a fixed value;
- ``change`` against a baseline: ``(value - baseline) / baseline`` (relative) or
  ``value - baseline`` (absolute), downwards, upwards or either way, by more than an amount;
- ``outside_band``: below ``lower × baseline`` or above ``upper × baseline``.

The baseline is the reference's (a computed profile value or one declared in
``reference.baselines``), the median of the ``trailing_windows`` windows before, or a number.
A window without a value, or a rule without a baseline, is recorded as *no data*: it neither
fires nor counts towards ``for``.

>>> from modelsteward.config import AlertRule
>>> rule = AlertRule(name="acc", metric="accuracy", condition={"kind": "below", "value": 0.85}, **{"for": 2})
>>> from datetime import datetime, timedelta
>>> weeks = [datetime(2026, 1, 5) + timedelta(weeks=i) for i in range(4)]
>>> history = [(w, w + timedelta(weeks=1), {"accuracy": a}) for w, a in zip(weeks, [0.9, 0.8, 0.8, 0.9])]
>>> [e.fired for e in evaluate_rule(rule, history, {})]
[False, False, True, False]
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from modelsteward.config import AlertRule, BandCondition, ChangeCondition, ThresholdCondition

__all__ = ["Evaluation", "evaluate_rule", "numeric_threshold", "rule_baseline"]

WindowMetrics = tuple[datetime, datetime, Mapping[str, float | None]]


@dataclass(frozen=True)
class Evaluation:
    """One rule in one window: the value, what it was compared with, and the outcome."""

    rule: str
    window_start: datetime
    window_end: datetime
    metric: str
    value: float | None
    baseline: float | None
    threshold: str
    holds: bool | None
    streak: int
    fired: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rule_baseline(rule: AlertRule, history: Sequence[WindowMetrics], index: int, reference: Mapping[str, float]) -> float | None:
    """The baseline the rule compares window ``index`` with, or None when there is none."""
    if isinstance(rule.baseline, (int, float)):
        return float(rule.baseline)
    if rule.baseline == "trailing":
        earlier = [m.get(rule.metric) for _, _, m in history[max(0, index - rule.trailing_windows):index]]
        values = [float(v) for v in earlier if v is not None]
        return statistics.median(values) if values else None
    value = reference.get(rule.metric)
    return None if value is None else float(value)


def _tidy(x: float) -> float:
    """A threshold computed from a baseline, rounded to 12 significant digits.

    0.8 × (1 − 0.1) is 0.7200000000000001 in binary floating point; without rounding, a value
    of exactly 0.72 would count as below a "10% under 0.8" threshold.
    """
    return float(f"{x:.12g}")


def _check(rule: AlertRule, value: float, baseline: float | None) -> tuple[bool | None, str]:
    cond = rule.condition
    if isinstance(cond, ThresholdCondition):
        return (value < cond.value if cond.kind == "below" else value > cond.value), f"{'<' if cond.kind == 'below' else '>'} {cond.value:g}"
    if baseline is None:
        return None, "no baseline"
    if isinstance(cond, ChangeCondition):
        by = cond.by_more_than
        if cond.relative:
            if baseline == 0:
                return None, "baseline is 0: a relative change is undefined"
            lo, hi = _tidy(baseline * (1 - by)), _tidy(baseline * (1 + by))
            desc = f"{by:.0%}" if by * 100 == round(by * 100) else f"{by:g}×"
        else:
            lo, hi = _tidy(baseline - by), _tidy(baseline + by)
            desc = f"{by:g}"
        if cond.direction == "down":
            return value < lo, f"< {lo:.4g}, i.e. baseline {baseline:.4g} − {desc}"
        if cond.direction == "up":
            return value > hi, f"> {hi:.4g}, i.e. baseline {baseline:.4g} + {desc}"
        return (value < lo or value > hi), f"outside [{lo:.4g}, {hi:.4g}], i.e. baseline {baseline:.4g} ± {desc}"
    assert isinstance(cond, BandCondition)
    lo, hi = _tidy(cond.lower * baseline), _tidy(cond.upper * baseline)
    return (value < lo or value > hi), f"outside [{lo:.4g}, {hi:.4g}], i.e. {cond.lower:g}–{cond.upper:g} × baseline {baseline:.4g}"


def numeric_threshold(rule: AlertRule, value: float | None, baseline: float | None) -> float | None:
    """The bound a value is compared with, as a number (for notifications): for a two-sided
    condition, the bound on the side the value is on; None without a baseline.

    >>> r = AlertRule(name="v", metric="volume", condition={"kind": "outside_band", "lower": 0.5, "upper": 2.0})
    >>> numeric_threshold(r, 30.0, 100.0), numeric_threshold(r, 300.0, 100.0)
    (50.0, 200.0)
    """
    cond = rule.condition
    if isinstance(cond, ThresholdCondition):
        return cond.value
    if baseline is None:
        return None
    if isinstance(cond, ChangeCondition):
        by = cond.by_more_than
        if cond.relative:
            lo, hi = _tidy(baseline * (1 - by)), _tidy(baseline * (1 + by))
        else:
            lo, hi = _tidy(baseline - by), _tidy(baseline + by)
        if cond.direction != "either":
            return lo if cond.direction == "down" else hi
    else:
        lo, hi = _tidy(cond.lower * baseline), _tidy(cond.upper * baseline)
    return lo if value is not None and value < baseline else hi


def evaluate_rule(rule: AlertRule, history: Sequence[WindowMetrics], reference: Mapping[str, float]) -> list[Evaluation]:
    """Evaluate ``rule`` on windows in time order; a gap between windows resets the streak."""
    out: list[Evaluation] = []
    streak = 0
    previous_end: datetime | None = None
    for i, (start, end, metrics) in enumerate(history):
        if previous_end is not None and start != previous_end:
            streak = 0
        previous_end = end
        value = metrics.get(rule.metric)
        baseline = rule_baseline(rule, history, i, reference)
        if value is None:
            holds, threshold = None, "no data"
        else:
            holds, threshold = _check(rule, float(value), baseline)
        streak = streak + 1 if holds else 0
        fired = bool(holds) and streak >= rule.for_windows
        out.append(Evaluation(rule.name, start, end, rule.metric, value, baseline, threshold, holds, streak, fired))
    return out
