"""The embedded DuckDB store: migrations, typed columns, idempotent writes, durability, identifiers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from modelsteward.config import ModelConfig, StewardConfig
from modelsteward.errors import ConflictError, NotFoundError, StoreError
from modelsteward.monitor import IngestResult, Monitor
from modelsteward.records import normalise_feedback, normalise_predictions
from modelsteward.store import DuckDBStore, quote_ident

Record = Callable[..., dict[str, Any]]


def _migration_files() -> list[tuple[int, str]]:
    folder = resources.files("modelsteward.store") / "migrations"
    out = []
    for entry in folder.iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return sorted(out)


def _columns(store: DuckDBStore, table: str) -> dict[str, str]:
    rows = store.query(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    )
    return dict(rows)


# ----------------------------------------------------------------------------------------- migrations


def test_migration_files_are_numbered_without_gaps() -> None:
    files = _migration_files()
    assert files, "no migrations found"
    assert [v for v, _ in files] == list(range(1, len(files) + 1))
    names = {e.name for e in (resources.files("modelsteward.store") / "migrations").iterdir() if e.name.endswith(".sql")}
    assert all(re.fullmatch(r"\d{4}_\w+\.sql", n) for n in names), names


def test_fresh_store_applies_and_records_every_migration(db_path: Path) -> None:
    with DuckDBStore(db_path) as store:
        rows = store.query("SELECT version, name FROM schema_migrations ORDER BY version")
        assert rows == _migration_files()
        assert store.schema_version() == _migration_files()[-1][0]
        tables = {r[0] for r in store.query("SELECT table_name FROM information_schema.tables")}
        assert {"models", "model_columns", "feedback", "schema_migrations"} <= tables


def test_reopening_applies_nothing_new(db_path: Path) -> None:
    with DuckDBStore(db_path) as store:
        first = store.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        store.query("INSERT INTO models VALUES ('keep', 'binary', '[]', '{}', now()::TIMESTAMP, now()::TIMESTAMP)")
    with DuckDBStore(db_path) as store:
        assert store.migrate() == []
        assert store.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version") == first
        assert store.model_names() == ["keep"]  # the migration did not run again over the data


def test_migrate_on_the_same_store_is_a_no_op() -> None:
    with DuckDBStore(":memory:") as store:
        assert store.migrate() == []
        assert store.query("SELECT count(*) FROM schema_migrations")[0][0] == len(_migration_files())


def test_read_only_open_of_an_existing_store(db_path: Path, open_monitor: Callable[..., Monitor], prediction_record: Record) -> None:
    mon = open_monitor()
    mon.log_prediction(**prediction_record("p1"))
    mon.close()
    with DuckDBStore(db_path, read_only=True) as store:
        assert store.count_predictions("tickets") == 1


def test_second_writer_gets_a_store_error(db_path: Path) -> None:
    code = f"import duckdb, sys; con = duckdb.connect({str(db_path)!r}); print('open', flush=True); sys.stdin.read()"
    with DuckDBStore(db_path):
        pass
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "open"
        with pytest.raises(StoreError, match="cannot open the store") as info:
            DuckDBStore(db_path)
        assert info.value.hint and "one writer" in info.value.hint
    finally:
        child.kill()
        child.wait()


# ----------------------------------------------------------------------------------------- typed columns


def test_features_stored_in_typed_columns(monitor: Monitor) -> None:
    cols = _columns(monitor.store, "predictions__tickets")
    assert cols["f_category"] == "VARCHAR"
    assert cols["f_length"] == "DOUBLE"
    assert cols["confidence"] == "DOUBLE" and cols["latency_ms"] == "DOUBLE"
    assert cols["ts"].startswith("TIMESTAMP") and cols["ingested_at"].startswith("TIMESTAMP")
    assert cols["prediction_id"] == "VARCHAR" and cols["prediction"] == "VARCHAR"
    assert monitor.store.query("SELECT feature, type, column_name FROM model_columns ORDER BY feature") == [
        ("category", "categorical", "f_category"),
        ("length", "numeric", "f_length"),
    ]


def test_hyphenated_model_name_gets_a_valid_table(
    open_monitor: Callable[..., Monitor], make_config: Callable[..., StewardConfig], model_dict: Callable[..., dict[str, Any]]
) -> None:
    mon = open_monitor(make_config(model_dict("ticket-classifier")))
    assert DuckDBStore.predictions_table("ticket-classifier") == '"predictions__ticket_classifier"'
    assert "f_length" in _columns(mon.store, "predictions__ticket_classifier")


def test_adding_a_feature_adds_a_column(
    db_path: Path,
    open_monitor: Callable[..., Monitor],
    make_config: Callable[..., StewardConfig],
    model_dict: Callable[..., dict[str, Any]],
) -> None:
    mon = open_monitor()
    mon.log_prediction(prediction_id="old", prediction="urgent", confidence=0.8, features={"category": "a", "length": 1.0})
    mon.close()
    d = model_dict()
    d["features"].append({"name": "words", "type": "numeric"})
    d["features"].append({"name": "channel", "type": "categorical"})
    mon = open_monitor(make_config(d))
    cols = _columns(mon.store, "predictions__tickets")
    assert cols["f_words"] == "DOUBLE" and cols["f_channel"] == "VARCHAR"
    mon.log_prediction(
        prediction_id="new",
        prediction="routine",
        confidence=0.7,
        features={"category": "b", "length": 2.0, "words": 12, "channel": "email"},
    )
    rows = mon.store.query("SELECT prediction_id, f_length, f_words, f_channel FROM predictions__tickets ORDER BY prediction_id")
    assert rows == [("new", 2.0, 12.0, "email"), ("old", 1.0, None, None)]
    assert mon.store.query("SELECT count(*) FROM model_columns WHERE model = 'tickets'")[0][0] == 4
    mon.close()
    mon = open_monitor(make_config(d))  # opening again with the same config changes nothing
    assert _columns(mon.store, "predictions__tickets") == cols


def test_changing_a_feature_type_is_refused(
    db_path: Path,
    open_monitor: Callable[..., Monitor],
    make_config: Callable[..., StewardConfig],
    model_dict: Callable[..., dict[str, Any]],
) -> None:
    mon = open_monitor()
    mon.log_prediction(prediction_id="p", prediction="urgent", confidence=0.8, features={"length": 3.0})
    mon.close()
    d = model_dict()
    d["features"][1]["type"] = "categorical"
    with pytest.raises(StoreError, match="'length' was numeric and is now categorical"):
        Monitor(make_config(d), store=db_path)
    with DuckDBStore(db_path) as store:
        assert _columns(store, "predictions__tickets")["f_length"] == "DOUBLE"
        assert store.query("SELECT type FROM model_columns WHERE feature = 'length'") == [("numeric",)]
        assert store.query("SELECT f_length FROM predictions__tickets") == [(3.0,)]


def test_removed_then_retyped_feature_is_still_refused(
    db_path: Path,
    open_monitor: Callable[..., Monitor],
    make_config: Callable[..., StewardConfig],
    model_dict: Callable[..., dict[str, Any]],
) -> None:
    open_monitor().close()
    open_monitor(make_config(model_dict(features=[{"name": "category", "type": "categorical"}]))).close()
    with pytest.raises(StoreError, match="'length' was numeric"):
        Monitor(make_config(model_dict(features=[{"name": "length", "type": "categorical"}])), store=db_path)


def test_models_that_would_share_tables_are_refused_by_the_store(make_model: Callable[..., ModelConfig]) -> None:
    with DuckDBStore(":memory:") as store:
        store.register_model(make_model("a-b"))
        with pytest.raises(StoreError, match="share its tables"):
            store.register_model(make_model("a_b"))
        assert store.model_names() == ["a-b"]


def test_require_model(monitor: Monitor) -> None:
    monitor.store.require_model("tickets")
    with pytest.raises(NotFoundError, match="unknown model 'nope'") as info:
        monitor.store.require_model("nope")
    assert "tickets" in (info.value.hint or "")


# ----------------------------------------------------------------------------------------- identifiers


@pytest.mark.parametrize("name", ["predictions__tickets", "f_x", "_x", "A1", "x" * 128])
def test_quote_ident_accepts(name: str) -> None:
    assert quote_ident(name) == f'"{name}"'


@pytest.mark.parametrize(
    "name",
    ['x"; DROP TABLE models; --', 'a"b', "a b", "", "1abc", "x\n", "x;", "a-b", "x" * 129, "é", "tab\tle", "x\x00", None, 3],
)
def test_quote_ident_refuses(name: Any) -> None:
    with pytest.raises(StoreError, match="invalid SQL identifier"):
        quote_ident(name)


def test_injected_model_name_never_reaches_sql(make_model: Callable[..., ModelConfig]) -> None:
    with pytest.raises(StoreError):
        DuckDBStore.predictions_table('x"; DROP TABLE models; --')
    bad = make_model().model_copy(update={"name": 'x"; DROP TABLE models; --'})  # bypasses config validation
    with DuckDBStore(":memory:") as store:
        with pytest.raises(StoreError):
            store.register_model(bad)
        assert store.query("SELECT count(*) FROM models")[0][0] == 0  # the table is still there, and empty


# ----------------------------------------------------------------------------------------- writes


def _rows(model: ModelConfig, records: list[dict[str, Any]]) -> pa.Table:
    return normalise_predictions(records, model)


def test_insert_counts_inserted_and_duplicates(make_model: Callable[..., ModelConfig], prediction_record: Record) -> None:
    model = make_model()
    with DuckDBStore(":memory:") as store:
        store.register_model(model)
        recs = [prediction_record(f"p{i}", timestamp="2026-01-05T09:00:00") for i in range(5)]
        assert store.insert_predictions(model, _rows(model, recs[:3])) == (3, 0)
        assert store.insert_predictions(model, _rows(model, recs)) == (2, 3)
        assert store.insert_predictions(model, _rows(model, recs + recs[:1])) == (0, 6)
        assert store.count_predictions("tickets") == 5


def test_conflict_rolls_back_the_whole_batch(make_model: Callable[..., ModelConfig], prediction_record: Record) -> None:
    model = make_model()
    with DuckDBStore(":memory:") as store:
        store.register_model(model)
        store.insert_predictions(model, _rows(model, [prediction_record("p1", timestamp="2026-01-05T09:00:00")]))
        batch = [
            prediction_record("new", timestamp="2026-01-05T09:00:00"),
            prediction_record("p1", timestamp="2026-01-05T09:00:00", confidence=0.55),
        ]
        with pytest.raises(ConflictError) as info:
            store.insert_predictions(model, _rows(model, batch))
        assert info.value.ids == ["p1"]
        assert store.query("SELECT prediction_id, confidence FROM predictions__tickets") == [("p1", 0.9)]


def test_feedback_conflict_and_model_scoping(make_model: Callable[..., ModelConfig]) -> None:
    a, b = make_model("a"), make_model("b")
    with DuckDBStore(":memory:") as store:
        store.register_model(a)
        store.register_model(b)
        fb = {"feedback_id": "f1", "prediction_id": "p1", "kind": "expert", "label": "urgent", "timestamp": "2026-01-05T09:00:00"}
        assert store.insert_feedback(a, normalise_feedback(fb, a)) == (1, 0)
        assert store.insert_feedback(a, normalise_feedback(fb, a)) == (0, 1)
        with pytest.raises(ConflictError):
            store.insert_feedback(a, normalise_feedback({**fb, "label": "routine"}, a))
        with pytest.raises(ConflictError):  # the same feedback id under another model is another event
            store.insert_feedback(b, normalise_feedback(fb, b))
        assert store.query("SELECT feedback_id, model, label FROM feedback") == [("f1", "a", "urgent")]


def test_feedback_without_timestamp_is_stamped_by_the_store(make_model: Callable[..., ModelConfig]) -> None:
    model = make_model()
    with DuckDBStore(":memory:") as store:
        store.register_model(model)
        before = datetime.now(UTC).replace(tzinfo=None)
        store.insert_feedback(model, normalise_feedback({"prediction_id": "p1", "kind": "explicit", "rating": 2}, model))
        after = datetime.now(UTC).replace(tzinfo=None)
        ts, ingested = store.query("SELECT ts, ingested_at FROM feedback")[0]
        assert ts == ingested and before <= ts <= after  # UTC time of the write


# ----------------------------------------------------------------------------------------- durability


def test_acknowledged_write_survives_close_and_reopen(
    db_path: Path, open_monitor: Callable[..., Monitor], prediction_record: Record
) -> None:
    mon = open_monitor()
    pid = mon.log_prediction(**prediction_record("p-durable", timestamp=datetime(2026, 1, 5, 9, 0)))
    fid = mon.log_feedback(pid, kind="expert", label="routine", timestamp=datetime(2026, 1, 5, 10, 0))
    mon.close()
    mon = open_monitor()
    assert mon.count_predictions() == 1
    assert mon.store.query("SELECT prediction_id, ts, f_category, f_length FROM predictions__tickets") == [
        ("p-durable", datetime(2026, 1, 5, 9, 0), "technical", 42.0)
    ]
    assert mon.store.query("SELECT feedback_id, label FROM feedback") == [(fid, "routine")]


_CHILD = textwrap.dedent(
    """
    import json, sys
    from modelsteward.config import StewardConfig
    from modelsteward.monitor import Monitor
    cfg = StewardConfig.model_validate(json.loads(sys.argv[1]))
    mon = Monitor(cfg, store=sys.argv[2])
    pid = mon.log_prediction(prediction_id="killed-1", prediction="urgent", confidence=0.75,
                             features={"category": "technical", "length": 7.5}, latency_ms=33.0)
    fid = mon.log_feedback(pid, kind="explicit", label="routine")
    print("logged", pid, fid, flush=True)
    sys.stdin.read()  # wait to be killed; never closes the store
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_acknowledged_write_survives_sigkill(db_path: Path, make_config: Callable[..., StewardConfig]) -> None:
    cfg = make_config()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in [str(Path(__file__).parents[2] / "src"), os.environ.get("PYTHONPATH", "")] if p),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, cfg.model_dump_json(by_alias=True), str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line[:2] == ["logged", "killed-1"], (line, child.stderr.read() if child.poll() is not None else "")
        fid = line[2]
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with DuckDBStore(db_path) as store:
        assert store.query("SELECT prediction_id, prediction, confidence, f_category, f_length, latency_ms FROM predictions__tickets") == [
            ("killed-1", "urgent", 0.75, "technical", 7.5, 33.0)
        ]
        assert store.query("SELECT feedback_id, prediction_id, label FROM feedback") == [(fid, "killed-1", "routine")]
    # and a Monitor over the recovered file carries on
    with Monitor(cfg, store=db_path) as mon:
        assert mon.count_predictions() == 1
        assert mon.log_predictions(
            [
                {
                    "prediction_id": "killed-1",
                    "prediction": "urgent",
                    "confidence": 0.75,
                    "latency_ms": 33.0,
                    "features": {"category": "technical", "length": 7.5},
                }
            ]
        ) == IngestResult(0, 1)


def test_config_round_trips_through_json(make_config: Callable[..., StewardConfig]) -> None:
    cfg = make_config()
    assert StewardConfig.model_validate(json.loads(cfg.model_dump_json(by_alias=True))) == cfg
