"""Per-prediction novelty, scored when a prediction is logged and stored with it."""

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward import Monitor, StewardConfig
from modelsteward.drift.novelty import NoveltyScorer

START = datetime(2026, 1, 5)


def config(tmp_path, novelty=True):
    return StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["y", "n"], "window": "day", "novelty": novelty,
        "features": [{"name": "a", "type": "numeric"}, {"name": "b", "type": "numeric"}, {"name": "c", "type": "categorical"}],
        "reference": {"file": str(tmp_path / "ref.parquet")}}]})


@pytest.fixture
def reference(tmp_path):
    rng = np.random.default_rng(9)
    n = 3000
    pq.write_table(pa.table({"a": rng.normal(0, 1, n), "b": rng.normal(5, 2, n), "c": rng.choice(["x", "y"], n),
                             "confidence": rng.random(n)}), tmp_path / "ref.parquet")
    return rng


def rows(rng, n, shift=0.0, start=0):
    return [{"prediction_id": f"p{start + i}", "timestamp": START + timedelta(minutes=start + i), "prediction": "y",
             "confidence": 0.9, "features": {"a": float(rng.normal(shift, 1)), "b": float(rng.normal(5, 2)),
                                             "c": str(rng.choice(["x", "y"]))}} for i in range(n)]


def test_novelty_is_stored_with_each_prediction(tmp_path, reference):
    rng = reference
    with Monitor(config(tmp_path), store=tmp_path / "s.duckdb") as mon:
        normal, far = rows(rng, 400), rows(rng, 40, shift=8.0, start=400)
        mon.log_predictions(normal)
        mon.log_prediction(**{k: v for k, v in far[0].items()})  # the single-record path scores too
        mon.log_predictions(far[1:])
        stored = dict(mon.store.query(f"SELECT prediction_id, novelty FROM {mon.store.predictions_table('m')}"))
        scorer = NoveltyScorer.from_dict(mon.reference().novelty)
        for batch in (normal, far):
            expected = scorer.score_many({k: np.array([r["features"][k] for r in batch], dtype=float if k != "c" else object)
                                          for k in ("a", "b", "c")})
            got = np.array([stored[r["prediction_id"]] for r in batch])
            np.testing.assert_allclose(got, expected, rtol=1e-12)
        assert min(stored[r["prediction_id"]] for r in far) > 99
        normal_scores = np.array([stored[r["prediction_id"]] for r in normal])
        assert 35 < normal_scores.mean() < 65  # percentiles of unchanged inputs are about uniform
        assert mon.novelty(far[0]["features"]) == pytest.approx(stored[far[0]["prediction_id"]])
        mon.check(until=START + timedelta(days=1))
        (_, _, m), = mon.metric_history()
        assert m["novel_rate"] == pytest.approx(np.mean([s >= 95 for s in stored.values()]))


def test_a_retry_is_a_duplicate_even_after_the_reference_changed(tmp_path, reference):
    rng = reference
    batch = rows(rng, 50)
    with Monitor(config(tmp_path), store=tmp_path / "s.duckdb") as mon:
        mon.log_predictions(batch)
        mon.reference(rebuild=True)
        pq.write_table(pa.table({"a": rng.normal(3, 1, 500), "b": rng.normal(5, 2, 500), "c": rng.choice(["x", "y"], 500),
                                 "confidence": rng.random(500)}), tmp_path / "ref.parquet")
        again = mon.log_predictions(batch)
        assert (again.inserted, again.duplicates) == (0, 50)


def test_novelty_off_by_default(tmp_path, reference):
    with Monitor(config(tmp_path, novelty=False), store=tmp_path / "s.duckdb") as mon:
        mon.log_predictions(rows(reference, 10))
        assert mon.novelty({"a": 0.0, "b": 5.0, "c": "x"}) is None
        assert mon.store.query(f"SELECT count(novelty) FROM {mon.store.predictions_table('m')}")[0][0] == 0
