"""The one error shape of the HTTP API, for every error whoever raised it.

::

    {"error": {"status": 422, "code": "batch_rejected", "message": "what happened; what to do",
               "field": "confidence", "records": [{"index": 3, "id": "p-3", "field": "confidence",
                                                  "problem": "expected a number in [0, 1]"}]}}

Library errors (:mod:`modelsteward.errors`) keep their ``kind`` as the code and their hint in
the message; FastAPI's own 404, 405 and 422 are rewritten into the same shape. A body that is
not JSON (truncated, not UTF-8) is a 422 ``invalid_json``. The OpenAPI schema documents this
shape (``ErrorBody``) for every error status each route can answer (see :func:`document_errors`).

>>> body = error_body(422, "validation_error", "fix it", field="confidence")
>>> body["error"]["status"], body["error"]["records"]
(422, [])
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelsteward import errors as lib

__all__ = ["ApiError", "ErrorBody", "count_rejected", "document_errors", "error_body", "error_statuses", "install_error_handlers",
           "status_of"]

log = logging.getLogger("modelsteward.server")

_STATUS: list[tuple[type[lib.StewardError], int]] = [
    (lib.NotFoundError, 404),
    (lib.ConflictError, 409),
    (lib.ReviewStateError, 409),
    (lib.IncidentStateError, 409),
    (lib.ValidationError, 422),
    (lib.ConfigError, 422),
    (lib.RetrainError, 422),
    (lib.InsufficientDataError, 422),
    (lib.DeliveryError, 502),
    (lib.StoreError, 503),
]

_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "validation_error"}


class ApiError(Exception):
    """An error the API raises itself, rendered in the one error shape."""

    def __init__(self, status: int, code: str, message: str, *, field: str | None = None,
                 records: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.records = records or []


def error_body(status: int, code: str, message: str, *, field: str | None = None,
               records: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "field": field, "records": records or [], **extra}}


def status_of(exc: lib.StewardError) -> int:
    """The HTTP status of a library error; one raised on purpose without a finer class is the caller's (400)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _library_error(exc: lib.StewardError) -> JSONResponse:
    status = status_of(exc)
    message = exc.message if not exc.hint else f"{exc.message}; {exc.hint}"
    records: list[dict[str, Any]] = []
    field = None
    extra: dict[str, Any] = {}
    if isinstance(exc, lib.ValidationError):
        records = [r.to_dict() for r in exc.rows]
        fields = {r.field for r in exc.rows}
        field = fields.pop() if len(fields) == 1 else None
    elif isinstance(exc, lib.ConflictError):
        records = [{"index": None, "id": i, "field": None, "problem": "already stored with different content"} for i in exc.ids]
    elif isinstance(exc, lib.ConfigError):
        field = exc.path
    if isinstance(exc, lib.ReviewStateError):
        extra = {"item_id": exc.item_id, "state": exc.state, "holder": exc.holder}
    elif isinstance(exc, lib.IncidentStateError):
        extra = {"incident_id": exc.incident_id, "incident_status": exc.status}
    return JSONResponse(error_body(status, exc.kind, message, field=field, records=records, **extra), status_code=status)


def _location(loc: tuple[Any, ...]) -> tuple[int | None, str | None]:
    """The record index and field a pydantic location points at (``("body", "records", 3, "confidence")``).

    >>> _location(("body", "records", 3, "confidence")), _location(("body", "records")), _location(("body",))
    ((3, 'confidence'), (None, 'records'), (None, 'body'))
    """
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "records")]
    index = next((p for p in parts if isinstance(p, int)), None)
    names = [str(p) for p in parts if not isinstance(p, int)]
    if not names and index is None and loc[:1] == ("body",):  # the body itself, or the batch's list as a whole
        return None, "records" if "records" in loc else "body"
    return index, ".".join(names) or None


def _count_rejected(request: Request, status: int) -> None:
    count_rejected(request.app, request.method, request.url.path, status)


def count_rejected(app: Any, method: str, path: str, status: int) -> None:
    """Count refused ingest requests for ``/metrics`` (by endpoint kind)."""
    if method != "POST" or not 400 <= status < 500:
        return
    kind = "predictions" if "/predictions" in path else "feedback" if "/feedback" in path else None
    counts = getattr(app.state, "ingest_rejected", None)
    if kind is not None and counts is not None:
        counts[kind] = counts.get(kind, 0) + 1


_FASTAPI_BODY_ERROR = "There was an error parsing the body"


def _undecodable(cause: BaseException | None) -> str:
    """Why the JSON parser gave up on a body (FastAPI keeps the parser's exception as the cause)."""
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not text in UTF-8"
    if isinstance(cause, RecursionError):
        return "values are nested deeper than the parser allows (about 1,000 levels)"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "a number has more than 4,300 digits"
    return "the body could not be decoded"


