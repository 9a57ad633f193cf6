"""A small stored scenario for the dashboard tests: four weeks of a ticket classifier, drift in
weeks 3-4, incidents, a review queue longer than a page, users of each role, and feature values
that are XSS payloads (each one, if it ever ran, would set ``window.__xss``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor

START = datetime(2026, 1, 5)  # a Monday: weekly windows start on Mondays
WEEKS = 4
PER_WEEK = 240
MODEL = "tickets"
PASSWORDS = {"alice": "alice-admin-pw", "rita": "rita-reviewer-pw", "vic": "vic-viewer-pw"}
ROLES = {"alice": "admin", "rita": "reviewer", "vic": "viewer"}

#: Stored as feature values; rendered anywhere, they must show as text and never run.
XSS = [
    "<script>window.__xss=1;alert(1)</script>",
    '"><img src=x onerror="window.__xss=2;alert(2)">',
    "'><svg onload=window.__xss=3>",
]


def config(folder: Path) -> StewardConfig:
    return StewardConfig.model_validate({"models": [{
        "name": MODEL, "task": "binary", "labels": ["urgent", "routine"], "positive_label": "urgent", "window": "week",
        "owner": "support-ml-team",
        "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}],
        "reference": {"file": str(folder / "training.parquet"), "baselines": {"accuracy": 0.88}},
        "drift": {"min_samples": 30},
        "alerts": [
            {"name": "accuracy_drop", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "severity": "high",
             "response_sla": "1h", "action": "Page on-call"},
            {"name": "confidence_drop", "metric": "mean_confidence", "condition": {"kind": "below", "value": 0.70},
             "severity": "medium", "response_sla": "24h"},
            {"name": "distribution_shift", "metric": "feature.category.share.technical",
             "condition": {"kind": "change", "direction": "either", "by_more_than": 0.10, "relative": False}, "severity": "medium"},
        ],
        "review": {"conditions": [{"kind": "confidence_below", "threshold": 0.7}], "lease": "30m"},
    }]})


def _rows(rng: np.random.Generator, n: int, *, technical: float, length_mean: float, accuracy: float,
          conf_mean: float) -> dict[str, list[Any]]:
    category = np.where(rng.random(n) < technical, "technical", np.where(rng.random(n) < 0.5, "billing", "other"))
    length = rng.normal(length_mean, 40.0, n).round(1)
    label = np.where(rng.random(n) < 0.4, "urgent", "routine")
    correct = rng.random(n) < accuracy
    prediction = np.where(correct, label, np.where(label == "urgent", "routine", "urgent"))
    confidence = np.clip(rng.normal(conf_mean, 0.1, n), 0.5, 0.99).round(3)
    return {"category": category.tolist(), "length": length.tolist(), "label": label.tolist(),
            "prediction": prediction.tolist(), "confidence": confidence.tolist()}


def build(folder: Path) -> tuple[StewardConfig, Path]:
    """Write the training file and fill a store in ``folder``; returns the config and the store path."""
    rng = np.random.default_rng(20261126)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(_rows(rng, 2000, technical=0.4, length_mean=200, accuracy=0.88, conf_mean=0.85)),
                   folder / "training.parquet")
    cfg = config(folder)
    store = folder / "steward.duckdb"
    with Monitor(cfg, store=store) as mon:
        low_conf: list[str] = []
        for week in range(WEEKS):
            drifted = week >= 2
            rows = _rows(rng, PER_WEEK, technical=0.7 if drifted else 0.4, length_mean=260 if drifted else 200,
                         accuracy=0.72 if drifted else 0.88, conf_mean=0.66 if drifted else 0.85)
            preds, feedback = [], []
            for i in range(PER_WEEK):
                pid = f"w{week}-{i:04d}"
                category = rows["category"][i]
                confidence = rows["confidence"][i]
                if week == WEEKS - 1 and i < len(XSS):
                    category, confidence = XSS[i], 0.55  # user data that looks like markup, routed to review
                ts = START + timedelta(weeks=week, minutes=37 * i)
                preds.append({"prediction_id": pid, "timestamp": ts, "features": {"category": category, "length": rows["length"][i]},
                              "prediction": rows["prediction"][i], "confidence": confidence,
                              "latency_ms": float(80 + (i * 7) % 400), "error": "timeout" if i % 97 == 0 else None})
                if i % 2 == 0:
                    feedback.append({"prediction_id": pid, "kind": "explicit", "label": rows["label"][i],
                                     "timestamp": ts + timedelta(hours=2)})
                if confidence < 0.7:
                    low_conf.append(pid)
            mon.log_predictions(preds)
            mon.log_feedbacks(feedback)
            mon.check(until=START + timedelta(weeks=week + 1))
        for pid in low_conf:
            mon.route(pid, routed_at=START + timedelta(weeks=WEEKS))
        from modelsteward.server import auth

        for name, role in ROLES.items():
            auth.create_user(mon.store, name, role, PASSWORDS[name])
    return cfg, store
