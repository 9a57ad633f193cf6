"""Retraining triggers: when does the data say a model must be retrained?

Four kinds (the course's "RETRAINING TRIGGERS"):

- ``metric``: a window metric meets a condition for ``for`` consecutive windows ("accuracy
  drops below 85% for 2 consecutive weeks"); evaluated exactly like an alert rule
  (:func:`~modelsteward.alerts.rules.evaluate_rule`), and an alert rule with ``retrain: true``
  is a trigger of this kind (``rule``);
- ``drift``: a stored drift test is significant, e.g. "KS p-value < 0.01", for ``for``
  consecutive windows, read from the stored drift results (raw or corrected p-values);
- ``schedule``: a cron schedule ("quarterly scheduled retrain regardless");
- ``manual``: an emergency request with a reason (:func:`~modelsteward.retrain.evaluate.request_retrain`).

A window-based trigger *holds* in a window and *fires* once the run of consecutive windows it
holds in is ``for`` long. A run is one **episode**, named by its first window: however long the
run lasts, it asks for one retrain (a gap between windows, or a window where it does not hold,
ends it). Each window of the run from the ``for``-th on is a :class:`Candidate`; the first that
passes the guards (:mod:`modelsteward.retrain.evaluate`) becomes the request.

>>> from datetime import datetime, timedelta
>>> from modelsteward.config import MetricTrigger
>>> t = MetricTrigger(kind="metric", name="acc", metric="accuracy", condition={"kind": "below", "value": 0.85}, **{"for": 2})
>>> weeks = [datetime(2026, 1, 5) + timedelta(weeks=i) for i in range(5)]
>>> history = [(w, w + timedelta(weeks=1), {"accuracy": a}) for w, a in zip(weeks, [0.9, 0.8, 0.8, 0.8, 0.9])]
>>> [(c.episode, c.as_of.date().isoformat()) for c in metric_candidates(t, history, {})]
[('2026-01-12T00:00:00', '2026-01-26'), ('2026-01-12T00:00:00', '2026-02-02')]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelsteward.alerts.rules import WindowMetrics, evaluate_rule
from modelsteward.config import AlertRule, DriftTrigger, MetricTrigger, ScheduleTrigger
from modelsteward.retrain.schedule import CronSchedule
from modelsteward.store.base import Store

__all__ = ["Candidate", "drift_candidates", "metric_candidates", "schedule_candidates"]


@dataclass(frozen=True)
class Candidate:
    """A trigger that fires at ``as_of``, with the evidence a retrain request would carry."""

    trigger: str
    kind: str
    episode: str
    as_of: datetime
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        return f"{self.trigger}:{self.episode}"


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime
    holds: bool | None
    detail: dict[str, Any]


def _runs(trigger: str, kind: str, windows: Iterable[_Window], need: int, describe: Any) -> list[Candidate]:
    """Candidates from per-window outcomes: every window where the run of holding windows is ``need`` long or more."""
    out: list[Candidate] = []
    run: list[_Window] = []
    previous_end: datetime | None = None
    for w in windows:
        if previous_end is not None and w.start != previous_end:
            run = []
        previous_end = w.end
        run = [*run, w] if w.holds else []
        if len(run) >= need:
            shown = run[-need:]
            evidence = {"windows": [{"start": x.start, "end": x.end, **x.detail} for x in shown], "for": need,
                        "run_started": run[0].start, "run_length": len(run)}
            out.append(Candidate(trigger, kind, run[0].start.isoformat(), w.end, describe(shown), evidence))
    return out


def _as_rule(t: MetricTrigger) -> AlertRule:
    return AlertRule.model_validate({"name": t.name, "metric": t.metric, "condition": t.condition.model_dump(),
                                     "for": t.for_windows, "baseline": t.baseline})


def metric_candidates(trigger: MetricTrigger | AlertRule, history: Sequence[WindowMetrics],
                      baselines: Mapping[str, float]) -> list[Candidate]:
    """Candidates of a metric trigger (or of an alert rule with ``retrain: true``) over stored window metrics."""
    rule = trigger if isinstance(trigger, AlertRule) else _as_rule(trigger)
    kind = "rule" if isinstance(trigger, AlertRule) else "metric"
    windows = [_Window(e.window_start, e.window_end, e.holds,
                       {"metric": e.metric, "value": e.value, "threshold": e.threshold, "baseline": e.baseline})
               for e in evaluate_rule(rule, history, baselines)]

    def describe(shown: list[_Window]) -> str:
        values = ", ".join("no value" if w.detail["value"] is None else f"{w.detail['value']:.4g}" for w in shown)
        span = (f"{len(shown)} consecutive window(s) from {shown[0].start:%Y-%m-%d}" if len(shown) > 1
                else f"window {shown[0].start:%Y-%m-%d}")
        return f"{rule.metric} {shown[-1].detail['threshold']} in {span} ({values})"

    return _runs(rule.name, kind, windows, rule.for_windows, describe)


def drift_candidates(trigger: DriftTrigger, store: Store, model: str) -> list[Candidate]:
    """Candidates of a drift trigger over the stored drift results of ``model``."""
    rows = store.query_dicts(
        "SELECT window_start, window_end, subject, statistic, p_value, effect_size, details FROM drift_results "
        "WHERE model = ? AND test = ? ORDER BY window_start, subject", [model, trigger.test])
    by_window: dict[datetime, tuple[datetime, list[dict[str, Any]]]] = {}
    for r in rows:
        if trigger.subjects and r["subject"] not in trigger.subjects:
            continue
        details = json.loads(r["details"]) if r["details"] else {}
        p = details.get("p_adjusted") if trigger.adjusted else r["p_value"]
        entry = {"subject": r["subject"], "p_value": p, "statistic": r["statistic"], "effect_size": r["effect_size"]}
        by_window.setdefault(r["window_start"], (r["window_end"], []))[1].append(entry)
    windows = []
    for start, (end, subjects) in sorted(by_window.items()):
        tested = [s for s in subjects if s["p_value"] is not None]
        significant = [s for s in tested if s["p_value"] < trigger.p_value]
        holds = None if not tested else bool(significant)
        windows.append(_Window(start, end, holds, {"test": trigger.test, "adjusted": trigger.adjusted,
                                                   "threshold": f"p < {trigger.p_value:g}", "significant": significant}))

    def describe(shown: list[_Window]) -> str:
        subjects = sorted({s["subject"] for w in shown for s in w.detail["significant"]})
        which = "adjusted " if trigger.adjusted else ""
        return (f"{trigger.test} {which}p-value below {trigger.p_value:g} for {', '.join(subjects)} "
                f"in {len(shown)} consecutive window(s) from {shown[0].start:%Y-%m-%d}")

    return _runs(trigger.name, "drift", windows, trigger.for_windows, describe)


def schedule_candidates(trigger: ScheduleTrigger, *, until: datetime, first_data: datetime | None) -> list[Candidate]:
    """The schedule's latest tick at or before ``until``, when it is not before the model's first prediction.

    Ticks missed between two checks fire once, as the latest of them.
    """
    tick = CronSchedule(trigger.cron).previous(until)
    if tick is None or first_data is None or tick < first_data:
        return []
    return [Candidate(trigger.name, "schedule", tick.isoformat(), tick, f"scheduled retrain ({trigger.cron}) due at {tick:%Y-%m-%d %H:%M}",
                      {"cron": trigger.cron, "tick": tick})]
