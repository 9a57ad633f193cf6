"""A pure ASGI guard in front of the application: a cap on request bodies, JSON only for the API.

Its answers come before any handler runs (and before the body is read), in the one error shape:

- a call to ``/api/v1`` without any ``Authorization`` header is refused with 401
  ``unauthenticated`` (outside dev mode), so a stranger cannot make the service parse a body
  (the token itself is checked by :mod:`modelsteward.server.auth` in each route);
- a body larger than ``server.max_body_bytes`` of steward.yaml is refused with 413 ``too_large``:
  at once when its ``Content-Length`` says so (nothing is read), or as soon as a body sent
  without one (chunked) goes past the limit;
- a non-empty body sent to ``/api/`` with a content type other than JSON (or the batch formats
  NDJSON and Arrow, :mod:`.api.ingest_formats`) is refused with 415 ``unsupported_media_type``
  (the pages' forms are not under ``/api/``).

:func:`reject_invalid_text`, a dependency of every API route, refuses (422 ``invalid_text``) a
JSON body whose text holds a lone UTF-16 surrogate (``"\\ud800"`` escaped without its pair): valid
JSON, but not text that UTF-8 (and so the store) can hold.

>>> import asyncio
>>> async def app(scope, receive, send):
...     body = b""
...     while True:
...         message = await receive()
...         body += message.get("body", b"")
...         if not message.get("more_body"):
...             break
...     await send({"type": "http.response.start", "status": 201, "headers": []})
...     await send({"type": "http.response.body", "body": b"%d bytes" % len(body)})
>>> def post(guard, chunks, headers):
...     sent, queue = [], [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
...     async def receive():
...         return queue.pop(0)
...     async def send(message):
...         sent.append(message)
...     scope = {"type": "http", "method": "POST", "path": "/api/v1/x", "headers": [(b"authorization", b"Bearer t"), *headers]}
...     asyncio.run(guard(scope, receive, send))
...     return sent[0]["status"]
>>> guard = RequestGuard(app, max_body_bytes=10)
>>> json = (b"content-type", b"application/json")
>>> post(guard, [b"12345", b"6789"], [json]), post(guard, [b"123456", b"789012"], [json])
(201, 413)
>>> text = [(b"content-type", b"text/plain"), (b"content-length", b"3")]
>>> post(guard, [b"x"], [json, (b"content-length", b"11")]), post(guard, [b"a=1"], text)
(413, 415)
>>> async def show(message):
...     print(message.get("status") or message["body"][:51])
>>> asyncio.run(guard({"type": "http", "method": "GET", "path": "/api/v1/models", "headers": []}, None, show))
401
b'{"error": {"status": 401, "code": "unauthenticated"'
"""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelsteward.server.errors import ApiError, count_rejected, error_body

__all__ = ["RequestGuard", "install_request_guard", "reject_invalid_text"]

_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
NO_TOKEN_MESSAGE = ("this endpoint needs an API token: send `Authorization: Bearer <token>` "
                    "(create one with `steward token create`)")


class _BodyTooLarge(Exception):
    """Raised into the application when a streamed body passes the limit (it is answered with 413)."""


