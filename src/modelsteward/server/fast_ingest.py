"""The ingest hot paths as pure ASGI: ``POST .../predictions`` and ``POST .../predictions:batch``.

A model server logs one prediction a request, thousands of requests a second, on the same cores
as the writer. FastAPI's routing, dependency injection and pydantic cost about a millisecond of
CPU a request, several times the row's own cost; a pydantic check of a large JSON batch costs
more than the library's whole write. :class:`FastIngest` sits in front of the routes and answers
the plain case itself:

- the caller is let in only as the route would let it in without asking the store: dev mode, or
  a live token with the ``ingest`` scope that this process has already checked (the 5 s cache of
  :mod:`modelsteward.server.auth`);
- the body is decoded with msgspec into the shape of ``PredictionIn`` (unknown fields, wrong
  types are refused in C); a single prediction goes to the group commit as the route sends it,
  a batch goes to the library as columns (see :mod:`.api.ingest_formats`);
- batches may also come as NDJSON or as an Arrow IPC stream (``Content-Type``), which only this
  layer reads.

Any other JSON request (no token or one not checked yet, an unknown model, a body msgspec
refuses, a batch too large) is handed to the FastAPI route with the body replayed, so every
refusal keeps the route's answer: the one error shape, every rejected row listed. NDJSON and
Arrow bodies are answered here whatever happens, with the route's token check
(``auth.require_scope``) and the same error shapes (an NDJSON line that msgspec refuses is read
again on its own and checked as the JSON route checks a record). Answers are the route's
answers: the same status and JSON, and the same durability (the group commit answers after its
transaction committed; a batch after ``log_predictions`` returned).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelsteward.config import ModelConfig
from modelsteward.errors import BatchRejected, RowError, StewardError, ValidationError
from modelsteward.monitor import IngestResult
from modelsteward.records import normalise_predictions
from modelsteward.server import auth
from modelsteward.server.api import ingest_formats as formats
from modelsteward.server.api.ingest import _MAX_BATCH, PredictionIn, _checked, _prediction_record
from modelsteward.server.errors import ApiError, _library_error, count_rejected, error_body

__all__ = ["FastIngest", "install_fast_ingest"]

PREFIX = "/api/v1/models/"
_REFRESH_AHEAD = 2.0  # seconds before a cached token expires that it is read again from the store
log = logging.getLogger("modelsteward.server")
_ENCODE = msgspec.json.Encoder()
_JSON_HEADERS = [(b"content-type", b"application/json")]


class _Route:
    """What the access log reads of the route that answered (``route_template`` in server/logs.py)."""

    def __init__(self, path: str) -> None:
        self.path = self.path_format = path


_INGEST = auth.require_scope("ingest")  # the routes' token check, for the media types only this layer reads
_SINGLE = _Route("/models/{model}/predictions")
_BATCH = _Route("/models/{model}/predictions:batch")


class _Replay(Exception):
    """The plain path does not apply: the FastAPI route answers."""


class FastIngest:
    """Answers plain ingest requests; hands every other request to ``app`` unchanged (with its body replayed)."""

    def __init__(self, app: ASGIApp, *, api: Any) -> None:
        self.app = app
        self.api = api  # the FastAPI application: its state holds the monitor, the lock and the group writer
        self._refreshing: set[tuple[int, str]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        model, _, tail = path[len(PREFIX):].partition("/")
        batch = tail == "predictions:batch"
        if not batch and tail != "predictions":
            await self.app(scope, receive, send)
            return
        authorization = content_type = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-type":
                content_type = value.decode("latin-1")
        media = formats.media_type(content_type)
        principal = self._principal(authorization)
        cfg = self._model(model)
        if batch and media in (formats.NDJSON, formats.ARROW):  # only read here: refusals too are answered here
            try:
                principal = principal or await _INGEST(Request(scope, receive))
                cfg = cfg or self.api.state.monitor.model(model)
            except ApiError as exc:
                await self._refuse(scope, receive, send, exc)
                return
            except StewardError as exc:
                await self._library_refusal(scope, receive, send, exc)
                return
        if principal is None or cfg is None or media not in (formats.MEDIA_TYPES if batch else (formats.JSON,)) or (
                media == formats.JSON and content_type is None):
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        state = scope.setdefault("state", {})
        state["principal"] = principal  # for the access log, as the route's dependency records it
        try:
            if batch:
                scope["route"] = _BATCH
                result = await run_in_threadpool(self._write_batch, media, body, cfg)
                answer = {"inserted": result.inserted, "duplicates": result.duplicates, "total": result.total}
            else:
                row = formats.decode_row(body)
                if row is None:
                    raise _Replay
                scope["route"] = _SINGLE
                rec = formats.record_of(row)
                if "prediction_id" not in rec:
                    rec["prediction_id"] = str(uuid.uuid4())
                duplicate = await self.api.state.writer.write(cfg.name, rec)
                answer = {"prediction_id": rec["prediction_id"], "inserted": 0 if duplicate else 1, "duplicate": duplicate}
        except _Replay:
            scope.pop("route", None)
            await self.app(scope, _replayed(body, receive), send)
            return
        except StewardError as exc:
            await self._library_refusal(scope, receive, send, exc)
            return
        data = _ENCODE.encode(answer)
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-length", str(len(data)).encode()), *_JSON_HEADERS]})
        await send({"type": "http.response.body", "body": data})

    async def _library_refusal(self, scope: Scope, receive: Receive, send: Send, exc: StewardError) -> None:
        """A library error in the one error shape, as the application's handler renders it."""
        response = _library_error(exc)
        count_rejected(self.api, "POST", scope["path"], response.status_code)
        await response(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: ApiError) -> None:
        """The token check's refusal (401, 403), as the application's ApiError handler renders it."""
        count_rejected(self.api, "POST", scope["path"], exc.status)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        response = JSONResponse(error_body(exc.status, exc.code, exc.message, field=exc.field, records=exc.records),
                                status_code=exc.status, headers=headers)
        await response(scope, receive, send)

    def _principal(self, authorization: bytes | None) -> auth.Principal | None:
        """The caller, when the route would admit it to ingest without a store look-up; else None."""
        state = self.api.state
        if getattr(state, "dev", False):
            return auth.Principal(name="dev", via="dev")
        if authorization is None:
            return None
        kind, _, secret = authorization.decode("latin-1").partition(" ")
        secret = secret.strip()
        if kind.lower() != "bearer" or not secret.startswith(auth.TOKEN_PREFIX):
            return None
        # The cache the route's token check fills (auth.token_identity); a miss goes to the route.
        key = (id(state.monitor.store), auth._sha256(secret))
        hit = auth._token_cache.get(key)
        now = time.monotonic()
        if hit is None or hit[1] <= now or not hit[0].allows("ingest"):
            return None
        if hit[1] - now < _REFRESH_AHEAD and key not in self._refreshing:
            # Re-read it from the store while the entry still holds, so a steady stream of requests never
            # meets an expired entry (all of them would queue for the store behind the writer). A revocation
            # still takes effect within auth.TOKEN_CACHE_SECONDS: the entry is extended only by the store's word.
            self._refreshing.add(key)
            task = asyncio.get_running_loop().create_task(self._refresh(key, secret))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return auth.Principal(name=hit[0].name, via="token", token_id=hit[0].token_id)

    async def _refresh(self, key: tuple[int, str], secret: str) -> None:
        try:
            await run_in_threadpool(auth.token_identity, self.api.state.monitor.store, secret, fresh=True)
        except Exception:  # noqa: BLE001  the entry simply expires; the route checks the token then
            log.warning("could not refresh a cached API token", exc_info=True)
        finally:
            self._refreshing.discard(key)

    def _model(self, name: str) -> ModelConfig | None:
        try:
            cfg: ModelConfig = self.api.state.monitor.model(name)
        except StewardError:
            return None  # the route answers 404
        return cfg

    def _write_batch(self, media: str, body: bytes, cfg: ModelConfig) -> IngestResult:
        """Decode and write a batch (in a worker thread); :class:`_Replay` when the route must read it."""
        data: Any
        if media == formats.JSON:
            data = formats.json_batch_table(body, cfg, max_rows=_MAX_BATCH)
            if data is None:
                raise _Replay
        elif media == formats.NDJSON:
            data = formats.ndjson_table(body, cfg)
            if data is None:
                data = _checked_lines(body, cfg)
        else:
            data = formats.arrow_table(body)
        n = len(data) if isinstance(data, list) else data.num_rows
        if n == 0:
            raise ValidationError([RowError(None, None, "body", "the batch holds no predictions")],
                                  hint="send at least one prediction")
        if n > _MAX_BATCH:
            raise ValidationError([RowError(None, None, "records", f"a batch holds at most {_MAX_BATCH:,} predictions, got {n:,}")],
                                  hint="split it into smaller batches")
        state = self.api.state
        with state.lock:
            result: IngestResult = state.monitor.log_predictions(data, model=cfg.name)
        return result


def _checked_lines(body: bytes, cfg: ModelConfig) -> list[dict[str, Any]]:
    """NDJSON read line by line, each object checked as the JSON route checks a record; every bad line is listed."""
    values, problems = formats.ndjson_objects(body)
    where = [i for i, v in enumerate(values) if v is not None]
    try:
        records = _checked([values[i] for i in where], PredictionIn, _prediction_record, lambda good: normalise_predictions(good, cfg))
    except ValidationError as exc:
        problems += [RowError(where[r.index] if r.index is not None else None, r.record_id, r.field, r.problem) for r in exc.rows]
        raise BatchRejected(problems, total=len(values)) from None
    if problems:
        try:
            normalise_predictions(records, cfg)
        except ValidationError as exc:
            problems += [RowError(where[r.index] if r.index is not None else None, r.record_id, r.field, r.problem) for r in exc.rows]
        raise BatchRejected(problems, total=len(values))
    return records


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replayed(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def again() -> Message:
        return pending.pop() if pending else await receive()

    return again


def install_fast_ingest(app: Any) -> None:
    """Put :class:`FastIngest` in front of ``app``'s routes (inside the middleware added after it)."""
    app.add_middleware(FastIngest, api=app)
