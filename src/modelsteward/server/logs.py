"""Structured logs of ``steward serve``: one JSON object per line, request ids, an access log without secrets.

Every line of the server's log (its own logger ``modelsteward.server``, the access log
``modelsteward.access`` and uvicorn's loggers) goes through one formatter:

- :class:`JsonFormatter`: ``{"ts": "2026-03-02T10:00:00.123Z", "level": "info", "logger": ...,
  "message": ..., "event": ..., <fields>}``, for log collectors (the default when stdout is not
  a terminal);
- :class:`TextFormatter`: the same fields on one readable line, for a person at a terminal.

:class:`RequestLog` is a pure ASGI middleware (no ``BaseHTTPMiddleware``: it adds one closure
and one log record per request). It takes the caller's ``X-Request-ID`` when it is short and
made of safe characters, or makes one, returns it in the response's ``X-Request-ID`` header,
and binds it to every log line written while the request runs (an unexpected error's traceback
carries it too). The access line holds the method, the path and its route template, the query
with the values of secret-looking keys replaced, the status, the duration, the bytes sent, the
client address and who called (token id and name, or the signed-in user): never a header, a
cookie, a body or a token.

>>> import io, json, logging
>>> stream = io.StringIO()
>>> handler = configure_logging("json", "info", stream=stream)
>>> logging.getLogger("modelsteward.server").info("hello", extra={"event": "example", "models": ["tickets"]})
>>> line = json.loads(stream.getvalue())
>>> line["level"], line["logger"], line["message"], line["event"], line["models"], line["ts"].endswith("Z")
('info', 'modelsteward.server', 'hello', 'example', ['tickets'], True)
>>> redact_query("limit=10&token=stw_abc&api_key=k")
'limit=10&token=***&api_key=***'
>>> valid_request_id("req-42.a_B"), valid_request_id("x" * 200), valid_request_id("a b")
(True, False, False)
>>> unconfigure_logging(handler)
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import parse_qsl, quote

__all__ = [
    "ACCESS_LOGGER", "JsonFormatter", "LOG_FORMATS", "LOG_LEVELS", "REQUEST_ID_HEADER", "RequestLog", "TextFormatter",
    "configure_logging", "current_request_id", "install_request_log", "new_request_id", "redact_query", "resolve_format",
    "route_template", "unconfigure_logging", "valid_request_id",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ACCESS_LOGGER = "modelsteward.access"
REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMATS = ("json", "text")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SECRET_KEY = re.compile(r"token|secret|password|passwd|pwd|key|session|auth|csrf|signature|sig|code|cookie", re.IGNORECASE)
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("steward_request_id", default=None)
_access = logging.getLogger(ACCESS_LOGGER)

# Attributes every LogRecord has; anything else on a record came in through ``extra=`` and is a field.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# uvicorn adds a coloured copy of some messages; it is not a field.
_DROPPED = frozenset({"color_message"})


_NOSNIFF = (b"x-content-type-options", b"nosniff")


def valid_request_id(value: str | None) -> bool:
    """True for a caller's request id that may be echoed and logged: 1 to 64 of ``A-Z a-z 0-9 . _ : -``."""
    return bool(value) and _REQUEST_ID.fullmatch(value or "") is not None


def new_request_id() -> str:
    """A fresh request id: 16 random hex digits."""
    return os.urandom(8).hex()


def current_request_id() -> str | None:
    """The id of the request being handled (None outside a request)."""
    return _request_id.get()


def redact_query(query: str) -> str:
    """The query string with the values of secret-looking keys (token, password, key, session...) replaced by ``***``."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='')}={'***' if _SECRET_KEY.search(k) else quote(v, safe='')}" for k, v in pairs)


def _timestamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record carries beyond the standard ones, plus the request id it was logged under.

    An access record carries its fields ready; any other record's come in through ``extra=``, as attributes.
    """
    if isinstance(record, _AccessRecord):
        return record.fields
    fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS and k not in _DROPPED}
    if "request_id" not in fields:
        rid = _request_id.get()
        if rid is not None:
            fields["request_id"] = rid
    return fields


class _AccessRecord(logging.LogRecord):
    fields: dict[str, Any]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"ts": _timestamp(record.created), "level": record.levelname.lower(), "logger": record.name,
                                "message": record.getMessage()}
        line.update(_fields(record))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``ts LEVEL logger message key=value ...`` on one line (a traceback follows on the next lines)."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items() if v is not None and k != "event")
        text = f"{_timestamp(record.created)} {record.levelname:<7} {record.name}  {record.getMessage()}"
        if extra:
            text += "  " + extra
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def resolve_format(value: str | None, stream: IO[str] | None = None) -> str:
    """``json`` or ``text``: ``value``, else ``$STEWARD_LOG_FORMAT``; ``auto`` (or neither): text on a terminal, else json.

    >>> import io
    >>> resolve_format("text"), resolve_format("auto", io.StringIO())  # a StringIO is no terminal
    ('text', 'json')
    """
    chosen = (value or os.environ.get("STEWARD_LOG_FORMAT") or "").strip().lower()
    if not chosen or chosen == "auto":
        out = stream if stream is not None else sys.stdout
        return "text" if out.isatty() else "json"
    if chosen not in LOG_FORMATS:
        raise ValueError(f"unknown log format {chosen!r}; expected one of {', '.join(LOG_FORMATS)} (or auto)")
    return chosen


