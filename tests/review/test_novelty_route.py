"""The novelty condition over real novelty scores: stored at log time, or scored from the features given."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward import Monitor, StewardConfig
from modelsteward.review.dryrun import dry_run


def test_novel_inputs_are_routed(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    pq.write_table(pa.table({"a": rng.normal(0, 1, n), "c": rng.choice(["x", "y"], n), "confidence": rng.random(n)}),
                   tmp_path / "ref.parquet")
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["y", "n"], "novelty": True,
        "features": [{"name": "a", "type": "numeric"}, {"name": "c", "type": "categorical"}],
        "reference": {"file": str(tmp_path / "ref.parquet")},
        "review": {"conditions": [{"kind": "novelty_above", "percentile": 99}]}}]})
    start = datetime(2026, 1, 5)
    with Monitor(cfg, store=tmp_path / "s.duckdb") as mon:
        records = [{"prediction_id": f"p{i}", "timestamp": start + timedelta(minutes=i), "prediction": "y", "confidence": 0.9,
                    "features": {"a": float(rng.normal(8.0 if i >= 300 else 0.0, 1)), "c": str(rng.choice(["x", "y"]))}}
                   for i in range(320)]
        mon.log_predictions(records)
        stored = dict(mon.store.query(f"SELECT prediction_id, novelty FROM {mon.store.predictions_table('m')}"))
        expected = {pid for pid, score in stored.items() if score > 99}
        assert {f"p{i}" for i in range(300, 320)} <= expected  # the shifted inputs, and only a few others
        routed = {r["prediction_id"] for r in records if mon.route(r["prediction_id"], enqueue=False).to_human}
        assert routed == expected
        # the fast path scores the features it is given
        far = mon.route("new", prediction="y", confidence=0.9, features={"a": 9.0, "c": "x"}, enqueue=False)
        near = mon.route("new2", prediction="y", confidence=0.9, features={"a": 0.0, "c": "x"}, enqueue=False)
        assert far.to_human and not near.to_human
        assert dry_run(mon.store, mon.model()).routed == len(expected)
