"""Triage: metrics by segment, and the segments and features that explain a change.

When an alert fires ("accuracy fell below 0.8"), the person who receives it needs to know
where to look. Three questions, three functions:

- :func:`segment_metrics`: the window's metrics broken down by one dimension (a categorical
  feature, a logged attribute such as the customer tier, or ``model_version``, ``user_id``,
  ``prediction``), optionally beside each segment's accuracy in a baseline period.
- :func:`explain_drop`: how much of a metric's change between a baseline period and the
  current one each segment accounts for, split into the part that comes from the metric
  moving *within* the segment (rate) and the part that comes from the segment's share of the
  traffic moving (mix); segments ranked by the size of their contribution.
- :func:`explain_drift`: which features (and the confidence, predicted class and label) moved
  most in a window, read from the drift verdicts :meth:`Monitor.check` stored.

Every aggregation runs in the store's engine: one ``GROUP BY`` per dimension and period,
returning one row per segment (counts and sums); Python only divides those sums and does the
decomposition arithmetic on a handful of numbers.

**Dimensions.** ``by`` names, in this order of precedence: a categorical feature (its column
``f_<name>``), one of the prediction's own columns (``model_version``, ``user_id``,
``prediction``), or else a key of the logged ``attributes`` object (read with DuckDB's
``json_extract_string``). ``attributes.<key>`` and ``feature.<name>`` force the reading when a
key and a feature share a name. Attribute keys may hold letters, digits, ``_`` and ``-`` only;
anything else is refused before any SQL is built. Rows without a value form their own segment
(``None``, shown as ``(missing)``), so the segments of a dimension always cover every row.

**Decomposition.** A rate metric over a period is a weighted mean of its segments' rates,
``m = Σ_s w_s m_s``, where ``w_s`` is the segment's share of the metric's denominator (for
accuracy: of the labelled predictions). Between a baseline (0) and the current period (1),
with bars for the mean of the two periods,

    Δm = Σ_s [ Δw_s · m̄_s  +  w̄_s · Δm_s ]

exactly: the symmetric shift-share (Kitagawa) decomposition [1]_ [2]_. The first term is the
*mix* part (the segment mix moved), the second the *rate* part (the metric moved within
segments). Because ``Σ_s Δw_s = 0``, each segment's mix term is reported centred,
``Δw_s · (m̄_s − m̄)``, which leaves every sum unchanged but stops a segment whose share grew
while its rate is just the average from being credited with a change it did not cause. A
segment present in only one period has no rate in the other; its rate there is taken equal
to the one it has (Δm_s = 0), so all of its contribution is mix, and the sum stays exact.
Segments of *different* dimensions overlap (the enterprise tier and the email channel may be
the same tickets), so contributions add up to the total within one dimension, not across.

**Uncertainty.** Each segment's change of a proportion (accuracy, error rate, low-confidence
rate) gets a 95 % interval by Newcombe's hybrid score method [3]_, built from Wilson score
intervals [4]_ of the two periods; the mean confidence gets a normal (Welch) interval. A
segment with fewer than ``min_labelled`` rows behind its metric in either period is still
reported, and flagged ``uncertain``.

References
----------
.. [1] Kitagawa, E. M. (1955). Components of a difference between two rates. *Journal of the
   American Statistical Association*, 50(272), 1168–1194.
.. [2] Das Gupta, P. (1993). *Standardization and Decomposition of Rates: A User's Manual*.
   U.S. Bureau of the Census, Current Population Reports P23-186.
.. [3] Newcombe, R. G. (1998). Interval estimation for the difference between independent
   proportions: comparison of eleven methods. *Statistics in Medicine*, 17(8), 873–890.
.. [4] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
   inference. *Journal of the American Statistical Association*, 22(158), 209–212.

Examples
--------
>>> from datetime import datetime
>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"]}]})
>>> mon = Monitor(cfg, store=":memory:")
>>> rows = [{"prediction_id": f"p{i}", "timestamp": datetime(2026, 1, 5 + 7 * (i // 8), 9),
...          "prediction": "urgent", "confidence": 0.9,
...          "attributes": {"tier": "enterprise" if i % 2 else "free"}} for i in range(16)]
>>> _ = mon.log_predictions(rows)
>>> wrong = {"p9", "p11", "p13"}                     # enterprise errs in the second week
>>> _ = mon.log_feedbacks([{"prediction_id": f"p{i}", "kind": "explicit",
...     "label": "routine" if f"p{i}" in wrong else "urgent"} for i in range(16)])
>>> week1, week2 = (datetime(2026, 1, 5), datetime(2026, 1, 12)), (datetime(2026, 1, 12), datetime(2026, 1, 19))
>>> for s in segment_metrics(mon.store, "tickets", *week2, by="tier"):
...     print(s.label, s.volume, s.accuracy)
tier=enterprise 4 0.25
tier=free 4 1.0
>>> why = explain_drop(mon.store, "tickets", current=week2, baseline=week1, by=["tier"], min_labelled=1)
>>> print(why.summary)  # eight rows a week: the interval says so
accuracy fell 37.5 points (1.00 → 0.62), which may be noise (95 % interval of the change -69.4 to +2.7 points);
37.5 of them come from tier=enterprise, where accuracy fell from 1.00 to 0.25.
>>> why.dimensions[0].rate, why.dimensions[0].mix
(-0.375, 0.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from statistics import NormalDist
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.errors import ConfigError, InsufficientDataError, NotFoundError
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.metrics.window import window_bounds
from modelsteward.records import feature_column
from modelsteward.reference import numeric_subjects
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

__all__ = [
    "DECOMPOSABLE_METRICS",
    "MISSING",
    "DimensionBreakdown",
    "DriftDriver",
    "DriftExplanation",
    "DropExplanation",
    "SegmentContribution",
    "SegmentMetrics",
    "explain_drift",
    "explain_drop",
    "newcombe_interval",
    "segment_metrics",
    "wilson_interval",
]

MISSING = "(missing)"
"""How a segment of rows without a value is shown."""

ATTRIBUTE_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # used with fullmatch
COLUMN_DIMENSIONS = ("model_version", "user_id", "prediction")
Z95 = NormalDist().inv_cdf(0.975)

# metric -> (numerator, denominator, what the weights are shares of, is a proportion)
_METRICS: dict[str, tuple[str, str, str, bool]] = {
    "accuracy": ("correct", "labelled", "labelled predictions", True),
    "error_rate": ("errors", "volume", "predictions", True),
    "low_confidence_rate": ("n_low", "n_conf", "predictions with a confidence", True),
    "mean_confidence": ("sum_conf", "n_conf", "predictions with a confidence", False),
}
DECOMPOSABLE_METRICS = tuple(sorted(_METRICS))
_READABLE = {"accuracy": "accuracy", "error_rate": "error rate", "low_confidence_rate": "low-confidence rate",
             "mean_confidence": "mean confidence"}
_STATUS_ORDER = ("drift", "small_change", "no_drift", "not_enough_data", "no_reference")


# -- results ------------------------------------------------------------------------------------
def _label(dimension: str, segment: str | None) -> str:
    return f"{dimension}={MISSING if segment is None else segment}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class SegmentMetrics:
    """One segment's metrics in a period (and, when asked, its accuracy in a baseline period).

    ``share`` is the segment's share of the period's predictions; rates are ``None`` where the
    segment has no rows to measure them on (``accuracy`` without labelled predictions, every
    current rate of a segment seen only in the baseline).
    """

    dimension: str
    segment: str | None
    volume: int
    share: float
    mean_confidence: float | None
    low_confidence_rate: float | None
    error_rate: float | None
    labelled: int
    accuracy: float | None
    baseline_volume: int | None = None
    baseline_share: float | None = None
    baseline_labelled: int | None = None
    baseline_accuracy: float | None = None

    @property
    def label(self) -> str:
        """``dimension=segment``, e.g. ``tier=enterprise``."""
        return _label(self.dimension, self.segment)

    @property
    def accuracy_change(self) -> float | None:
        """Current minus baseline accuracy, when both exist."""
        if self.accuracy is None or self.baseline_accuracy is None:
            return None
        return self.accuracy - self.baseline_accuracy

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label, "accuracy_change": self.accuracy_change}


@dataclass(frozen=True)
class SegmentContribution:
    """One segment's share of a metric's change between a baseline and the current period.

    ``*_n`` count the rows behind the metric (for accuracy, the labelled predictions),
    ``*_weight`` are the segment's shares of them, ``*_value`` the metric within the segment.
    ``mix + rate`` is the segment's contribution; ``change_low``/``change_high`` bound the
    change of the metric within the segment (95 %), ``None`` when one period has no rows.
    """

    dimension: str
    segment: str | None
    baseline_n: int
    current_n: int
    baseline_weight: float
    current_weight: float
    baseline_value: float | None
    current_value: float | None
    mix: float
    rate: float
    change_low: float | None
    change_high: float | None
    uncertain: bool

    @property
    def label(self) -> str:
        return _label(self.dimension, self.segment)

    @property
    def contribution(self) -> float:
        """The segment's part of the total change: ``mix + rate``."""
        return self.mix + self.rate

    @property
    def change(self) -> float | None:
        """The metric's change within the segment, when it has rows in both periods."""
        if self.baseline_value is None or self.current_value is None:
            return None
        return self.current_value - self.baseline_value

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label, "contribution": self.contribution, "change": self.change}


