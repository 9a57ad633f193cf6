"""The one error shape of the HTTP API, for every error whoever raised it.

::

    {"error": {"status": 422, "code": "batch_rejected", "message": "what happened; what to do",
               "field": "confidence", "records": [{"index": 3, "id": "p-3", "field": "confidence",
                                                  "problem": "expected a number in [0, 1]"}]}}

Library errors (:mod:`modelsteward.errors`) keep their ``kind`` as the code and their hint in
the message; FastAPI's own 404, 405 and 422 are rewritten into the same shape.

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
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelsteward import errors as lib

__all__ = ["ApiError", "error_body", "install_error_handlers", "status_of"]

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
    """The record index and field a pydantic location points at (``("body", "records", 3, "confidence")``)."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header", "records")]
    index = next((p for p in parts if isinstance(p, int)), None)
    names = [str(p) for p in parts if not isinstance(p, int)]
    return index, ".".join(names) or None


def _count_rejected(request: Request, status: int) -> None:
    """Count refused ingest requests for ``/metrics`` (by endpoint kind)."""
    if request.method != "POST" or not 400 <= status < 500:
        return
    path = request.url.path
    kind = "predictions" if "/predictions" in path else "feedback" if "/feedback" in path else None
    counts = getattr(request.app.state, "ingest_rejected", None)
    if kind is not None and counts is not None:
        counts[kind] = counts.get(kind, 0) + 1


def install_error_handlers(app: FastAPI) -> None:
    """Render every error in the one shape: ours, the library's, FastAPI's and unexpected ones."""

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
        else:
            message = str(exc.detail)
        return JSONResponse(error_body(exc.status_code, code, message), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s: %s", request.method, request.url.path, type(exc).__name__, exc_info=exc)
        return JSONResponse(error_body(500, "internal_error", "the server failed on this request; its log has the details"),
                            status_code=500)
