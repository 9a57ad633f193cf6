"""The window aggregations, written once as Ibis expressions; every engine runs the same ones.

Each function takes Ibis tables (the model's prediction events and its feedback, as
:class:`~modelsteward.engines.connect.Engine` gives them) and returns an unexecuted
expression whose result is small: one row per window, per window and category, per window,
prediction and label, per bin, or per distinct value of a numeric subject. The statistics
run in Python on these summaries (:mod:`~modelsteward.engines.metrics`,
:mod:`~modelsteward.engines.drift`); rows are never all pulled out of the engine.

Quantiles: ``exact`` compiles to ``quantile_cont`` (DuckDB), ``percentile_cont``
(PostgreSQL) and ``percentile`` (Spark) - all linear interpolation between order statistics,
``numpy.quantile``'s default. ``approximate`` compiles to DuckDB's ``approx_quantile``
(t-digest) and Spark's ``approx_percentile`` (accuracy 10 000: rank error at most 1/10 000 of
the rows); PostgreSQL has no approximate form and stays exact.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.records import feature_column

__all__ = [
    "category_counts",
    "confusion_counts",
    "distinct_value_counts",
    "ks_wasserstein",
    "numeric_bin_counts",
    "resolved_labels",
    "subject_summary",
    "window_category_counts",
    "window_rows",
    "window_scalars",
    "window_start",
]

_UNIT = {"hour": "h", "day": "D", "week": "W"}
_LENGTH = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
LATENCY_QUANTILES = [0.5, 0.95, 0.99]


def _ibis() -> Any:
    import ibis

    return ibis


def window_start(model: ModelConfig, ts: Any) -> Any:
    """The start of the window holding ``ts`` (weeks start on Monday on every engine)."""
    return ts.truncate(_UNIT[model.window])


def _prune(t: Any, start: datetime, end: datetime) -> Any:
    """Rows with ``start <= ts < end``; on the partitioned Parquet log also the date partitions (pruned unread)."""
    cond = (t.ts >= start) & (t.ts < end)
    if "date" in t.columns:
        cond = cond & (t.date >= start.date()) & (t.date <= end.date())
    return t.filter(cond)


def window_rows(events: Any, model: ModelConfig, start: datetime, end: datetime, *, aligned: bool = False) -> Any:
    """Events of the windows whose start lies in ``[start, end)``, with their ``window_start``.

    With ``aligned`` (``start`` and ``end`` on window boundaries) the timestamps decide alone;
    otherwise a window is kept when its start lies in the range, as the store's path does.
    """
    t = _prune(events, start, end if aligned else end + _LENGTH[model.window])
    t = t.mutate(window_start=window_start(model, t.ts))
    return t if aligned else t.filter((t.window_start >= start) & (t.window_start < end))


def _rate(condition: Any) -> Any:
    """Share of rows where ``condition`` holds, over the rows where it is not NULL (PostgreSQL casts booleans only to integers)."""
    return condition.cast("int32").cast("float64").mean()


def window_scalars(rows: Any, model: ModelConfig, *, quantiles: str = "exact",
                   numeric_ranges: dict[str, tuple[float, float]] | None = None,
                   known_categories: dict[str, list[str]] | None = None, split: bool = False) -> tuple[list[Any], dict[str, str]]:
    """One row per window: volume, unique users, latency quantiles, errors, confidence, data quality.

    Returns the expressions (one; two with ``split``) and the map from their column aliases to
    metric names. Rates over a column skip its missing values (a comparison with NULL is
    NULL, and the mean skips it). ``split`` puts the distinct count and the quantiles in an
    aggregation of their own: Spark plans a distinct count beside many other aggregates with
    an ``Expand`` that copies every row once per group of aggregates (about 4 times slower
    measured on 40 aggregates); apart, each is one scan. Rows of both share ``window_start``.
    """
    ibis = _ibis()
    lat = rows.latency_ms
    q = lat.approx_quantile(LATENCY_QUANTILES) if quantiles == "approximate" else lat.quantile(LATENCY_QUANTILES)
    n = rows.count()
    heavy: dict[str, Any] = {"unique_users": rows.user_id.nunique(), "latency_quantiles": q}
    aggs: dict[str, Any] = {
        "volume": n,
        "error_rate": rows.error.count().cast("float64") / n,
        "mean_confidence": rows.confidence.mean(),
        "low_confidence_rate": _rate(rows.confidence < ibis.literal(model.low_confidence_threshold)),
        "answered": rows.prediction.count(),
    }
    if model.novelty:
        aggs["novel_rate"] = _rate(rows.novelty >= 95)
    aliases: dict[str, str] = {}

    def alias(metric: str) -> str:
        aliases[f"m{len(aliases)}"] = metric
        return f"m{len(aliases) - 1}"

    for f in model.features:
        c = rows[feature_column(f.name)]
        aggs[alias(f"feature.{f.name}.missing_rate")] = (n - c.count()).cast("float64") / n
        if f.type == "numeric":
            aggs[alias(f"feature.{f.name}.mean")] = c.mean()
            lo_hi = (numeric_ranges or {}).get(f.name)
            if lo_hi is not None:
                aggs[alias(f"feature.{f.name}.out_of_range_rate")] = _rate((c < lo_hi[0]) | (c > lo_hi[1]))
        else:
            known = (known_categories or {}).get(f.name) or []
            if known:
                aggs[alias(f"feature.{f.name}.unseen_rate")] = _rate(~c.isin(known))
    grouped = rows.group_by("window_start")
    if split:
        return [grouped.aggregate(**heavy), grouped.aggregate(**aggs)], aliases
    return [grouped.aggregate(**heavy, **aggs)], aliases


def window_category_counts(rows: Any, column: str) -> Any:
    """``(window_start, value, n)``: counts of each non-missing value of ``column`` per window."""
    t = rows.filter(rows[column].notnull())
    return t.group_by(["window_start", t[column].cast("string").name("value")]).aggregate(n=t.count())


def resolved_labels(events: Any, feedback: Any, model: ModelConfig) -> Any:
    """``(prediction_id, label, source)`` of every labelled prediction (the twin of ``resolved_labels_sql``).

    The label of the most trusted source (``ground_truth.priority``), the latest within a
    source; implicit acceptance confirms the prediction when ``implicit_accept_confirms``.
    """
    ibis = _ibis()
    p = events.select("prediction_id", p_prediction="prediction")
    j = feedback.join(p, "prediction_id")
    confirms = ibis.literal(bool(model.ground_truth.implicit_accept_confirms))
    implicit = ibis.ifelse((j.kind == "implicit") & (j.action == "accepted") & confirms, j.p_prediction, ibis.null("string"))
    rank = ibis.cases(*[(j.kind == k, i) for i, k in enumerate(model.ground_truth.priority)], else_=ibis.null("int64"))
    t = j.select("prediction_id", "ts", "ingested_at", "feedback_id", label=ibis.coalesce(j.label, implicit), source=j.kind, rank=rank)
    t = t.filter(t.label.notnull() & t.rank.notnull())
    order = ibis.window(group_by="prediction_id", order_by=[t.rank, t.ts.desc(), t.ingested_at.desc(), t.feedback_id.desc()])
    t = t.mutate(pick=ibis.row_number().over(order))
    return t.filter(t.pick == 0).select("prediction_id", "label", "source")


def confusion_counts(rows: Any, labels: Any) -> Any:
    """``(window_start, prediction, label, n)`` over the window rows with a prediction and a resolved label."""
    t = rows.filter(rows.prediction.notnull()).select("prediction_id", "window_start", "prediction")
    j = t.join(labels, "prediction_id")
    return j.group_by(["window_start", "prediction", "label"]).aggregate(n=j.count())


# -- drift summaries: one window's rows, one subject at a time -------------------------------

def subject_summary(values: Any) -> Any:
    """``(n, mean)`` of a numeric column's non-missing values."""
    return values.aggregate(n=values.v.count(), mean=values.v.mean())


