"""The contract tests' seeded dataset: a reference file and two weeks of logged predictions.

Week 1 looks like the reference; week 2 has drift in ``x`` (mean +0.8), a category the
reference never saw (``"new"``), missing values in both features, errors, missing latency,
and labels from several feedback sources (expert overrides explicit; implicit accepts confirm).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor

LABELS = ["urgent", "routine"]
WEEK1 = datetime(2026, 1, 5)  # a Monday
WEEK2 = WEEK1 + timedelta(weeks=1)
CATEGORIES = ["billing", "tech", "account"]
N_REF = 3000
N_WEEK = 1500


def config_dict(reference: Path, **drift: Any) -> dict[str, Any]:
    return {"models": [{
        "name": "tickets", "task": "binary", "labels": LABELS, "window": "week",
        "features": [{"name": "x", "type": "numeric"}, {"name": "category", "type": "categorical"}],
        "reference": {"file": str(reference)},
        "drift": {"min_samples": 30, **drift},
    }]}


def write_reference(path: Path, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    pred = rng.choice(LABELS, N_REF, p=[0.3, 0.7])
    flip = rng.random(N_REF) < 0.15
    label = np.where(flip, np.where(pred == "urgent", "routine", "urgent"), pred)
    pq.write_table(pa.table({
        "x": np.round(rng.normal(0.0, 1.0, N_REF), 3),
        "category": rng.choice(CATEGORIES, N_REF, p=[0.5, 0.3, 0.2]).tolist(),
        "confidence": np.round(rng.uniform(0.5, 1.0, N_REF), 3),
        "prediction": pred.tolist(),
        "label": label.tolist(),
    }), path)


def week_rows(start: datetime, *, drifted: bool, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Predictions and feedback of one week (``drifted`` shifts ``x`` and brings the unseen category)."""
    rng = np.random.default_rng(seed)
    n = N_WEEK
    x = np.round(rng.normal(0.8 if drifted else 0.0, 1.0, n), 3)
    cats = CATEGORIES + ["new"] if drifted else CATEGORIES
    probs = [0.35, 0.25, 0.15, 0.25] if drifted else [0.5, 0.3, 0.2]
    category = rng.choice(cats, n, p=probs)
    pred = rng.choice(LABELS, n, p=[0.4, 0.6] if drifted else [0.3, 0.7])
    conf = np.round(rng.uniform(0.4 if drifted else 0.5, 1.0, n), 3)
    latency = np.round(rng.gamma(2.0, 40.0, n), 2)
    preds, feedback = [], []
    for i in range(n):
        pid = f"{start:%Y%m%d}-{i}"
        feats: dict[str, Any] = {}
        if i % 17 != 0:  # missing x
            feats["x"] = float(x[i])
        if i % 23 != 0:  # missing category
            feats["category"] = str(category[i])
        row: dict[str, Any] = {
            "prediction_id": pid, "timestamp": start + timedelta(seconds=int(i * 400)),
            "prediction": str(pred[i]), "confidence": float(conf[i]), "features": feats,
            "user_id": f"u{i % 211}",
        }
        if i % 11 != 0:
            row["latency_ms"] = float(latency[i])
        if i % 97 == 5:
            row["error"] = "timeout" if i % 2 else "oom"
        preds.append(row)
        wrong = rng.random() < (0.35 if drifted else 0.15)
        truth = ("routine" if pred[i] == "urgent" else "urgent") if wrong else str(pred[i])
        if i % 3 == 0:
            feedback.append({"prediction_id": pid, "kind": "explicit", "label": truth})
        if i % 6 == 0:  # an expert overrides the explicit label (sometimes with the other label)
            feedback.append({"prediction_id": pid, "kind": "expert", "label": truth if i % 12 else str(pred[i])})
        if i % 5 == 1:
            feedback.append({"prediction_id": pid, "kind": "implicit", "action": "accepted"})
    return preds, feedback


def build(tmp: Path, **drift: Any) -> Monitor:
    """A Monitor over a DuckDB file in ``tmp`` holding the reference and both weeks."""
    write_reference(tmp / "ref.parquet")
    mon = Monitor(StewardConfig.model_validate(config_dict(tmp / "ref.parquet", **drift)), store=tmp / "steward.duckdb")
    for start, drifted, seed in ((WEEK1, False, 11), (WEEK2, True, 12)):
        preds, fb = week_rows(start, drifted=drifted, seed=seed)
        mon.log_predictions(preds)
        mon.log_feedbacks(fb)
    mon.reference(rebuild=True)
    return mon