def _invalid_json(problem: str) -> JSONResponse:
    message = f"the body is not valid JSON ({problem}); send one JSON object encoded in UTF-8"
    return JSONResponse(error_body(422, "invalid_json", message, field="body",
                                   records=[{"index": None, "id": None, "field": "body", "problem": problem}]), status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error in the one shape: ours, the library's, FastAPI's and unexpected ones; document it in the schema."""
    document_errors(app)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        _count_rejected(request, exc.status)
        return JSONResponse(error_body(exc.status, exc.code, exc.message, field=exc.field, records=exc.records),
                            status_code=exc.status, headers=headers)

    @app.exception_handler(lib.StewardError)
    async def _library(request: Request, exc: lib.StewardError) -> JSONResponse:
        response = _library_error(exc)
        _count_rejected(request, response.status_code)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        records: list[dict[str, Any]] = []
        fields: set[str | None] = set()
        bad_json = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if bad_json is not None:  # its location is a character offset, not a record index
            _count_rejected(request, 422)
            return _invalid_json(f"{(bad_json.get('ctx') or {}).get('error', 'invalid JSON')}: character {bad_json['loc'][-1]}")
        for e in exc.errors():
            index, field = _location(tuple(e.get("loc", ())))
            fields.add(field)
            records.append({"index": index, "id": None, "field": field, "problem": str(e.get("msg", "invalid"))})
        _count_rejected(request, 422)
        head = "; ".join(f"{r['field'] or 'body'}: {r['problem']}" for r in records[:5])
        return JSONResponse(error_body(422, "validation_error", f"the request is invalid ({head}); fix the listed fields and send it again",
                                       field=fields.pop() if len(fields) == 1 else None, records=records), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        if exc.status_code == 404:
            message = f"no such path {request.url.path}; the API is described at /api/docs"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /api/docs for the methods it takes"
        elif exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:  # FastAPI's answer to a body it cannot decode
            _count_rejected(request, 422)
            return _invalid_json(_undecodable(exc.__cause__))
        else:
            message = str(exc.detail)
        return JSONResponse(error_body(exc.status_code, code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
        return JSONResponse(error_body(500, "internal_error", "the server failed on this request; its log has the details"),
                            status_code=500)


class ErrorRecord(BaseModel):
    """One rejected record or field."""

    index: int | None = Field(description="position of the record in the batch (null outside a batch)")
    id: str | None = Field(description="the record's id, when it has one")
    field: str | None = Field(description="the field at fault (dotted for nested ones)")
    problem: str = Field(description="what is wrong and what was expected")


class ErrorDetail(BaseModel):
    """An error: its status, a code to branch on, a message that says what to do, the field and records at fault."""

    model_config = ConfigDict(extra="allow")  # some errors add context: the review item's state, the incident's status

    status: int
    code: str = Field(description="stable machine-readable code, e.g. `validation_error`, `batch_rejected`, `conflict`")
    message: str = Field(description="what happened and what to do")
    field: str | None = Field(description="the one field at fault, when there is one")
    records: list[ErrorRecord] = Field(description="every rejected record or field (empty when the error is about the request)")


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "The library refused the request as asked",
    401: "No token, or an unknown or revoked one",
    403: "The token lacks the scope this route needs",
    404: "No such model, item, incident or silence",
    409: "Conflicts with what is stored (an id with other content, an item or incident in another state)",
    413: "The body is larger than `server.max_body_bytes`",
    415: "The body is not JSON",
    422: "The request is invalid: every rejected field or record is listed",
    503: "The store is unavailable; retry later",
}


def error_statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses a route can answer, from what it takes (token, path parameters, query, body).

    >>> error_statuses("/api/v1/models/{model}/predictions", "post", {"requestBody": {}})
    [400, 401, 403, 404, 409, 413, 415, 422, 503]
    >>> error_statuses("/readyz", "get", {})
    [503]
    """
    statuses = {503}
    if path.startswith("/api/v1") or path == "/metrics":
        statuses |= {400, 401, 403}
    if "{" in path:
        statuses.add(404)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {413, 415}
    if method == "post" and path.startswith("/api/v1"):
        statuses.add(409)
    return sorted(statuses)


def document_errors(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI schema document the one error shape for every error status of every route."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        defs = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs.pop("$defs", {}))
        components["ErrorBody"] = defs
        for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, which the API never answers
            components.pop(name, None)
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in error_statuses(path, method, operation):
                    responses[str(status)] = {"description": _ERROR_DESCRIPTIONS[status],
                                              "content": {"application/json": {"schema": ref}}}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
