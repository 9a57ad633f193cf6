"""What the segment triage returns: per-segment metrics, the decomposition of a change, drift drivers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["MISSING", "DimensionBreakdown", "DriftDriver", "DriftExplanation", "DropExplanation", "SegmentContribution",
           "SegmentMetrics"]


MISSING = "(missing)"
"""How a segment of rows without a value is shown."""


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

