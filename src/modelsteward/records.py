"""Validation and normalisation of logged records, before anything touches the store.

Predictions arrive one at a time (a dict), or in batches (a list of dicts, a pandas
DataFrame or a pyarrow Table). Every batch is turned into one Arrow table with the store's
column layout and checked column by column with vectorised operations, so a million rows
validate in well under a second. Every problem is reported with its record index, its id and
its field; a batch with any problem is rejected whole (:class:`~modelsteward.errors.BatchRejected`).

Rules, in brief:

- ``prediction_id``: text; generated (UUID4) when the input has no id column. A batch that
  repeats an id with identical content keeps one copy; with different content it is rejected.
- ``prediction`` must be one of the model's labels and ``confidence`` a number in [0, 1];
  both may be missing only on a row that records an ``error`` (the model failed to answer).
- ``latency_ms`` is finite and not negative; ``timestamp`` defaults to now (UTC); a timezone-
  aware timestamp is converted to UTC.
- A missing feature value (absent key or column, null, NaN) is not an error: it is stored as
  NULL and counted in the window's missing-value rate. Infinite numeric values are errors.
- Unknown fields are errors: they are almost always a misspelt feature or a mapping mistake.
  Each row that carries a value for one is reported.
- Types are checked value by value, never coerced: a boolean is not a number, and a fractional
  number is not text, even where the rest of the column is right (``[0.9, True]`` is an error
  on the second row, not a confidence of 1.0). Numeric text (``"0.9"``) is read as a number.
- Each problem is reported once per row and field; copies of a row collapsed in a batch are
  counted as duplicates by the store (schema metadata ``rows_in``).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelsteward.config import ModelConfig
from modelsteward.errors import BatchRejected, RowError, ValidationError

__all__ = [
    "FEEDBACK_KINDS",
    "IMPLICIT_ACTIONS",
    "PREDICTION_FIELDS",
    "feature_column",
    "normalise_feedback",
    "normalise_predictions",
    "prediction_schema",
]

PREDICTION_FIELDS = (
    "prediction_id", "timestamp", "model_version", "prediction", "confidence", "probabilities",
    "latency_ms", "error", "user_id", "attributes",
)
FEEDBACK_KINDS = ("explicit", "implicit", "outcome", "expert")
IMPLICIT_ACTIONS = ("accepted", "modified", "rejected")
FEEDBACK_FIELDS = (
    "feedback_id", "prediction_id", "kind", "timestamp", "label", "rating", "action", "escalated",
    "csat", "resolution_hours", "reviewer", "comment",
)
MAX_REPORTED_ROWS = 10_000
_SMALL_ROWS = 64  # fewer dicts than this are validated row by row (modelsteward.records_small)


def feature_column(name: str) -> str:
    """Column of a feature in the store (prefixed, so a feature never collides with a fixed column)."""
    return f"f_{name}"


def prediction_schema(model: ModelConfig) -> pa.Schema:
    """Arrow schema of a model's prediction rows, in the store's column order."""
    fields = [
        pa.field("prediction_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us"), nullable=False),
        pa.field("model_version", pa.string()),
        pa.field("prediction", pa.string()),
        pa.field("confidence", pa.float64()),
        pa.field("probabilities", pa.string()),
        pa.field("latency_ms", pa.float64()),
        pa.field("error", pa.string()),
        pa.field("user_id", pa.string()),
        pa.field("attributes", pa.string()),
    ]
    for f in model.features:
        fields.append(pa.field(feature_column(f.name), pa.float64() if f.type == "numeric" else pa.string()))
    return pa.schema(fields)


@dataclass
class _Batch:
    n: int
    ids: np.ndarray | pa.Array  # the record ids, read only for the rows reported
    errors: list[RowError]
    seen: set[tuple[int | None, str | None]] = dataclass_field(default_factory=set)

    def report(self, i: int | None, field: str | None, problem: str) -> None:
        """Record one problem; a row's field is reported once (its first problem is the one that counts)."""
        if i is not None and (i, field) in self.seen:
            return
        self.seen.add((i, field))
        rid = None if i is None else self.ids[i]
        if isinstance(rid, pa.Scalar):
            rid = rid.as_py()
        self.errors.append(RowError(i, _text(rid), field, problem))

    def add(self, mask: np.ndarray, field: str, problem: str | Sequence[str] | Callable[[int], str]) -> None:
        """Report each row of ``mask``; ``problem`` is a text, a text per row, or made for the row (only when it is needed)."""
        for i in np.flatnonzero(mask)[:MAX_REPORTED_ROWS]:
            i = int(i)
            self.report(i, field, problem if isinstance(problem, str) else problem(i) if callable(problem) else problem[i])


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


