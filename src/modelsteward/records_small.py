"""Row-wise validation of a few predictions (the request path): the same rules as the Arrow path, without its fixed cost.

:func:`modelsteward.records.normalise_predictions` checks a batch column by column with Arrow
compute, which costs about a millisecond however few the rows. A model server logs one
prediction at a time, so a list of fewer than :data:`SMALL_ROWS` dicts is checked here value by
value in plain Python. The output table and the errors (record index, id, field, problem, and
their order) are the same as the Arrow path's: the checks run in the same order, stage by
stage over the rows, and share the per-value helpers of :mod:`modelsteward.records`. Inputs
outside what this path reads exactly (keys that are not text, text that is not valid UTF-8, an id
of non-ASCII blanks) are left to the Arrow path (:func:`normalise_small` returns None).

>>> from modelsteward.config import ModelConfig
>>> m = ModelConfig(name="m", task="binary", labels=["yes", "no"], features=[{"name": "x", "type": "numeric"}])
>>> t = normalise_small([{"prediction_id": "a", "prediction": "yes", "confidence": 0.9, "features": {"x": 1.5}}], m)
>>> t.column("f_x").to_pylist(), t.schema.metadata[b"rows_in"]
([1.5], b'1')
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from modelsteward.config import ModelConfig
from modelsteward.errors import BatchRejected, RowError, ValidationError
from modelsteward.records import (
    PREDICTION_FIELDS,
    _attribute_values,
    _Batch,
    _collapse_duplicates,
    _number_values,
    _parse_timestamps,
    _probability_values,
    _python_column,
    _text,
    _text_values,
    _timestamps,
    feature_column,
    prediction_schema,
)

__all__ = ["SMALL_ROWS", "normalise_small"]

SMALL_ROWS = 64
_ASCII_BLANK = " \t\n\v\f\r"
_PLAIN = (type(None), str, int, float, bool, datetime)
_TEXT_FIELDS = ("prediction_id", "prediction", "model_version", "error", "user_id")
_NUMBER_FIELDS = ("confidence", "latency_ms")


def _utf8(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _free_values(values: list[Any]) -> list[Any]:
    """What the Arrow path reads back from a column with no fixed type (``_python_column(...).to_pylist()``)."""
    if all(v is None or type(v) is str for v in values):
        return values
    return _python_column(values).to_pylist()


def _flatten(rows: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[str]] | None:
    """Rows with ``features`` flattened, and the column names in order of first appearance."""
    flats: list[dict[str, Any]] = []
    names: dict[str, None] = {}
    for i, row in enumerate(rows):
        flat = dict(row)
        feats = flat.pop("features", None)
        if feats is not None:
            if not isinstance(feats, Mapping):
                raise ValidationError([RowError(i, _text(row.get("prediction_id")), "features",
                                                "expected a mapping of feature name to value")])
            for k, v in feats.items():
                if k in flat:
                    raise ValidationError([RowError(i, _text(row.get("prediction_id")), k, "given both as a field and inside `features`")])
                flat[k] = v
        for k, v in flat.items():
            if type(k) is not str or not _utf8(k) or (type(v) is str and not _utf8(v)):
                return None
            names[k] = None
        flats.append(flat)
    return flats, list(names)


def normalise_small(rows: Sequence[Mapping[str, Any]], model: ModelConfig) -> pa.Table | None:
    """Validate a few predictions row by row; None when the input is for the Arrow path."""
    n = len(rows)
    flattened = _flatten(rows)
    if flattened is None:
        return None
    flats, names = flattened
    kinds = {k: "text" for k in _TEXT_FIELDS} | {k: "number" for k in _NUMBER_FIELDS}
    kinds.update({f.name: "number" if f.type == "numeric" else "text" for f in model.features})
    columns: dict[str, list[Any]] = {}
    converted: list[tuple[int, str, str]] = []
    for k in names:
        values = [flat.get(k) for flat in flats]
        kind = kinds.get(k)
        if kind == "number":
            columns[k] = _number_values(values, k, converted)
        elif kind == "text":
            columns[k] = _text_values(values, k, converted)
        else:
            columns[k] = values
    # ids: blank ones are missing, as ``utf8_trim_whitespace`` sees them
    if "prediction_id" in columns:
        ids: list[str | None] = []
        for v in columns["prediction_id"]:
            if v is not None and not v.strip(_ASCII_BLANK):
                v = None
            elif v is not None and not v.isascii() and not v.strip():
                return None  # only non-ASCII blanks: left to Arrow's reading of Unicode whitespace
            ids.append(v)
    else:
        ids = [str(uuid.uuid4()) for _ in range(n)]
    now = datetime.now(UTC).replace(tzinfo=None)
    batch = _Batch(n, ids, [])  # a list is indexed like the array
    for i, fname, problem in converted:
        batch.report(i, fname, problem)
    for i, pid in enumerate(ids):
        if pid is None:
            batch.report(i, "prediction_id", "missing; give every row an id (or leave out the column to have ids generated)")
    feature_names = {f.name for f in model.features}
    unknown = [c for c in names if c not in PREDICTION_FIELDS and c not in feature_names]
    if unknown:
        unknown_problem = (
            f"unknown field: not a prediction field ({', '.join(PREDICTION_FIELDS)}) nor a feature of {model.name!r} "
            f"({', '.join(sorted(feature_names)) or 'none'}); pass attribute_columns= for extra attributes"
        )
        for c in unknown:
            values = columns[c]
            if any(type(v) not in _PLAIN and not isinstance(v, (Mapping, list, tuple)) for v in values):
                _python_column(values)  # what the Arrow path would refuse, it refuses here too
            given = [i for i, v in enumerate(values) if v is not None]
            for i in given:
                batch.report(i, c, unknown_problem)
            if not given:
                batch.report(None, c, unknown_problem)

    none: list[Any] = [None] * n
    error = columns.get("error", none)
    pred = columns.get("prediction", none)
    for i in range(n):
        if pred[i] is None and error[i] is None:
            batch.report(i, "prediction", "missing (only a row with an `error` may leave it out)")
    labels = model.labels
    for i in range(n):
        if pred[i] is not None and pred[i] not in labels:
            batch.report(i, "prediction", f"expected one of {labels}, got {pred[i]!r}")

    conf = columns.get("confidence", none)
    for i in range(n):
        if conf[i] is None and error[i] is None:
            batch.report(i, "confidence", "missing (only a row with an `error` may leave it out)")
    for i in range(n):
        if conf[i] is not None and not math.isfinite(conf[i]):
            batch.report(i, "confidence", "expected a finite number in [0, 1]")
    for i in range(n):
        c = conf[i]
        if c is not None and math.isfinite(c) and (c < 0 or c > 1):
            batch.report(i, "confidence", f"expected a number in [0, 1], got {c:g}")
    lat = columns.get("latency_ms", none)
    for i in range(n):
        if lat[i] is not None and not math.isfinite(lat[i]):
            batch.report(i, "latency_ms", "expected a finite number of milliseconds")
    for i in range(n):
        if lat[i] is not None and math.isfinite(lat[i]) and lat[i] < 0:
            batch.report(i, "latency_ms", f"expected a latency >= 0 ms, got {lat[i]:g}")

    ts = _small_timestamps(columns.get("timestamp"), n, batch, now)
    probs = _probability_values(_free_values(columns["probabilities"]), model, batch) if "probabilities" in columns else none
    attrs = _attribute_values(_free_values(columns["attributes"]), {}, batch) if "attributes" in columns else none
    out: dict[str, list[Any]] = {
        "prediction_id": ids, "ts": ts, "model_version": columns.get("model_version", none), "prediction": pred,
        "confidence": [None if v is None or math.isnan(v) else v for v in conf], "probabilities": probs,
        "latency_ms": [None if v is None or math.isnan(v) else v for v in lat], "error": error,
        "user_id": columns.get("user_id", none), "attributes": attrs,
    }
    for f in model.features:
        values = columns.get(f.name, none)
        if f.type == "numeric":
            for i, v in enumerate(values):
                if v is not None and math.isinf(v):
                    batch.report(i, f.name, "infinite value (a missing value may be null or NaN)")
            values = [v if v is not None and math.isfinite(v) else None for v in values]
        out[feature_column(f.name)] = values
    if batch.errors:
        raise BatchRejected(batch.errors, total=n)
    meta = {b"ts_given": b"1" if "timestamp" in columns else b"0", b"ts_default": now.isoformat().encode(), b"rows_in": str(n).encode()}
    schema = prediction_schema(model).with_metadata(meta)
    result = pa.Table.from_arrays([pa.array(out[f.name], type=f.type) for f in schema], schema=schema)
    return _collapse_duplicates(result, batch)


def _small_timestamps(values: list[Any] | None, n: int, batch: _Batch, now: datetime) -> list[datetime]:
    """Naive UTC timestamps, ``now`` where missing; read as the Arrow path reads the column."""
    if values is None:
        return [now] * n
    if all(v is None or type(v) is str for v in values):
        parsed = _parse_timestamps(values, batch, "timestamp")
    elif all(v is None or (type(v) is datetime and v.tzinfo is None) for v in values):
        parsed = values
    else:  # aware or mixed datetimes, numbers, mappings: exactly as the Arrow path converts them
        return _timestamps(pa.chunked_array([_python_column(values)]), n, batch, "timestamp", now).to_pylist()
    return [now if v is None else v for v in parsed]
