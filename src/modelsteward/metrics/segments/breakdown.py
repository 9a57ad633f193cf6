"""Metrics by segment: :func:`segment_metrics`, a window broken down by one dimension."""

from __future__ import annotations

from datetime import datetime

from modelsteward.config import ModelConfig
from modelsteward.errors import ConfigError
from modelsteward.metrics.segments.query import _EMPTY, _Agg, _aggregate, _model_config, _period, _resolve, _segment_order
from modelsteward.metrics.segments.results import SegmentMetrics
from modelsteward.store.base import Store

__all__ = ["segment_metrics"]


def segment_metrics(
    store: Store,
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

