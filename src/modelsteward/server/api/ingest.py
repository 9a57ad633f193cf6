"""Writes from model servers: predictions and feedback, one or a batch, and routing decisions.

Every write is idempotent by its id (the same id and content again is counted as a duplicate;
the same id with other content is a 409) and is answered only after the store committed it.
A batch is all or nothing: a 422 lists every rejected row and nothing is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from modelsteward.errors import BatchRejected, RowError, ValidationError
from modelsteward.monitor import IngestResult
from modelsteward.records import normalise_feedback, normalise_predictions
from modelsteward.server.api._common import jsonable, model_of
from modelsteward.server.auth import Principal, require_scope
from modelsteward.server.runtime import call, monitor_of

__all__ = ["router"]

router = APIRouter(tags=["ingest"])
_ingest = Depends(require_scope("ingest"))

_MAX_BATCH = 100_000


class PredictionIn(BaseModel):
    """One prediction as a model server logs it."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str | None = Field(None, description="the idempotency key; generated when left out (then a retry logs twice)")
    prediction: str | None = Field(None, description="the predicted label (null when the model failed)")
    confidence: float | None = Field(None, description="the model's confidence in [0, 1]")
    features: dict[str, Any] = Field(default_factory=dict, description="input features by name, as declared in steward.yaml")
    probabilities: dict[str, float] | None = Field(None, description="probability per label")
    latency_ms: float | None = Field(None, description="time the model took, in milliseconds")
    model_version: str | None = None
    timestamp: str | None = Field(None, description="ISO 8601 time of the prediction (UTC); the time of ingest when left out")
    user_id: str | None = None
    attributes: dict[str, Any] | None = Field(None, description="attributes to segment by")
    error: str | None = Field(None, description="the error the model raised instead of predicting")


class PredictionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Plain objects here, each checked against PredictionIn below: one bad row must not hide the others.
    records: list[dict[str, Any]] = Field(description=f"up to {_MAX_BATCH} predictions (each a PredictionIn), written all or "
                                          "nothing; every invalid row is reported", max_length=_MAX_BATCH)


