"""The reference profile is computed once, and again only when what it is built from changes."""

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from modelsteward import Monitor, StewardConfig


def make(tmp_path, bins=10):
    cfg = StewardConfig.model_validate({"store": str(tmp_path / "s.duckdb"), "models": [{
        "name": "m", "task": "binary", "labels": ["y", "n"],
        "features": [{"name": "x", "type": "numeric"}],
        "reference": {"file": str(tmp_path / "ref.parquet")}, "drift": {"bins": bins}}]})
    return cfg


def write_ref(tmp_path, values):
    pq.write_table(pa.table({"x": values, "confidence": np.full(len(values), 0.9)}), tmp_path / "ref.parquet")


def created_at(mon):
    return mon.store.query("SELECT created_at FROM reference_profiles WHERE model = 'm'")[0][0]


def test_profile_is_reused_until_the_file_or_settings_change(tmp_path):
    rng = np.random.default_rng(3)
    first = rng.normal(0, 1, 500)
    write_ref(tmp_path, first)
    with Monitor(make(tmp_path)) as mon:
        p1 = mon.reference()
        stamp = created_at(mon)
        assert p1.n_rows == 500
        assert abs(p1.baselines["feature.x.mean"] - np.mean(first)) < 1e-12
        assert mon.reference() is not None and created_at(mon) == stamp  # reused, not rebuilt

        second = rng.normal(5, 1, 700)
        write_ref(tmp_path, second)
        os.utime(tmp_path / "ref.parquet", ns=(1, 1))  # a different mtime even on coarse clocks
        p2 = mon.reference()
        assert p2.n_rows == 700
        assert abs(p2.baselines["feature.x.mean"] - np.mean(second)) < 1e-9
    with Monitor(make(tmp_path, bins=4)) as mon:
        p3 = mon.reference()
        assert len(p3.numeric["x"]["edges"]) == 3  # rebuilt with the new bin count


def test_a_period_reference_follows_late_data_in_its_period(tmp_path):
    from datetime import datetime, timedelta

    cfg = StewardConfig.model_validate({"store": str(tmp_path / "s.duckdb"), "models": [{
        "name": "m", "task": "binary", "labels": ["y", "n"], "window": "day",
        "features": [{"name": "x", "type": "numeric"}],
        "reference": {"start": "2026-01-05T00:00:00", "end": "2026-01-07T00:00:00"}}]})
    start = datetime(2026, 1, 5)
    with Monitor(cfg) as mon:
        mon.log_predictions([{"prediction_id": f"a{i}", "prediction": "y", "confidence": 0.9, "features": {"x": 1.0},
                              "timestamp": start + timedelta(hours=i)} for i in range(10)])
        assert mon.reference().n_rows == 10
        stamp = created_at(mon)
        assert mon.reference() is not None and created_at(mon) == stamp
        mon.log_predictions([{"prediction_id": f"b{i}", "prediction": "y", "confidence": 0.9, "features": {"x": 3.0},
                              "timestamp": start + timedelta(days=1, minutes=i)} for i in range(30)])
        profile = mon.reference()
        assert profile.n_rows == 40
        assert abs(profile.baselines["feature.x.mean"] - (10 * 1.0 + 30 * 3.0) / 40) < 1e-12
        assert profile.baselines["volume"] == 20.0  # mean of the two days' volumes (10 and 30)