class RequestGuard:
    """Refuses API calls without credentials (401), oversized bodies (413) and non-JSON ones (415) before they are read."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, api_prefix: str = "/api/",
                 media_types: tuple[str, ...] = ("application/json",)) -> None:
        if max_body_bytes < 0:
            raise ValueError(f"max_body_bytes must be >= 0, got {max_body_bytes}")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.api_prefix = api_prefix
        self.media_types = media_types

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        app = scope.get("app")
        if (str(scope.get("path", "")).startswith(self.api_prefix + "v1") and "authorization" not in headers
                and not getattr(getattr(app, "state", None), "dev", False)):
            await self._refuse(scope, send, 401, "unauthenticated", NO_TOKEN_MESSAGE)
            return
        declared = _content_length(headers.get("content-length"))
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, send, 413, "too_large", self._too_large(declared))
            return
        has_body = (declared or 0) > 0 or "chunked" in headers.get("transfer-encoding", "").lower()
        if (has_body and scope.get("method") in _WITH_BODY and str(scope.get("path", "")).startswith(self.api_prefix)
                and not self._accepted(headers.get("content-type"))):
            got = headers.get("content-type") or "no Content-Type"
            await self._refuse(scope, send, 415, "unsupported_media_type",
                               f"the API takes {' or '.join(self.media_types)} bodies, not {got}; send the body as JSON with "
                               "`Content-Type: application/json`")
            return
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the application, counting the body as it is read; past the limit, the answer becomes a 413."""
        state = {"read": 0, "over": False, "started": False}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > self.max_body_bytes:
                    state["over"] = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:  # whatever the application made of the cut-off body, the answer is the 413
                if message["type"] == "http.response.start" and not state["started"]:
                    state["started"] = True
                    await self._refuse(scope, send, 413, "too_large", self._too_large(None))
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            if state["started"]:
                raise
            state["started"] = True
            await self._refuse(scope, send, 413, "too_large", self._too_large(None))

    def _accepted(self, content_type: str | None) -> bool:
        if not content_type:
            return False
        media = content_type.split(";", 1)[0].strip().lower()
        return media in self.media_types or (media.startswith("application/") and media.endswith("+json"))

    def _too_large(self, declared: int | None) -> str:
        size = f"of {declared:,} bytes " if declared is not None else ""
        return (f"the request body {size}is larger than the limit of {self.max_body_bytes:,} bytes; send smaller batches "
                "(or raise `server.max_body_bytes` in steward.yaml)")

    async def _refuse(self, scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        app = scope.get("app")
        if app is not None:
            count_rejected(app, str(scope.get("method", "")), str(scope.get("path", "")), status)
        body = json.dumps(error_body(status, code, message, field=None if status == 401 else "body")).encode()
        headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 413:
            headers.append((b"connection", b"close"))  # the unread body must not be taken for the next request
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def install_request_guard(app: Any, max_body_bytes: int) -> None:
    """Put the guard in front of ``app``'s routes (inside whatever middleware is added after it)."""
    from modelsteward.server.api.ingest_formats import MEDIA_TYPES  # JSON, and NDJSON and Arrow for batches

    app.add_middleware(RequestGuard, max_body_bytes=max_body_bytes, media_types=MEDIA_TYPES)


async def reject_invalid_text(request: Request) -> None:
    """Dependency: a 422 naming the first string (or key) of the JSON body that holds a lone surrogate.

    Only a body with an escaped surrogate (``\\ud83d``-style, as in the first half of an emoji pair) is walked, so
    ordinary batches cost one scan of their bytes.
    """
    if request.method not in _WITH_BODY:
        return
    body = await request.body()
    if not body or _ESCAPED_SURROGATE.search(body) is None:
        return
    try:
        data = await request.json()
    except ValueError:  # FastAPI has answered it already
        return
    where = _lone_surrogate(data)
    if where is None:
        return
    index = where[1] if len(where) > 1 and where[0] == "records" and isinstance(where[1], int) else None
    field = ".".join(str(p) for p in (where[2:] if index is not None else where)) or "body"
    problem = "text holds a lone UTF-16 surrogate (an escaped \\ud800-\\udfff without its pair); send valid Unicode text"
    raise ApiError(422, "invalid_text", f"{field}: {problem}", field=field,
                   records=[{"index": index, "id": None, "field": field, "problem": problem}])


def _lone_surrogate(data: Any) -> list[str | int] | None:
    """The path of the first string (or key) in ``data`` that is not encodable as UTF-8."""
    queue: deque[tuple[Any, list[str | int]]] = deque([(data, [])])
    while queue:
        value, path = queue.popleft()
        if isinstance(value, str):
            if not _encodable(value):
                return path
        elif isinstance(value, dict):
            for k, v in value.items():
                if not _encodable(k):
                    return [*path, k.encode("utf-8", "backslashreplace").decode()]
                queue.append((v, [*path, k]))
        elif isinstance(value, list):
            queue.extend((v, [*path, i]) for i, v in enumerate(value))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
