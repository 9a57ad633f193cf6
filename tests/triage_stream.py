"""A seeded support-ticket stream for the triage tests (library, CLI and report).

Two weeks of a binary ticket classifier, every prediction labelled. Tickets carry a customer
tier and a channel (attributes). In week 2 the model stays right 90 % of the time for the free
tier but only 40 % of the time for enterprise tickets; channels behave alike. An alert rule
fires when accuracy is below 0.8.
"""

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from modelsteward.monitor import Monitor

START = datetime(2026, 3, 2)  # a Monday


def build_project(tmp):
    """Write the stream's steward.yaml and reference into ``tmp``, log two weeks, run check; return (tmp, truth)."""
    rng = np.random.default_rng(4)
    n_ref = 2000
    pq.write_table(pa.table({"category": rng.choice(["billing", "technical"], n_ref), "confidence": rng.uniform(0.6, 1, n_ref),
                             "prediction": rng.choice(["urgent", "routine"], n_ref), "label": rng.choice(["urgent", "routine"], n_ref)}),
                   tmp / "ref.parquet")
    (tmp / "steward.yaml").write_text(yaml.safe_dump({"store": "s.duckdb", "models": [{
        "name": "tickets", "task": "binary", "labels": ["urgent", "routine"], "window": "week",
        "features": [{"name": "category", "type": "categorical"}], "reference": {"file": "ref.parquet"},
        "alerts": [{"name": "acc", "metric": "accuracy", "condition": {"kind": "below", "value": 0.8}, "severity": "high"}]}]}))
    with Monitor(tmp / "steward.yaml") as mon:
        records, feedback, truth = [], [], []
        for week in range(2):
            for i in range(1200):
                tier = str(rng.choice(["enterprise", "free"], p=[0.3, 0.7]))
                channel = str(rng.choice(["email", "chat"]))
                p_right = 0.9 if (week == 0 or tier == "free") else 0.4
                pred = str(rng.choice(["urgent", "routine"]))
                right = bool(rng.random() < p_right)
                label = pred if right else ("routine" if pred == "urgent" else "urgent")
                pid = f"w{week}-{i}"
                records.append({"prediction_id": pid, "timestamp": START + timedelta(weeks=week, minutes=5 * i), "prediction": pred,
                                "confidence": 0.8, "features": {"category": str(rng.choice(["billing", "technical"]))},
                                "attributes": {"tier": tier, "channel": channel}})
                feedback.append({"prediction_id": pid, "kind": "explicit", "label": label})
                truth.append((week, tier, channel, right))
        mon.log_predictions(records)
        mon.log_feedbacks(feedback)
        mon.check(until=START + timedelta(weeks=2))
    return tmp, truth