# What a field expects, for values that arrive as Python objects (a list of dicts): each value is
# checked on its own, so a column that mixes types (0.9, True, "high") cannot be coerced silently.
_KindOf = Callable[[str], str | None]


def _to_table(data: Any, kind_of: _KindOf | None = None) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """The input as an Arrow table, and the ``(index, field, problem)`` found converting dicts."""
    if isinstance(data, pa.Table):
        return data, []
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data]), []
    if hasattr(data, "to_arrow") and not isinstance(data, (list, tuple)):  # polars, duckdb relations
        return data.to_arrow(), []
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        kind_of = kind_of or (lambda name: None)
        # An object column of a typed field may mix types (0.9 next to True), which Arrow would coerce.
        mixed = any(pd.api.types.is_object_dtype(dtype) and kind_of(str(name)) for name, dtype in data.dtypes.items())
        if not mixed:
            try:
                return pa.Table.from_pandas(data, preserve_index=False), []
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
        return _frame_to_table(data, kind_of, pd)
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, Mapping)):
        rows = list(data)
        if not all(isinstance(r, Mapping) for r in rows):
            raise ValidationError([RowError(None, None, None, "expected a table or a list of dicts")])
        return _rows_to_table(rows, kind_of or (lambda name: None))
    raise ValidationError([RowError(None, None, None, f"expected a table or a list of dicts, got {type(data).__name__}")])


def _frame_to_table(frame: Any, kind_of: _KindOf, pd: Any) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """A DataFrame whose object columns mix types: those columns are read value by value."""
    names, arrays = [], []
    problems: list[tuple[int, str, str]] = []
    for pos, name in enumerate(frame.columns):
        series = frame.iloc[:, pos]
        names.append(str(name))
        if not (pd.api.types.is_object_dtype(series.dtype) and kind_of(str(name))):
            try:
                arrays.append(pa.array(series, from_pandas=True))
                continue
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                pass
        values = [None if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v)) else v
                  for v in series.tolist()]
        kind = kind_of(str(name))
        if kind == "number":
            arrays.append(_python_numbers(values, str(name), problems))
        elif kind == "text":
            arrays.append(_python_texts(values, str(name), problems))
        else:
            arrays.append(_python_column(values))
    return pa.table(arrays, names=names), problems


def _rows_to_table(rows: list[Mapping[str, Any]], kind_of: _KindOf) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """Columns from dicts; nested ``features`` dicts are flattened into feature columns."""
    columns: dict[str, list[Any]] = {}
    for i, row in enumerate(rows):
        flat = dict(row)
        feats = flat.pop("features", None)
        if feats is not None:
            if not isinstance(feats, Mapping):
                raise ValidationError([RowError(i, _text(row.get("prediction_id")), "features", "expected a mapping of feature name to value")])
            for k, v in feats.items():
                if k in flat:
                    raise ValidationError([RowError(i, _text(row.get("prediction_id")), k, "given both as a field and inside `features`")])
                flat[k] = v
        for k in flat:
            if k not in columns:
                columns[k] = [None] * i
        for k, col in columns.items():
            col.append(flat.get(k))
    problems: list[tuple[int, str, str]] = []
    arrays = {}
    for k, values in columns.items():
        kind = kind_of(k)
        if kind == "number":
            arrays[k] = _python_numbers(values, k, problems)
        elif kind == "text":
            arrays[k] = _python_texts(values, k, problems)
        else:
            arrays[k] = _python_column(values)
    return pa.table(arrays), problems


