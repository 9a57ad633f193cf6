"""Feedback collection rates per window: how much of the traffic each kind of feedback reaches.

The course's feedback plan states its collection rates (explicit ~15% of predictions,
implicit 100%, outcome 100% with a 24-48 hour delay, expert review sampled). Each window's
rates are computed in the store's engine and stored beside its other metrics:

- ``feedback.<kind>_rate`` for ``explicit``, ``implicit``, ``outcome`` and ``expert``: the
  share of the window's predictions that received at least one piece of feedback of that kind
  (however late it arrived; a window is recomputed when its feedback changes);
- ``feedback.outcome_delay_hours_p50``: the median time, in hours, from a prediction to its
  first outcome feedback (``quantile_cont``, the same definition as ``numpy.median``).

>>> from datetime import datetime, timedelta
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["a", "b"]}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> t0 = datetime(2026, 1, 5, 9)
>>> for i in range(4):
...     _ = mon.log_prediction(prediction_id=f"p{i}", prediction="a", confidence=0.9, timestamp=t0)
>>> _ = mon.log_feedback("p0", kind="explicit", label="b", timestamp=t0)
>>> _ = mon.log_feedback("p1", kind="outcome", escalated=True, timestamp=t0 + timedelta(hours=30))
>>> _ = mon.log_feedback("p2", kind="outcome", escalated=False, timestamp=t0 + timedelta(hours=10))
>>> rates = collection_rates(mon.store, mon.model(), t0.replace(hour=0), t0 + timedelta(days=7))
>>> rates["feedback.explicit_rate"], rates["feedback.outcome_rate"], rates["feedback.outcome_delay_hours_p50"]
(0.25, 0.5, 20.0)
"""

from __future__ import annotations

from datetime import datetime

from modelsteward.config import FEEDBACK_SOURCES, ModelConfig
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["COLLECTION_METRICS", "collection_rates"]

COLLECTION_METRICS = (*(f"feedback.{k}_rate" for k in FEEDBACK_SOURCES), "feedback.outcome_delay_hours_p50")


def collection_rates(store: Store, model: ModelConfig, start: datetime, end: datetime) -> dict[str, float | None]:
    """Collection rates of the predictions made in ``[start, end)``; empty when there were none."""
    table = ModelTables.predictions_table(model.name)
    counts = ", ".join(f"count(*) FILTER (WHERE f.kind = '{k}')" for k in FEEDBACK_SOURCES)
    row = store.query(
        f"""
        WITH p AS (SELECT prediction_id, ts FROM {table} WHERE ts >= ? AND ts < ?),
             f AS (SELECT prediction_id, kind, min(ts) AS first_ts FROM feedback
                   WHERE model = ? AND prediction_id IN (SELECT prediction_id FROM p) GROUP BY 1, 2)
        SELECT (SELECT count(*) FROM p), {counts},
               quantile_cont(epoch(f.first_ts - p.ts) / 3600.0, 0.5) FILTER (WHERE f.kind = 'outcome')
        FROM f JOIN p USING (prediction_id)
        """,
        [start, end, model.name],
    )[0]
    n = int(row[0])
    if n == 0:
        return {}
    out: dict[str, float | None] = {f"feedback.{k}_rate": int(c) / n for k, c in zip(FEEDBACK_SOURCES, row[1:-1], strict=True)}
    out["feedback.outcome_delay_hours_p50"] = None if row[-1] is None else float(row[-1])
    return out
