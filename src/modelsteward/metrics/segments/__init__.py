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

**Where things are.**  :mod:`~modelsteward.metrics.segments.query` (dimensions and the
``GROUP BY``), :mod:`~modelsteward.metrics.segments.breakdown` (:func:`segment_metrics`),
:mod:`~modelsteward.metrics.segments.decompose` (:func:`explain_drop`),
:mod:`~modelsteward.metrics.segments.drivers` (:func:`explain_drift`),
:mod:`~modelsteward.metrics.segments.intervals` and :mod:`~modelsteward.metrics.segments.results`.
Import every name from here.

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

from modelsteward.metrics.segments.breakdown import segment_metrics
from modelsteward.metrics.segments.decompose import DECOMPOSABLE_METRICS, explain_drop
from modelsteward.metrics.segments.drivers import explain_drift
from modelsteward.metrics.segments.intervals import Z95 as Z95
from modelsteward.metrics.segments.intervals import newcombe_interval, wilson_interval
from modelsteward.metrics.segments.query import ATTRIBUTE_KEY as ATTRIBUTE_KEY
from modelsteward.metrics.segments.query import COLUMN_DIMENSIONS as COLUMN_DIMENSIONS
from modelsteward.metrics.segments.results import (
    MISSING,
    DimensionBreakdown,
    DriftDriver,
    DriftExplanation,
    DropExplanation,
    SegmentContribution,
    SegmentMetrics,
)

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
