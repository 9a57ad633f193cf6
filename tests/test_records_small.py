"""The row-wise path for a few records gives exactly what the Arrow path gives: the same table, the same errors.

The Arrow path is reached with the same dicts passed as an iterator (``normalise_predictions``
takes the row-wise path only for a short list or tuple); the row-wise path is called directly,
so each example checks both paths. Random records mix good and bad values of every field.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelsteward.config import ModelConfig
from modelsteward.errors import BatchRejected, StewardError
from modelsteward.records import normalise_predictions
from modelsteward.records_small import SMALL_ROWS, normalise_small

MODEL = ModelConfig(name="m", task="multiclass", labels=["yes", "no", "maybe"],
                    features=[{"name": "x", "type": "numeric"}, {"name": "c", "type": "categorical"}])

text = st.text(max_size=6)
weird_float = st.sampled_from([math.nan, math.inf, -math.inf, -0.5, 1.5, 1e300])
number = st.one_of(st.floats(0, 1), weird_float, st.integers(-3, 3), st.booleans(), st.none(),
                   st.sampled_from(["0.25", "abc", "inf", " 1 "]), text)
any_scalar = st.one_of(st.none(), text, st.integers(-5, 5), st.floats(allow_nan=True), st.booleans())
timestamp = st.one_of(
    st.none(),
    st.sampled_from(["2026-01-05T09:30:00Z", "2026-01-05T09:30:00+05:00", "2026-01-05 09:30:00", "2026-01-05", "not a time"]),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1),
                 timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3))])),
    st.integers(0, 10),
)
probabilities = st.one_of(
    st.none(),
    st.fixed_dictionaries({"yes": st.floats(0, 1), "no": st.floats(0, 1)}),
    st.just({"yes": 0.2, "no": 0.3, "maybe": 0.5}),
    st.just({"yes": 0.2, "other": 0.8}),
    st.just({"yes": True}),
    st.sampled_from(['{"yes": 0.5}', "not json", "[1, 2]"]),
    st.lists(st.floats(0, 1), max_size=2),
    st.floats(0, 1),
)
attributes = st.one_of(st.none(), st.dictionaries(st.sampled_from(["tier", "region"]), any_scalar, max_size=2),
                       st.sampled_from(['{"tier": "gold"}', "not json", "[1]", "7"]), st.integers(0, 3),
                       st.lists(st.integers(), max_size=2), st.just({"when": datetime(2026, 1, 1)}))
features = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional={"x": number, "c": st.one_of(text, st.integers(-2, 2), st.floats(), st.none(), st.booleans()),
                                        "z": any_scalar}),
)
odd_features = st.sampled_from([{"prediction": "yes"}, 5])  # given twice (with a prediction field); not a mapping
ids = st.one_of(st.sampled_from(["a", "b", "c"]), text, st.sampled_from(["", "  ", "\t"]), st.none(), st.integers(0, 3),
                st.floats(0, 2))


@st.composite
def record(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, st.SearchStrategy[Any]] = {
        "prediction_id": ids, "prediction": st.one_of(st.sampled_from(MODEL.labels), text, st.none(), st.integers(0, 1)),
        "confidence": number, "latency_ms": number, "timestamp": timestamp, "probabilities": probabilities,
        "attributes": attributes, "error": st.one_of(st.none(), text), "model_version": st.one_of(st.none(), text, st.integers(0, 9)),
        "user_id": st.one_of(st.none(), text, st.floats(0, 1)), "features": features, "colour": any_scalar,
    }
    if draw(st.integers(0, 29)) == 0:
        fields["features"] = odd_features
    rare = {"colour", "error", "model_version", "user_id", "attributes", "probabilities"}
    out = {}
    for name, strategy in fields.items():
        if draw(st.integers(0, 9)) < (2 if name in rare else 8):
            out[name] = draw(strategy)
    return out


good_record = st.fixed_dictionaries(
    {"prediction_id": st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=8),
     "prediction": st.sampled_from(MODEL.labels), "confidence": st.floats(0, 1),
     "features": st.fixed_dictionaries({"x": st.one_of(st.floats(-1e6, 1e6), st.none()), "c": st.one_of(text, st.none())})},
    optional={"latency_ms": st.floats(0, 1e4), "timestamp": timestamp.filter(lambda t: t is None or not isinstance(t, (int, str))),
              "user_id": text, "model_version": text, "attributes": st.dictionaries(st.sampled_from(["tier"]), text, max_size=1),
              "probabilities": st.just({"yes": 0.25, "no": 0.25, "maybe": 0.5})},
)


def _rows(records: list[dict[str, Any]], copies: list[int]) -> list[dict[str, Any]]:
    return records + [dict(records[i % len(records)]) for i in copies]


def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        table = fn()
    except BatchRejected as exc:
        return "rejected", (exc.rows, exc.total)
    except StewardError as exc:
        return type(exc).__name__, exc.rows if hasattr(exc, "rows") else str(exc)
    except (TypeError, ValueError) as exc:
        return type(exc).__name__, str(exc)
    assert table is not None
    return "table", table


def _comparable(table: pa.Table, generated_ids: bool) -> tuple[Any, ...]:
    """Everything but the validation time: rows stamped with ``ts_default`` are marked, not timed."""
    meta = dict(table.schema.metadata)
    default = datetime.fromisoformat(meta.pop(b"ts_default").decode())
    data = table.to_pydict()
    data["ts"] = ["default" if t == default else t for t in data["ts"]]
    if generated_ids:
        assert all(uuid.UUID(i).version == 4 for i in data.pop("prediction_id"))
    return table.schema.remove_metadata(), meta, data


def _same(rows: list[dict[str, Any]]) -> str:
    small = _outcome(lambda: normalise_small(rows, MODEL))
    if small == ("table", None):
        return "arrow"
    arrow = _outcome(lambda: normalise_predictions(iter(rows), MODEL))
    assert small[0] == arrow[0], (small, arrow)
    if small[0] == "table":
        generated = not any("prediction_id" in r for r in rows)
        assert _comparable(small[1], generated) == _comparable(arrow[1], generated)
    elif small[0] == "rejected" and not any("prediction_id" in r for r in rows):  # generated ids differ run to run
        assert [(r.index, r.field, r.problem) for r in small[1][0]] == [(r.index, r.field, r.problem) for r in arrow[1][0]]
        assert small[1][1] == arrow[1][1]
    else:
        assert small[1] == arrow[1]
    return small[0]


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(record(), min_size=1, max_size=6), st.lists(st.integers(0, 5), max_size=2))
def test_fast_path_matches_arrow_path_on_random_records(records: list[dict[str, Any]], copies: list[int]) -> None:
    _same(_rows(records, copies))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(good_record, min_size=1, max_size=8), st.lists(st.integers(0, 7), max_size=3))
def test_fast_path_matches_arrow_path_on_good_records(records: list[dict[str, Any]], copies: list[int]) -> None:
    outcome = _same(_rows(records, copies))
    assert outcome in ("table", "rejected")  # rejected only when a copied id meets other content


def test_good_records_are_accepted_by_both_paths() -> None:
    rows = [{"prediction_id": f"p{i}", "prediction": "no", "confidence": 0.5, "latency_ms": 3.0,
             "timestamp": "2026-01-05T09:30:00+01:00", "features": {"x": float(i), "c": "web"}} for i in range(5)]
    assert _same(rows) == "table"
    table = normalise_predictions(rows, MODEL)
    assert table.column("ts").to_pylist()[0] == datetime(2026, 1, 5, 8, 30)  # converted to UTC by hand
    assert table.column("f_x").to_pylist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_errors_are_listed_stage_by_stage_as_in_the_arrow_path() -> None:
    rows = [{"prediction_id": "a", "prediction": "nope", "confidence": 2.0, "features": {"x": math.inf}},
            {"prediction_id": " ", "prediction": "yes", "confidence": True, "features": {"c": 1.5}}]
    assert _same(rows) == "rejected"
    with pytest.raises(BatchRejected) as exc:
        normalise_predictions(rows, MODEL)
    got = [(r.index, r.record_id, r.field) for r in exc.value.rows]
    # by row; within a row, values of the wrong type first (column order), then missing ids,
    # then prediction, confidence, features
    assert got == [(0, "a", "prediction"), (0, "a", "confidence"), (0, "a", "x"),
                   (1, None, "confidence"), (1, None, "c"), (1, None, "prediction_id")]


def test_inputs_the_row_path_does_not_read_go_to_the_arrow_path() -> None:
    assert normalise_small([{1: "x"}], MODEL) is None  # a key that is not text
    assert normalise_small([{"prediction_id": "\u2003", "prediction": "yes", "confidence": 0.5}], MODEL) is None
    many = [{"prediction_id": f"p{i}", "prediction": "yes", "confidence": 0.5} for i in range(SMALL_ROWS + 1)]
    assert normalise_predictions(many, MODEL).num_rows == SMALL_ROWS + 1
