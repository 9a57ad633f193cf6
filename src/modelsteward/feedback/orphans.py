"""Orphan feedback: feedback whose prediction has not arrived (yet).

Feedback is stored as it comes, whether or not its prediction is known; labels, metrics and
collection rates join feedback to predictions when they are computed, so feedback that came
first is used as soon as its prediction is logged, with nothing to replay. Until then it is an
*orphan*: :func:`orphan_feedback` lists it with its age (time since it was received), and an
orphan older than ``feedback.orphan_after`` (24 hours by default) is *overdue*, which
``steward check`` reports, since it usually means the prediction was never logged or was
logged under another id.

>>> from datetime import UTC, datetime, timedelta
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["a", "b"]}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> _ = mon.log_feedback("early", kind="explicit", label="b", feedback_id="fb-1")
>>> later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=2)  # as seen two days from now
>>> [(o["feedback_id"], o["overdue"]) for o in orphan_feedback(mon.store, mon.model(), now=later)]
[('fb-1', True)]
>>> _ = mon.log_prediction(prediction_id="early", prediction="a", confidence=0.7)
>>> orphan_feedback(mon.store, mon.model(), now=later)
[]
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from modelsteward.config import ModelConfig, parse_duration
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["orphan_feedback", "overdue_orphans"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def orphan_feedback(store: Store, model: ModelConfig, *, now: datetime | None = None,
                    older_than: timedelta | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Feedback of ``model`` whose prediction is not stored, oldest first.

    Each row has ``feedback_id, prediction_id, kind, ts, ingested_at, age_hours`` and
    ``overdue`` (age at least ``feedback.orphan_after``). ``older_than`` keeps only orphans at
    least that old; ``now`` defaults to the current UTC time.
    """
    now = now or _now()
    limit_after = parse_duration(model.feedback.orphan_after)
    table = ModelTables.predictions_table(model.name)
    sql = (f"SELECT feedback_id, prediction_id, kind, ts, ingested_at FROM feedback f WHERE model = ? "
           f"AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.prediction_id = f.prediction_id)")
    params: list[Any] = [model.name]
    if older_than is not None:
        sql += " AND ingested_at <= ?"
        params.append(now - older_than)
    sql += " ORDER BY ingested_at, feedback_id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    rows = store.query_dicts(sql, params)
    for r in rows:
        age = now - r["ingested_at"]
        r["age_hours"] = age.total_seconds() / 3600
        r["overdue"] = age >= limit_after
    return rows


def overdue_orphans(store: Store, model: ModelConfig, *, now: datetime | None = None) -> tuple[int, datetime | None]:
    """How many orphans are overdue, and when the oldest of them was received."""
    now = now or _now()
    table = ModelTables.predictions_table(model.name)
    n, oldest = store.query(
        f"SELECT count(*), min(ingested_at) FROM feedback f WHERE model = ? AND ingested_at <= ? "
        f"AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.prediction_id = f.prediction_id)",
        [model.name, now - parse_duration(model.feedback.orphan_after)],
    )[0]
    return int(n), oldest
