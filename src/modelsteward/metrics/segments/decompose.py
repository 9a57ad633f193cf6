"""Where a metric's change comes from: :func:`explain_drop`, the shift-share decomposition over segments.

The decomposition itself is described in :mod:`modelsteward.metrics.segments`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from modelsteward.config import ModelConfig
from modelsteward.errors import ConfigError, InsufficientDataError
from modelsteward.metrics.segments.intervals import _mean_interval, newcombe_interval
from modelsteward.metrics.segments.query import _EMPTY, _Agg, _aggregate, _model_config, _period, _resolve, _segment_order
from modelsteward.metrics.segments.results import DimensionBreakdown, DropExplanation, SegmentContribution
from modelsteward.store.base import Store

__all__ = ["DECOMPOSABLE_METRICS", "explain_drop"]

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


def _change_interval(metric: str, cur: _Agg, base: _Agg) -> tuple[float | None, float | None]:
    num, den, _, proportion = _METRICS[metric]
    n1, n0 = cur.get(den), base.get(den)
    if n1 <= 0 or n0 <= 0:
        return None, None
    if proportion:
        return newcombe_interval(cur.get(num), n1, base.get(num), n0)
    got = _mean_interval(cur.sum_conf, cur.sum_conf2, n1, base.sum_conf, base.sum_conf2, n0)
    return (None, None) if got is None else got



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
    store: Store,
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