@dataclass(frozen=True)
class DimensionBreakdown:
    """The change decomposed over the segments of one dimension; ``rate + mix`` is the total."""

    dimension: str
    rate: float
    mix: float
    segments: tuple[SegmentContribution, ...]  # largest |contribution| first

    @property
    def total(self) -> float:
        return self.rate + self.mix

    @property
    def rate_fraction(self) -> float | None:
        """The fraction of the change that comes from the metric moving within segments."""
        return self.rate / self.total if self.total else None

    @property
    def mix_fraction(self) -> float | None:
        """The fraction of the change that comes from the segment mix moving."""
        return self.mix / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "rate": self.rate, "mix": self.mix, "total": self.total,
                "rate_fraction": self.rate_fraction, "mix_fraction": self.mix_fraction,
                "segments": [s.to_dict() for s in self.segments]}


@dataclass(frozen=True)
class DropExplanation:
    """Where a metric's change between two periods comes from.

    ``ranked`` holds every segment of every dimension, largest ``|contribution|`` first;
    ``dimensions`` the split into rate and mix per dimension; ``summary`` one plain sentence.
    """

    model: str
    metric: str
    baseline: tuple[datetime, datetime]
    current: tuple[datetime, datetime]
    baseline_value: float
    current_value: float
    baseline_n: int
    current_n: int
    change_low: float | None
    change_high: float | None
    min_labelled: int
    dimensions: tuple[DimensionBreakdown, ...]
    ranked: tuple[SegmentContribution, ...]
    summary: str

    @property
    def change(self) -> float:
        return self.current_value - self.baseline_value

    def to_dict(self) -> dict[str, Any]:
        return _plain({
            "model": self.model, "metric": self.metric, "baseline": list(self.baseline), "current": list(self.current),
            "baseline_value": self.baseline_value, "current_value": self.current_value, "change": self.change,
            "baseline_n": self.baseline_n, "current_n": self.current_n, "change_low": self.change_low,
            "change_high": self.change_high, "min_labelled": self.min_labelled,
            "dimensions": [d.to_dict() for d in self.dimensions], "ranked": [s.to_dict() for s in self.ranked],
            "summary": self.summary,
        })


