"""The labelled error stream of concept drift and CBPE's confidence bins, written once as Ibis expressions.

Every engine runs the same expressions (the store's DuckDB or PostgreSQL, DuckDB over the
Parquet log, Spark); :mod:`~modelsteward.drift.concept_window` and
:mod:`~modelsteward.performance.window` turn their small results into window metrics. They
take the engine's ``events`` and ``feedback`` tables and reuse
:func:`~modelsteward.engines.aggregates.resolved_labels` and
:func:`~modelsteward.engines.aggregates.window_rows`.

What reaches Python:

* :func:`confidence_bins`: one row per predicted class and calibration bin (count, sum of
  confidence, sum of its square): a few dozen rows whatever the window's size;
* :func:`labelled_confusion`: one row per (prediction, label) pair;
* :func:`error_stream` and :func:`warmup_stream`: one small row per labelled prediction (its
  time and a one-byte error flag, about 9 bytes), in time order, because the online detectors
  (ADWIN, DDM, Page-Hinkley) read the stream one value at a time. A window with more than
  ``cap`` labelled predictions is thinned on the engine to every k-th one in time order
  (k = ceil(n / cap)), so what is pulled, and the detectors' time in Python, stay bounded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from modelsteward.config import ModelConfig
from modelsteward.engines import aggregates as agg

__all__ = ["STREAM_CAP", "confidence_bins", "error_stream", "labelled_confusion", "labelled_rows", "thinning", "warmup_stream"]

STREAM_CAP = 1_000_000  # labelled predictions of one window read by the online detectors (9 MB; about 3 s of ADWIN)


def _ibis() -> Any:
    import ibis

    return ibis


def _between(events: Any, model: ModelConfig, start: datetime | None, end: datetime) -> Any:
    """Events with ``start <= ts < end`` (no lower bound when ``start`` is None)."""
    if start is not None:
        return agg.window_rows(events, model, start, end, aligned=True)
    before = events.ts < end
    if "date" in events.columns:  # the partitioned Parquet log: later days are pruned unread
        before = before & (events.date <= end.date())
    return events.filter(before)


def labelled_rows(events: Any, feedback: Any, model: ModelConfig, start: datetime | None, end: datetime) -> Any:
    """``(ts, prediction_id, prediction, confidence, label)`` of the predictions in ``[start, end)`` with a resolved label.

    The labels are resolved over the feedback of these predictions only (the resolution of a
    prediction's label reads its own feedback alone), so the join stays the window's size.
    """
    rows = _between(events, model, start, end)
    rows = rows.filter(rows.prediction.notnull()).select("ts", "prediction_id", "prediction", "confidence")
    labels = agg.resolved_labels(rows, feedback, model)
    return rows.join(labels, "prediction_id").select("ts", "prediction_id", "prediction", "confidence", "label")


def labelled_confusion(labelled: Any) -> Any:
    """``(prediction, label, n)`` of the labelled rows."""
    return labelled.group_by(["prediction", "label"]).aggregate(n=labelled.count())


def _errors(labelled: Any) -> Any:
    e = _ibis().ifelse(labelled.prediction != labelled.label, 1, 0).cast("int8")  # PostgreSQL casts booleans only to int4
    return labelled.select("ts", "prediction_id", e=e)


def thinning(n: int, cap: int | None = None) -> int:
    """Keep every k-th labelled prediction of a window of ``n`` so that at most ``cap`` (default :data:`STREAM_CAP`) remain.

    >>> thinning(900), thinning(2_500_000, cap=1_000_000), thinning(3_000_000, cap=1_000_000)
    (1, 3, 3)
    """
    return max(1, -(-int(n) // int(STREAM_CAP if cap is None else cap)))


def error_stream(labelled: Any, *, every: int = 1) -> Any:
    """``(ts, e)`` in time order (ties by prediction id), ``e`` = 1 for a wrong prediction; every ``every``-th row."""
    t = _errors(labelled)
    if every > 1:
        ibis = _ibis()
        t = t.mutate(k=ibis.row_number().over(ibis.window(order_by=[t.ts, t.prediction_id])))
        t = t.filter(t.k % every == every - 1)
    return t.order_by([t.ts, t.prediction_id]).select("ts", "e")


def warmup_stream(labelled_before: Any, n: int) -> Any:
    """``(ts, e)`` of the last ``n`` labelled predictions, latest first (reverse it for time order)."""
    t = _errors(labelled_before)
    return t.order_by([t.ts.desc(), t.prediction_id.desc()]).limit(int(n)).select("ts", "e")


_PAD = float(np.finfo(np.float64).max)  # an edge no confidence exceeds (infinities do not travel well into every engine)


def _grid(edge_sets: Sequence[Sequence[float]], most: int) -> int:
    """The power of two ``G`` (64 to ``most``) for which no cell of width ``1/G`` holds more than 4 edges of any set."""
    g = 64
    while g < most:
        counts = [np.bincount(np.clip(np.floor(np.asarray(e, dtype=np.float64) * g), 0, g).astype(np.int64), minlength=g + 1)
                  for e in edge_sets if len(e)]
        if max((int(c.max()) for c in counts), default=0) <= 4:
            break
        g *= 2
    return g


def _cells(edges: Sequence[float], g: int) -> tuple[np.ndarray, np.ndarray]:
    """``(base, inside)`` of one class's ascending edges on the grid of ``g`` cells (plus one for the value 1.0).

    A value ``v`` falls in cell ``c = min(max(floor(v * g), 0), g)``; ``g`` is a power of two,
    so ``v * g`` is exact in binary floating point and every engine puts a value in the cell
    numpy does. ``base[c]`` counts the edges of the cells before ``c`` (all below ``v``);
    ``inside[c]`` lists the edges in cell ``c`` (padded), which are compared with ``v`` one by one.

    >>> base, inside = _cells([0.1, 0.5, 0.52], 4)
    >>> base.tolist(), inside[2].tolist()
    ([0, 1, 1, 3, 3], [0.5, 0.52])
    """
    e = np.asarray(edges, dtype=np.float64)
    cell = np.clip(np.floor(e * g), 0, g).astype(np.int64)
    per = np.bincount(cell, minlength=g + 1)
    base = np.concatenate([[0], np.cumsum(per)[:-1]]).astype(np.int64)
    inside = np.full((g + 1, max(1, int(per.max(initial=0)))), _PAD)
    for c in np.unique(cell):
        got = e[cell == c]
        inside[c, :got.size] = got
    return base, inside


def confidence_bins(rows: Any, edges: Mapping[str, Sequence[float]], engine: Any) -> Any:
    """``(prediction, bin, n, s1, s2)``: per predicted class and right-closed confidence bin, count and sums of confidence and its square.

    ``edges`` are each class's ascending bin edges in [0, 1]
    (:func:`~modelsteward.performance.cbpe.summary_edges`); a confidence's bin is the first ``i``
    with ``confidence <= edges[i]``, else ``len(edges)`` (the twin of
    :func:`~modelsteward.metrics.binning.bin_index_sql`). Rows without a confidence, or
    predicting a class without edges, are left out. One scan for all classes.

    Calibrators have a hundred knots and more; a ``CASE`` of one branch per edge took Ibis
    0.3 s to compile, ten times the query. Instead ``engine`` uploads a small lookup table
    (:func:`_cells`: one row per class and cell of a grid) joined on ``(prediction, cell)``: the
    bin is the cell's base count plus a few comparisons with the edges inside the cell.
    """
    ibis = _ibis()
    classes = [str(c) for c in edges]
    g = _grid([edges[c] for c in classes], most=1 << 12 if len(classes) <= 16 else 1 << 9)
    cells = {cls: _cells(edges[cls], g) for cls in classes}
    width = max(inside.shape[1] for _, inside in cells.values())
    cols: dict[str, pa.Array] = {
        "k_prediction": pa.array([cls for cls in classes for _ in range(g + 1)], pa.string()),
        "k_cell": pa.array(np.tile(np.arange(g + 1, dtype=np.int64), len(classes))),
        "k_base": pa.array(np.concatenate([base for base, _ in cells.values()])),
    }
    for k in range(width):
        cols[f"k_e{k}"] = pa.array(np.concatenate([inside[:, k] if k < inside.shape[1] else np.full(g + 1, _PAD)
                                                   for _, inside in cells.values()]))
    lookup = engine.upload(pa.table(cols))
    t = rows.filter(rows.confidence.notnull() & rows.prediction.isin(classes))
    t = t.select("prediction", c=t.confidence.cast("float64"))
    t = t.mutate(cell=(t.c * g).floor().clip(lower=0, upper=g).cast("int64"))
    j = t.join(lookup, [t.prediction == lookup.k_prediction, t.cell == lookup.k_cell])
    b = j.k_base
    for k in range(width):
        b = b + ibis.ifelse(j.c > j[f"k_e{k}"], 1, 0)
    j = j.select("prediction", "c", bin=b)
    return j.group_by(["prediction", "bin"]).aggregate(n=j.count(), s1=j.c.sum(), s2=(j.c * j.c).sum())
