"""The expert-review plan: a weekly random QA sample, and a sample of high-confidence errors.

The course's plan: "Weekly QA review of 50 random predictions ... Focus on high-confidence
errors". Both samples are drawn inside the store's engine:

- :func:`weekly_sample` draws ``n`` of the week's predictions uniformly at random without
  replacement: each prediction gets the key ``md5("<seed>:<prediction_id>")`` and the ``n``
  smallest keys are drawn. The same seed and week always give the same sample, a prediction
  logged late does not reshuffle the others, and predictions an expert already reviewed are
  left out by default.
- :func:`high_confidence_errors` lists the week's predictions made with confidence of at least
  ``min_confidence`` that feedback contradicts: an explicit or outcome label that differs from
  the prediction, or implicit feedback ``modified`` or ``rejected``. These are the model's
  confident mistakes, the ones an expert learns most from; already reviewed ones are left out.

>>> from datetime import datetime, timedelta
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["a", "b"]}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> week = datetime(2026, 1, 5)
>>> for i in range(10):
...     _ = mon.log_prediction(prediction_id=f"p{i}", prediction="a", confidence=0.5 + i / 20, timestamp=week + timedelta(hours=i))
>>> _ = mon.log_feedback("p9", kind="explicit", label="b")
>>> _ = mon.log_feedback("p8", kind="implicit", action="rejected")
>>> _ = mon.log_feedback("p1", kind="explicit", label="b")   # an error, but not a confident one
>>> [r["prediction_id"] for r in weekly_sample(mon.store, mon.model(), week, n=3, seed=7)]
['p0', 'p2', 'p5']
>>> [(r["prediction_id"], r["evidence"]) for r in high_confidence_errors(mon.store, mon.model(), week, min_confidence=0.8)]
[('p9', 'explicit label b'), ('p8', 'implicit rejected')]
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["expert_review_plan", "high_confidence_errors", "sample_key", "weekly_sample"]

WEEK = timedelta(weeks=1)


def sample_key(seed: int, prediction_id: str) -> str:
    """The sort key of a prediction in the weekly sample (the same in SQL and in Python).

    >>> sample_key(0, "p1")
    '710e311ba8e507840a2eb2a56ecc5b70'
    """
    import hashlib

    return hashlib.md5(f"{seed}:{prediction_id}".encode(), usedforsecurity=False).hexdigest()


def _week(week_start: datetime) -> tuple[datetime, datetime]:
    start = week_start.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=week_start.weekday())
    return start, start + WEEK


def weekly_sample(store: Store, model: ModelConfig, week_start: datetime, *, n: int, seed: int = 0,
                  exclude_reviewed: bool = True) -> list[dict[str, Any]]:
    """``n`` random predictions of the ISO week holding ``week_start`` (Monday to Monday, UTC)."""
    start, end = _week(week_start)
    table = ModelTables.predictions_table(model.name)
    reviewed = (" AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.model = ? AND f.kind = 'expert' "
                "AND f.prediction_id = p.prediction_id)") if exclude_reviewed else ""
    params: list[Any] = [str(seed), start, end] + ([model.name] if exclude_reviewed else []) + [int(n)]
    rows = store.query_dicts(
        f"SELECT prediction_id, ts, prediction, confidence, model_version, md5(? || ':' || prediction_id) AS sample_key "
        f"FROM {table} p WHERE ts >= ? AND ts < ?{reviewed} ORDER BY sample_key, prediction_id LIMIT ?",
        params,
    )
    for r in rows:
        r["reason"] = "weekly_sample"
    return rows


def high_confidence_errors(store: Store, model: ModelConfig, week_start: datetime, *, min_confidence: float,
                           limit: int | None = None, exclude_reviewed: bool = True) -> list[dict[str, Any]]:
    """Predictions of the week with confidence >= ``min_confidence`` that feedback contradicts,
    most confident first; ``evidence`` says which feedback (the latest contradicting one)."""
    start, end = _week(week_start)
    table = ModelTables.predictions_table(model.name)
    reviewed = ("WHERE NOT EXISTS (SELECT 1 FROM feedback e WHERE e.model = ? AND e.kind = 'expert' "
                "AND e.prediction_id = c.prediction_id)") if exclude_reviewed else ""
    params: list[Any] = [model.name, start, end, min_confidence] + ([model.name] if exclude_reviewed else [])
    sql = f"""
        SELECT * EXCLUDE (rn) FROM (
            SELECT p.prediction_id, p.ts, p.prediction, p.confidence, p.model_version,
                   CASE WHEN f.label IS NOT NULL THEN f.kind || ' label ' || f.label ELSE f.kind || ' ' || f.action END AS evidence,
                   row_number() OVER (PARTITION BY p.prediction_id ORDER BY f.ts DESC, f.feedback_id DESC) AS rn
            FROM {table} p JOIN feedback f ON f.prediction_id = p.prediction_id AND f.model = ?
            WHERE p.ts >= ? AND p.ts < ? AND p.confidence >= ?
              AND ((f.kind IN ('explicit', 'outcome') AND f.label IS NOT NULL AND f.label IS DISTINCT FROM p.prediction)
                   OR (f.kind = 'implicit' AND f.action IN ('modified', 'rejected')))
        ) c {reviewed}
        {"AND" if reviewed else "WHERE"} rn = 1
        ORDER BY confidence DESC, prediction_id
    """
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    rows = store.query_dicts(sql, params)
    for r in rows:
        r["reason"] = "high_confidence_error"
    return rows


def expert_review_plan(store: Store, model: ModelConfig, week_start: datetime) -> list[dict[str, Any]]:
    """The model's ``feedback.expert_review`` plan for one week: the high-confidence errors, then
    the random sample (a prediction in both is listed once, as an error)."""
    plan = model.feedback.expert_review
    errors = high_confidence_errors(store, model, week_start, min_confidence=plan.high_confidence,
                                    limit=plan.max_high_confidence_errors)
    seen = {r["prediction_id"] for r in errors}
    sample = [r for r in weekly_sample(store, model, week_start, n=plan.weekly_sample, seed=plan.seed)
              if r["prediction_id"] not in seen]
    return errors + sample

