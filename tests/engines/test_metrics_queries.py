"""A metrics pass is a fixed handful of queries, and the engines honour their memory caps.

The count of queries per pass guards the fusion of the per-column category counts and the
confusion counts into one query (before it, a pass ran one query per categorical column: 5
on the contract dataset, 8 with the three categorical features below). The caps are read back
from the engines themselves: DuckDB's ``current_setting('memory_limit')`` and the JVM's own
maximum heap.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dataset as D
import duckdb
import numpy as np
import pytest
from engine_cases import ENGINES, make_engine

from modelsteward.config import EngineSettings, StewardConfig
from modelsteward.engines.connect import open_engine, store_engine
from modelsteward.engines.metrics import engine_window_metrics
from modelsteward.monitor import Monitor


def _queries_of_a_pass(engine: Any, mon: Any) -> int:
    before = engine.queries
    got = engine_window_metrics(engine, mon.model(), D.WEEK1, D.WEEK2 + timedelta(weeks=1), profile=mon.reference())
    assert sorted(got) == [D.WEEK1, D.WEEK2]  # the pass did its work
    return int(engine.queries - before)


@pytest.mark.parametrize("kind", ENGINES)
def test_a_metrics_pass_is_the_scalars_and_one_query_of_counts(kind: str, request: pytest.FixtureRequest) -> None:
    engine, mon = make_engine(kind, request)
    # Spark aggregates the distinct users and the percentiles apart (window_scalars(split=True)).
    assert _queries_of_a_pass(engine, mon) == (3 if kind == "spark" else 2)


def test_the_query_count_does_not_grow_with_categorical_features(tmp_path: Path) -> None:
    cats = {"a": ["x", "y"], "b": ["p", "q", "r"], "c": ["k"]}
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["yes", "no"], "window": "day",
        "features": [{"name": n, "type": "categorical"} for n in cats] + [{"name": "v", "type": "numeric"}]}]})
    mon = Monitor(cfg, store=str(tmp_path / "s.duckdb"))
    rng = np.random.default_rng(3)
    start = datetime(2026, 3, 2)
    preds = [{"prediction_id": f"p{i}", "timestamp": start + timedelta(hours=int(rng.integers(0, 48))),
              "prediction": str(rng.choice(["yes", "no"])), "confidence": 0.9,
              "features": {**{n: str(rng.choice(v)) for n, v in cats.items()}, "v": float(rng.normal())}} for i in range(200)]
    mon.log_predictions(preds)
    mon.log_feedbacks([{"prediction_id": f"p{i}", "kind": "expert", "label": "yes",
                        "timestamp": preds[i]["timestamp"] + timedelta(minutes=5)} for i in range(0, 200, 4)])
    engine = store_engine(mon.store)
    before = engine.queries
    got = engine_window_metrics(engine, mon.model(), start, start + timedelta(days=2), profile=None)
    assert engine.queries - before == 2
    # and the fused counts are the counts: shares of ``b`` on day one against a hand count
    day1 = [p for p in preds if p["timestamp"] < start + timedelta(days=1)]
    for value in cats["b"]:
        want = sum(p["features"]["b"] == value for p in day1) / len(day1)
        assert got[start][f"feature.b.share.{value}"] == pytest.approx(want, abs=1e-12)
    labelled = [p for i, p in enumerate(preds) if i % 4 == 0 and p["timestamp"] < start + timedelta(days=1)]
    assert got[start]["accuracy"] == pytest.approx(sum(p["prediction"] == "yes" for p in labelled) / len(labelled), abs=1e-12)
    mon.close()


def _mib(setting: str) -> float:
    """DuckDB's rendering of a size (``'286.1 MiB'``) in MiB."""
    value, unit = setting.split()
    return float(value) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]


def test_memory_limit_reaches_duckdb_over_parquet(built: Any, tmp_path: Path) -> None:
    engine = open_engine(EngineSettings(kind="duckdb", events=str(built[1]), memory_limit="300MB", temp_directory=str(tmp_path)))
    limit, temp = engine.backend.con.execute("SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    assert _mib(limit) == pytest.approx(300e6 / 2**20, abs=0.05)
    assert temp == str(tmp_path)


def test_memory_limit_on_the_store_is_database_wide_and_ingest_still_works(built: Any, tmp_path: Path) -> None:
    mon = Monitor(StewardConfig.model_validate(D.config_dict(built[1].parent / "ref.parquet")), store=str(tmp_path / "s.duckdb"))
    open_engine(EngineSettings(kind="duckdb", memory_limit="64MB"), store=mon.store)
    # read back on the store's own connection, not the engine's cursor: the setting is the database's
    assert _mib(mon.store._con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]) == pytest.approx(64e6 / 2**20, abs=0.05)
    preds, fb = D.week_rows(D.WEEK1, drifted=False, seed=11)
    mon.log_predictions(preds)
    mon.log_feedbacks(fb)
    engine = store_engine(mon.store)
    got = engine_window_metrics(engine, mon.model(), D.WEEK1, D.WEEK2, profile=None)
    assert got[D.WEEK1]["volume"] == len(preds)
    mon.close()


