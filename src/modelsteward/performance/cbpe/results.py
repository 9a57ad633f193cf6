"""What CBPE returns: :class:`MetricEstimate` (one metric and its interval) and :class:`PerformanceEstimate`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["MetricEstimate", "PerformanceEstimate", "Position"]


Position = Literal["below", "inside", "above"]

@dataclass(frozen=True)
class MetricEstimate:
    """One estimated metric: the point estimate and the interval for its realised value.

    ``interval`` names how the interval was computed: ``"poisson-binomial"`` (exact),
    ``"normal"`` or ``"monte-carlo"``.
    """

    value: float
    lower: float
    upper: float
    interval: str

    def position(self, realised: float) -> Position:
        """Where a realised value lies: ``"below"``, ``"inside"`` (bounds included) or ``"above"``."""
        if realised < self.lower:
            return "below"
        if realised > self.upper:
            return "above"
        return "inside"


@dataclass(frozen=True)
class PerformanceEstimate:
    """Estimated accuracy, precision, recall and F1 of one window, with intervals.

    ``average`` is ``"binary"`` (precision, recall and F1 of ``positive_label``) or
    ``"macro"``.  ``expected_confusion`` maps ``(predicted, true)`` to the expected count.
    """

    n: int
    labels: tuple[str, ...]
    positive_label: str | None
    average: str
    accuracy: MetricEstimate
    precision: MetricEstimate
    recall: MetricEstimate
    f1: MetricEstimate
    expected_confusion: dict[tuple[str, str], float]
    level: float

    def metrics(self) -> dict[str, MetricEstimate]:
        """The estimates under the names :func:`~modelsteward.metrics.quality.quality_metrics` uses.

        Binary: ``accuracy``, ``precision.<positive>``, ``recall.<positive>``,
        ``f1.<positive>``; otherwise ``accuracy``, ``precision_macro``, ``recall_macro``,
        ``f1_macro``.
        """
        suffix = f".{self.positive_label}" if self.average == "binary" else "_macro"
        return {
            "accuracy": self.accuracy,
            f"precision{suffix}": self.precision,
            f"recall{suffix}": self.recall,
            f"f1{suffix}": self.f1,
        }

    def to_metrics(self) -> dict[str, float]:
        """Window-metric values for alert rules: ``estimated.<m>``, ``estimated_lower.<m>``, ``estimated_upper.<m>``.

        ``<m>`` is a name of :meth:`metrics`, e.g. ``estimated.accuracy`` or
        ``estimated_lower.f1.urgent``.
        """
        out: dict[str, float] = {}
        for name, est in self.metrics().items():
            out[f"estimated.{name}"] = est.value
            out[f"estimated_lower.{name}"] = est.lower
            out[f"estimated_upper.{name}"] = est.upper
        return out

    def compare(self, realised: Mapping[str, float | None]) -> dict[str, Position]:
        """Where each realised metric (``quality_metrics`` names) lies against its interval.

        Metrics missing from ``realised`` (or None) are left out.  ``"below"`` on accuracy
        in window after window is the sign that P(correct | confidence) has fallen: the
        input-outcome relation changed (concept drift), not just the inputs.
        """
        out: dict[str, Position] = {}
        for name, est in self.metrics().items():
            value = realised.get(name)
            if value is not None:
                out[name] = est.position(float(value))
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of the estimate."""
        return {
            "n": self.n,
            "labels": list(self.labels),
            "positive_label": self.positive_label,
            "average": self.average,
            "level": self.level,
            "metrics": {
                name: {"value": e.value, "lower": e.lower, "upper": e.upper, "interval": e.interval}
                for name, e in self.metrics().items()
            },
            "expected_confusion": [
                {"predicted": p, "true": t, "expected": v} for (p, t), v in self.expected_confusion.items()
            ],
        }

