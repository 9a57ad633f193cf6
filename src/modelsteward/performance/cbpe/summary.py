"""CBPE's second route: from a per-(predicted class, confidence bin) summary the store aggregates in SQL.

:class:`ConfidenceSummary`, the bin edges that make it exact (:func:`summary_edges`), its
numpy twin (:func:`summarise_window`) and :func:`estimate_from_summary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelsteward.errors import InsufficientDataError
from modelsteward.performance.calibration import ConfidenceCalibrator, _confidences
from modelsteward.performance.cbpe.estimate import _estimate
from modelsteward.performance.cbpe.inputs import _check_options, _setup
from modelsteward.performance.cbpe.results import PerformanceEstimate

__all__ = ["ConfidenceSummary", "estimate_from_summary", "summarise_window", "summary_edges"]


@dataclass(frozen=True)
class ConfidenceSummary:
    """A window's confidences per predicted class, aggregated over calibration bins.

    For predicted class ``k`` the bins are right-closed on the inner ``edges[k]``
    (``(-inf, e1], (e1, e2], ..., (ek, inf)``, as :func:`modelsteward.drift.psi.bin_counts`
    and :func:`modelsteward.metrics.binning.bin_index_sql`); per bin ``counts`` holds the
    number of predictions and, optionally, ``sum_confidence`` and ``sum_confidence_sq`` the
    sums of their confidence and squared confidence.  Without the sums a bin is represented
    by its midpoint (within [0, 1]); without the squares its spread is taken as zero.  Both
    are approximations; with the sums and :func:`summary_edges` bins the estimate is exact.
    """

    edges: dict[str, tuple[float, ...]]
    counts: dict[str, tuple[int, ...]]
    sum_confidence: dict[str, tuple[float, ...]] | None = None
    sum_confidence_sq: dict[str, tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        if set(self.counts) != set(self.edges):
            raise ValueError("counts and edges must name the same predicted classes")
        for k, e in self.edges.items():
            arr = np.asarray(e, dtype=np.float64)
            if arr.ndim != 1 or not np.all(np.isfinite(arr)) or (arr.size > 1 and not np.all(arr[1:] > arr[:-1])):
                raise ValueError(f"edges[{k!r}] must be finite and strictly increasing")
            c = np.asarray(self.counts[k], dtype=np.float64)
            if c.shape != (arr.size + 1,):
                raise ValueError(f"counts[{k!r}] must have {arr.size + 1} bins (len(edges) + 1), got {c.size}")
            if np.any(c < 0) or np.any(c != np.round(c)):
                raise ValueError(f"counts[{k!r}] must be non-negative integers")
            for name, sums in (("sum_confidence", self.sum_confidence), ("sum_confidence_sq", self.sum_confidence_sq)):
                if sums is None:
                    continue
                if set(sums) != set(self.edges):
                    raise ValueError(f"{name} must name the same predicted classes as counts")
                v = np.asarray(sums[k], dtype=np.float64)
                if v.shape != c.shape or not np.all(np.isfinite(v)) or np.any(v < 0):
                    raise ValueError(f"{name}[{k!r}] must hold {c.size} non-negative, finite sums")
        if self.sum_confidence_sq is not None and self.sum_confidence is None:
            raise ValueError("sum_confidence_sq needs sum_confidence")

    @property
    def n(self) -> int:
        """Predictions summarised."""
        return int(sum(sum(c) for c in self.counts.values()))

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Sequence[Any]],
        edges: Mapping[str, Sequence[float]],
    ) -> ConfidenceSummary:
        """Build a summary from the rows of a ``GROUP BY predicted, bin`` query.

        Each row is ``(predicted, bin, count)`` or ``(predicted, bin, count, sum_confidence,
        sum_confidence_sq)``; bins not listed are empty.  ``edges`` are those the query
        binned with (:func:`summary_edges`).

        Examples
        --------
        >>> s = ConfidenceSummary.from_rows([("a", 0, 3, 1.5, 0.77), ("a", 1, 2, 1.8, 1.62)], {"a": [0.6], "b": [0.6]})
        >>> s.counts, s.n
        ({'a': (3, 2), 'b': (0, 0)}, 5)
        """
        e = {str(k): tuple(float(v) for v in es) for k, es in edges.items()}
        counts = {k: np.zeros(len(v) + 1, dtype=np.int64) for k, v in e.items()}
        s1 = {k: np.zeros(len(v) + 1) for k, v in e.items()}
        s2 = {k: np.zeros(len(v) + 1) for k, v in e.items()}
        has1 = has2 = True
        for row in rows:
            if len(row) not in (3, 5):
                raise ValueError(f"a summary row is (predicted, bin, count[, sum_confidence, sum_confidence_sq]), got {tuple(row)!r}")
            k, b = str(row[0]), int(row[1])
            if k not in counts:
                raise ValueError(f"summary row for predicted class {k!r}, which has no edges")
            if not 0 <= b < counts[k].size:
                raise ValueError(f"summary row for {k!r} has bin {b}, outside 0..{counts[k].size - 1}")
            counts[k][b] += int(row[2])
            if len(row) == 5 and row[3] is not None:
                s1[k][b] += float(row[3])
            else:
                has1 = False
            if len(row) == 5 and row[4] is not None:
                s2[k][b] += float(row[4])
            else:
                has2 = False

        def tup(d: dict[str, np.ndarray]) -> dict[str, tuple[float, ...]]:
            return {k: tuple(float(x) for x in v) for k, v in d.items()}

        return cls(
            e,
            {k: tuple(int(x) for x in v) for k, v in counts.items()},
            tup(s1) if has1 else None,
            tup(s2) if has1 and has2 else None,
        )


def summary_edges(
    labels: Sequence[str],
    *,
    calibrator: ConfidenceCalibrator | None = None,
    positive_label: str | None = None,
    positive_calibrator: ConfidenceCalibrator | None = None,
) -> dict[str, tuple[float, ...]]:
    """Per predicted class, the confidence bin edges on which the calibrated probability is linear.

    They are the calibrator's knots (for a positive-class calibrator and a predicted negative
    class, ``1 -`` the knots, since there the score is ``1 - confidence``).  Binned on these,
    a :class:`ConfidenceSummary` with sums of confidence and squared confidence gives exactly
    the per-row estimates.

    Examples
    --------
    >>> from modelsteward.performance import ConfidenceCalibrator
    >>> cal = ConfidenceCalibrator((0.5, 0.7, 0.9), (0.4, 0.6, 0.95), "isotonic", "positive", 100, "yes")
    >>> summary_edges(["yes", "no"], positive_label="yes", positive_calibrator=cal)
    {'yes': (0.5, 0.7, 0.9), 'no': (0.1, 0.3, 0.5)}
    """
    s = _setup(labels, positive_label, calibrator, positive_calibrator, None)
    x = np.asarray(s.cal.x)
    if s.positive:
        flipped = tuple(float(v) for v in np.unique(np.round(1.0 - x, 15)))
        return {lab: (tuple(float(v) for v in x) if i == s.pos else flipped) for i, lab in enumerate(s.labels)}
    return {lab: tuple(float(v) for v in x) for lab in s.labels}


def summarise_window(
    predictions: object,
    confidences: object,
    edges: Mapping[str, Sequence[float]],
) -> ConfidenceSummary:
    """The numpy twin of the store's aggregation: count, sum and sum of squares per (class, bin).

    Examples
    --------
    >>> s = summarise_window(["a", "a", "b"], [0.55, 0.9, 0.7], {"a": [0.6], "b": [0.6]})
    >>> s.counts, s.sum_confidence
    ({'a': (1, 1), 'b': (0, 1)}, {'a': (0.55, 0.9), 'b': (0.0, 0.7)})
    """
    e = {str(k): tuple(float(v) for v in es) for k, es in edges.items()}
    conf = _confidences(confidences, "confidences")
    pred = np.asarray(predictions).astype(str)
    if pred.shape != conf.shape:
        raise ValueError(f"predictions and confidences must have the same length, got {pred.size} and {conf.size}")
    unknown = sorted(set(np.unique(pred).tolist()) - set(e))
    if unknown:
        raise ValueError(f"predictions hold classes without edges: {unknown[:5]}")
    counts, s1, s2 = {}, {}, {}
    for k, ek in e.items():
        c = conf[pred == k]
        b = np.searchsorted(np.asarray(ek, dtype=np.float64), c, side="left")
        size = len(ek) + 1
        counts[k] = tuple(int(v) for v in np.bincount(b, minlength=size))
        s1[k] = tuple(float(v) for v in np.bincount(b, weights=c, minlength=size))
        s2[k] = tuple(float(v) for v in np.bincount(b, weights=c * c, minlength=size))
    return ConfidenceSummary(e, counts, s1, s2)


def estimate_from_summary(
    summary: ConfidenceSummary,
    *,
    labels: Sequence[str],
    calibrator: ConfidenceCalibrator | None = None,
    positive_label: str | None = None,
    positive_calibrator: ConfidenceCalibrator | None = None,
    error_mix: Mapping[str, Mapping[str, float]] | None = None,
    level: float = 0.95,
    n_draws: int = 2000,
    seed: int | None = 0,
    calibration_uncertainty: bool = True,
) -> PerformanceEstimate:
    """Estimate one window's metrics from a :class:`ConfidenceSummary` instead of its rows.

    In a bin of ``n`` predictions with mean confidence ``c`` and variance ``v`` (from the
    count and the two sums), the calibrated probability ``g`` is linear when the bins are
    those of :func:`summary_edges`, so ``sum p = n g(c)`` and
    ``sum p^2 = n (g(c)^2 + g'(c)^2 v)`` exactly; the variance of the number correct is
    ``sum p - sum p^2``.  Accuracy's interval is the normal one; the simulation draws the
    number correct in each bin as Binomial(``n``, ``g(c)``).  Other bins give a close
    approximation.  Parameters are as for :func:`estimate_performance`; the calibration's
    own error enters as there, through each bin's interpolation weights at its mean.

    Returns
    -------
    PerformanceEstimate

    Raises
    ------
    InsufficientDataError
        If the summary counts no predictions.
    ValueError
        If the summary names classes not in ``labels``, or other inputs are malformed.

    Examples
    --------
    >>> import numpy as np
    >>> from modelsteward.performance import ConfidenceCalibrator, estimate_performance
    >>> rng = np.random.default_rng(7)
    >>> ref_conf = rng.uniform(0.5, 1.0, size=5000)
    >>> cal = ConfidenceCalibrator.fit(ref_conf, rng.random(5000) < ref_conf)
    >>> conf, pred = rng.uniform(0.5, 0.9, size=1000), rng.choice(["a", "b"], size=1000)
    >>> summary = summarise_window(pred, conf, summary_edges(["a", "b"], calibrator=cal))
    >>> kw = dict(labels=["a", "b"], calibrator=cal, positive_label="a")
    >>> rows = estimate_performance(pred, conf, accuracy_interval="normal", **kw)
    >>> binned = estimate_from_summary(summary, **kw)
    >>> print(f"{rows.accuracy.value:.6f} {binned.accuracy.value:.6f} {rows.accuracy.upper:.6f} {binned.accuracy.upper:.6f}")
    0.697372 0.697372 0.728277 0.728277
    """
    level = _check_options(level, n_draws)
    s = _setup(labels, positive_label, calibrator, positive_calibrator, error_mix)
    if not isinstance(summary, ConfidenceSummary):
        raise ValueError(f"summary must be a ConfidenceSummary, got {type(summary).__name__}")
    unknown = sorted(set(summary.counts) - set(s.labels))
    if unknown:
        raise ValueError(f"the summary holds predicted classes not in the labels {list(s.labels)}: {unknown}")
    groups, means, spreads, counts = [], [], [], []
    for i, lab in enumerate(s.labels):
        if lab not in summary.counts:
            continue
        cnt = np.asarray(summary.counts[lab], dtype=np.int64)
        edges = np.asarray(summary.edges[lab], dtype=np.float64)
        filled = cnt > 0
        nb = cnt[filled].astype(np.float64)
        if summary.sum_confidence is not None:
            mean = np.asarray(summary.sum_confidence[lab])[filled] / nb
            if summary.sum_confidence_sq is not None:
                spread = np.maximum(np.asarray(summary.sum_confidence_sq[lab])[filled] / nb - mean**2, 0.0)
            else:
                spread = np.zeros_like(mean)
        else:
            lo = np.clip(np.concatenate([[0.0], edges]), 0.0, 1.0)
            hi = np.clip(np.concatenate([edges, [1.0]]), 0.0, 1.0)
            mean = ((lo + hi) / 2)[filled]
            spread = np.zeros_like(mean)
        groups.append(np.full(mean.size, i, dtype=np.int64))
        means.append(np.clip(mean, 0.0, 1.0))
        spreads.append(spread)
        counts.append(cnt[filled])
    if not groups or sum(int(c.sum()) for c in counts) == 0:
        raise InsufficientDataError("the window summary counts no predictions to estimate performance from")
    units = s.units(np.concatenate(groups), np.concatenate(means), np.concatenate(counts), np.concatenate(spreads))
    return _estimate(
        s, units, exact_accuracy=False, calibration_uncertainty=calibration_uncertainty, level=level, n_draws=n_draws, seed=seed
    )
