"""CBPE inside the monitoring loop: calibrate once on the reference, estimate every window.

The reference's rows that carry a confidence, a prediction and a label (a seeded sample of at
most :data:`CALIBRATION_ROWS`) fit the calibrators once; they are stored with the reference
profile. Each window is summarised in the store's engine — per predicted class and
calibration bin, the count, the sum of confidence and the sum of its square — and
:func:`~modelsteward.performance.cbpe.estimate_from_summary` turns the summary into
``estimated.<metric>``, ``estimated_lower.<metric>`` and ``estimated_upper.<metric>`` window
metrics (accuracy, and precision, recall and F1 of the positive class for a binary task, or
their macro averages), which alert rules can use before any label arrives.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from modelsteward.config import ModelConfig
from modelsteward.errors import InsufficientDataError
from modelsteward.metrics.binning import bin_index_sql
from modelsteward.performance.calibration import ConfidenceCalibrator
from modelsteward.performance.cbpe import ConfidenceSummary, error_mix_from_confusion, estimate_from_summary, summary_edges
from modelsteward.store.duckdb_store import DuckDBStore

__all__ = ["CALIBRATION_ROWS", "fit_calibration", "window_estimate"]

CALIBRATION_ROWS = 50_000
MIN_CALIBRATION_ROWS = 50


def fit_calibration(store: DuckDBStore, model: ModelConfig, reference_table: str, *, seed: int = 0) -> dict[str, Any] | None:
    """Fit the calibrators on the reference; None when it has too few labelled predictions."""
    rows = store.query(
        f"SELECT confidence, prediction, label FROM {reference_table} "
        "WHERE confidence IS NOT NULL AND prediction IS NOT NULL AND label IS NOT NULL "
        f"USING SAMPLE reservoir({CALIBRATION_ROWS} ROWS) REPEATABLE ({int(seed)})"
    )
    rows = [r for r in rows if r[1] in model.labels and r[2] in model.labels]
    if len(rows) < MIN_CALIBRATION_ROWS:
        return None
    conf = np.array([r[0] for r in rows], dtype=float)
    pred = np.array([r[1] for r in rows], dtype=object)
    label = np.array([r[2] for r in rows], dtype=object)
    out: dict[str, Any] = {"rows": len(rows), "calibrator": ConfidenceCalibrator.fit(conf, pred == label).to_dict()}
    if model.task == "binary":
        positive = ConfidenceCalibrator.fit_positive(pred, conf, label, positive_label=model.positive)
        out["positive_calibrator"] = positive.to_dict()
    else:
        confusion: dict[tuple[str, str], int] = {}
        for p, t in zip(pred, label, strict=True):
            confusion[(p, t)] = confusion.get((p, t), 0) + 1
        out["error_mix"] = error_mix_from_confusion(confusion, model.labels)
    return out


def window_estimate(store: DuckDBStore, model: ModelConfig, calibration: dict[str, Any], start: datetime, end: datetime) -> dict[str, float]:
    """``estimated.*`` metrics of the window ``[start, end)``; empty when it has no prediction."""
    calibrator = ConfidenceCalibrator.from_dict(calibration["calibrator"])
    positive = calibration.get("positive_calibrator")
    positive_calibrator = ConfidenceCalibrator.from_dict(positive) if positive else None
    positive_label = model.positive if model.task == "binary" else None
    edges = summary_edges(model.labels, calibrator=calibrator, positive_label=positive_label, positive_calibrator=positive_calibrator)
    table = DuckDBStore.predictions_table(model.name)
    rows: list[tuple[Any, ...]] = []
    for cls, cls_edges in edges.items():
        expr, params = bin_index_sql("confidence", list(cls_edges))
        rows += store.query(
            f"SELECT prediction, {expr}, count(*), sum(confidence), sum(confidence * confidence) FROM {table} "
            "WHERE ts >= ? AND ts < ? AND prediction = ? AND confidence IS NOT NULL GROUP BY 1, 2",
            [*params, start, end, cls],
        )
    summary = ConfidenceSummary.from_rows(rows, edges)
    if summary.n == 0:
        return {}
    try:
        estimate = estimate_from_summary(summary, labels=model.labels, calibrator=calibrator, positive_label=positive_label,
                                         positive_calibrator=positive_calibrator, error_mix=calibration.get("error_mix"))
    except InsufficientDataError:
        return {}
    return estimate.to_metrics()
