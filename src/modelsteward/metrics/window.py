"""Window metrics, aggregated inside the store's engine.

One pass per grouping: the scalar metrics of every window in one ``GROUP BY`` (volume, unique
users, latency quantiles, error rate, confidence, missing, unseen and out-of-range rates),
then the mixes (prediction classes, error types, feature categories) and the confusion counts
against resolved ground truth. Python only sees one row per window (or per window and class).

Latency percentiles use linear interpolation between order statistics (DuckDB's
``quantile_cont``, the same definition as ``numpy.quantile``'s default).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.metrics.quality import quality_metrics
from modelsteward.records import feature_column
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

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
    store: DuckDBStore,
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
    table = DuckDBStore.predictions_table(model.name)
    win = window_start_sql(model)
    where = f"{win} >= ? AND {win} < ?"
    params: list[Any] = [start, end]
    selects = [
        "count(*) AS volume",
        "count(DISTINCT user_id) AS unique_users",
        "quantile_cont(latency_ms, [0.5, 0.95, 0.99]) AS latency_quantiles",
        "CAST(count(error) AS DOUBLE) / count(*) AS error_rate",
        "avg(confidence) AS mean_confidence",
        # A comparison with NULL is NULL, and avg() skips NULLs: the rate is over non-missing values.
        "avg(CAST(confidence < ? AS DOUBLE)) AS low_confidence_rate",
        "count(prediction) AS answered",
    ]
    if model.novelty:  # share of predictions more unusual than 95% of the reference's rows
        selects.append("avg(CAST(novelty >= 95 AS DOUBLE)) AS novel_rate")
    select_params: list[Any] = [model.low_confidence_threshold]
    aliases: dict[str, str] = {}

    def _alias(metric: str) -> str:
        aliases[f"m{len(aliases)}"] = metric
        return f"m{len(aliases) - 1}"

    numeric = profile.numeric if profile is not None else {}
    categorical = profile.categorical if profile is not None else {}
    for f in model.features:
        c = quote_ident(feature_column(f.name))
        selects.append(f"CAST(count(*) - count({c}) AS DOUBLE) / count(*) AS {_alias('feature.' + f.name + '.missing_rate')}")
        if f.type == "numeric":
            selects.append(f"avg({c}) AS {_alias('feature.' + f.name + '.mean')}")
            ref = numeric.get(f.name)
            if ref is not None:
                selects.append(
                    f"avg(CAST({c} < ? OR {c} > ? AS DOUBLE)) "
                    f"AS {_alias('feature.' + f.name + '.out_of_range_rate')}"
                )
                select_params += [ref["min"], ref["max"]]
        else:
            known = list(f.categories or []) + list(categorical.get(f.name, {}))
            if known:
                marks = ", ".join("?" for _ in known)
                selects.append(
                    f"avg(CAST({c} NOT IN ({marks}) AS DOUBLE)) "
                    f"AS {_alias('feature.' + f.name + '.unseen_rate')}"
                )
                select_params += known
    sql = f"SELECT {win} AS window_start, {', '.join(selects)} FROM {table} WHERE {where} GROUP BY 1 ORDER BY 1"
    out: dict[datetime, dict[str, float | None]] = {}
    for row in store.query_dicts(sql, [*select_params, *params]):
        ws = row.pop("window_start")
        answered = row.pop("answered")
        quantiles = row.pop("latency_quantiles") or [None, None, None]
        row["latency_p50"], row["latency_p95"], row["latency_p99"] = quantiles
        out[ws] = {aliases.get(k, k): (None if v is None else float(v)) for k, v in row.items()}
        out[ws]["_answered"] = float(answered)
    if not out:
        return {}

    def shares(column_sql: str, prefix: str, categories: list[str] | None, denominator: str = "volume") -> None:
        rows = store.query(
            f"SELECT {win}, {column_sql}, count(*) FROM {table} WHERE {where} AND {column_sql} IS NOT NULL GROUP BY 1, 2",
            params,
        )
        counts: dict[datetime, dict[str, int]] = defaultdict(dict)
        for ws, value, n in rows:
            counts[ws][str(value)] = int(n)
        for ws, metrics in out.items():
            if denominator == "answered":
                total = metrics["_answered"]
            elif denominator == "present":  # the non-missing values: missing ones are counted by missing_rate
                total = sum(counts.get(ws, {}).values())
            else:
                total = metrics["volume"]
            cats = set(categories or []) | set(counts.get(ws, {}))
            for cat in sorted(cats):
                metrics[f"{prefix}.{cat}"] = counts.get(ws, {}).get(cat, 0) / total if total else None

    shares("prediction", "class_share", model.labels, denominator="answered")
    shares("error", "error_type_share", None)
    for f in model.features:
        if f.type == "categorical":
            known = list(f.categories or []) + list(categorical.get(f.name, {}))
            shares(quote_ident(feature_column(f.name)), f"feature.{f.name}.share", known, denominator="present")

    labels_sql, label_params = resolved_labels_sql(model)
    win_p = window_start_sql(model, "p.ts")
    confusion_rows = store.query(
        f"SELECT {win_p}, p.prediction, l.label, count(*) FROM {table} p "
        f"JOIN ({labels_sql}) l USING (prediction_id) "
        f"WHERE {win_p} >= ? AND {win_p} < ? AND p.prediction IS NOT NULL GROUP BY 1, 2, 3",
        [*label_params, *params],
    )
    confusion: dict[datetime, dict[tuple[str, str], int]] = defaultdict(dict)
    for ws, pred, label, n in confusion_rows:
        confusion[ws][(pred, label)] = int(n)
    for ws, metrics in out.items():
        answered = metrics.pop("_answered")
        counts = confusion.get(ws, {})
        labelled = sum(counts.values())
        metrics["labelled"] = float(labelled)
        metrics["label_coverage"] = labelled / answered if answered else None
        metrics.update(quality_metrics(counts))
        label_totals: dict[str, int] = defaultdict(int)
        for (_, label), n in counts.items():
            label_totals[label] += n
        for lab in model.labels:
            metrics[f"label_share.{lab}"] = label_totals[lab] / labelled if labelled else None
    return out
