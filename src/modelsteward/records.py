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
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
    ids: np.ndarray
    errors: list[RowError]

    def add(self, mask: np.ndarray, field: str, problem: str | Sequence[str]) -> None:
        for i in np.flatnonzero(mask)[:MAX_REPORTED_ROWS]:
            text = problem if isinstance(problem, str) else problem[i]
            self.errors.append(RowError(int(i), _text(self.ids[i]), field, text))


def _text(v: Any) -> str | None:
    return None if v is None else str(v)


def _to_table(data: Any) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if hasattr(data, "to_arrow") and not isinstance(data, (list, tuple)):  # polars, duckdb relations
        return data.to_arrow()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, Iterable):
        rows = list(data)
        if not all(isinstance(r, Mapping) for r in rows):
            raise ValidationError([RowError(None, None, None, "expected a table or a list of dicts")])
        return _rows_to_table(rows)
    raise ValidationError([RowError(None, None, None, f"expected a table or a list of dicts, got {type(data).__name__}")])


def _rows_to_table(rows: list[Mapping[str, Any]]) -> pa.Table:
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
    return pa.table({k: _python_column(v) for k, v in columns.items()})


def _python_column(values: list[Any]) -> pa.Array:
    if any(isinstance(v, (dict, list)) for v in values):
        return pa.array([None if v is None else json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for v in values], type=pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
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


def _timestamps(col: pa.ChunkedArray | None, n: int, batch: _Batch, field: str) -> pa.Array:
    now = datetime.now(UTC).replace(tzinfo=None)
    if col is None:
        return pa.array([now] * n, type=pa.timestamp("us"))
    if pa.types.is_timestamp(col.type):
        arr = col.combine_chunks()
        if arr.type.tz is not None:
            arr = pc.cast(arr, pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))
        else:
            arr = arr.cast(pa.timestamp("us"))
    elif pa.types.is_date(col.type):
        arr = col.combine_chunks().cast(pa.timestamp("us"))
    else:
        values = col.to_pylist()
        parsed: list[datetime | None] = []
        bad = np.zeros(n, bool)
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
        arr = pa.array(parsed, type=pa.timestamp("us"))
    return pc.fill_null(arr, pa.scalar(now, pa.timestamp("us")))


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
    table = _to_table(data)
    if columns:
        table = table.rename_columns([columns.get(c, c) for c in table.column_names])
    n = table.num_rows
    names = table.column_names
    if len(set(names)) != len(names):
        dup = sorted({c for c in names if names.count(c) > 1})
        raise ValidationError([RowError(None, None, c, "column given twice (check the column mapping)") for c in dup])
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
    ids = np.asarray(ids_arr.to_pylist(), dtype=object)
    batch = _Batch(n, ids, list(id_batch.errors))
    wrong_id_type = np.zeros(n, bool)
    wrong_id_type[[e.index for e in id_batch.errors if e.index is not None]] = True
    batch.add(ids_arr.is_null().to_numpy(zero_copy_only=False) & ~wrong_id_type, "prediction_id",
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
            batch.errors.append(RowError(None, None, c, unknown_problem))

    def col(name: str) -> pa.ChunkedArray | None:
        return table.column(name) if name in names else None

    error_col = _as_text(col("error"), batch, "error") if col("error") is not None else pa.nulls(n, pa.string())
    has_error = error_col.is_valid().to_numpy(zero_copy_only=False)

    pred = _as_text(col("prediction"), batch, "prediction") if col("prediction") is not None else pa.nulls(n, pa.string())
    pred_null = pred.is_null().to_numpy(zero_copy_only=False)
    batch.add(pred_null & ~has_error, "prediction", "missing (only a row with an `error` may leave it out)")
    in_labels = pc.is_in(pred, value_set=pa.array(model.labels)).to_numpy(zero_copy_only=False)
    batch.add(~pred_null & ~in_labels, "prediction", [f"expected one of {model.labels}, got {v!r}" for v in pred.to_pylist()])

    if col("confidence") is not None:
        conf, conf_null, conf_nan = _float_column(col("confidence"), batch, "confidence")
    else:
        conf, conf_null, conf_nan = np.full(n, np.nan), np.ones(n, bool), np.zeros(n, bool)
    batch.add(conf_null & ~has_error, "confidence", "missing (only a row with an `error` may leave it out)")
    with np.errstate(invalid="ignore"):
        batch.add(np.isinf(conf) | conf_nan, "confidence", "expected a finite number in [0, 1]")
        batch.add(np.isfinite(conf) & ((conf < 0) | (conf > 1)), "confidence", [f"expected a number in [0, 1], got {v:g}" for v in conf])

    if col("latency_ms") is not None:
        lat, _, lat_nan = _float_column(col("latency_ms"), batch, "latency_ms")
        with np.errstate(invalid="ignore"):
            batch.add(np.isinf(lat) | lat_nan, "latency_ms", "expected a finite number of milliseconds")
            batch.add(np.isfinite(lat) & (lat < 0), "latency_ms", [f"expected a latency >= 0 ms, got {v:g}" for v in lat])
    else:
        lat = np.full(n, np.nan)

    out: dict[str, pa.Array] = {
        "prediction_id": ids_arr,
        "ts": _timestamps(col("timestamp"), n, batch, "timestamp"),
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
    # ``rows_in``: rows received, so copies collapsed here still count as duplicates in the store's answer.
    meta = {b"ts_given": ts_given, b"rows_in": str(n).encode()}
    result = pa.table(out, schema=prediction_schema(model).with_metadata(meta))
    return _collapse_duplicates(result, batch)


def _probabilities(col: pa.ChunkedArray | None, model: ModelConfig, batch: _Batch) -> pa.Array:
    n = batch.n
    if col is None:
        return pa.nulls(n, pa.string())
    values = col.to_pylist()
    if pa.types.is_struct(col.type):  # a struct has every key of every row; a key a row lacked is None
        values = [None if v is None else {k: p for k, p in v.items() if p is not None} for v in values]
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
            batch.errors.append(RowError(i, _text(batch.ids[i]), "probabilities", problem))
            out.append(None)
        else:
            out.append(json.dumps({k: float(p) for k, p in sorted(v.items())}))
    return pa.array(out, type=pa.string())


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
    out: list[str | None] = []
    for i in range(n):
        v = base[i]
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError:
                v = None
                batch.errors.append(RowError(i, _text(batch.ids[i]), "attributes", "expected a JSON object"))
        if v is not None and not isinstance(v, Mapping):
            batch.errors.append(RowError(i, _text(batch.ids[i]), "attributes", "expected a mapping"))
            v = None
        merged = dict(v or {})
        for c, vals in extra.items():
            if vals[i] is not None:
                merged[c] = vals[i]
        try:
            out.append(json.dumps(merged, sort_keys=True, allow_nan=False) if merged else None)
        except (TypeError, ValueError) as exc:
            batch.errors.append(RowError(i, _text(batch.ids[i]), "attributes", f"not storable as JSON: {exc}"))
            out.append(None)
    return pa.array(out, type=pa.string())


def _collapse_duplicates(table: pa.Table, batch: _Batch) -> pa.Table:
    """Keep one row per id when copies are identical; reject ids repeated with other content."""
    ids = table.column("prediction_id")
    if pc.count_distinct(ids).as_py() == table.num_rows:
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
    rows = [data] if isinstance(data, Mapping) else _to_table(data).to_pylist()
    errors: list[RowError] = []
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
            rec[k] = None if rec[k] is None else float(rec[k])
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
