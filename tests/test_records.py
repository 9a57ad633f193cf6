"""Validation and normalisation of logged records (no store involved).

Every refused record must be named by index, id and field; every accepted one must come out
in the store's layout with the values it went in with.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from modelsteward.config import ModelConfig
from modelsteward.errors import BatchRejected, RowError, ValidationError
from modelsteward.records import feature_column, normalise_feedback, normalise_predictions, prediction_schema

Record = Callable[..., dict[str, Any]]


@pytest.fixture
def model(make_model: Callable[..., ModelConfig]) -> ModelConfig:
    return make_model()


@pytest.fixture
def multi(make_model: Callable[..., ModelConfig]) -> ModelConfig:
    return make_model("routing", task="multiclass", labels=["billing", "technical", "account"])


def _rejected(data: Any, model: ModelConfig, **kw: Any) -> list[RowError]:
    with pytest.raises(BatchRejected) as info:
        normalise_predictions(data, model, **kw)
    return info.value.rows


def _where(rows: list[RowError]) -> set[tuple[int | None, str | None, str | None]]:
    return {(r.index, r.record_id, r.field) for r in rows}


# ----------------------------------------------------------------------------------------- accepting


def test_valid_record_in_store_layout(model: ModelConfig, prediction_record: Record) -> None:
    ts = datetime(2026, 1, 5, 9, 30)
    t = normalise_predictions([prediction_record("p1", timestamp=ts, model_version="v3", user_id="u7", attributes={"tier": "gold"})], model)
    assert t.schema.names == prediction_schema(model).names
    assert t.schema.names[-2:] == [feature_column("category"), feature_column("length")] == ["f_category", "f_length"]
    row = t.to_pylist()[0]
    assert row == {
        "prediction_id": "p1",
        "ts": ts,
        "model_version": "v3",
        "prediction": "urgent",
        "confidence": 0.9,
        "probabilities": None,
        "latency_ms": 120.0,
        "error": None,
        "user_id": "u7",
        "attributes": json.dumps({"tier": "gold"}),
        "f_category": "technical",
        "f_length": 42.0,
    }
    assert t.schema.field("f_length").type == pa.float64() and t.schema.field("f_category").type == pa.string()


def test_ids_generated_when_no_id_column(model: ModelConfig) -> None:
    t = normalise_predictions([{"prediction": "urgent", "confidence": 0.5}] * 3 + [{"prediction": "routine", "confidence": 0.7}], model)
    ids = t.column("prediction_id").to_pylist()
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_missing_timestamp_defaults_to_now_utc(model: ModelConfig) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    t = normalise_predictions([{"prediction_id": "p", "prediction": "urgent", "confidence": 0.5}], model)
    after = datetime.now(UTC).replace(tzinfo=None)
    assert before <= t.column("ts")[0].as_py() <= after
    assert t.schema.metadata[b"ts_given"] == b"0"


@pytest.mark.parametrize("confidence", [0.0, 1.0, 0.5, 1, 0])
def test_confidence_bounds_are_inclusive(model: ModelConfig, confidence: float) -> None:
    t = normalise_predictions([{"prediction_id": "p", "prediction": "urgent", "confidence": confidence}], model)
    assert t.column("confidence").to_pylist() == [float(confidence)]


def test_latency_zero_and_absent_accepted(model: ModelConfig) -> None:
    t = normalise_predictions(
        [
            {"prediction_id": "a", "prediction": "urgent", "confidence": 0.5, "latency_ms": 0},
            {"prediction_id": "b", "prediction": "urgent", "confidence": 0.5},
        ],
        model,
    )
    assert t.column("latency_ms").to_pylist() == [0.0, None]


def test_missing_feature_values_are_null_not_errors(model: ModelConfig) -> None:
    rows = [
        {"prediction_id": "absent", "prediction": "urgent", "confidence": 0.5},
        {"prediction_id": "none", "prediction": "urgent", "confidence": 0.5, "features": {"category": None, "length": None}},
        {"prediction_id": "nan", "prediction": "urgent", "confidence": 0.5, "features": {"length": float("nan")}},
        {"prediction_id": "one", "prediction": "urgent", "confidence": 0.5, "features": {"category": "billing"}},
    ]
    t = normalise_predictions(rows, model)
    assert t.column("f_category").to_pylist() == [None, None, None, "billing"]
    assert t.column("f_length").to_pylist() == [None, None, None, None]
    assert t.column("f_length").null_count == 4  # NULL, not NaN


def test_missing_feature_values_from_dataframe(model: ModelConfig) -> None:
    df = pd.DataFrame(
        {
            "prediction_id": ["a", "b"],
            "prediction": ["urgent", "routine"],
            "confidence": [0.5, 0.6],
            "category": ["x", None],
            "length": [np.nan, 3.0],
        }
    )
    t = normalise_predictions(df, model)
    assert t.column("f_category").to_pylist() == ["x", None]
    assert t.column("f_length").to_pylist() == [None, 3.0]


def test_rows_with_error_may_omit_prediction_and_confidence(model: ModelConfig) -> None:
    t = normalise_predictions(
        [
            {"prediction_id": "e1", "error": "timeout", "latency_ms": 3000},
            {"prediction_id": "e2", "error": "oom", "prediction": None, "confidence": None},
            {"prediction_id": "ok", "prediction": "routine", "confidence": 0.7},
        ],
        model,
    )
    assert t.column("prediction").to_pylist() == [None, None, "routine"]
    assert t.column("confidence").to_pylist() == [None, None, 0.7]
    assert t.column("error").to_pylist() == ["timeout", "oom", None]


@pytest.mark.parametrize(
    ("given", "expected_utc"),
    [
        (datetime(2026, 1, 5, 11, 30, tzinfo=timezone(timedelta(hours=2))), datetime(2026, 1, 5, 9, 30)),
        (datetime(2026, 1, 5, 4, 30, tzinfo=timezone(timedelta(hours=-5))), datetime(2026, 1, 5, 9, 30)),
        ("2026-01-05T11:30:00+02:00", datetime(2026, 1, 5, 9, 30)),
        ("2026-01-05T09:30:00Z", datetime(2026, 1, 5, 9, 30)),
        ("2026-01-05T09:30:00", datetime(2026, 1, 5, 9, 30)),
        (datetime(2026, 1, 5, 9, 30), datetime(2026, 1, 5, 9, 30)),
        (datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), datetime(2025, 12, 31, 23, 30)),
    ],
)
def test_timestamps_converted_to_utc(model: ModelConfig, given: Any, expected_utc: datetime) -> None:
    rec = {"prediction_id": "p", "prediction": "urgent", "confidence": 0.5, "timestamp": given}
    for data in ([rec], pd.DataFrame([rec]), pa.Table.from_pandas(pd.DataFrame([rec]), preserve_index=False)):
        t = normalise_predictions(data, model)
        assert t.column("ts").to_pylist() == [expected_utc], type(data)
        assert t.schema.field("ts").type == pa.timestamp("us")


def test_mixed_offsets_in_one_batch(model: ModelConfig) -> None:
    zones = [timezone(timedelta(hours=h)) for h in (-8, 0, 5, 9)]
    base_utc = datetime(2026, 3, 1, 12, 0)
    rows = [
        {
            "prediction_id": f"p{i}",
            "prediction": "urgent",
            "confidence": 0.5,
            "timestamp": (base_utc.replace(tzinfo=UTC) + timedelta(minutes=i)).astimezone(z),
        }
        for i, z in enumerate(zones)
    ]
    t = normalise_predictions(rows, model)
    assert t.column("ts").to_pylist() == [base_utc + timedelta(minutes=i) for i in range(4)]


def test_probabilities_stored_as_sorted_json(multi: ModelConfig) -> None:
    probs = {"technical": 0.7, "billing": 0.2, "account": 0.1}
    t = normalise_predictions(
        [
            {"prediction_id": "p", "prediction": "technical", "confidence": 0.7, "probabilities": probs},
            {"prediction_id": "q", "prediction": "billing", "confidence": 0.6, "probabilities": {"billing": 0.6}},
        ],
        multi,
    )
    stored = [json.loads(v) for v in t.column("probabilities").to_pylist()]
    assert stored == [probs, {"billing": 0.6}]
    assert list(stored[0]) == sorted(probs)


def test_probabilities_same_from_dataframe_with_partial_dicts(multi: ModelConfig) -> None:
    rows = [
        {
            "prediction_id": "p",
            "prediction": "technical",
            "confidence": 0.7,
            "probabilities": {"technical": 0.7, "billing": 0.3, "account": 0.0},
        },
        {"prediction_id": "q", "prediction": "billing", "confidence": 0.6, "probabilities": {"billing": 0.6}},
    ]
    from_list = normalise_predictions(rows, multi).column("probabilities").to_pylist()
    from_df = normalise_predictions(pd.DataFrame(rows), multi).column("probabilities").to_pylist()
    assert from_df == from_list


def test_same_rows_from_list_dataframe_and_arrow(model: ModelConfig) -> None:
    ts = [datetime(2026, 1, 5, 9, 0, tzinfo=UTC) + timedelta(hours=i) for i in range(4)]
    flat = [
        {
            "prediction_id": "a",
            "timestamp": ts[0],
            "prediction": "urgent",
            "confidence": 0.9,
            "latency_ms": 10.0,
            "category": "technical",
            "length": 12.5,
            "model_version": "v1",
            "user_id": "u1",
            "error": None,
        },
        {
            "prediction_id": "b",
            "timestamp": ts[1],
            "prediction": "routine",
            "confidence": 0.4,
            "latency_ms": 11.0,
            "category": None,
            "length": 3.0,
            "model_version": "v1",
            "user_id": None,
            "error": None,
        },
        {
            "prediction_id": "c",
            "timestamp": ts[2],
            "prediction": None,
            "confidence": None,
            "latency_ms": 900.0,
            "category": "other",
            "length": None,
            "model_version": "v2",
            "user_id": "u2",
            "error": "timeout",
        },
        {
            "prediction_id": "d",
            "timestamp": ts[3],
            "prediction": "urgent",
            "confidence": 0.61,
            "latency_ms": None,
            "category": "other",
            "length": 0.0,
            "model_version": None,
            "user_id": "u1",
            "error": None,
        },
    ]
    nested = [
        {k: v for k, v in r.items() if k not in ("category", "length")} | {"features": {"category": r["category"], "length": r["length"]}}
        for r in flat
    ]
    df = pd.DataFrame(flat)
    arrow = pa.Table.from_pylist(flat)
    tables = [normalise_predictions(x, model) for x in (nested, flat, df, arrow)]
    expected = [
        {
            "prediction_id": r["prediction_id"],
            "ts": r["timestamp"].replace(tzinfo=None),
            "model_version": r["model_version"],
            "prediction": r["prediction"],
            "confidence": r["confidence"],
            "probabilities": None,
            "latency_ms": r["latency_ms"],
            "error": r["error"],
            "user_id": r["user_id"],
            "attributes": None,
            "f_category": r["category"],
            "f_length": r["length"],
        }
        for r in flat
    ]
    for t in tables:
        assert t.schema.equals(tables[0].schema)
        assert t.to_pylist() == expected


def test_column_mapping_and_attribute_columns(model: ModelConfig) -> None:
    df = pd.DataFrame(
        {"id": ["a", "b"], "label_pred": ["urgent", "routine"], "score": [0.8, 0.3], "tier": ["gold", None], "region": ["eu", "us"]}
    )
    t = normalise_predictions(
        df, model, columns={"id": "prediction_id", "label_pred": "prediction", "score": "confidence"}, attribute_columns=["tier", "region"]
    )
    assert t.column("prediction_id").to_pylist() == ["a", "b"]
    assert [json.loads(a) for a in t.column("attributes").to_pylist()] == [{"tier": "gold", "region": "eu"}, {"region": "us"}]


def test_identical_copies_in_a_batch_collapse(model: ModelConfig, prediction_record: Record) -> None:
    rec = prediction_record("p1", timestamp="2026-01-05T09:00:00Z")
    t = normalise_predictions([rec, dict(rec), prediction_record("p2", timestamp="2026-01-05T09:00:00Z")], model)
    assert t.column("prediction_id").to_pylist() == ["p1", "p2"]
    assert t.schema.metadata[b"rows_in"] == b"3"


def test_empty_batch(model: ModelConfig) -> None:
    assert normalise_predictions([], model).num_rows == 0
    assert normalise_predictions(pd.DataFrame({"prediction_id": [], "prediction": [], "confidence": []}), model).num_rows == 0


# ----------------------------------------------------------------------------------------- refusing

REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, overrides of a valid record, field, fragment of the problem)
    ("prediction_missing", {"prediction": None}, "prediction", "missing"),
    ("prediction_not_a_label", {"prediction": "spam"}, "prediction", "expected one of ['urgent', 'routine'], got 'spam'"),
    ("prediction_case", {"prediction": "Urgent"}, "prediction", "got 'Urgent'"),
    ("confidence_missing", {"confidence": None}, "confidence", "missing"),
    ("confidence_nan", {"confidence": float("nan")}, "confidence", "finite"),
    ("confidence_inf", {"confidence": float("inf")}, "confidence", "finite"),
    ("confidence_neg_inf", {"confidence": float("-inf")}, "confidence", "finite"),
    ("confidence_above_one", {"confidence": 1.0000001}, "confidence", "[0, 1]"),
    ("confidence_below_zero", {"confidence": -0.01}, "confidence", "[0, 1]"),
    ("confidence_text", {"confidence": "high"}, "confidence", "expected a number, got 'high'"),
    ("confidence_nan_text", {"confidence": "nan"}, "confidence", "finite"),
    ("confidence_bool", {"confidence": True}, "confidence", "boolean"),
    ("latency_negative", {"latency_ms": -1.0}, "latency_ms", ">= 0"),
    ("latency_inf", {"latency_ms": float("inf")}, "latency_ms", "finite"),
    ("latency_nan", {"latency_ms": float("nan")}, "latency_ms", "finite"),
    ("latency_text", {"latency_ms": "fast"}, "latency_ms", "expected a number"),
    ("numeric_feature_inf", {"features": {"length": float("inf")}}, "length", "infinite"),
    ("numeric_feature_neg_inf", {"features": {"length": float("-inf")}}, "length", "infinite"),
    ("numeric_feature_text", {"features": {"length": "long"}}, "length", "expected a number, got 'long'"),
    ("numeric_feature_bool", {"features": {"length": True}}, "length", "boolean"),
    ("categorical_feature_number", {"features": {"category": 3.5}}, "category", "expected text"),
    ("timestamp_text", {"timestamp": "last tuesday"}, "timestamp", "ISO 8601"),
    ("probabilities_unknown_label", {"probabilities": {"urgent": 0.5, "spam": 0.5}}, "probabilities", "not in the label set"),
    ("probabilities_sum", {"probabilities": {"urgent": 0.7, "routine": 0.7}}, "probabilities", "sum to 1"),
    ("probabilities_range", {"probabilities": {"urgent": 1.5}}, "probabilities", "[0, 1]"),
    ("probabilities_negative", {"probabilities": {"urgent": -0.1}}, "probabilities", "[0, 1]"),
    ("probabilities_nan", {"probabilities": {"urgent": float("nan")}}, "probabilities", "[0, 1]"),
    ("probabilities_not_mapping", {"probabilities": [0.9, 0.1]}, "probabilities", "mapping"),
    ("probabilities_bad_json", {"probabilities": "{urgent: 0.9"}, "probabilities", "mapping"),
    ("probabilities_text_values", {"probabilities": {"urgent": "high"}}, "probabilities", "numbers"),
    ("attributes_not_mapping", {"attributes": "[1, 2]"}, "attributes", "mapping"),
    ("unknown_field", {"lenght": 12}, "lenght", "unknown field"),
    ("unknown_field_in_features", {"features": {"colour": "red"}}, "colour", "unknown field"),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_record_is_named_by_index_id_and_field(
    model: ModelConfig, prediction_record: Record, overrides: dict[str, Any], field: str, fragment: str
) -> None:
    good = [prediction_record(f"ok{i}") for i in range(3)]
    bad = prediction_record("bad-1", **overrides)
    rows = _rejected([good[0], good[1], bad, good[2]], model)
    assert _where(rows) == {(2, "bad-1", field)}
    assert any(fragment in r.problem for r in rows), [r.problem for r in rows]
    # the same problem is found whichever way the batch arrives (flat columns: DataFrame and Arrow)
    flat = []
    for rec in (good[0], good[1], bad, good[2]):
        r = {k: v for k, v in rec.items() if k != "features"}
        r.update(rec.get("features") or {})
        flat.append(r)
    nan_latency = field == "latency_ms" and isinstance(overrides.get("latency_ms"), float) and math.isnan(overrides["latency_ms"])
    if field not in ("probabilities", "attributes") and not nan_latency:
        # (pandas reads a NaN as a missing value, and an optional latency may be missing; dicts become
        # structs in pandas: probabilities from DataFrames are tested on their own)
        assert _where(_rejected(pd.DataFrame(flat), model)) == {(2, "bad-1", field)}


def test_one_error_per_problem_not_a_missing_as_well(model: ModelConfig, prediction_record: Record) -> None:
    rows = _rejected([prediction_record("p", confidence="high")], model)
    assert [(r.field, r.problem) for r in rows] == [("confidence", "expected a number, got 'high'")]


def test_error_row_still_checks_what_it_gives(model: ModelConfig) -> None:
    rows = _rejected([{"prediction_id": "e", "error": "timeout", "prediction": "spam", "confidence": 2.0}], model)
    assert _where(rows) == {(0, "e", "prediction"), (0, "e", "confidence")}


@pytest.mark.parametrize("pid", [None, "", "   "])
def test_missing_id_is_named_by_index(model: ModelConfig, pid: str | None) -> None:
    rows = _rejected(
        [
            {"prediction_id": "ok", "prediction": "urgent", "confidence": 0.5},
            {"prediction_id": pid, "prediction": "urgent", "confidence": 0.5},
        ],
        model,
    )
    assert _where(rows) == {(1, None, "prediction_id")}
    assert "missing" in rows[0].problem


def test_id_that_is_not_text_is_reported_as_such(model: ModelConfig) -> None:
    df = pd.DataFrame({"prediction_id": [1.5, 2.5], "prediction": ["urgent", "urgent"], "confidence": [0.5, 0.5]})
    rows = _rejected(df, model)
    assert {(r.index, r.field) for r in rows} == {(0, "prediction_id"), (1, "prediction_id")}
    assert all("expected text" in r.problem for r in rows)


def test_integer_ids_become_text(model: ModelConfig) -> None:
    t = normalise_predictions(pd.DataFrame({"prediction_id": [7, 8], "prediction": ["urgent"] * 2, "confidence": [0.5] * 2}), model)
    assert t.column("prediction_id").to_pylist() == ["7", "8"]


def test_every_rejected_row_is_reported(model: ModelConfig) -> None:
    rng = np.random.default_rng(11)
    n = 1000
    df = pd.DataFrame(
        {
            "prediction_id": [f"p{i:04d}" for i in range(n)],
            "prediction": rng.choice(["urgent", "routine"], n),
            "confidence": rng.uniform(0, 1, n),
            "latency_ms": rng.uniform(1, 500, n),
            "category": rng.choice(["technical", "other"], n),
            "length": rng.normal(50, 10, n),
        }
    )
    bad = {17: ("confidence", 1.7), 404: ("prediction", "spam"), 999: ("length", np.inf)}
    for i, (c, v) in bad.items():
        df.loc[i, c] = v
    with pytest.raises(BatchRejected) as info:
        normalise_predictions(df, model)
    err = info.value
    assert _where(err.rows) == {(17, "p0017", "confidence"), (404, "p0404", "prediction"), (999, "p0999", "length")}
    assert len({r.index for r in err.rows}) == 3
    assert err.total == n and "3 of 1000 rows invalid" in str(err)
    assert err.to_dict()["rows"][0] == {"index": 17, "id": "p0017", "field": "confidence", "problem": err.rows[0].problem}


def test_several_problems_in_one_row_and_many_rows(model: ModelConfig) -> None:
    rows = [{"prediction_id": f"p{i}", "prediction": "spam", "confidence": 5.0} for i in range(30)]
    err = pytest.raises(BatchRejected, normalise_predictions, rows, model).value
    assert _where(err.rows) == {(i, f"p{i}", f) for i in range(30) for f in ("prediction", "confidence")}
    assert "30 of 30 rows invalid" in str(err) and "(and 55 more)" in str(err)


def test_unknown_column_names_every_row_that_uses_it(model: ModelConfig) -> None:
    df = pd.DataFrame({"prediction_id": ["a", "b", "c"], "prediction": ["urgent"] * 3, "confidence": [0.5] * 3, "lenght": [1.0, None, 3.0]})
    rows = _rejected(df, model)
    assert _where(rows) == {(0, "a", "lenght"), (2, "c", "lenght")}
    assert "attribute_columns" in rows[0].problem


def test_unknown_fields_reported_together_with_other_problems(model: ModelConfig) -> None:
    rows = _rejected(
        [
            {"prediction_id": "a", "prediction": "urgent", "confidence": 0.5, "colour": "red"},
            {"prediction_id": "b", "prediction": "spam", "confidence": 0.5},
        ],
        model,
    )
    assert _where(rows) == {(0, "a", "colour"), (1, "b", "prediction")}


def test_feature_given_twice(model: ModelConfig) -> None:
    with pytest.raises(ValidationError) as info:
        normalise_predictions(
            [{"prediction_id": "a", "prediction": "urgent", "confidence": 0.5, "length": 1, "features": {"length": 2}}], model
        )
    assert _where(info.value.rows) == {(0, "a", "length")}


def test_same_id_different_content_in_a_batch(model: ModelConfig, prediction_record: Record) -> None:
    rows = _rejected(
        [
            prediction_record("p1", timestamp="2026-01-05T09:00:00Z"),
            prediction_record("p2", timestamp="2026-01-05T09:00:00Z"),
            prediction_record("p1", timestamp="2026-01-05T09:00:00Z", confidence=0.3),
        ],
        model,
    )
    assert _where(rows) == {(2, "p1", "prediction_id")}
    assert "record 0" in rows[0].problem


@pytest.mark.parametrize("data", [42, "text", [1, 2]])
def test_not_a_table(model: ModelConfig, data: Any) -> None:
    with pytest.raises(ValidationError, match="expected a table or a list of dicts"):
        normalise_predictions(data, model)


def test_column_given_twice_after_mapping(model: ModelConfig) -> None:
    df = pd.DataFrame({"prediction_id": ["a"], "prediction": ["urgent"], "score": [0.5], "confidence": [0.4]})
    with pytest.raises(ValidationError) as info:
        normalise_predictions(df, model, columns={"score": "confidence"})
    assert {r.field for r in info.value.rows} == {"confidence"}


# ----------------------------------------------------------------------------------------- feedback


def test_feedback_normalised(multi: ModelConfig) -> None:
    t = normalise_feedback(
        {"prediction_id": "p1", "kind": "expert", "label": "billing", "reviewer": "ann", "timestamp": "2026-01-05T11:00:00+02:00"}, multi
    )
    row = t.to_pylist()[0]
    assert row["ts"] == datetime(2026, 1, 5, 9, 0)
    assert (row["prediction_id"], row["kind"], row["label"], row["reviewer"]) == ("p1", "expert", "billing", "ann")
    assert row["feedback_id"].startswith("fb-")


def test_feedback_without_timestamp_leaves_it_to_the_store(multi: ModelConfig) -> None:
    t = normalise_feedback({"prediction_id": "p1", "kind": "explicit", "rating": 4}, multi)
    assert t.column("ts").to_pylist() == [None]
    assert t.column("rating").to_pylist() == [4.0]


def test_feedback_id_derived_from_content(multi: ModelConfig) -> None:
    def fid(**rec: Any) -> str:
        return normalise_feedback({"prediction_id": "p1", "kind": "explicit", **rec}, multi).column("feedback_id")[0].as_py()

    assert fid(label="billing") == fid(label="billing")
    assert fid(label="billing") != fid(label="account")
    assert fid(label="billing") != fid(label="billing", timestamp="2026-01-05T09:00:00Z")
    # the same instant written two ways is the same event
    assert fid(label="billing", timestamp="2026-01-05T11:00:00+02:00") == fid(
        label="billing", timestamp=datetime(2026, 1, 5, 9, tzinfo=UTC)
    )
    assert fid(rating=4) == fid(rating=4.0)
    assert fid(label="billing", feedback_id="mine") == "mine"
    other = multi.model_copy(update={"name": "other"})
    assert normalise_feedback({"prediction_id": "p1", "kind": "explicit", "label": "billing"}, other).column("feedback_id")[
        0
    ].as_py() != fid(label="billing")


def test_feedback_batch_collapses_identical_events(multi: ModelConfig) -> None:
    rec = {"prediction_id": "p1", "kind": "expert", "label": "billing"}
    t = normalise_feedback([rec, dict(rec), {**rec, "prediction_id": "p2"}], multi)
    assert t.column("prediction_id").to_pylist() == ["p1", "p2"]
    assert t.schema.metadata[b"rows_in"] == b"3"


def test_feedback_same_id_different_content_in_batch(multi: ModelConfig) -> None:
    with pytest.raises(BatchRejected) as info:
        normalise_feedback(
            [
                {"feedback_id": "f", "prediction_id": "p1", "kind": "expert", "label": "billing"},
                {"feedback_id": "f", "prediction_id": "p1", "kind": "expert", "label": "account"},
            ],
            multi,
        )
    assert _where(info.value.rows) == {(1, "p1", "feedback_id")}


def test_feedback_numpy_numbers_accepted(multi: ModelConfig) -> None:
    t = normalise_feedback(
        {"prediction_id": "p", "kind": "outcome", "csat": np.int64(4), "resolution_hours": np.float64(2.5), "escalated": np.bool_(True)},
        multi,
    )
    assert t.to_pylist()[0]["csat"] == 4.0 and t.to_pylist()[0]["escalated"] is True


FEEDBACK_REFUSED: list[tuple[str, dict[str, Any], str | None, str]] = [
    ("label_outside_set", {"kind": "explicit", "label": "spam"}, "label", "expected one of"),
    ("unknown_kind", {"kind": "oracle", "label": "billing"}, "kind", "expected one of"),
    ("missing_kind", {"label": "billing"}, "kind", "expected one of"),
    ("unknown_field", {"kind": "expert", "label": "billing", "lable": "x"}, "lable", "unknown field"),
    ("implicit_without_action", {"kind": "implicit"}, "action", "needs an action"),
    ("implicit_bad_action", {"kind": "implicit", "action": "ignored"}, "action", "expected one of"),
    ("explicit_without_label_or_rating", {"kind": "explicit"}, "label", "corrected label or a rating"),
    ("expert_without_label", {"kind": "expert", "reviewer": "ann"}, "label", "expert review needs"),
    ("outcome_empty", {"kind": "outcome"}, None, "outcome feedback needs"),
    ("csat_inf", {"kind": "outcome", "csat": float("inf")}, "csat", "finite"),
    ("csat_text", {"kind": "outcome", "csat": "good"}, "csat", "finite"),
    ("rating_nan", {"kind": "explicit", "rating": float("nan")}, "rating", "finite"),
    ("rating_bool", {"kind": "explicit", "rating": True}, "rating", "finite"),
    ("resolution_negative", {"kind": "outcome", "resolution_hours": -2}, "resolution_hours", ">= 0"),
    ("escalated_text", {"kind": "outcome", "escalated": "yes"}, "escalated", "true or false"),
    ("timestamp_text", {"kind": "expert", "label": "billing", "timestamp": "yesterday"}, "timestamp", "ISO 8601"),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), [c[1:] for c in FEEDBACK_REFUSED], ids=[c[0] for c in FEEDBACK_REFUSED])
def test_feedback_refused_names_index_id_and_field(multi: ModelConfig, overrides: dict[str, Any], field: str | None, fragment: str) -> None:
    good = {"prediction_id": "ok", "kind": "expert", "label": "billing"}
    with pytest.raises(BatchRejected) as info:
        normalise_feedback([good, {"prediction_id": "p-bad", **overrides}], multi)
    rows = info.value.rows
    assert _where(rows) == {(1, "p-bad", field)}
    assert any(fragment in r.problem for r in rows)


def test_feedback_missing_prediction_id(multi: ModelConfig) -> None:
    with pytest.raises(BatchRejected) as info:
        normalise_feedback([{"kind": "expert", "label": "billing"}], multi)
    assert _where(info.value.rows) == {(0, None, "prediction_id")}


def test_feedback_same_from_list_and_dataframe(multi: ModelConfig) -> None:
    rows = [
        {"prediction_id": "a", "kind": "outcome", "csat": 4.0, "escalated": None, "timestamp": datetime(2026, 1, 5, 9)},
        {"prediction_id": "b", "kind": "outcome", "csat": None, "escalated": True, "timestamp": datetime(2026, 1, 5, 10)},
    ]
    a = normalise_feedback(rows, multi).to_pylist()
    b = normalise_feedback(pd.DataFrame(rows), multi).to_pylist()
    assert a == b
    assert [r["csat"] for r in a] == [4.0, None] and [r["escalated"] for r in a] == [None, True]