@dataclass(frozen=True)
class DriftDriver:
    """One subject's drift verdict in a window.

    ``effect_size`` is in the verdict's own unit (PSI for numeric subjects, the largest share
    change in percentage points for categorical ones); ``relative_effect`` divides it by the
    model's threshold for that unit, so subjects of both kinds can be ranked together
    (1.0 = exactly at the threshold).
    """

    subject: str
    kind: str  # feature | confidence | prediction | label
    status: str
    effect_size: float | None
    effect_unit: str  # the test the effect comes from, e.g. wasserstein or total_variation
    threshold: float | None
    relative_effect: float | None
    p_value: float | None
    reading: str
    n_reference: int | None
    n_current: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftExplanation:
    """The subjects that moved most in one window, drifting ones first."""

    model: str
    window_start: datetime
    window_end: datetime
    drifted: int  # subjects whose verdict is 'drift'
    tested: int  # subjects with a verdict
    drivers: tuple[DriftDriver, ...] = field(default_factory=tuple)
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _plain({"model": self.model, "window_start": self.window_start, "window_end": self.window_end,
                       "drifted": self.drifted, "tested": self.tested,
                       "drivers": [d.to_dict() for d in self.drivers], "summary": self.summary})


# -- intervals ----------------------------------------------------------------------------------
def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion [4]_ (95 % by default).

    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if n <= 0:
        raise InsufficientDataError("a proportion of zero trials has no interval")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_interval(x1: float, n1: float, x0: float, n0: float, z: float = Z95) -> tuple[float, float]:
    """Interval of ``x1/n1 - x0/n0`` by Newcombe's hybrid score method (his method 10) [3]_.

    >>> [round(x, 4) for x in newcombe_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
    """
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, z)
    l0, u0 = wilson_interval(x0, n0, z)
    d = p1 - p0
    return d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def _mean_interval(s1: float, q1: float, n1: float, s0: float, q0: float, n0: float) -> tuple[float, float] | None:
    """Normal (Welch) interval of a difference of means, from sums and sums of squares."""
    if n1 < 2 or n0 < 2:
        return None
    var1 = max(0.0, (q1 - s1 * s1 / n1) / (n1 - 1))
    var0 = max(0.0, (q0 - s0 * s0 / n0) / (n0 - 1))
    d = s1 / n1 - s0 / n0
    half = Z95 * math.sqrt(var1 / n1 + var0 / n0)
    return d - half, d + half


