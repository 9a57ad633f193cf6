"""CBPE inside the monitoring loop: calibrate once on the reference, estimate every window.

The reference's rows that carry a confidence, a prediction and a label (a seeded sample of at
most :data:`CALIBRATION_ROWS`) fit the calibrators once; they are stored with the reference
profile. Each window is summarised on an engine (the store's own, or the one ``steward check
--engine`` runs on) — per predicted class and calibration bin, the count, the sum of
confidence and the sum of its square — and
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
from modelsteward.engines.aggregates import window_rows
from modelsteward.engines.connect import Engine, store_engine
from modelsteward.engines.streams import confidence_bins
from modelsteward.errors import InsufficientDataError
from modelsteward.performance.calibration import ConfidenceCalibrator
from modelsteward.performance.cbpe import ConfidenceSummary, error_mix_from_confusion, estimate_from_summary, summary_edges
from modelsteward.store.base import Store

__all__ = ["CALIBRATION_ROWS", "fit_calibration", "window_estimate"]

CALIBRATION_ROWS = 50_000
MIN_CALIBRATION_ROWS = 50


def fit_calibration(store: Store, model: ModelConfig, reference_table: str, *, seed: int = 0) -> dict[str, Any] | None:
    """Fit the calibrators on the reference; None when it has too few labelled predictions."""
    from modelsteward.engines.connect import store_engine
    from modelsteward.engines.samples import sample_arrow

    # A bottom-k sample by hash of the rows' content: the same rows on a DuckDB and a PostgreSQL store.
    engine = store_engine(store)
    ref = engine.backend.table(reference_table.strip('"'))
    ref = ref.filter(ref.confidence.notnull() & ref.prediction.notnull() & ref.label.notnull())
    got = sample_arrow(engine, ref, CALIBRATION_ROWS, seed=seed, key=None, columns=["confidence", "prediction", "label"])
    rows = [r for r in zip(*(got.column(c).to_pylist() for c in ("confidence", "prediction", "label")), strict=True)
            if r[1] in model.labels and r[2] in model.labels]
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


def window_estimate(store: Store, model: ModelConfig, calibration: dict[str, Any], start: datetime, end: datetime, *,
                    engine: Engine | None = None) -> dict[str, float]:
    """``estimated.*`` metrics of the window ``[start, end)``; empty when it has no prediction.

    The confidence bins are counted on ``engine`` (default: the store's own tables) by
    :func:`~modelsteward.engines.streams.confidence_bins`, one scan for every class.
    """
    calibrator = ConfidenceCalibrator.from_dict(calibration["calibrator"])
    positive = calibration.get("positive_calibrator")
    positive_calibrator = ConfidenceCalibrator.from_dict(positive) if positive else None
    positive_label = model.positive if model.task == "binary" else None
    edges = summary_edges(model.labels, calibrator=calibrator, positive_label=positive_label, positive_calibrator=positive_calibrator)
    engine = engine or store_engine(store)
    window = window_rows(engine.events(model), model, start, end, aligned=True)
    rows = [(r["prediction"], r["bin"], r["n"], r["s1"], r["s2"]) for r in engine.rows(confidence_bins(window, edges, engine))]
    summary = ConfidenceSummary.from_rows(rows, edges)
    if summary.n == 0:
        return {}
    try:
        estimate = estimate_from_summary(summary, labels=model.labels, calibrator=calibrator, positive_label=positive_label,
                                         positive_calibrator=positive_calibrator, error_mix=calibration.get("error_mix"))
    except InsufficientDataError:
        return {}
    return estimate.to_metrics()