def _type_name(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "a boolean"
    if isinstance(v, numbers.Number):
        return "a number"
    return type(v).__name__


def _python_numbers(values: list[Any], field: str, problems: list[tuple[int, str, str]]) -> pa.Array:
    return pa.array(_number_values(values, field, problems), type=pa.float64())


def _number_values(values: list[Any], field: str, problems: list[tuple[int, str, str]]) -> list[float | None]:
    out: list[float | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        try:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, str)):
                raise TypeError
            out.append(float(v))
        except (TypeError, ValueError, OverflowError):
            what = "a boolean" if isinstance(v, (bool, np.bool_)) else repr(v) if isinstance(v, str) else _type_name(v)
            problems.append((i, field, f"expected a number, got {what}"[:200]))
            out.append(None)
    return out


def _python_texts(values: list[Any], field: str, problems: list[tuple[int, str, str]]) -> pa.Array:
    return pa.array(_text_values(values, field, problems), type=pa.string())


def _text_values(values: list[Any], field: str, problems: list[tuple[int, str, str]]) -> list[str | None]:
    """Text as given; whole numbers and booleans are read as text the way Arrow casts them."""
    out: list[str | None] = []
    for i, v in enumerate(values):
        if v is None or isinstance(v, str):
            out.append(v)
        elif isinstance(v, (bool, np.bool_)):
            out.append("true" if v else "false")
        elif isinstance(v, numbers.Integral):
            out.append(str(int(v)))
        else:
            problems.append((i, field, f"expected text, got {_type_name(v)}"))
            out.append(None)
    return out


def _python_column(values: list[Any]) -> pa.Array:
    """A column of a field with no fixed type (probabilities, attributes, timestamps, unknown fields)."""
    if any(isinstance(v, (Mapping, list, tuple)) for v in values):
        return pa.array(
            [None if v is None else v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str) for v in values],
            type=pa.string(),
        )
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def _as_float(col: pa.ChunkedArray, batch: _Batch, field: str) -> np.ndarray:
    """Float64 values with NaN for nulls; values that are not numbers are reported."""
    return _float_column(col, batch, field)[0]


