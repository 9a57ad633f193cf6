"""Window metrics, aggregated inside the store's engine.

One pass per grouping: the scalar metrics of every window in one ``GROUP BY`` (volume, unique
users, latency quantiles, error rate, confidence, missing, unseen and out-of-range rates),
then the mixes (prediction classes, error types, feature categories) and the confusion counts
against resolved ground truth. Python only sees one row per window (or per window and class).
The aggregations are the Ibis expressions of :mod:`modelsteward.engines.aggregates`, the same
ones Spark and PostgreSQL run (:mod:`modelsteward.engines.metrics`).

Latency percentiles use linear interpolation between order statistics (DuckDB's
``quantile_cont``, the same definition as ``numpy.quantile``'s default).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.store.base import Store

__all__ = ["WINDOW_LENGTH", "compute_window_metrics", "window_bounds", "window_start_sql"]

WINDOW_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
_TRUNC = {"hour": "hour", "day": "day", "week": "week"}


def window_start_sql(model: ModelConfig, column: str = "ts") -> str:
    """SQL for the start of the window holding ``column`` (weeks start on Monday)."""
    return f"date_trunc('{_TRUNC[model.window]}', {column})"


def window_bounds(model: ModelConfig, when: datetime) -> tuple[datetime, datetime]:
    """Start and end of the window that holds ``when``.

    >>> from modelsteward.config import ModelConfig
    >>> m = ModelConfig(name="m", task="binary", labels=["a", "b"])
    >>> window_bounds(m, datetime(2026, 1, 8, 13, 0))
    (datetime.datetime(2026, 1, 5, 0, 0), datetime.datetime(2026, 1, 12, 0, 0))
    """
    start = when.replace(minute=0, second=0, microsecond=0)
    if model.window in ("day", "week"):
        start = start.replace(hour=0)
    if model.window == "week":
        start -= timedelta(days=start.weekday())
    return start, start + WINDOW_LENGTH[model.window]


def compute_window_metrics(
    store: Store,
    model: ModelConfig,
    start: datetime,
    end: datetime,
    *,
    profile: Any | None,
) -> dict[datetime, dict[str, float | None]]:
    """Metrics of every window with predictions whose start lies in ``[start, end)``.

    ``profile`` (a :class:`~modelsteward.reference.ReferenceProfile`) supplies the reference
    ranges and categories for the data-quality rates; without it those rates are left out.
    """
    from modelsteward.engines.connect import store_engine
    from modelsteward.engines.metrics import engine_window_metrics

    return engine_window_metrics(store_engine(store), model, start, end, profile=profile)
