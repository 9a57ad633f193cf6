"""Both write paths of insert_predictions (point lookups for small batches, a join for large
ones) give the same answers on duplicates and conflicts."""

import pytest

from modelsteward import ConflictError, Monitor, StewardConfig
from modelsteward.store.duckdb_store import SMALL_BATCH


def config():
    return StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["y", "n"], "features": [{"name": "x", "type": "numeric"}]}]})


def batch(n, start=0, prediction="y"):
    return [{"prediction_id": f"p{i}", "prediction": prediction, "confidence": 0.5 + (i % 5) / 10,
             "timestamp": f"2026-01-05T{(i // 60) % 24:02d}:{i % 60:02d}:00Z", "features": {"x": float(i)}}
            for i in range(start, start + n)]


@pytest.mark.parametrize("n", [1, SMALL_BATCH, SMALL_BATCH + 1, 500])
def test_duplicates_and_conflicts_on_both_paths(tmp_path, n):
    with Monitor(config(), store=tmp_path / "s.duckdb") as mon:
        first = mon.log_predictions(batch(n))
        assert (first.inserted, first.duplicates) == (n, 0)
        again = mon.log_predictions(batch(n))
        assert (again.inserted, again.duplicates) == (0, n)
        overlap = mon.log_predictions(batch(n, start=n // 2))
        assert (overlap.inserted, overlap.duplicates) == (n // 2, n - n // 2)
        total = mon.count_predictions()
        changed = batch(n, start=n // 2)
        changed[-1]["prediction"] = "n"  # the last id exists now: same id, different content
        with pytest.raises(ConflictError) as exc:
            mon.log_predictions(changed)
        assert exc.value.ids == [changed[-1]["prediction_id"]]
        assert mon.count_predictions() == total  # nothing from the rejected batch