def _change_interval(metric: str, cur: _Agg, base: _Agg) -> tuple[float | None, float | None]:
    num, den, _, proportion = _METRICS[metric]
    n1, n0 = cur.get(den), base.get(den)
    if n1 <= 0 or n0 <= 0:
        return None, None
    if proportion:
        return newcombe_interval(cur.get(num), n1, base.get(num), n0)
    got = _mean_interval(cur.sum_conf, cur.sum_conf2, n1, base.sum_conf, base.sum_conf2, n0)
    return (None, None) if got is None else got


# -- dimensions and aggregation -----------------------------------------------------------------
@dataclass(frozen=True)
class _Dimension:
    name: str
    sql: str
    params: tuple[Any, ...]


def _resolve(model: ModelConfig, by: str) -> _Dimension:
    """The SQL expression (and parameters) of a segmenting dimension, validated."""
    if not isinstance(by, str) or not by:
        raise ConfigError(f"expected a dimension name, got {by!r}", path="by")
    features = {f.name: f for f in model.features}
    kind, name = "auto", by
    if by.startswith("attributes."):
        kind, name = "attribute", by[len("attributes."):]
    elif by.startswith("feature."):
        kind, name = "feature", by[len("feature."):]
        if name not in features:
            raise ConfigError(f"model {model.name!r} has no feature {name!r}", path="by",
                              hint=f"features: {', '.join(features) or '(none)'}")
    if kind in ("auto", "feature") and name in features:
        if features[name].type != "categorical":
            raise ConfigError(f"feature {name!r} is numeric; segments need a categorical feature or an attribute",
                              path="by", hint="log a bucketed copy of it as an attribute to segment by it")
        return _Dimension(by, quote_ident(feature_column(name)), ())
    if kind == "auto" and name in COLUMN_DIMENSIONS:
        return _Dimension(by, quote_ident(name), ())
    if not ATTRIBUTE_KEY.fullmatch(name):
        raise ConfigError(f"invalid attribute key {name!r}", path="by",
                          hint="attribute keys may hold letters, digits, '_' and '-' only (at most 64)")
    # The key is validated above and passed as a parameter: nothing of it reaches the SQL text.
    return _Dimension(by, "json_extract_string(attributes, '$.\"' || ? || '\"')", (name,))


@dataclass(frozen=True)
class _Agg:
    """Counts and sums of one segment in one period (one row of the engine's GROUP BY)."""

    volume: int = 0
    n_conf: int = 0
    sum_conf: float = 0.0
    sum_conf2: float = 0.0
    n_low: int = 0
    errors: int = 0
    labelled: int = 0
    correct: int = 0

    def get(self, name: str) -> float:
        return float(getattr(self, name))

    def ratio(self, num: str, den: str) -> float | None:
        d = self.get(den)
        return self.get(num) / d if d else None


_EMPTY = _Agg()