def configure_logging(fmt: str, level: str = "info", *, stream: IO[str] | None = None) -> logging.Handler:
    """Send every logger's records (the server's, the access log, uvicorn's) to ``stream`` (stdout) in ``fmt``.

    Installs one handler on the root logger and returns it (see :func:`unconfigure_logging`).
    uvicorn must then be run with ``log_config=None`` and ``access_log=False`` so that it keeps
    its hands off the handlers and :class:`RequestLog` writes the only access log.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"unknown log format {fmt!r}; expected one of {', '.join(LOG_FORMATS)}")
    handler = _ServerHandler(stream if stream is not None else sys.stdout)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    handler.previous_level = root.level
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        named = logging.getLogger(name)
        for h in list(named.handlers):  # a previous dictConfig of uvicorn's own
            named.removeHandler(h)
        named.propagate = True
    return handler


def unconfigure_logging(handler: logging.Handler) -> None:
    """Remove a handler :func:`configure_logging` installed, and put the root logger's level back."""
    root = logging.getLogger()
    root.removeHandler(handler)
    if isinstance(handler, _ServerHandler):
        root.setLevel(handler.previous_level)


class _ServerHandler(logging.StreamHandler[IO[str]]):
    previous_level = logging.WARNING


class RequestLog:
    """Pure ASGI middleware: request ids, the access log, and a count of requests in flight.

    ``in_flight`` and ``served`` let the shutdown line say whether every request finished.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0
        self.served = 0
        self.started = time.monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if incoming is not None and valid_request_id(incoming) else new_request_id()
        token = _request_id.set(rid)
        state: dict[str, Any] = scope.setdefault("state", {})
        answer = {"status": 0, "bytes": 0}
        header = (b"x-request-id", rid.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                headers = [*message.get("headers", ()), header]
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append(_NOSNIFF)  # every answer, JSON included: no content sniffing
                message["headers"] = headers
            elif message["type"] == "http.response.body":
                answer["bytes"] += len(message.get("body", b""))
            await send(message)

        self.in_flight += 1
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.in_flight -= 1
            self.served += 1
            # An error still gets its 500 from the layer inside; no status at all means the request was
            # cancelled (the client went away, or shutdown's grace period ran out) before an answer.
            status = answer["status"]
            level = logging.ERROR if status >= 500 else logging.INFO if status else logging.WARNING
            if _access.isEnabledFor(level):
                # Made directly (no caller look-up: the source line of an access record says nothing).
                said = status or "unanswered"
                record = _AccessRecord(ACCESS_LOGGER, level, "", 0, f"{scope['method']} {scope['path']} {said}", None, None)
                record.fields = _access_fields(scope, state, status, answer["bytes"], start, rid, incoming)
                _access.handle(record)
            _request_id.reset(token)


def _access_fields(scope: Scope, state: dict[str, Any], status: int, sent: int, start: float, rid: str,
                   incoming: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "event": "request", "method": scope["method"], "path": scope["path"], "route": route_template(scope),
        "status": status or None, "duration_ms": round((time.perf_counter() - start) * 1000, 3), "bytes": sent,
        "request_id": rid, "client": scope["client"][0] if scope.get("client") else None,
    }
    if scope.get("query_string"):
        fields["query"] = redact_query(scope["query_string"].decode("latin-1"))
    if incoming is not None and incoming != rid:
        fields["request_id_refused"] = True  # the caller's id was not safe to echo; ours replaced it
    principal = state.get("principal")
    viewer = state.get("viewer")
    if principal is not None:
        fields.update(user=principal.name, auth=principal.via, token_id=principal.token_id)
    elif viewer is not None:
        fields.update(user=viewer.name, auth="session")
    return fields


def route_template(scope: Scope) -> str | None:
    """The path template of the route that answered (``/api/v1/models/{model}/predictions``), None when none matched.

    A route of an included router knows only its own part of the path; the concrete path's
    leading segments before that part are the routers' prefixes.

    >>> class Route:
    ...     path = path_format = "/models/{model}/predictions"
    >>> route_template({"route": Route(), "path": "/api/v1/models/tickets/predictions"})
    '/api/v1/models/{model}/predictions'
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return None
    if ":path}" in str(getattr(route, "path", "")):  # a parameter spanning segments: its prefix cannot be told apart
        return template
    parts = str(scope["path"]).split("/")
    keep = len(parts) - template.count("/")
    return ("/".join(parts[:keep]) if keep > 0 else "") + template


def install_request_log(app: Any) -> RequestLog:
    """Put :class:`RequestLog` outside every other layer of a Starlette/FastAPI ``app``; returns it.

    Outermost, it also sees the 500 answers of Starlette's ``ServerErrorMiddleware`` (which
    ``add_middleware`` would place outside it). It wraps the stack the application builds at its
    first request or lifespan event.
    """
    build = app.build_middleware_stack
    request_log = RequestLog(_not_built)

    def build_with_log() -> ASGIApp:
        request_log.app = build()
        return request_log

    app.build_middleware_stack = build_with_log
    app.middleware_stack = None
    return request_log


async def _not_built(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("RequestLog called before the application built its middleware stack")