class FeedbackIn(BaseModel):
    """Feedback on a prediction: explicit, implicit, outcome or expert. Expert feedback's reviewer is the caller."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str
    kind: str = Field(description="explicit | implicit | outcome | expert")
    feedback_id: str | None = Field(None, description="the idempotency key; derived from the content when left out")
    label: str | None = None
    rating: float | None = None
    action: str | None = None
    escalated: bool | None = None
    csat: float | None = None
    resolution_hours: float | None = None
    comment: str | None = None
    timestamp: str | None = None


class FeedbackBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[dict[str, Any]] = Field(description=f"up to {_MAX_BATCH} feedback records (each a FeedbackIn), written all or "
                                          "nothing; every invalid row is reported", max_length=_MAX_BATCH)


class RouteIn(BaseModel):
    """A prediction to route: its fields (the fast path), or its id alone for a logged prediction."""

    model_config = ConfigDict(extra="forbid")

    prediction_id: str
    prediction: str | None = None
    confidence: float | None = None
    features: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None
    model_version: str | None = None
    user_id: str | None = None
    novelty: float | None = None
    challengers: list[dict[str, Any]] | None = Field(None, description="other versions' answers: {model_version, prediction, confidence}")
    enqueue: bool = Field(True, description="create the review item when routed to a person")


def _prediction_record(r: PredictionIn) -> dict[str, Any]:
    rec = r.model_dump(exclude_none=True)
    rec.setdefault("features", {})
    return rec


_TEXT_FIELDS = frozenset({"prediction_id", "prediction", "model_version", "timestamp", "user_id", "error"})
_FLOAT_FIELDS = frozenset({"confidence", "latency_ms"})
_FIELDS = tuple(PredictionIn.model_fields)


def _plain_prediction_record(row: dict[str, Any]) -> dict[str, Any] | None:
    """``_prediction_record(PredictionIn.model_validate(row))`` for a row the model would pass unchanged, else None.

    Checking each row of a large batch with pydantic costs as much as the library's own
    validation; a row whose values already have the declared types (text, float, objects) is
    read here directly, any other row goes through the model (and its error messages).
    """
    for k, v in row.items():
        if v is None:
            if k not in _FIELDS or k == "features":
                return None
        elif k in _TEXT_FIELDS:
            if type(v) is not str:
                return None
        elif k in _FLOAT_FIELDS:
            if type(v) is not float:
                return None
        elif k == "features" or k == "attributes":
            if type(v) is not dict or not all(type(key) is str for key in v):
                return None
        elif k == "probabilities":
            if type(v) is not dict or not all(type(key) is str and type(p) is float for key, p in v.items()):
                return None
        else:
            return None
    return {k: row.get(k, {}) if k == "features" else row[k] for k in _FIELDS if k == "features" or row.get(k) is not None}


def _feedback_record(r: FeedbackIn, principal: Principal) -> dict[str, Any]:
    rec = r.model_dump(exclude_none=True)
    if r.kind == "expert":
        rec["reviewer"] = principal.name  # never from the body: the caller is the reviewer
    return rec


def _checked(raw: list[dict[str, Any]], shape: type[BaseModel], to_record: Callable[[Any], dict[str, Any]],
             normalise: Callable[[list[dict[str, Any]]], Any]) -> list[dict[str, Any]]:
    """The records of a batch, or :class:`BatchRejected` listing every bad row.

    Rows are checked against ``shape`` one by one; when some fail, the rows that passed are
    also put through the library's own checks, so the rejection lists the problems of all rows.
    """
    problems: list[RowError] = []
    good: list[dict[str, Any]] = []
    where: list[int] = []
    plain = shape is PredictionIn
    for i, row in enumerate(raw):
        rec = _plain_prediction_record(row) if plain else None
        if rec is not None:
            good.append(rec)
            where.append(i)
            continue
        try:
            good.append(to_record(shape.model_validate(row)))
            where.append(i)
        except PydanticValidationError as exc:
            rid = row.get("prediction_id") if shape is PredictionIn else row.get("feedback_id") or row.get("prediction_id")
            for e in exc.errors():
                field = ".".join(str(p) for p in e["loc"]) or None
                problems.append(RowError(i, str(rid) if rid is not None else None, field, e["msg"]))
    if not problems:
        return good
    try:
        normalise(good)
    except ValidationError as exc:
        problems += [RowError(where[r.index] if r.index is not None else None, r.record_id, r.field, r.problem) for r in exc.rows]
    raise BatchRejected(problems, total=len(raw))


@router.post("/models/{model}/predictions", status_code=201)
async def log_prediction(request: Request, model: str, body: PredictionIn,
                         principal: Principal = _ingest) -> dict[str, Any]:
    """Log one prediction; answered once it is stored. ``duplicate`` is true when the id was stored already."""
    cfg = model_of(request, model)
    rec = _prediction_record(body)
    if "prediction_id" not in rec:
        rec["prediction_id"] = str(uuid.uuid4())
    duplicate = await request.app.state.writer.write(cfg.name, rec)  # shares a transaction with concurrent requests
    return {"prediction_id": rec["prediction_id"], "inserted": 0 if duplicate else 1, "duplicate": duplicate}


# The other media types of a prediction batch, read by server/fast_ingest.py before this route (which reads JSON).
_BATCH_FORMATS: dict[str, Any] = {"requestBody": {"content": {
    "application/x-ndjson": {"schema": {"type": "string", "description": (
        "one PredictionIn object a line (blank lines skipped); a record's index is its position among the non-blank lines")}},
    "application/vnd.apache.arrow.stream": {"schema": {"type": "string", "format": "binary", "description": (
        "an Arrow IPC stream: columns named by the prediction fields (prediction_id, prediction, confidence, timestamp, ...) "
        "and one column per feature, named by the feature (or a struct column `features`); checked as "
        "Monitor.log_predictions checks a table, every bad row named with its field")}},
}}}


@router.post("/models/{model}/predictions:batch", status_code=201, openapi_extra=_BATCH_FORMATS)
async def log_predictions(request: Request, model: str, body: PredictionBatch,
                          principal: Principal = _ingest) -> dict[str, Any]:
    """Log a batch atomically: every invalid row is reported (422) and nothing is written.

    The body is JSON (``{"records": [...]}``), NDJSON (``application/x-ndjson``) or an Arrow IPC
    stream (``application/vnd.apache.arrow.stream``), up to 100,000 predictions.
    """
    cfg = model_of(request, model)
    mon = monitor_of(request)

    def write() -> IngestResult:
        records = _checked(body.records, PredictionIn, _prediction_record, lambda good: normalise_predictions(good, cfg))
        return mon.log_predictions(records, model=cfg.name)

    result = await call(request, write)
    return {"inserted": result.inserted, "duplicates": result.duplicates, "total": result.total}


@router.post("/models/{model}/feedback", status_code=201)
async def log_feedback(request: Request, model: str, body: FeedbackIn,
                       principal: Principal = _ingest) -> dict[str, Any]:
    """Log one piece of feedback (it may arrive before its prediction)."""
    cfg = model_of(request, model)
    rec = _feedback_record(body, principal)
    pid = rec.pop("prediction_id")
    feedback_id = await call(request, monitor_of(request).log_feedback, pid, model=cfg.name, **rec)
    return {"feedback_id": feedback_id}


@router.post("/models/{model}/feedback:batch", status_code=201)
async def log_feedbacks(request: Request, model: str, body: FeedbackBatch,
                        principal: Principal = _ingest) -> dict[str, Any]:
    """Log a batch of feedback atomically."""
    cfg = model_of(request, model)
    mon = monitor_of(request)

    def write() -> IngestResult:
        records = _checked(body.records, FeedbackIn, lambda r: _feedback_record(r, principal), lambda good: normalise_feedback(good, cfg))
        return mon.log_feedbacks(records, model=cfg.name)

    result = await call(request, write)
    return {"inserted": result.inserted, "duplicates": result.duplicates, "total": result.total}


@router.post("/models/{model}/route")
async def route(request: Request, model: str, body: RouteIn,
                principal: Principal = _ingest) -> dict[str, Any]:
    """Decide whether a person reviews this prediction (and queue it when so)."""
    cfg = model_of(request, model)
    args = body.model_dump(exclude_none=True)
    pid = args.pop("prediction_id")
    decision = await call(request, monitor_of(request).route, pid, model=cfg.name, **args)
    out: dict[str, Any] = jsonable(decision.to_dict())
    return out
