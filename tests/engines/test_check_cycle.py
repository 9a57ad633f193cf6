"""``steward check`` on an engine: the same stored windows, drift and alerts as on the store's own events.

The seeded dataset of ``dataset.py`` (two weeks, drift in week 2) is logged into DuckDB stores
and read by Spark (local mode, the session shared by this folder's tests) from the Parquet log
exported from it. What ``steward check`` stores on the store's events is the yardstick: the
Spark pass must store the same ``window_metrics`` and ``drift_results`` rows (counts exact,
values to 1e-9) and fire the same alerts, which are also derived by hand from the dataset's design.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dataset as D
import pytest
import yaml
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.config import EngineSettings, StewardConfig
from modelsteward.monitor import Monitor

UNTIL = "2026-02-01"
EMPTY_WEEK = D.WEEK2 + timedelta(weeks=1)  # ended by UNTIL, no prediction in it
# dataset.py labels 700 predictions a week: 200 by an implicit accept alone (right by definition) and 500
# by explicit or expert feedback, wrong 15% of the time in week 1 and 35% in week 2 (some experts keep the
# prediction): accuracy about 0.9 in week 1 and 0.8 in week 2, so a rule below 0.85 fires in week 2 alone.
RULES = [{"name": "acc_low", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "severity": "high"},
         {"name": "no_traffic", "metric": "volume", "condition": {"kind": "below", "value": 1}, "severity": "critical"}]
EXPECTED_ALERTS = {("acc_low", D.WEEK2), ("no_traffic", EMPTY_WEEK)}
# Steps that read the store's own events (the Spark pass runs them on the store after the engine); CBPE's
# estimates and concept drift run on the engine, so a store without events has them too.
STORE_ONLY = ("feedback.", "diagnosis.", "multivariate", "text.")

# The store's own engine: DuckDB, or PostgreSQL when the suite runs with every store there (./dev test-pg).
STORE_KIND = "postgres" if os.environ.get("STEWARD_TEST_STORE") == "postgres" else "duckdb"


def _config(tmp: Path, name: str, ref: Path, *, with_events: bool, engine: dict[str, Any] | None = None) -> str:
    cfg = D.config_dict(ref)
    cfg["models"][0]["alerts"] = RULES
    cfg["store"] = str(tmp / f"{name}.duckdb")
    if engine is not None:
        cfg["engine"] = engine
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    if with_events:
        with Monitor(str(path)) as mon:
            for start, drifted, seed in ((D.WEEK1, False, 11), (D.WEEK2, True, 12)):
                preds, fb = D.week_rows(start, drifted=drifted, seed=seed)
                mon.log_predictions(preds)
                mon.log_feedbacks(fb)
    return str(path)


def _check(config: str, *args: str) -> dict[str, Any]:
    r = CliRunner().invoke(main, ["check", "-c", config, "--until", UNTIL, "--fail-on", "never", "--json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def _rows(config: str) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[Any, ...], tuple[Any, ...]], set[tuple[str, datetime]]]:
    with Monitor(config) as mon:
        metrics = {(ws, we, m): v for ws, we, m, v in mon.store.query(
            "SELECT window_start, window_end, metric, value FROM window_metrics WHERE model = 'tickets'")}
        drift = {(r[0], r[1], r[2]): r[3:] for r in mon.store.query(
            "SELECT window_start, subject, test, statistic, p_value, effect_size, status, n_reference, n_current "
            "FROM drift_results WHERE model = 'tickets'")}
        alerts = {(a, ws) for a, ws in mon.store.query("SELECT rule, window_start FROM alerts WHERE model = 'tickets'")}
    return metrics, drift, alerts


def _same(mine: dict[Any, Any], theirs: dict[Any, Any]) -> None:
    """The same keys; values (or tuples of them) equal, floats to 1e-9."""
    assert mine.keys() == theirs.keys()
    for key, value in theirs.items():
        got, want = (mine[key], value) if isinstance(value, tuple) else ((mine[key],), (value,))
        for g, w in zip(got, want, strict=True):
            if isinstance(w, float) and w is not None:
                assert g == pytest.approx(w, rel=1e-9, abs=1e-12, nan_ok=True), key
            else:
                assert g == w, key


def test_check_on_spark_stores_what_check_on_the_store_does(tmp_path: Path, built: Any, spark_settings: EngineSettings) -> None:
    ref, log = built[1].parent / "ref.parquet", spark_settings.events
    assert log is not None
    ordinary = _config(tmp_path, "ordinary", ref, with_events=True)
    out = _check(ordinary)
    assert out["engine"] == {"kind": STORE_KIND, "events": "store"}
    want_metrics, want_drift, want_alerts = _rows(ordinary)
    assert want_alerts == EXPECTED_ALERTS
    assert len(want_metrics) > 100 and any(k[1] == "x" and v[-3] == "drift" for k, v in want_drift.items())

    # The flag, on a store that also holds the events: every row the same, store-only steps included.
    flagged = _config(tmp_path, "flagged", ref, with_events=True)
    out = _check(flagged, "--engine", "spark", "--events", log, "--master", spark_settings.master)
    assert out["engine"] == {"kind": "spark", "events": log, "master": spark_settings.master}
    assert [w for m in out["models"] for w in m["windows"]] == [D.WEEK1.isoformat(), D.WEEK2.isoformat(), EMPTY_WEEK.isoformat()]
    assert {(a["rule"], a["window_start"]) for m in out["models"] for a in m["new_alerts"]} == \
        {(r, ws.isoformat()) for r, ws in EXPECTED_ALERTS}
    metrics, drift, alerts = _rows(flagged)
    _same(metrics, want_metrics)
    _same(drift, want_drift)
    assert alerts == EXPECTED_ALERTS

    # The config alone (engine: kind spark), on a state store without events: the engine's rows are the same;
    # the steps that read the store's events find none, and the pass says so.
    engine = {"kind": "spark", "events": log, "master": spark_settings.master, "shuffle_partitions": 2}
    lake = _config(tmp_path, "lake", ref, with_events=False, engine=engine)
    out = _check(lake)
    assert out["engine"]["kind"] == "spark"
    assert any("holds no predictions" in w for w in out["models"][0]["warnings"])
    metrics, drift, alerts = _rows(lake)
    _same({k: v for k, v in metrics.items() if not k[2].startswith(STORE_ONLY)},
          {k: v for k, v in want_metrics.items() if not k[2].startswith(STORE_ONLY)})
    assert any(k[2].startswith("estimated.") for k in metrics) and any(k[2] == "concept.errors.adwin_changes" for k in metrics)
    engine_subjects = {"x", "category", "confidence", "prediction", "label", "inputs", "concept", "errors"}
    _same({k: v for k, v in drift.items() if k[1] in engine_subjects}, {k: v for k, v in want_drift.items() if k[1] in engine_subjects})
    assert alerts == EXPECTED_ALERTS


def _error(config: str, *args: str) -> dict[str, Any]:
    r = CliRunner().invoke(main, ["check", "-c", config, "--until", UNTIL, "--json", *args])
    assert r.exit_code == 2, r.output
    return json.loads(r.output)


def test_a_bad_master_or_a_missing_log_says_which_setting(tmp_path: Path, built: Any) -> None:
    ref, log = built[1].parent / "ref.parquet", str(built[1])
    config = _config(tmp_path, "state", ref, with_events=False)
    e = _error(config, "--engine", "spark", "--events", log, "--master", "spark//host:7077")
    assert e["error"] == "config_error" and e["message"].startswith("engine.master:") and "--master" in e["hint"]
    e = _error(config, "--engine", "spark", "--events", str(tmp_path / "nowhere"))
    assert e["message"].startswith("engine.events:") and "nowhere" in e["message"] and "--events" in e["hint"]
    e = _error(config, "--engine", "spark")
    assert e["message"].startswith("engine.events:") and "steward engine export" in e["hint"]
    # the same from the configuration alone
    missing = _config(tmp_path, "missing", ref, with_events=False, engine={"kind": "spark", "events": str(tmp_path / "gone")})
    e = _error(missing)
    assert e["message"].startswith("engine.events:") and "engine.events in steward.yaml" in e["hint"]
    with Monitor(missing) as mon:  # nothing was computed or stored
        assert mon.store.query("SELECT count(*) FROM window_metrics") == [(0,)]


def test_the_store_engine_is_what_check_always_did(tmp_path: Path, built: Any) -> None:
    ref = built[1].parent / "ref.parquet"
    config = _config(tmp_path, "plain", ref, with_events=True, engine={"kind": "spark", "events": str(built[1])})
    out = _check(config, "--engine", "store")
    assert out["engine"] == {"kind": STORE_KIND, "events": "store"}
    with Monitor(StewardConfig.model_validate(yaml.safe_load(Path(config).read_text()))) as mon:
        assert {a for a, in mon.store.query("SELECT DISTINCT window_start FROM window_metrics")} == {D.WEEK1, D.WEEK2, EMPTY_WEEK}
