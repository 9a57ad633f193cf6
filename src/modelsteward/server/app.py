"""``create_app``: the HTTP service of one steward.yaml: the API under ``/api/v1``, the pages, operations.

The OpenAPI schema is at ``/api/openapi.json`` and its browsable docs at ``/api/docs``. Every
API route needs a token with the right scope (see :mod:`modelsteward.server.auth`), except
``/healthz`` and ``/readyz``; ``dev=True`` lets every API call in without a token and is meant
for loopback only (``steward serve --dev`` refuses any other host).

>>> from fastapi.testclient import TestClient
>>> from modelsteward.config import StewardConfig
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "features": [{"name": "category", "type": "categorical"}]}]})
>>> with TestClient(create_app(cfg, store=":memory:")) as client:
...     client.get("/healthz").json(), client.get("/api/v1/models").status_code
({'status': 'ok'}, 401)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor
from modelsteward.server import auth
from modelsteward.server.api import router as api_router
from modelsteward.server.errors import install_error_handlers
from modelsteward.server.fast_ingest import install_fast_ingest
from modelsteward.server.group_commit import GroupWriter
from modelsteward.server.limits import install_request_guard
from modelsteward.server.logs import install_request_log
from modelsteward.server.ops import router as ops_router
from modelsteward.server.scheduler import run_every

__all__ = ["create_app"]

log = logging.getLogger("modelsteward.server")


def create_app(config: str | Path | StewardConfig, *, store: str | Path | None = None, dev: bool = False,
               check_every: float | None = None) -> FastAPI:
    """The application for ``config`` (a steward.yaml path or a :class:`StewardConfig`).

    ``store`` overrides the configuration's store path. The Monitor is opened now (so the
    schema is migrated before the first request) and closed when the application shuts down,
    after the server has finished its in-flight requests. ``check_every`` (seconds) runs the
    monitoring cycle on that schedule while the application runs (see :mod:`.scheduler`).
    """
    monitor = Monitor(config, store=store)
    auth.init_secret(monitor.store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(run_every(monitor, app.state.lock, check_every)) if check_every else None
        log.info("application started", extra={"event": "startup", "models": [m.name for m in monitor.config.models],
                                                "check_every_s": check_every, "dev": dev})
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with app.state.lock:
            monitor.close()
        log.info("store closed")
        requests = app.state.request_log
        log.log(logging.INFO if requests.in_flight == 0 else logging.WARNING,
                "shut down: %d request(s) served, %d unfinished", requests.served, requests.in_flight,
                extra={"event": "shutdown", "requests_served": requests.served, "requests_unfinished": requests.in_flight,
                       "uptime_s": round(time.monotonic() - requests.started, 1)})

    app = FastAPI(title="modelsteward", version=_version(), openapi_url="/api/openapi.json", docs_url="/api/docs",
                  redoc_url=None, lifespan=lifespan)
    app.state.monitor = monitor
    app.state.lock = threading.Lock()
    app.state.writer = GroupWriter(monitor, app.state.lock)
    app.state.dev = dev
    app.state.ingest_rejected = {}  # endpoint kind -> 4xx answers, for /metrics
    install_error_handlers(app)
    install_fast_ingest(app)  # plain ingest requests answered without FastAPI's routing (H1); inside the guard
    install_request_guard(app, monitor.config.server.max_body_bytes)  # 413 past server.max_body_bytes, 415 for non-JSON
    app.state.request_log = install_request_log(app)  # outermost: request ids and the access log
    app.include_router(ops_router)
    app.include_router(api_router)
    try:
        from modelsteward.server.web import router as web_router
    except ImportError as exc:  # the pages are optional (and may be mid-build); say so rather than fail the API
        log.warning("dashboard pages not mounted: %s", exc)
    else:
        app.include_router(web_router)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("modelsteward")
    except PackageNotFoundError:
        return "0"
