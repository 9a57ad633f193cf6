"""The batch route's direct reading of plain rows gives what the pydantic model gives, or hands the row to it."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from modelsteward.server.api.ingest import PredictionIn, _plain_prediction_record, _prediction_record

scalar = st.one_of(st.none(), st.text(max_size=4), st.integers(-3, 3), st.floats(allow_nan=True), st.booleans())
value = st.one_of(scalar, st.dictionaries(st.text(max_size=3), scalar, max_size=3), st.lists(scalar, max_size=2))
row = st.dictionaries(
    st.sampled_from([*PredictionIn.model_fields, "colour"]),
    st.one_of(value, st.dictionaries(st.sampled_from(["yes", "no"]), st.floats(0, 1), max_size=2)),
    max_size=8,
)

text_or_none = st.one_of(st.none(), st.text(max_size=4))
typed_row = st.fixed_dictionaries({}, optional={
    "prediction_id": text_or_none, "prediction": text_or_none, "timestamp": text_or_none, "error": text_or_none,
    "confidence": st.one_of(st.none(), st.floats(allow_nan=True)), "latency_ms": st.one_of(st.none(), st.floats(0, 100)),
    "features": st.dictionaries(st.text(max_size=3), value, max_size=3),
    "probabilities": st.one_of(st.none(), st.dictionaries(st.text(max_size=3), st.one_of(st.floats(0, 1), st.integers(0, 1)), max_size=2)),
    "attributes": st.one_of(st.none(), st.dictionaries(st.text(max_size=3), scalar, max_size=2)),
})


def _same(a: Any, b: Any) -> bool:
    """Equal, where NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=500, deadline=None, derandomize=True)
@given(st.one_of(row, typed_row))
def test_plain_rows_read_as_the_model_reads_them(r: dict[str, Any]) -> None:
    plain = _plain_prediction_record(r)
    try:
        expected = _prediction_record(PredictionIn.model_validate(r))
    except ValidationError:
        assert plain is None  # refused rows go to the model, which reports them
        return
    assert plain is None or _same(plain, expected)


def test_a_typical_row_is_read_directly() -> None:
    r = {"prediction_id": "p1", "prediction": "yes", "confidence": 0.75, "features": {"x": 1, "c": None},
         "timestamp": "2026-03-02T10:00:00", "latency_ms": 25.0, "attributes": None}
    assert _plain_prediction_record(r) == {"prediction_id": "p1", "prediction": "yes", "confidence": 0.75,
                                           "features": {"x": 1, "c": None}, "latency_ms": 25.0,
                                           "timestamp": "2026-03-02T10:00:00"}
    assert _plain_prediction_record({**r, "confidence": 1}) is None  # an int: the model converts it