def numeric_bin_counts(values: Any, edges: list[float]) -> Any:
    """``(bin, n)`` on right-closed bins (the twin of :func:`~modelsteward.metrics.binning.bin_index_sql`)."""
    ibis = _ibis()
    v = values.filter(values.v.notnull())
    b = ibis.cases(*[(v.v <= float(e), i) for i, e in enumerate(edges)], else_=len(edges)) if edges else ibis.literal(0)
    return v.group_by(b.name("bin")).aggregate(n=v.count())


def category_counts(values: Any) -> Any:
    """``(value, n)`` of the non-missing values of a categorical column."""
    v = values.filter(values.v.notnull())
    return v.group_by(v.v.cast("string").name("value")).aggregate(n=v.count())


def distinct_value_counts(values: Any) -> Any:
    """``(v, n)`` per distinct non-missing value (for the rank tests; one row per distinct value)."""
    v = values.filter(values.v.notnull())
    return v.group_by("v").aggregate(n=v.count())


def ks_wasserstein(reference: Any, values: Any) -> Any:
    """KS ``D``, Wasserstein-1 ``w1`` and both sizes of a reference ``(v, n)`` against a window's values.

    Both ECDFs are evaluated at every pooled distinct value, as ``scipy.stats.ks_2samp`` and
    ``scipy.stats.wasserstein_distance`` do: cumulative counts of the union of the two
    value-count tables in value order; ``D`` is the largest gap, ``w1`` the sum of gaps times
    the distance to the next pooled value. One row.
    """
    ibis = _ibis()
    cur = distinct_value_counts(values)
    ref = reference.select(v=reference.v.cast("float64"), nr=reference.n.cast("int64"), nc=ibis.literal(0, "int64"))
    cur = cur.select(v=cur.v.cast("float64"), nr=ibis.literal(0, "int64"), nc=cur.n.cast("int64"))
    pooled = ref.union(cur).group_by("v").aggregate(nr=lambda t: t.nr.sum(), nc=lambda t: t.nc.sum())
    running = ibis.window(order_by="v", rows=(None, 0))
    totals = pooled.aggregate(na=pooled.nr.sum(), nb=pooled.nc.sum())
    t = pooled.mutate(cr=pooled.nr.sum().over(running), cc=pooled.nc.sum().over(running),
                      width=pooled.v.lead().over(ibis.window(order_by="v")) - pooled.v).cross_join(totals)
    t = t.mutate(gap=(t.cr.cast("float64") / t.na - t.cc.cast("float64") / t.nb).abs())
    return t.aggregate(d=t.gap.max(), w1=(t.gap * t.width).sum(), na=t.na.max(), nb=t.nb.max())