def _aggregate(store: DuckDBStore, model: ModelConfig, dim: _Dimension | None,
               start: datetime, end: datetime) -> dict[str | None, _Agg]:
    """One row per segment of ``dim`` (one row in all when ``dim`` is None) for ``[start, end)``."""
    table = DuckDBStore.predictions_table(model.name)
    labels_sql, label_params = resolved_labels_sql(model)
    expr, expr_params = (dim.sql, list(dim.params)) if dim is not None else ("CAST(NULL AS VARCHAR)", [])
    sql = f"""
        SELECT p.seg, count(*), count(p.confidence), coalesce(sum(p.confidence), 0),
               coalesce(sum(p.confidence * p.confidence), 0),
               count(*) FILTER (WHERE p.confidence < ?), count(p.error),
               count(*) FILTER (WHERE p.prediction IS NOT NULL AND l.label IS NOT NULL),
               count(*) FILTER (WHERE p.prediction IS NOT NULL AND p.prediction = l.label)
        FROM (SELECT CAST({expr} AS VARCHAR) AS seg, prediction_id, prediction, confidence, error
              FROM {table} WHERE ts >= ? AND ts < ?) p
        LEFT JOIN ({labels_sql}) l USING (prediction_id)
        GROUP BY p.seg
    """
    params = [model.low_confidence_threshold, *expr_params, start, end, *label_params]
    return {seg: _Agg(int(v), int(nc), float(sc), float(sc2), int(lo), int(er), int(lab), int(ok))
            for seg, v, nc, sc, sc2, lo, er, lab, ok in store.query(sql, params)}


def _model_config(store: DuckDBStore, model: ModelConfig | str) -> ModelConfig:
    if isinstance(model, ModelConfig):
        return model
    store.require_model(model)
    return ModelConfig.model_validate_json(store.query("SELECT config FROM models WHERE name = ?", [model])[0][0])


def _naive(when: datetime) -> datetime:
    """Stored times are naive UTC."""
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo is not None else when


def _period(name: str, period: Sequence[datetime]) -> tuple[datetime, datetime]:
    if len(period) != 2:
        raise ConfigError(f"expected ({name}_start, {name}_end), got {period!r}", path=name)
    start, end = _naive(period[0]), _naive(period[1])
    if not start < end:
        raise ConfigError(f"the {name} period must start before it ends ({start} .. {end})", path=name)
    return start, end


def _segment_order(seg: str | None) -> tuple[bool, str]:
    return seg is None, seg or ""


# -- segment metrics ----------------------------------------------------------------------------
def segment_metrics(
    store: DuckDBStore,
    model: ModelConfig | str,
    start: datetime,
    end: datetime,
    *,
    by: str,
    baseline_start: datetime | None = None,
    baseline_end: datetime | None = None,
) -> list[SegmentMetrics]:
    """Metrics of the predictions in ``[start, end)`` per segment of ``by``, largest first.

    Parameters
    ----------
    store, model
        The store and the model (its configuration, or its name in the store).
    start, end
        The period (naive UTC, or aware datetimes converted to UTC).
    by
        A categorical feature, ``model_version``, ``user_id``, ``prediction``, or an attribute
        key (see the module notes; ``attributes.<key>`` forces an attribute).
    baseline_start, baseline_end
        When given, each segment also carries its volume, share, labelled count and accuracy
        in this period; segments seen only there are listed with a current volume of 0.

    Returns
    -------
    list of SegmentMetrics
        Ordered by current volume, then baseline volume, then name (missing values last).
        Accuracy is over the segment's answered predictions with a resolved label, as in the
        window metrics; the low-confidence threshold is the model's.

    Raises
    ------
    ConfigError
        ``by`` is a numeric feature or an invalid attribute key, or a period is empty.
    """
    cfg = _model_config(store, model)
    dim = _resolve(cfg, by)
    cur_start, cur_end = _period("current", (start, end))
    cur = _aggregate(store, cfg, dim, cur_start, cur_end)
    base: dict[str | None, _Agg] | None = None
    if baseline_start is not None or baseline_end is not None:
        if baseline_start is None or baseline_end is None:
            raise ConfigError("give both baseline_start and baseline_end", path="baseline")
        base = _aggregate(store, cfg, dim, *_period("baseline", (baseline_start, baseline_end)))
    total = sum(a.volume for a in cur.values())
    base_total = sum(a.volume for a in base.values()) if base is not None else 0
    out = []
    for seg in set(cur) | set(base or {}):
        c = cur.get(seg, _EMPTY)
        b = base.get(seg, _EMPTY) if base is not None else None
        out.append(SegmentMetrics(
            dimension=dim.name, segment=seg, volume=c.volume, share=c.volume / total if total else 0.0,
            mean_confidence=c.ratio("sum_conf", "n_conf"), low_confidence_rate=c.ratio("n_low", "n_conf"),
            error_rate=c.ratio("errors", "volume"), labelled=c.labelled, accuracy=c.ratio("correct", "labelled"),
            baseline_volume=None if b is None else b.volume,
            baseline_share=None if b is None else (b.volume / base_total if base_total else 0.0),
            baseline_labelled=None if b is None else b.labelled,
            baseline_accuracy=None if b is None else b.ratio("correct", "labelled"),
        ))
    out.sort(key=lambda s: (-s.volume, -(s.baseline_volume or 0), *_segment_order(s.segment)))
    return out


