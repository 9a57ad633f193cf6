"""Batch bodies read straight into Arrow tables: JSON, NDJSON and Arrow IPC streams.

Validating a JSON batch with pydantic row by row and handing the library a list of dicts costs
several times what the library's own checks cost. Here a body is decoded with msgspec into typed
rows (the shape of :class:`~modelsteward.server.api.ingest.PredictionIn`, checked in C) and
turned into columns, which the library validates column by column. The result is the same
table the list-of-dicts path makes; whenever the input holds something that path would read
differently (a number given as text, a feature named like a field, a value msgspec refuses),
these functions return None and the caller takes the reference path, which reports every
rejected row exactly as before.

Media types of ``POST /api/v1/models/{model}/predictions:batch``:

- ``application/json``: ``{"records": [PredictionIn, ...]}``;
- ``application/x-ndjson``: one PredictionIn object a line (blank lines are skipped; a
  record's index is its position among the non-blank lines);
- ``application/vnd.apache.arrow.stream``: an Arrow IPC stream whose columns are the prediction
  fields and one column per feature, named by the feature (a struct column ``features`` is
  also read); values are checked as ``Monitor.log_predictions`` checks a table.

>>> from modelsteward.config import ModelConfig
>>> m = ModelConfig(name="m", task="binary", labels=["yes", "no"], features=[{"name": "x", "type": "numeric"}])
>>> t = json_batch_table(b'{"records": [{"prediction_id": "a", "prediction": "yes", "confidence": 0.9, "features": {"x": 2}}]}', m)
>>> t.column_names, t.column("x").to_pylist()
(['prediction_id', 'prediction', 'confidence', 'x'], [2.0])
>>> json_batch_table(b'{"records": [{"confidence": "0.9"}]}', m) is None  # text for a number: the reference path reads it
True
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pyarrow as pa

from modelsteward.config import ModelConfig
from modelsteward.errors import RowError, ValidationError
from modelsteward.records import PREDICTION_FIELDS, _python_column

__all__ = ["ARROW", "MEDIA_TYPES", "NDJSON", "PredictionRow", "arrow_table", "json_batch_table", "media_type", "ndjson_table",
           "rows_table"]

JSON = "application/json"
NDJSON = "application/x-ndjson"
ARROW = "application/vnd.apache.arrow.stream"
MEDIA_TYPES = (JSON, NDJSON, ARROW)


class PredictionRow(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """:class:`~modelsteward.server.api.ingest.PredictionIn` for msgspec (same fields, same order, same types)."""

    prediction_id: str | None = None
    prediction: str | None = None
    confidence: float | None = None
    features: dict[str, Any] = {}
    probabilities: dict[str, float] | None = None
    latency_ms: float | None = None
    model_version: str | None = None
    timestamp: str | None = None
    user_id: str | None = None
    attributes: dict[str, Any] | None = None
    error: str | None = None


class _Batch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    records: list[PredictionRow]


_ROW = msgspec.json.Decoder(PredictionRow)
_BATCH = msgspec.json.Decoder(_Batch)
# (H4) msgspec raises these too, for a body not in UTF-8 or nested past the recursion limit: the reference path answers 422
_UNDECODABLE = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)
_TEXT = ("prediction_id", "prediction", "model_version", "user_id", "error")
_FLOAT = ("confidence", "latency_ms")
_FREE = ("timestamp", "probabilities", "attributes")  # read as the list-of-dicts path reads fields with no fixed type
_FIELD_ORDER = tuple(PredictionRow.__struct_fields__)
_GET = {name: operator.attrgetter(name) for name in _FIELD_ORDER}
_CLASHING = frozenset(PREDICTION_FIELDS) | {"features"}
_NUMBER_TYPES = frozenset({float, int, type(None)})
_TEXT_TYPES = frozenset({str, type(None)})


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters (JSON when absent)."""
    if not content_type:
        return JSON
    return content_type.split(";", 1)[0].strip().lower()


def decode_row(body: bytes) -> PredictionRow | None:
    """One prediction object, or None when msgspec refuses it (the reference path says why)."""
    try:
        return _ROW.decode(body)
    except _UNDECODABLE:
        return None


def record_of(row: PredictionRow) -> dict[str, Any]:
    """The record ``_prediction_record(PredictionIn.model_validate(...))`` makes of the same object."""
    rec = {k: v for k in _FIELD_ORDER if (v := getattr(row, k)) is not None}
    rec.setdefault("features", {})
    return rec