def test_limit_store_caps_a_duckdb_store_and_leaves_a_limit_of_none_alone(tmp_path: Path) -> None:
    from modelsteward.engines.connect import limit_store
    from modelsteward.store.duckdb_store import DuckDBStore

    store = DuckDBStore(tmp_path / "s.duckdb")
    default = store.query("SELECT current_setting('memory_limit')")[0][0]
    limit_store(store, EngineSettings(memory_limit=None))
    assert store.query("SELECT current_setting('memory_limit')")[0][0] == default
    limit_store(store, EngineSettings(memory_limit="600MB", temp_directory=str(tmp_path / "spill")))
    limit, temp = store.query("SELECT current_setting('memory_limit'), current_setting('temp_directory')")[0]
    assert _mib(limit) == pytest.approx(600e6 / 2**20, abs=0.05)
    assert temp == str(tmp_path / "spill")
    store.close()


def test_a_query_larger_than_the_limit_spills_and_completes(tmp_path: Path) -> None:
    from modelsteward.engines.connect import limit_duckdb

    n = 4_000_000  # a hash aggregate over 4M distinct keys: far more than 48 MB of state
    query = f"SELECT count(*), sum(k), sum(c) FROM (SELECT range % {n} AS k, count(*) AS c FROM range({2 * n}) GROUP BY 1)"
    con = duckdb.connect()
    limit_duckdb(con, "48MB", str(tmp_path / "spill"))
    count, total, rows = con.execute(query).fetchall()[0]
    assert (count, total, rows) == (n, n * (n - 1) // 2, 2 * n)
    # it spilled: DuckDB refuses to move a temporary directory it has used
    with pytest.raises(duckdb.NotImplementedException, match="temporary directory"):
        con.execute(f"SET temp_directory = '{tmp_path / 'elsewhere'}'")
    # and without anywhere to spill the same query does not fit under the same limit
    tight = duckdb.connect(config={"temp_directory": ""})
    limit_duckdb(tight, "48MB")
    with pytest.raises(duckdb.OutOfMemoryException):
        tight.execute(query).fetchall()


def test_driver_memory_reaches_the_jvm(built: Any, spark_settings: EngineSettings) -> None:
    # A fresh process: the JVM's heap is fixed when it starts, and the suite's session is already running.
    code = (
        "import json, sys\n"
        "from modelsteward.config import EngineSettings\n"
        "from modelsteward.engines.connect import open_engine\n"
        "e = open_engine(EngineSettings(kind='spark', events=sys.argv[1], driver_memory='700m'))\n"
        "s = e.backend._session\n"
        "print(json.dumps({'conf': s.sparkContext.getConf().get('spark.driver.memory'),"
        " 'max_heap': s.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(built[1])], capture_output=True, text=True, timeout=600, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["conf"] == "700m"
    # -Xmx700m: the JVM reports its usable heap, the maximum less one survivor space
    assert 0.8 * 700 * 2**20 <= got["max_heap"] <= 700 * 2**20


def test_exact_quantiles_beyond_the_limit_fail_with_what_to_change(tmp_path: Path) -> None:
    """DuckDB cannot spill an exact quantile's state: the error names engine.memory_limit and quantiles."""
    import ibis

    from modelsteward.engines.connect import Engine, limit_duckdb
    from modelsteward.errors import ConfigError

    con = duckdb.connect()
    con.execute("SET threads = 1")
    limit_duckdb(con, "16MB", str(tmp_path / "spill"))
    con.execute("CREATE TABLE latencies AS SELECT random() AS x FROM range(4000000)")  # 32 MB of doubles: twice the limit
    backend = ibis.duckdb.from_connection(con)
    t = backend.table("latencies")
    expr = t.aggregate(q=t.x.quantile(0.5))  # quantile_cont: holds every value, which DuckDB cannot spill
    engine = Engine("duckdb", backend, "exact", lambda m: None, lambda m: None)
    with pytest.raises(ConfigError) as caught:
        engine.arrow(expr)
    assert caught.value.path == "engine.memory_limit" and "Out of Memory" in caught.value.message
    assert "engine.quantiles: approximate" in (caught.value.hint or "")
    # an approximate quantile of the same values fits
    approx = t.aggregate(q=t.x.approx_median())
    assert 0.45 < Engine("duckdb", backend, "approximate", lambda m: None, lambda m: None).rows(approx)[0]["q"] < 0.55