# -- the decomposition --------------------------------------------------------------------------
def _decompose(metric: str, dim: str, cur: dict[str | None, _Agg], base: dict[str | None, _Agg],
               m1: float, m0: float, den1: float, den0: float, min_labelled: int) -> DimensionBreakdown:
    num, den, _, _ = _METRICS[metric]
    m_bar = (m0 + m1) / 2
    parts = []
    for seg in set(cur) | set(base):
        c, b = cur.get(seg, _EMPTY), base.get(seg, _EMPTY)
        n1, n0 = c.get(den), b.get(den)
        w1, w0 = n1 / den1, n0 / den0
        r1, r0 = c.ratio(num, den), b.ratio(num, den)
        # A period without rows has no rate: take the other period's (the weight there is 0,
        # so the identity holds for any value) and the segment's whole contribution is mix.
        a0 = r0 if r0 is not None else (r1 if r1 is not None else 0.0)
        a1 = r1 if r1 is not None else a0
        mix = (w1 - w0) * ((a0 + a1) / 2 - m_bar)
        rate = (w0 + w1) / 2 * (a1 - a0)
        low, high = _change_interval(metric, c, b)
        parts.append(SegmentContribution(
            dimension=dim, segment=seg, baseline_n=int(n0), current_n=int(n1), baseline_weight=w0, current_weight=w1,
            baseline_value=r0, current_value=r1, mix=mix, rate=rate, change_low=low, change_high=high,
            uncertain=min(n0, n1) < min_labelled,
        ))
    parts.sort(key=lambda s: (-abs(s.contribution), *_segment_order(s.segment)))
    return DimensionBreakdown(dim, rate=math.fsum(s.rate for s in parts), mix=math.fsum(s.mix for s in parts),
                              segments=tuple(parts))


def _amount(metric: str, x: float) -> str:
    """A change in words: points for proportions, the raw value for means."""
    return f"{abs(x) * 100:.1f} points" if _METRICS[metric][3] else f"{abs(x):.3f}"


def _value(x: float) -> str:
    return f"{x:.3f}" if abs(x) < 0.1 else f"{x:.2f}"


def _summary(metric: str, m0: float, m1: float, interval: tuple[float | None, float | None],
             ranked: Sequence[SegmentContribution]) -> str:
    name = _READABLE[metric]
    delta = m1 - m0
    if delta == 0:
        return f"{name} did not change ({_value(m0)} in both periods)."
    verb = "fell" if delta < 0 else "rose"
    head = f"{name} {verb} {_amount(metric, delta)} ({_value(m0)} → {_value(m1)})"
    low, high = interval
    if low is not None and high is not None and low <= 0 <= high:
        bounds = (f"{low * 100:+.1f} to {high * 100:+.1f} points" if _METRICS[metric][3] else f"{low:+.3f} to {high:+.3f}")
        head += f", which may be noise (95 % interval of the change {bounds})"
    same_way = [s for s in ranked if s.contribution * delta > 0]
    if not same_way:
        return head + "; no segment accounts for it."
    top = same_way[0]
    proportion = _METRICS[metric][3]
    part = _amount(metric, top.contribution)
    if abs(top.contribution) > abs(delta) + 1e-12:  # other segments moved the other way
        text = f"{head}; {top.label} accounts for {part} (more than all of it: other segments moved the other way), "
    elif proportion:
        text = f"{head}; {part.removesuffix(' points')} of them come from {top.label}, "
    else:
        text = f"{head}; {part} of it comes from {top.label}, "
    if abs(top.rate) >= abs(top.mix) and top.baseline_value is not None and top.current_value is not None:
        moved = "fell" if top.current_value < top.baseline_value else "rose"
        text += f"where {name} {moved} from {_value(top.baseline_value)} to {_value(top.current_value)}"
    else:
        grew = "grew" if top.current_weight > top.baseline_weight else "shrank"
        value = top.current_value if top.current_value is not None else top.baseline_value
        text += (f"whose share of {_METRICS[metric][2]} {grew} from {top.baseline_weight:.0%} to {top.current_weight:.0%}"
                 f" ({name} there {_value(value) if value is not None else 'unknown'})")
    if top.uncertain:
        text += f" (only {min(top.baseline_n, top.current_n)} {_METRICS[metric][2]} there in one period: a lead, not a finding)"
        sure = next((s for s in same_way if not s.uncertain), None)
        if sure is not None:
            text += f"; the largest part from a well-measured segment is {_amount(metric, sure.contribution)}, from {sure.label}"
    return text + "."


