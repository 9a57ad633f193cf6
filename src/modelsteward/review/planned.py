"""The expert-review plan put in front of reviewers: the week's sample becomes review items.

:mod:`modelsteward.feedback.sampling` lists a week's expert-review plan (a seeded random
sample of ``feedback.expert_review.weekly_sample`` predictions, and the high-confidence errors
that feedback contradicts). :func:`enqueue_expert_sample` puts each of those predictions in
the model's review queue, with the reason ``expert_sample`` (priority
``expert_review.sample_priority``, low by default) or ``high_confidence_error`` (priority
``expert_review.error_priority``, medium by default, the contradicting feedback in the
reason's detail). The item shows the logged input, as a routed item does; its review is due
within the ``review.sla`` of its priority, and a decision on it lands as expert feedback.

The week's set is stable, so the command can run on a schedule (daily, or at every
``steward check``) without growing the week's sample:

- the sample is the ``n`` smallest keys of the *whole* week (reviewed predictions included),
  not topped up once some of it is decided: each planned prediction is queued once (the
  queue's key refuses a prediction queued before, whatever routed it);
- a planned prediction an expert already reviewed outside the queue is left out
  (``reviewed``): its review is done;
- a high-confidence error found later in the week (its feedback arrived since) is added.

On a week nobody has reviewed yet, the items are exactly
:func:`~modelsteward.feedback.sampling.expert_review_plan`'s rows.

>>> from datetime import datetime, timedelta
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["a", "b"],
...     "review": {"conditions": []}, "feedback": {"expert_review": {"weekly_sample": 2, "seed": 7}}}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> week = datetime(2026, 1, 5)
>>> for i in range(10):
...     _ = mon.log_prediction(prediction_id=f"p{i}", prediction="a", confidence=0.5 + i / 20, timestamp=week + timedelta(hours=i))
>>> _ = mon.log_feedback("p9", kind="explicit", label="b")
>>> done = enqueue_expert_sample(mon, week_start=week, routed_at=week + timedelta(days=7))
>>> [(i.prediction_id, i.priority, i.reasons[0]["name"]) for i in mon.review_queue().items()]
[('p9', 'medium', 'high_confidence_error'), ('p0', 'low', 'expert_sample'), ('p2', 'low', 'expert_sample')]
>>> len(done.created), len(enqueue_expert_sample(mon, week_start=week).created)   # a second run adds nothing
(3, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from modelsteward.config import ModelConfig, parse_duration
from modelsteward.errors import ConfigError
from modelsteward.feedback.sampling import high_confidence_errors, weekly_sample
from modelsteward.review.policy import Reason
from modelsteward.review.queue import ReviewQueue, item_id_for
from modelsteward.review.routing import RoutingDecision
from modelsteward.review.service import stored_input
from modelsteward.store.base import Store

if TYPE_CHECKING:
    from modelsteward.monitor import Monitor

__all__ = ["PlannedReview", "enqueue_expert_sample", "planned_rows"]


@dataclass(frozen=True)
class PlannedReview:
    """What :func:`enqueue_expert_sample` did for one model and week.

    ``item_ids`` holds the item of every queued planned prediction, in plan order (errors
    first); ``created`` the items this run added, ``already_queued`` those that stood before
    (planned earlier, or routed by the policy); ``reviewed`` the planned prediction ids left
    out because an expert reviewed them outside the queue.
    """

    model: str
    week_start: datetime
    rows: list[dict[str, Any]]
    item_ids: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    already_queued: list[str] = field(default_factory=list)
    reviewed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "week_start": self.week_start, "rows": self.rows, "item_ids": self.item_ids,
                "created": self.created, "already_queued": self.already_queued, "reviewed": self.reviewed}


def _monday(day: datetime) -> datetime:
    return day.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=day.weekday())


def planned_rows(store: Store, model: ModelConfig, week_start: datetime, *, n: int | None = None,
                 seed: int | None = None) -> list[dict[str, Any]]:
    """The week's plan over every prediction, reviewed or not: high-confidence errors, then the
    random sample (``n`` and ``seed`` override ``feedback.expert_review``); a prediction in both is
    listed once, as an error. Drawing over reviewed predictions too keeps the week's sample the
    same once some of it is decided."""
    plan = model.feedback.expert_review
    errors = high_confidence_errors(store, model, week_start, min_confidence=plan.high_confidence,
                                    limit=plan.max_high_confidence_errors, exclude_reviewed=False)
    seen = {r["prediction_id"] for r in errors}
    sample = weekly_sample(store, model, week_start, n=plan.weekly_sample if n is None else n,
                           seed=plan.seed if seed is None else seed, exclude_reviewed=False)
    return errors + [r for r in sample if r["prediction_id"] not in seen]


def _existing(store: Store, sql: str, model: str, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    marks = ", ".join("?" * len(ids))
    return {r[0] for r in store.query(sql.format(marks=marks), [model, *ids])}


def _reason(row: dict[str, Any], model: ModelConfig, start: datetime, n: int, seed: int) -> Reason:
    plan = model.feedback.expert_review
    if row["reason"] == "high_confidence_error":
        return Reason("high_confidence_error", "high_confidence_error", plan.error_priority,
                      f"confidence {row['confidence']:.3f} >= {plan.high_confidence:g} and feedback contradicts it: {row['evidence']}")
    return Reason("expert_sample", "expert_sample", plan.sample_priority,
                  f"weekly random sample of {n} for expert review, week of {start:%Y-%m-%d} (seed {seed})")


def enqueue_expert_sample(monitor: Monitor, model: str | None = None, *, week_start: datetime, n: int | None = None,
                          seed: int | None = None, routed_at: datetime | None = None) -> PlannedReview:
    """Put the week's expert-review plan in the model's review queue (see the module's docstring).

    ``week_start`` is any day of the week (weeks start on Monday, UTC); ``n`` and ``seed``
    override ``feedback.expert_review.weekly_sample`` and ``seed``; ``routed_at`` (default now)
    starts the items' SLA. Raises :class:`~modelsteward.errors.ConfigError` when the model has no
    ``review:`` section.
    """
    cfg = monitor.model(model)
    settings = cfg.review
    if settings is None:
        raise ConfigError(
            f"model {cfg.name!r} has no review queue to put its expert-review sample in", path=f"models[{cfg.name}].review",
            hint="add a `review:` section to the model in steward.yaml; `review: {conditions: []}` gives a queue "
                 "(with the default SLAs, lease and overlap) without routing any other prediction to it")
    plan = cfg.feedback.expert_review
    n = plan.weekly_sample if n is None else n
    seed = plan.seed if seed is None else seed
    start = _monday(week_start)
    rows = planned_rows(monitor.store, cfg, start, n=n, seed=seed)
    ids = [r["prediction_id"] for r in rows]
    queued = _existing(monitor.store, "SELECT prediction_id FROM review_items WHERE model = ? AND prediction_id IN ({marks})",
                       cfg.name, ids)
    reviewed = _existing(monitor.store, "SELECT DISTINCT prediction_id FROM feedback WHERE model = ? AND kind = 'expert' "
                                        "AND prediction_id IN ({marks})", cfg.name, ids)
    queue = ReviewQueue(monitor, cfg.name)
    now = routed_at or queue.clock()
    result = PlannedReview(cfg.name, start, rows)
    for row in rows:
        pid = row["prediction_id"]
        if pid in queued:
            result.item_ids.append(item_id_for(cfg.name, pid))
            result.already_queued.append(item_id_for(cfg.name, pid))
            continue
        if pid in reviewed:
            result.reviewed.append(pid)
            continue
        reason = _reason(row, cfg, start, n, seed)
        sla = parse_duration(settings.sla[reason.priority]).total_seconds() if reason.priority in settings.sla else None
        decision = RoutingDecision(cfg.name, pid, True, (reason,), reason.priority, settings.queue, sla, (reason.name,))
        item_id = queue.enqueue(decision, stored_input(monitor.store, cfg, pid), routed_at=now)
        result.item_ids.append(item_id)
        result.created.append(item_id)
    return result
