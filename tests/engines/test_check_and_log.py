"""The Parquet log and the engine pass: write the log, run ``engine_check`` on it, state lands in the store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dataset as D
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from engine_cases import make_engine

from modelsteward.cli import main
from modelsteward.config import EngineSettings, StewardConfig
from modelsteward.engines.check import engine_check
from modelsteward.engines.connect import open_engine
from modelsteward.engines.metrics import engine_window_metrics
from modelsteward.engines.parquet_log import write_parquet_log
from modelsteward.errors import BatchRejected, ConfigError
from modelsteward.monitor import Monitor

END = D.WEEK2 + timedelta(weeks=1)
UNTIL = datetime(2026, 2, 1)


def _write_log(root: Path, model: Any) -> None:
    for start, drifted, seed in ((D.WEEK1, False, 11), (D.WEEK2, True, 12)):
        preds, fb = D.week_rows(start, drifted=drifted, seed=seed)
        write_parquet_log(root, model, preds, fb)


def test_the_written_log_gives_the_store_s_metrics(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    base_engine, mon = make_engine("duckdb-store", request)
    _write_log(tmp_path / "log", mon.model())
    days = sorted(p.name for p in (tmp_path / "log" / "model=tickets").iterdir())
    assert days[0] == "date=2026-01-05" and len(days) == 14  # one folder per day of the two weeks
    engine = open_engine(EngineSettings(kind="duckdb", events=str(tmp_path / "log")))
    want = engine_window_metrics(base_engine, mon.model(), D.WEEK1, END, profile=mon.reference())
    got = engine_window_metrics(engine, mon.model(), D.WEEK1, END, profile=mon.reference())
    assert got.keys() == want.keys()
    for ws in want:
        assert got[ws] == pytest.approx(want[ws], rel=1e-12, nan_ok=True)


def test_a_bad_row_rejects_the_batch_and_writes_nothing(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _, mon = make_engine("duckdb-store", request)
    preds, _ = D.week_rows(D.WEEK1, drifted=False, seed=11)
    bad = [*preds[:10], {**preds[10], "prediction": "not-a-label"}]
    with pytest.raises(BatchRejected):
        write_parquet_log(tmp_path / "log", mon.model(), bad)
    assert not (tmp_path / "log").exists() or not list((tmp_path / "log").rglob("*.parquet"))


def _fresh_monitor(tmp: Path, built: Any) -> Monitor:
    """A store holding the reference only: the events live in the Parquet log."""
    cfg = StewardConfig.model_validate(D.config_dict(built[1].parent / "ref.parquet"))
    mon = Monitor(cfg, store=tmp / "state.duckdb")
    mon.reference(rebuild=True)
    return mon


@pytest.mark.parametrize("kind", ["duckdb", "spark"])
def test_engine_check_writes_the_same_state_as_steward_check(kind: str, tmp_path: Path, built: Any,
                                                             request: pytest.FixtureRequest) -> None:
    settings = request.getfixturevalue("spark_settings") if kind == "spark" else EngineSettings(kind="duckdb", events=str(built[1]))
    mon = _fresh_monitor(tmp_path, built)
    report = engine_check(mon, settings=settings, until=UNTIL)
    # the week after the data ended by UNTIL too: an outage shows as volume 0, as `steward check` does
    assert report.windows == [D.WEEK1, D.WEEK2, END]
    assert "x" in report.drifted[D.WEEK2.isoformat()] and "x" not in report.drifted[D.WEEK1.isoformat()]
    # the same rows checked the ordinary way, in a store of their own
    ordinary = D.build(tmp_path / "ordinary") if (tmp_path / "ordinary").mkdir() is None else None
    assert ordinary is not None
    ordinary.check(until=UNTIL)
    mine = {(r[0], r[1]): r[2] for r in mon.store.query("SELECT window_start, metric, value FROM window_metrics")}
    theirs = {(r[0], r[1]): r[2] for r in ordinary.store.query("SELECT window_start, metric, value FROM window_metrics")}
    assert len(mine) > 60
    for key, value in mine.items():
        assert key in theirs, key
        assert value == pytest.approx(theirs[key], rel=1e-9, abs=1e-12, nan_ok=True), key
    drift_mine = {(r[0], r[1], r[2]): r[3] for r in mon.store.query("SELECT window_start, subject, test, status FROM drift_results")}
    drift_theirs = {(r[0], r[1], r[2]): r[3] for r in ordinary.store.query(
        "SELECT window_start, subject, test, status FROM drift_results WHERE subject IN "
        "('x', 'category', 'confidence', 'prediction', 'label', 'inputs')")}
    assert drift_mine == drift_theirs
    ordinary.close()
    mon.close()


def test_spark_needs_the_log_root() -> None:
    with pytest.raises(ValueError, match="engine.events"):
        EngineSettings(kind="spark")


def test_a_missing_log_says_where_it_looked(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _, mon = make_engine("duckdb-store", request)
    engine = open_engine(EngineSettings(kind="duckdb", events=str(tmp_path / "nowhere")))
    with pytest.raises(ConfigError, match="model=tickets"):
        engine.events(mon.model())


def test_cli_ingest_to_parquet_then_engine_check(tmp_path: Path, built: Any) -> None:
    ref = built[1].parent / "ref.parquet"
    cfg = D.config_dict(ref)
    cfg["store"] = str(tmp_path / "state.duckdb")
    (tmp_path / "steward.yaml").write_text(yaml.safe_dump(cfg))
    preds, fb = D.week_rows(D.WEEK2, drifted=True, seed=12)
    flat = [{**{k: v for k, v in p.items() if k != "features"}, **p["features"]} for p in preds]
    cols = sorted({k for f in flat for k in f})
    pq.write_table(pa.Table.from_pylist([{k: f.get(k) for k in cols} for f in flat]), tmp_path / "week2.parquet")
    keys = sorted({k for f in fb for k in f})  # from_pylist takes its columns from the first record alone
    pq.write_table(pa.Table.from_pylist([{k: f.get(k) for k in keys} for f in fb]), tmp_path / "feedback.parquet")
    runner = CliRunner()
    conf = ["-c", str(tmp_path / "steward.yaml")]
    r = runner.invoke(main, ["engine", "ingest", str(tmp_path / "week2.parquet"), "--to-parquet", str(tmp_path / "log"), *conf, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["predictions"] == D.N_WEEK
    r = runner.invoke(main, ["engine", "ingest", str(tmp_path / "feedback.parquet"), "--feedback", "--to-parquet",
                             str(tmp_path / "log"), *conf, "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["feedback"] == len(fb)
    Monitor(str(tmp_path / "steward.yaml")).close()  # builds nothing yet: the reference is built by the check
    r = runner.invoke(main, ["engine", "check", "--engine", "duckdb", "--events", str(tmp_path / "log"), *conf,
                             "--until", "2026-02-01", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["windows"] == [D.WEEK2.isoformat(), END.isoformat()]
    assert "x" in out["drifted"][D.WEEK2.isoformat()]
    with Monitor(str(tmp_path / "steward.yaml")) as mon:
        volume = mon.store.query("SELECT value FROM window_metrics WHERE metric = 'volume'")
    assert sorted(volume) == [(0.0,), (float(D.N_WEEK),)]