def explain_drop(
    store: DuckDBStore,
    model: ModelConfig | str,
    *,
    metric: str = "accuracy",
    current: Sequence[datetime],
    baseline: Sequence[datetime],
    by: Sequence[str] | str,
    min_labelled: int = 30,
) -> DropExplanation:
    """Decompose a metric's change from ``baseline`` to ``current`` over the segments of ``by``.

    Parameters
    ----------
    store, model
        The store and the model (its configuration, or its name in the store).
    metric
        One of ``accuracy`` (weights: shares of the labelled predictions), ``error_rate``
        (of all predictions), ``low_confidence_rate`` or ``mean_confidence`` (of the
        predictions with a confidence).
    current, baseline
        ``(start, end)`` of each period, end excluded.
    by
        The dimensions to break the change down by (see :func:`segment_metrics`).
    min_labelled
        Segments with fewer rows than this behind the metric in either period (for accuracy:
        labelled predictions) are reported with ``uncertain=True``; when the top segment is
        one of them, the summary says so and also names the largest well-measured one.

    Returns
    -------
    DropExplanation
        Per dimension, the rate and mix parts (their sum is the total change, exactly up to
        rounding); every segment ranked by ``|mix + rate|``; a one-sentence summary.

    Raises
    ------
    ConfigError
        An unknown metric, an invalid dimension, or an empty period.
    InsufficientDataError
        A period has no rows to measure the metric on (e.g. no labelled predictions).

    Notes
    -----
    With ``w_s`` the segment weights and ``m_s`` the segment rates, the change is
    ``Δm = Σ_s [Δw_s · (m̄_s − m̄) + w̄_s · Δm_s]`` (Kitagawa [1]_; see the module notes).
    """
    if metric not in _METRICS:
        raise ConfigError(f"cannot decompose {metric!r}", path="metric", hint=f"one of {', '.join(DECOMPOSABLE_METRICS)}")
    if min_labelled < 0:
        raise ConfigError(f"min_labelled must be 0 or more, got {min_labelled}", path="min_labelled")
    cfg = _model_config(store, model)
    names = [by] if isinstance(by, str) else list(dict.fromkeys(by))
    if not names:
        raise ConfigError("give at least one dimension to break the change down by", path="by")
    dims = [_resolve(cfg, b) for b in names]  # every dimension is validated before any query
    cur_period, base_period = _period("current", current), _period("baseline", baseline)
    num, den, what, _ = _METRICS[metric]
    cur_all = _aggregate(store, cfg, None, *cur_period).get(None, _EMPTY)
    base_all = _aggregate(store, cfg, None, *base_period).get(None, _EMPTY)
    for label, agg, (s, e) in (("baseline", base_all, base_period), ("current", cur_all, cur_period)):
        if agg.get(den) == 0:
            raise InsufficientDataError(f"model {cfg.name!r}: no {what} in the {label} period [{s}, {e}) to measure {metric} on",
                                        hint="widen the period, or wait for feedback" if metric == "accuracy" else None)
    den1, den0 = cur_all.get(den), base_all.get(den)
    m1, m0 = cur_all.get(num) / den1, base_all.get(num) / den0
    breakdowns = [
        _decompose(metric, d.name, _aggregate(store, cfg, d, *cur_period), _aggregate(store, cfg, d, *base_period),
                   m1, m0, den1, den0, min_labelled)
        for d in dims
    ]
    order = {d.name: i for i, d in enumerate(dims)}
    ranked = sorted((s for b in breakdowns for s in b.segments),
                    key=lambda s: (-abs(s.contribution), order[s.dimension], *_segment_order(s.segment)))
    low, high = _change_interval(metric, cur_all, base_all)
    summary = _summary(metric, m0, m1, (low, high), ranked)
    return DropExplanation(
        model=cfg.name, metric=metric, baseline=base_period, current=cur_period, baseline_value=m0, current_value=m1,
        baseline_n=int(den0), current_n=int(den1), change_low=low, change_high=high, min_labelled=min_labelled,
        dimensions=tuple(breakdowns), ranked=tuple(ranked), summary=summary,
    )