def _float_column(col: pa.ChunkedArray, batch: _Batch, field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(values, null, nan_given)``: float64 values (NaN where null or not a number), where the
    value was null (absent), and where a NaN was given as the value. Values that are not numbers
    are reported, and are neither null nor NaN-given (so they are not reported twice)."""
    null = col.is_null().to_numpy(zero_copy_only=False)
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type) or pa.types.is_null(col.type):
        out = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        return out, null, np.isnan(out) & ~null
    if pa.types.is_boolean(col.type):
        batch.add(~null, field, "expected a number, got a boolean")
        return np.full(len(col), np.nan), null, np.zeros(len(col), bool)
    out = np.full(len(col), np.nan)
    values = col.to_pylist()
    bad = np.zeros(len(col), bool)
    problems = [""] * len(col)
    for i, v in enumerate(values):
        if v is None:
            continue
        if isinstance(v, bool):
            bad[i], problems[i] = True, "expected a number, got a boolean"
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError, OverflowError):
            bad[i], problems[i] = True, f"expected a number, got {v!r}"[:200]
    batch.add(bad, field, problems)
    return out, null, np.isnan(out) & ~null & ~bad


def _as_text(col: pa.ChunkedArray, batch: _Batch, field: str) -> pa.Array:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type) or pa.types.is_null(col.type):
        return col.cast(pa.string()).combine_chunks()
    if pa.types.is_integer(col.type) or pa.types.is_boolean(col.type) or pa.types.is_dictionary(col.type):
        return col.cast(pa.string()).combine_chunks()
    if pa.types.is_floating(col.type):
        batch.add(~col.is_null().to_numpy(zero_copy_only=False), field, "expected text, got a number")
        return pa.nulls(len(col), pa.string())
    batch.add(~col.is_null().to_numpy(zero_copy_only=False), field, f"expected text, got {col.type}")
    return pa.nulls(len(col), pa.string())


def _timestamps(col: pa.ChunkedArray | None, n: int, batch: _Batch, field: str, now: datetime) -> pa.Array:
    """Timestamps as naive UTC; a missing one becomes ``now``."""
    if col is None:
        return pa.repeat(pa.scalar(now, pa.timestamp("us")), n)
    if pa.types.is_timestamp(col.type):
        arr = col.combine_chunks()
        if arr.type.tz is not None:
            arr = pc.cast(arr, pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))
        else:
            arr = arr.cast(pa.timestamp("us"))
    elif pa.types.is_date(col.type):
        arr = col.combine_chunks().cast(pa.timestamp("us"))
    else:
        arr = _plain_iso(col)
        if arr is None:
            arr = pa.array(_parse_timestamps(col.to_pylist(), batch, field), type=pa.timestamp("us"))
    return pc.fill_null(arr, pa.scalar(now, pa.timestamp("us")))


_PLAIN_ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$"


def _plain_iso(col: pa.ChunkedArray) -> pa.Array | None:
    """Text all of the form 2026-03-02T10:00:00[.ffffff], read by Arrow as ``fromisoformat`` reads it; else None.

    Arrow refuses what ``fromisoformat`` refuses (30 February, hour 24), and then the values are
    read one by one, which reports each bad one.
    """
    if not pa.types.is_string(col.type):
        return None
    arr = col.combine_chunks()
    if not pc.all(pc.match_substring_regex(arr, _PLAIN_ISO)).as_py():
        return None
    try:
        return arr.cast(pa.timestamp("us"))
    except pa.ArrowInvalid:
        return None


def _parse_timestamps(values: list[Any], batch: _Batch, field: str) -> list[datetime | None]:
    """Values read one by one as naive UTC timestamps (None where missing or unreadable)."""
    parsed: list[datetime | None] = []
    bad = np.zeros(len(values), bool)
    for i, v in enumerate(values):
        if v is None:
            parsed.append(None)
            continue
        try:
            ts = v if isinstance(v, datetime) else datetime.fromisoformat(str(v).replace("Z", "+00:00"))
        except ValueError:
            bad[i] = True
            parsed.append(None)
            continue
        parsed.append(ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts)
    batch.add(bad, field, "expected an ISO 8601 timestamp such as 2026-01-05T09:30:00Z")
    return parsed


def normalise_predictions(
    data: Any,
    model: ModelConfig,
    *,
    columns: Mapping[str, str] | None = None,
    attribute_columns: Sequence[str] = (),
) -> pa.Table:
    """Validate a batch of predictions and return it in the store's layout.

    ``columns`` maps input column names to field or feature names (``{"ts": "timestamp"}``);
    ``attribute_columns`` are packed into the JSON ``attributes`` field (e.g. customer tier).
    Raises :class:`BatchRejected` listing every invalid row; duplicates of the same id with the
    same content are collapsed to one row.

    >>> from modelsteward.config import ModelConfig
    >>> m = ModelConfig(name="m", task="binary", labels=["yes", "no"],
    ...                 features=[{"name": "x", "type": "numeric"}])
    >>> t = normalise_predictions([{"prediction_id": "a", "prediction": "yes", "confidence": 0.9,
    ...                             "features": {"x": 1.5}}], m)
    >>> t.column("f_x").to_pylist(), t.column("prediction").to_pylist()
    ([1.5], ['yes'])
    """
    if isinstance(data, (list, tuple)) and 0 < len(data) < _SMALL_ROWS and not columns and not attribute_columns \
            and all(isinstance(r, Mapping) for r in data):
        from modelsteward.records_small import normalise_small  # the same checks, row by row: no Arrow fixed cost

        small = normalise_small(data, model)
        if small is not None:
            return small
    kinds = {"prediction_id": "text", "prediction": "text", "model_version": "text", "error": "text", "user_id": "text",
             "confidence": "number", "latency_ms": "number"}
    kinds.update({f.name: "number" if f.type == "numeric" else "text" for f in model.features})
    mapping = dict(columns or {})
    table, converted = _to_table(data, lambda name: kinds.get(mapping.get(name, name)))
    if columns:
        table = table.rename_columns([columns.get(c, c) for c in table.column_names])
    n = table.num_rows
    names = table.column_names
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise ValidationError([RowError(None, None, c, "column given twice (check the column mapping)") for c in dup])
    now = datetime.now(UTC).replace(tzinfo=None)
    feature_names = {f.name for f in model.features}
    attr_cols = set(attribute_columns)
    unknown = [c for c in names if c not in PREDICTION_FIELDS and c not in feature_names and c not in attr_cols]
    id_batch = _Batch(n, np.array([None] * n, dtype=object), [])
    if "prediction_id" in names:
        ids_arr = _as_text(table.column("prediction_id"), id_batch, "prediction_id")
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(ids_arr), ""), False)
        ids_arr = pc.if_else(blank, pa.scalar(None, pa.string()), ids_arr)
    else:
        ids_arr = pa.array([str(uuid.uuid4()) for _ in range(n)], type=pa.string())
    batch = _Batch(n, ids_arr, [])
    for i, fname, problem in converted:  # values of the wrong type, found reading dicts
        batch.report(i, mapping.get(fname, fname), problem)
    for e in id_batch.errors:
        batch.report(e.index, e.field, e.problem)
    batch.add(ids_arr.is_null().to_numpy(zero_copy_only=False), "prediction_id",
              "missing; give every row an id (or leave out the column to have ids generated)")
    unknown_problem = (
        f"unknown field: not a prediction field ({', '.join(PREDICTION_FIELDS)}) nor a feature of {model.name!r} "
        f"({', '.join(sorted(feature_names)) or 'none'}); pass attribute_columns= for extra attributes"
    )
    for c in unknown:
        given = table.column(c).is_valid().to_numpy(zero_copy_only=False)
        if given.any():
            batch.add(given, c, unknown_problem)
        else:
            batch.report(None, c, unknown_problem)

    def col(name: str) -> pa.ChunkedArray | None:
        return table.column(name) if name in names else None

    error_col = _as_text(col("error"), batch, "error") if col("error") is not None else pa.nulls(n, pa.string())
    has_error = error_col.is_valid().to_numpy(zero_copy_only=False)

    pred = _as_text(col("prediction"), batch, "prediction") if col("prediction") is not None else pa.nulls(n, pa.string())
    pred_null = pred.is_null().to_numpy(zero_copy_only=False)
    batch.add(pred_null & ~has_error, "prediction", "missing (only a row with an `error` may leave it out)")
    in_labels = pc.is_in(pred, value_set=pa.array(model.labels)).to_numpy(zero_copy_only=False)
    batch.add(~pred_null & ~in_labels, "prediction", lambda i: f"expected one of {model.labels}, got {pred[i].as_py()!r}")

    if col("confidence") is not None:
        conf, conf_null, conf_nan = _float_column(col("confidence"), batch, "confidence")
    else:
        conf, conf_null, conf_nan = np.full(n, np.nan), np.ones(n, bool), np.zeros(n, bool)
    batch.add(conf_null & ~has_error, "confidence", "missing (only a row with an `error` may leave it out)")
    with np.errstate(invalid="ignore"):
        batch.add(np.isinf(conf) | conf_nan, "confidence", "expected a finite number in [0, 1]")
        batch.add(np.isfinite(conf) & ((conf < 0) | (conf > 1)), "confidence", lambda i: f"expected a number in [0, 1], got {conf[i]:g}")

    if col("latency_ms") is not None:
        lat, _, lat_nan = _float_column(col("latency_ms"), batch, "latency_ms")
        with np.errstate(invalid="ignore"):
            batch.add(np.isinf(lat) | lat_nan, "latency_ms", "expected a finite number of milliseconds")
            batch.add(np.isfinite(lat) & (lat < 0), "latency_ms", lambda i: f"expected a latency >= 0 ms, got {lat[i]:g}")
    else:
        lat = np.full(n, np.nan)

    out: dict[str, pa.Array] = {
        "prediction_id": ids_arr,
        "ts": _timestamps(col("timestamp"), n, batch, "timestamp", now),
        "model_version": _as_text(col("model_version"), batch, "model_version") if col("model_version") is not None else pa.nulls(n, pa.string()),
        "prediction": pred,
        "confidence": pa.array(conf, mask=np.isnan(conf), type=pa.float64()),
        "probabilities": _probabilities(col("probabilities"), model, batch),
        "latency_ms": pa.array(lat, mask=np.isnan(lat), type=pa.float64()),
        "error": error_col,
        "user_id": _as_text(col("user_id"), batch, "user_id") if col("user_id") is not None else pa.nulls(n, pa.string()),
        "attributes": _attributes(table, col("attributes"), attribute_columns, batch),
    }
    for f in model.features:
        c = col(f.name)
        if f.type == "numeric":
            v = _as_float(c, batch, f.name) if c is not None else np.full(n, np.nan)
            batch.add(np.isinf(v), f.name, "infinite value (a missing value may be null or NaN)")
            out[feature_column(f.name)] = pa.array(v, mask=~np.isfinite(v), type=pa.float64())
        else:
            out[feature_column(f.name)] = _as_text(c, batch, f.name) if c is not None else pa.nulls(n, pa.string())
    if batch.errors:
        raise BatchRejected(batch.errors, total=n)
    ts_given = b"1" if col("timestamp") is not None else b"0"
    # ``ts_default``: the time given to rows without a timestamp. The store does not hold it against
    # an id stored earlier (a retry without a timestamp is the same prediction, sent later).
    # ``rows_in``: rows received, so copies collapsed here still count as duplicates in the store's answer.
    meta = {b"ts_given": ts_given, b"ts_default": now.isoformat().encode(), b"rows_in": str(n).encode()}
    result = pa.table(out, schema=prediction_schema(model).with_metadata(meta))
    return _collapse_duplicates(result, batch)


def _probabilities(col: pa.ChunkedArray | None, model: ModelConfig, batch: _Batch) -> pa.Array:
    n = batch.n
    if col is None:
        return pa.nulls(n, pa.string())
    values = col.to_pylist()
    if pa.types.is_struct(col.type):  # a struct has every key of every row; a key a row lacked is None
        values = [None if v is None else {k: p for k, p in v.items() if p is not None} for v in values]
    return pa.array(_probability_values(values, model, batch), type=pa.string())


def _probability_values(values: list[Any], model: ModelConfig, batch: _Batch) -> list[str | None]:
    out: list[str | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                v = None
        if isinstance(v, list) and all(isinstance(p, (tuple, list, dict)) for p in v):  # arrow map -> list of pairs
            v = dict(p if not isinstance(p, dict) else (p["key"], p["value"]) for p in v)
        problem = _check_probabilities(v, model.labels)
        if problem:
            batch.report(i, "probabilities", problem)
            out.append(None)
        else:
            out.append(json.dumps({k: float(p) for k, p in sorted(v.items())}))
    return out


def _check_probabilities(v: Any, labels: list[str]) -> str | None:
    if not isinstance(v, Mapping):
        return "expected a mapping of label to probability"
    extra = [k for k in v if k not in labels]
    if extra:
        return f"labels {extra} are not in the label set {labels}"
    try:
        ps = [float(p) for p in v.values()]
    except (TypeError, ValueError):
        return "expected numbers"
    if any(isinstance(p, bool) for p in v.values()):
        return "expected numbers, got a boolean"
    if any(not math.isfinite(p) or p < 0 or p > 1 for p in ps):
        return "expected each probability in [0, 1]"
    if len(v) == len(labels) and abs(sum(ps) - 1) > 1e-3:
        return f"probabilities over all labels should sum to 1, got {sum(ps):.6g}"
    return None


def _attributes(table: pa.Table, col: pa.ChunkedArray | None, attribute_columns: Sequence[str], batch: _Batch) -> pa.Array:
    n = batch.n
    if col is None and not attribute_columns:
        return pa.nulls(n, pa.string())
    base = col.to_pylist() if col is not None else [None] * n
    extra = {c: table.column(c).to_pylist() for c in attribute_columns if c in table.column_names}
    return pa.array(_attribute_values(base, extra, batch), type=pa.string())


def _attribute_values(base: list[Any], extra: dict[str, list[Any]], batch: _Batch) -> list[str | None]:
    out: list[str | None] = []
    for i in range(len(base)):
        v = base[i]
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                v = None
                batch.report(i, "attributes", "expected a JSON object")
        if v is not None and not isinstance(v, Mapping):
            batch.report(i, "attributes", "expected a mapping")
            v = None
        merged = dict(v or {})
        for c, vals in extra.items():
            if vals[i] is not None:
                merged[c] = vals[i]
        try:
            out.append(json.dumps(merged, sort_keys=True, allow_nan=False) if merged else None)
        except (TypeError, ValueError) as exc:
            batch.report(i, "attributes", f"not storable as JSON: {exc}")
            out.append(None)
    return out


def _collapse_duplicates(table: pa.Table, batch: _Batch) -> pa.Table:
    """Keep one row per id when copies are identical; reject ids repeated with other content."""
    ids = table.column("prediction_id")
    if len(pc.unique(ids)) == table.num_rows:
        return table
    rows = table.to_pylist()
    first: dict[str, int] = {}
    keep: list[int] = []
    errors = []
    for i, row in enumerate(rows):
        pid = row["prediction_id"]
        if pid not in first:
            first[pid] = i
            keep.append(i)
            continue
        if rows[first[pid]] != row:
            errors.append(RowError(i, pid, "prediction_id", f"id repeats record {first[pid]} with different content"))
    if errors:
        raise BatchRejected(errors, total=table.num_rows)
    return table.take(pa.array(keep))


def normalise_feedback(data: Any, model: ModelConfig) -> pa.Table:
    """Validate feedback records (a dict, or a list/table of them) for one model.

    Each record needs ``prediction_id`` and ``kind`` (explicit, implicit, outcome, expert):
    ``explicit`` carries a corrected ``label`` and/or a ``rating``; ``implicit`` an ``action``
    (accepted, modified, rejected); ``outcome`` at least one of ``escalated``, ``csat``,
    ``resolution_hours`` or ``label``; ``expert`` a ``label``. A ``feedback_id`` is derived from
    the content when not given, so the same event sent twice is stored once.

    ``ts`` is left null where the record gave no ``timestamp``: the store stamps it with the
    time of the write, and a retry of the same event (at a later time) is still the same event.
    The schema's metadata ``rows_in`` is the number of records received.
    """
    errors: list[RowError] = []
    if isinstance(data, Mapping):
        rows: list[Mapping[str, Any]] = [data]
    elif isinstance(data, (list, tuple)) and all(isinstance(r, Mapping) for r in data):
        rows = list(data)  # read as given: a key a record does not have is not a key of every record
    else:
        table, _ = _to_table(data)
        extra = [c for c in table.column_names if c not in FEEDBACK_FIELDS]
        for c in extra:
            if table.column(c).null_count == table.num_rows:
                errors.append(RowError(None, None, c, f"unknown field; feedback fields are {', '.join(FEEDBACK_FIELDS)}"))
        rows = [{k: v for k, v in r.items() if k not in extra or v is not None} for r in table.to_pylist()]
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(rows):
        pid = raw.get("prediction_id")
        problems = _feedback_problems(raw, model)
        for field, problem in problems:
            errors.append(RowError(i, _text(pid), field, problem))
        if problems:
            continue
        rec = {k: raw.get(k) for k in FEEDBACK_FIELDS}
        rec["prediction_id"] = str(pid)
        ts = rec.pop("timestamp")
        if isinstance(ts, str):
            ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        if isinstance(ts, datetime) and ts.tzinfo:
            ts = ts.astimezone(UTC).replace(tzinfo=None)
        rec["ts"] = ts
        for k in ("rating", "csat", "resolution_hours"):
            value = rec[k]
            rec[k] = None if value is None else float(value)
        if rec["escalated"] is not None:
            rec["escalated"] = bool(rec["escalated"])
        if not rec["feedback_id"]:
            content = {k: v for k, v in rec.items() if k != "feedback_id"}
            content["model"] = model.name
            digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
            rec["feedback_id"] = "fb-" + digest[:32]
        fid = str(rec["feedback_id"])
        rec["feedback_id"] = fid
        if fid in seen:
            if out[seen[fid]] != rec:
                errors.append(RowError(i, _text(pid), "feedback_id", f"repeats record {seen[fid]} with different content"))
            continue
        seen[fid] = len(out)
        out.append(rec)
    if errors:
        raise BatchRejected(errors, total=len(rows))
    schema = pa.schema([
        ("feedback_id", pa.string()), ("prediction_id", pa.string()), ("kind", pa.string()),
        ("ts", pa.timestamp("us")), ("label", pa.string()), ("rating", pa.float64()),
        ("action", pa.string()), ("escalated", pa.bool_()), ("csat", pa.float64()),
        ("resolution_hours", pa.float64()), ("reviewer", pa.string()), ("comment", pa.string()),
    ], metadata={b"rows_in": str(len(rows)).encode()})
    return pa.Table.from_pylist(out, schema=schema)


def _feedback_problems(raw: Mapping[str, Any], model: ModelConfig) -> list[tuple[str | None, str]]:
    problems: list[tuple[str | None, str]] = []
    unknown = [k for k in raw if k not in FEEDBACK_FIELDS]
    problems += [(k, f"unknown field; feedback fields are {', '.join(FEEDBACK_FIELDS)}") for k in unknown]
    if not raw.get("prediction_id"):
        problems.append(("prediction_id", "missing"))
    kind = raw.get("kind")
    if kind not in FEEDBACK_KINDS:
        problems.append(("kind", f"expected one of {', '.join(FEEDBACK_KINDS)}, got {kind!r}"))
    label = raw.get("label")
    if label is not None and label not in model.labels:
        problems.append(("label", f"expected one of {model.labels}, got {label!r}"))
    for k, low, high in (("rating", None, None), ("csat", None, None), ("resolution_hours", 0.0, None)):
        v = raw.get(k)
        if v is None:
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            problems.append((k, f"expected a finite number, got {v!r}"))
        elif low is not None and v < low:
            problems.append((k, f"expected a number >= {low:g}, got {v!r}"))
    esc = raw.get("escalated")
    if esc is not None and not isinstance(esc, (bool, np.bool_)):
        problems.append(("escalated", f"expected true or false, got {esc!r}"))
    action = raw.get("action")
    if action is not None and action not in IMPLICIT_ACTIONS:
        problems.append(("action", f"expected one of {', '.join(IMPLICIT_ACTIONS)}, got {action!r}"))
    ts = raw.get("timestamp")
    if ts is not None and not isinstance(ts, datetime):
        try:
            datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        except ValueError:
            problems.append(("timestamp", "expected an ISO 8601 timestamp"))
    if kind == "implicit" and action is None:
        problems.append(("action", "implicit feedback needs an action: accepted, modified or rejected"))
    if kind == "explicit" and label is None and raw.get("rating") is None:
        problems.append(("label", "explicit feedback needs a corrected label or a rating"))
    if kind == "expert" and label is None:
        problems.append(("label", "expert review needs the label the expert gave"))
    if kind == "outcome" and all(raw.get(k) is None for k in ("escalated", "csat", "resolution_hours", "label")):
        problems.append((None, "outcome feedback needs escalated, csat, resolution_hours or label"))
    return problems
