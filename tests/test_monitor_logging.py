"""Monitor.log_prediction / log_predictions / log_feedback / log_feedbacks against a real DuckDB file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelsteward.config import StewardConfig
from modelsteward.errors import BatchRejected, ConflictError, NotFoundError, ValidationError
from modelsteward.monitor import IngestResult, Monitor

Record = Callable[..., dict[str, Any]]
STORED = "SELECT * EXCLUDE (ingested_at, novelty) FROM predictions__tickets ORDER BY prediction_id"  # novelty: see test_monitor_novelty


def _count(mon: Monitor, table: str = "predictions__tickets") -> int:
    return int(mon.store.query(f"SELECT count(*) FROM {table}")[0][0])


# ----------------------------------------------------------------------------------------- unknown model


def test_unknown_model_is_not_found(monitor: Monitor, prediction_record: Record) -> None:
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        monitor.log_prediction(**prediction_record("p1"), model="nope")
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        monitor.log_predictions([prediction_record("p1")], model="nope")
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        monitor.log_feedback("p1", kind="expert", label="urgent", model="nope")
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        monitor.log_feedbacks([{"prediction_id": "p1", "kind": "expert", "label": "urgent"}], model="nope")
    assert _count(monitor) == 0 and _count(monitor, "feedback") == 0


def test_model_must_be_named_when_several(
    open_monitor: Callable[..., Monitor],
    make_config: Callable[..., StewardConfig],
    model_dict: Callable[..., dict[str, Any]],
    prediction_record: Record,
) -> None:
    mon = open_monitor(make_config(model_dict("a"), model_dict("b")))
    with pytest.raises(NotFoundError, match="several models"):
        mon.log_prediction(**prediction_record("p1"))
    mon.log_prediction(**prediction_record("p1"), model="b")
    assert (_count(mon, "predictions__a"), _count(mon, "predictions__b")) == (0, 1)


# ----------------------------------------------------------------------------------------- single writes


def test_log_prediction_stores_what_it_was_given(monitor: Monitor) -> None:
    pid = monitor.log_prediction(
        prediction="routine",
        confidence=0.62,
        features={"category": "billing", "length": 7},
        probabilities={"urgent": 0.38, "routine": 0.62},
        latency_ms=88.5,
        model_version="v2",
        timestamp=datetime(2026, 1, 5, 11, 0, tzinfo=timezone(timedelta(hours=2))),
        user_id="u1",
        attributes={"tier": "gold"},
    )
    rows = monitor.store.query_dicts(STORED)
    assert rows == [
        {
            "prediction_id": pid,
            "ts": datetime(2026, 1, 5, 9, 0),
            "model_version": "v2",
            "prediction": "routine",
            "confidence": 0.62,
            "probabilities": '{"routine": 0.62, "urgent": 0.38}',
            "latency_ms": 88.5,
            "error": None,
            "user_id": "u1",
            "attributes": '{"tier": "gold"}',
            "f_category": "billing",
            "f_length": 7.0,
        }
    ]


def test_log_prediction_generates_distinct_ids(monitor: Monitor) -> None:
    ids = {monitor.log_prediction(prediction="urgent", confidence=0.9) for _ in range(5)}
    assert len(ids) == 5 and _count(monitor) == 5


def test_missing_feature_is_null_in_the_store(monitor: Monitor) -> None:
    monitor.log_prediction(prediction_id="p", prediction="urgent", confidence=0.9, features={"category": "x"})
    monitor.log_prediction(prediction_id="q", prediction="urgent", confidence=0.9, features={"length": float("nan")})
    assert monitor.store.query("SELECT prediction_id, f_category, f_length FROM predictions__tickets ORDER BY 1") == [
        ("p", "x", None),
        ("q", None, None),
    ]
    # NULL, not NaN: SQL aggregates skip it
    assert monitor.store.query("SELECT count(f_length), avg(f_length) FROM predictions__tickets") == [(0, None)]


def test_error_row_stores_nulls(monitor: Monitor) -> None:
    monitor.log_prediction(prediction_id="e", prediction=None, confidence=None, error="timeout", latency_ms=5000)
    assert monitor.store.query("SELECT prediction, confidence, error, latency_ms FROM predictions__tickets") == [
        (None, None, "timeout", 5000.0)
    ]
    with pytest.raises(BatchRejected) as info:
        monitor.log_prediction(prediction_id="n", prediction=None, confidence=None)
    assert {(r.index, r.record_id, r.field) for r in info.value.rows} == {(0, "n", "prediction"), (0, "n", "confidence")}
    assert _count(monitor) == 1


def test_retried_log_prediction_without_timestamp_is_a_duplicate(monitor: Monitor, prediction_record: Record) -> None:
    rec = prediction_record("retry-me")
    assert monitor.log_prediction(**rec) == "retry-me"
    stored = monitor.store.query(STORED)
    assert monitor.log_prediction(**rec) == "retry-me"  # no ConflictError though "now" moved on
    assert monitor.store.query(STORED) == stored  # the first timestamp stands
    assert monitor.log_predictions([rec]) == IngestResult(inserted=0, duplicates=1)


def test_retried_batch_with_some_timestamps_missing_is_all_duplicates(monitor: Monitor, prediction_record: Record) -> None:
    batch = [prediction_record("t1", timestamp=datetime(2026, 1, 5, 9)), prediction_record("t2")]
    assert monitor.log_predictions(batch) == IngestResult(2, 0)
    stored = monitor.store.query(STORED)
    assert monitor.log_predictions(batch) == IngestResult(0, 2)
    assert monitor.log_predictions(
        pd.DataFrame([{k: v for k, v in r.items() if k != "features"} | r["features"] for r in batch])
    ) == IngestResult(0, 2)
    assert monitor.store.query(STORED) == stored
    # a timestamp that was given still counts
    with pytest.raises(ConflictError) as info:
        monitor.log_predictions([prediction_record("t1", timestamp=datetime(2026, 1, 5, 10)), prediction_record("t2")])
    assert info.value.ids == ["t1"]
    # and a row given a timestamp conflicts with the time stamped on its first, timestamp-less copy
    with pytest.raises(ConflictError):
        monitor.log_prediction(**prediction_record("t2", timestamp=datetime(2020, 1, 1)))


def test_same_id_different_content_is_a_conflict(monitor: Monitor, prediction_record: Record) -> None:
    monitor.log_prediction(**prediction_record("p1"))
    stored = monitor.store.query(STORED)
    for change in (
        {"confidence": 0.8},
        {"prediction": "routine"},
        {"features": {"category": "technical", "length": 41.0}},
        {"latency_ms": 121.0},
        {"model_version": "v9"},
    ):
        with pytest.raises(ConflictError) as info:
            monitor.log_prediction(**prediction_record("p1", **change))
        assert info.value.ids == ["p1"]
    assert monitor.store.query(STORED) == stored


def test_same_id_different_explicit_timestamp_is_a_conflict(monitor: Monitor, prediction_record: Record) -> None:
    monitor.log_prediction(**prediction_record("p1", timestamp="2026-01-05T09:00:00Z"))
    monitor.log_prediction(**prediction_record("p1", timestamp="2026-01-05T11:00:00+02:00"))  # the same instant
    with pytest.raises(ConflictError):
        monitor.log_prediction(**prediction_record("p1", timestamp="2026-01-05T09:00:01Z"))
    assert _count(monitor) == 1


# ----------------------------------------------------------------------------------------- batches


def test_rejected_batch_writes_nothing(monitor: Monitor, prediction_record: Record) -> None:
    monitor.log_predictions([prediction_record("before")])
    batch = [prediction_record(f"p{i}") for i in range(50)]
    batch[10]["confidence"] = 1.2
    batch[33]["prediction"] = "spam"
    batch[49]["features"] = {"length": float("inf")}
    with pytest.raises(BatchRejected) as info:
        monitor.log_predictions(batch)
    assert sorted({(r.index, r.record_id) for r in info.value.rows}) == [(10, "p10"), (33, "p33"), (49, "p49")]
    assert _count(monitor) == 1


def test_every_bad_row_of_a_large_batch_is_reported_and_nothing_written(monitor: Monitor) -> None:
    rng = np.random.default_rng(5)
    n = 1000
    df = pd.DataFrame(
        {
            "prediction_id": [f"r{i}" for i in range(n)],
            "prediction": rng.choice(["urgent", "routine"], n),
            "confidence": rng.uniform(0, 1, n),
            "latency_ms": rng.uniform(1, 100, n),
            "category": rng.choice(["a", "b"], n),
            "length": rng.uniform(0, 100, n),
        }
    )
    df.loc[123, "latency_ms"] = -5.0
    df.loc[456, "confidence"] = -0.5
    df.loc[789, "prediction"] = "maybe"
    with pytest.raises(BatchRejected) as info:
        monitor.log_predictions(df)
    assert sorted(r.index for r in info.value.rows) == [123, 456, 789]
    assert {r.record_id for r in info.value.rows} == {"r123", "r456", "r789"}
    assert _count(monitor) == 0
    good = monitor.log_predictions(df.drop(index=[123, 456, 789]))
    assert good == IngestResult(inserted=997, duplicates=0) and _count(monitor) == 997


def test_unknown_field_rejects_the_batch(monitor: Monitor, prediction_record: Record) -> None:
    with pytest.raises(ValidationError) as info:
        monitor.log_predictions([prediction_record("a"), {**prediction_record("b"), "lenght": 3}])
    assert {(r.index, r.record_id, r.field) for r in info.value.rows} == {(1, "b", "lenght")}
    assert _count(monitor) == 0


def test_duplicates_are_counted(monitor: Monitor, prediction_record: Record) -> None:
    recs = [prediction_record(f"p{i}", timestamp=datetime(2026, 1, 5, 9, i)) for i in range(4)]
    assert monitor.log_predictions(recs[:2]) == IngestResult(2, 0)
    assert monitor.log_predictions(recs) == IngestResult(2, 2)
    # the same row twice in one batch counts once, and the copy is reported as a duplicate
    assert monitor.log_predictions([recs[0], recs[0]]) == IngestResult(0, 2)
    fresh = prediction_record("fresh", timestamp=datetime(2026, 1, 5, 10, 0))
    result = monitor.log_predictions([fresh, fresh, fresh])
    assert result == IngestResult(1, 2) and result.total == 3
    assert _count(monitor) == 5


def test_conflicting_batch_writes_nothing(monitor: Monitor, prediction_record: Record) -> None:
    monitor.log_predictions([prediction_record("p1", timestamp=datetime(2026, 1, 5, 9))])
    batch = [
        prediction_record("p2", timestamp=datetime(2026, 1, 5, 9)),
        prediction_record("p1", timestamp=datetime(2026, 1, 5, 9), prediction="routine"),
    ]
    with pytest.raises(ConflictError) as info:
        monitor.log_predictions(batch)
    assert info.value.ids == ["p1"]
    assert monitor.store.query("SELECT prediction_id, prediction FROM predictions__tickets") == [("p1", "urgent")]


def test_list_dataframe_and_arrow_store_identical_rows(tmp_path: Path, make_config: Callable[..., StewardConfig]) -> None:
    rng = np.random.default_rng(21)
    n = 60
    base = datetime(2026, 2, 2, tzinfo=UTC)
    flat = []
    for i in range(n):
        flat.append(
            {
                "prediction_id": f"p{i:03d}",
                "timestamp": (base + timedelta(minutes=17 * i)).astimezone(timezone(timedelta(hours=int(rng.integers(-8, 9))))),
                "prediction": None if i % 13 == 0 else str(rng.choice(["urgent", "routine"])),
                "confidence": None if i % 13 == 0 else round(float(rng.uniform(0, 1)), 4),
                "error": "timeout" if i % 13 == 0 else None,
                "latency_ms": None if i % 7 == 0 else round(float(rng.uniform(1, 900)), 2),
                "model_version": f"v{i % 3}",
                "user_id": None if i % 5 == 0 else f"u{i % 11}",
                "category": None if i % 6 == 0 else str(rng.choice(["technical", "billing", "other"])),
                "length": None if i % 4 == 0 else round(float(rng.normal(50, 10)), 3),
            }
        )
    nested = [
        {k: v for k, v in r.items() if k not in ("category", "length")} | {"features": {"category": r["category"], "length": r["length"]}}
        for r in flat
    ]
    inputs = {"list": nested, "flat_list": flat, "dataframe": pd.DataFrame(flat), "arrow": pa.Table.from_pylist(flat)}
    stored = {}
    for name, data in inputs.items():
        with Monitor(make_config(), store=tmp_path / f"{name}.duckdb") as mon:
            assert mon.log_predictions(data) == IngestResult(n, 0), name
            stored[name] = mon.store.query(STORED)
    expected = [
        (
            r["prediction_id"],
            r["timestamp"].astimezone(UTC).replace(tzinfo=None),
            r["model_version"],
            r["prediction"],
            r["confidence"],
            None,
            r["latency_ms"],
            r["error"],
            r["user_id"],
            None,
            r["category"],
            r["length"],
        )
        for r in flat
    ]
    for name, rows in stored.items():
        assert rows == expected, name


def test_timezone_aware_timestamps_stored_in_utc(monitor: Monitor) -> None:
    tokyo = timezone(timedelta(hours=9))
    monitor.log_predictions(
        pd.DataFrame(
            {
                "prediction_id": ["a", "b"],
                "prediction": ["urgent", "routine"],
                "confidence": [0.9, 0.8],
                "timestamp": pd.to_datetime(["2026-01-05 09:00", "2026-01-06 00:30"]).tz_localize(tokyo),
            }
        )
    )
    monitor.log_prediction(prediction_id="c", prediction="urgent", confidence=0.5, timestamp="2026-01-04T23:30:00-05:00")
    assert monitor.store.query("SELECT prediction_id, ts FROM predictions__tickets ORDER BY 1") == [
        ("a", datetime(2026, 1, 5, 0, 0)),
        ("b", datetime(2026, 1, 5, 15, 30)),
        ("c", datetime(2026, 1, 5, 4, 30)),
    ]


def test_empty_batch(monitor: Monitor) -> None:
    assert monitor.log_predictions([]) == IngestResult(0, 0)
    assert monitor.log_feedbacks([]) == IngestResult(0, 0)


# ----------------------------------------------------------------------------------------- feedback


def test_feedback_sent_twice_is_counted_once(monitor: Monitor, prediction_record: Record) -> None:
    monitor.log_prediction(**prediction_record("p1"))
    f1 = monitor.log_feedback("p1", kind="explicit", label="routine")
    f2 = monitor.log_feedback("p1", kind="explicit", label="routine")  # a retry, later in time
    assert f1 == f2 and f1.startswith("fb-")
    assert _count(monitor, "feedback") == 1
    f3 = monitor.log_feedback("p1", kind="explicit", label="urgent")
    assert f3 != f1 and _count(monitor, "feedback") == 2
    batch = [
        {"prediction_id": "p1", "kind": "explicit", "label": "routine"},
        {"prediction_id": "p1", "kind": "implicit", "action": "accepted", "timestamp": "2026-01-05T09:00:00Z"},
    ]
    assert monitor.log_feedbacks(batch) == IngestResult(1, 1)
    assert monitor.log_feedbacks(batch) == IngestResult(0, 2)
    assert monitor.log_feedbacks(batch + batch) == IngestResult(0, 4)
    assert _count(monitor, "feedback") == 3


def test_feedback_with_explicit_id_conflicts_on_different_content(monitor: Monitor) -> None:
    monitor.log_feedback("p1", kind="expert", label="urgent", feedback_id="review-1", timestamp="2026-01-05T09:00:00Z")
    monitor.log_feedback("p1", kind="expert", label="urgent", feedback_id="review-1", timestamp="2026-01-05T09:00:00Z")
    with pytest.raises(ConflictError) as info:
        monitor.log_feedback("p1", kind="expert", label="routine", feedback_id="review-1", timestamp="2026-01-05T09:00:00Z")
    assert info.value.ids == ["review-1"]
    with pytest.raises(ConflictError):
        monitor.log_feedbacks(
            [
                {"feedback_id": "review-2", "prediction_id": "p1", "kind": "expert", "label": "urgent"},
                {
                    "feedback_id": "review-1",
                    "prediction_id": "p2",
                    "kind": "expert",
                    "label": "urgent",
                    "timestamp": "2026-01-05T09:00:00Z",
                },
            ]
        )
    assert monitor.store.query("SELECT feedback_id, prediction_id, label FROM feedback") == [("review-1", "p1", "urgent")]


def test_feedback_rejected_batch_writes_nothing(monitor: Monitor) -> None:
    batch = [
        {"prediction_id": "p1", "kind": "expert", "label": "urgent"},
        {"prediction_id": "p2", "kind": "expert", "label": "spam"},
        {"prediction_id": "p3", "kind": "implicit"},
    ]
    with pytest.raises(BatchRejected) as info:
        monitor.log_feedbacks(batch)
    assert {(r.index, r.record_id, r.field) for r in info.value.rows} == {(1, "p2", "label"), (2, "p3", "action")}
    with pytest.raises(BatchRejected):
        monitor.log_feedback("p1", kind="expert", label="spam")
    assert _count(monitor, "feedback") == 0


def test_feedback_before_its_prediction_is_used_once_it_arrives(monitor: Monitor, prediction_record: Record) -> None:
    monitor.log_feedback("early", kind="expert", label="routine", timestamp="2026-01-05T09:00:00Z")
    assert monitor.labelled().num_rows == 0
    monitor.log_prediction(**prediction_record("early", timestamp="2026-01-05T08:59:00Z"))
    table = monitor.labelled()
    assert table.column("prediction_id").to_pylist() == ["early"]
    assert table.column("label").to_pylist() == ["routine"]
    assert table.column("label_source").to_pylist() == ["expert"]
    assert table.column("prediction").to_pylist() == ["urgent"]


def test_feedback_timestamps_in_utc(monitor: Monitor) -> None:
    monitor.log_feedback("p1", kind="expert", label="urgent", timestamp=datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=1))))
    assert monitor.store.query("SELECT ts FROM feedback") == [(datetime(2026, 1, 5, 9, 0),)]