# -- drift --------------------------------------------------------------------------------------
def explain_drift(
    store: DuckDBStore,
    model: ModelConfig | str,
    *,
    window: datetime | None = None,
    top: int = 5,
) -> DriftExplanation:
    """The subjects that moved most in a window, from the drift verdicts stored by ``check``.

    Parameters
    ----------
    store, model
        The store and the model (its configuration, or its name in the store).
    window
        Any time inside the window to explain (an alert's ``window_start`` will do); by
        default the latest window with drift results.
    top
        How many subjects to return.

    Returns
    -------
    DriftExplanation
        Verdicts ordered by status (``drift``, then ``small_change``, ``no_drift``,
        ``not_enough_data``, ``no_reference``), then by effect relative to its threshold (the verdict's effect test and threshold,
        recorded with each verdict: normalised Wasserstein for numeric subjects, total
        variation for categorical ones, by default), largest first.

    Raises
    ------
    NotFoundError
        No drift results are stored for that window (run ``check`` first, with a reference).
    """
    cfg = _model_config(store, model)
    if window is None:
        latest = store.query("SELECT max(window_start) FROM drift_results WHERE model = ? AND test = 'verdict'", [cfg.name])[0][0]
        if latest is None:
            raise NotFoundError(f"model {cfg.name!r} has no drift results yet",
                                hint="run `steward check` (drift needs a reference in steward.yaml)")
        ws: datetime = latest
    else:
        ws = window_bounds(cfg, _naive(window))[0]
    status_rank = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(_STATUS_ORDER))
    # Each verdict row records the test its effect comes from and that test's threshold.
    rows = store.query(
        f"""SELECT subject, status, effect_size, p_value, reading, n_reference, n_current, window_end,
                   coalesce(json_extract_string(details, '$.effect_test'), '') AS effect_test,
                   TRY_CAST(json_extract(details, '$.threshold') AS DOUBLE) AS threshold,
                   effect_size / nullif(TRY_CAST(json_extract(details, '$.threshold') AS DOUBLE), 0) AS relative
            FROM drift_results WHERE model = ? AND window_start = ? AND test = 'verdict' AND subject <> 'inputs'
            ORDER BY CASE status {status_rank} ELSE {len(_STATUS_ORDER)} END, relative DESC NULLS LAST, subject""",
        [cfg.name, ws],
    )
    if not rows:
        raise NotFoundError(f"model {cfg.name!r} has no drift results for the window starting {ws}",
                            hint="run `steward check` for that window (drift needs a reference in steward.yaml)")
    features = {f.name for f in cfg.features}
    drivers = tuple(
        DriftDriver(subject=subject, kind="feature" if subject in features else subject, status=status,
                    effect_size=effect, effect_unit=effect_test, threshold=threshold,
                    relative_effect=relative, p_value=p, reading=reading, n_reference=n_ref, n_current=n_cur)
        for subject, status, effect, p, reading, n_ref, n_cur, _, effect_test, threshold, relative in rows
    )
    drifted = sum(d.status == "drift" for d in drivers)
    first = drivers[0]
    when = f"the window starting {ws:%Y-%m-%d %H:%M}"
    if drifted:
        rest = [d.subject for d in drivers[1:drifted]]
        summary = (f"{drifted} of {len(drivers)} subjects drifted in {when}; first: {first.reading}"
                   + (f"; then {', '.join(rest)}" if rest else "") + ".")
    elif first.status == "small_change":
        summary = f"nothing drifted beyond its effect threshold in {when}; the clearest change: {first.reading}."
    else:
        summary = f"no subject drifted in {when}; {first.reading}."
    return DriftExplanation(model=cfg.name, window_start=ws, window_end=rows[0][7], drifted=drifted, tested=len(drivers),
                            drivers=drivers[:max(top, 0)], summary=summary)