def rows_table(rows: list[PredictionRow], model: ModelConfig) -> pa.Table | None:
    """The rows as the columns the list-of-dicts path would build, or None when it would read them otherwise.

    A field is a column when some row gives it a value (as ``model_dump(exclude_none=True)``
    leaves it out otherwise); feature columns follow in order of first appearance.
    """
    kinds = {f.name: f.type for f in model.features}
    columns: dict[str, pa.Array] = {}
    feats: list[dict[str, Any]] = []
    for name in _FIELD_ORDER:
        values = list(map(_GET[name], rows))
        if name == "features":
            feats = values
            continue
        if values.count(None) == len(values):
            continue
        if name in _TEXT or name == "timestamp":  # text, or None: what the list-of-dicts path reads as a string column
            columns[name] = pa.array(values, type=pa.string())
        elif name in _FLOAT:
            columns[name] = pa.array(values, type=pa.float64())
        else:
            columns[name] = _python_column(list(values))
    names: dict[str, None] = {}
    first = feats[0] if feats else {}
    for f in feats:
        if f is not first and f.keys() != first.keys():
            names.update(dict.fromkeys(f))
    names = {**dict.fromkeys(first), **names}
    for name in names:
        if name in _CLASHING:
            return None  # a feature named like a field: the list-of-dicts path merges or refuses it
        values = [f.get(name) for f in feats]
        kind = kinds.get(name)
        types = set(map(type, values))
        if kind == "numeric":
            if not types <= _NUMBER_TYPES:
                return None
            columns[name] = pa.array(values if int not in types else [None if v is None else float(v) for v in values],
                                     type=pa.float64())
        elif kind == "categorical":
            if not types <= _TEXT_TYPES:
                return None
            columns[name] = pa.array(values, type=pa.string())
        else:  # not a feature of the model: reported per row by the library, as an unknown field
            columns[name] = _python_column(values)
    return pa.table(columns) if columns else None  # rows of nothing at all: the reference path says what is missing


def json_batch_table(body: bytes, model: ModelConfig, *, max_rows: int | None = None) -> pa.Table | None:
    """A JSON batch body (``{"records": [...]}``) as a table, or None for the reference path."""
    with _collector_paused():
        try:
            batch = _BATCH.decode(body)
        except _UNDECODABLE:
            return None
        if not batch.records or (max_rows is not None and len(batch.records) > max_rows):
            return None
        return rows_table(batch.records, model)


def ndjson_table(body: bytes, model: ModelConfig) -> pa.Table | None:
    """An NDJSON body as a table, or None for the reference path (:func:`ndjson_objects`)."""
    with _collector_paused():
        try:
            rows = _ROW.decode_lines(body)
        except _UNDECODABLE:
            return None
        return rows_table(rows, model) if rows else None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is decoded into columns.

    A batch makes tens of thousands of small objects (one dict of features a row), none in a
    reference cycle; each 700 of them start a collection, and every so often a full one that
    walks the whole heap of a server (modules, pyarrow, pandas): that doubled the cost of a JSON
    batch. Reference counting still frees everything; the collector resumes right after.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def ndjson_objects(body: bytes) -> tuple[list[Any], list[RowError]]:
    """Each non-blank line parsed on its own (the reference path): the values, and the lines that are not JSON objects."""
    values: list[Any] = []
    problems: list[RowError] = []
    for i, line in enumerate(x for x in body.split(b"\n") if x.strip()):
        try:
            value = msgspec.json.decode(line)  # refuses what UTF-8 cannot hold (a lone surrogate), as the row decoder does
        except msgspec.MsgspecError as exc:
            problems.append(RowError(i, None, None, f"line is not JSON: {exc}"[:200]))
            value = None
        else:
            if not isinstance(value, dict):
                problems.append(RowError(i, None, None, f"expected a JSON object a line, got {type(value).__name__}"))
                value = None
        values.append(value)
    return values, problems


def arrow_table(body: bytes) -> pa.Table:
    """An Arrow IPC stream as a table; a struct column ``features`` becomes one column per feature."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationError([RowError(None, None, "body", f"not an Arrow IPC stream: {exc}"[:300])],
                              hint=f"send the batch as an Arrow IPC stream (Content-Type: {ARROW}), as written by "
                              "pyarrow.ipc.new_stream") from None
    if "features" in table.column_names and pa.types.is_struct(table.schema.field("features").type):
        feats = table.column("features").combine_chunks()
        table = table.drop_columns(["features"])
        for i, field in enumerate(feats.type):
            table = table.append_column(field.name, feats.field(i))
    return table
