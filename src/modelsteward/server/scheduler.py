"""The monitoring cycle inside the server: every ``interval``, check each model's due windows.

:func:`run_cycle` is one pass (windows, drift, alert rules, retrain triggers for every model,
then the notifications that are due), the same work ``steward check`` does once for cron. The
server runs it in the threadpool (:func:`run_pass`). On a DuckDB store the pass reads apart from
the writers (:meth:`~modelsteward.store.duckdb_store.DuckDBStore.reads_apart`): its reads run on
a cursor of its own outside the Monitor lock, and only its writes (window metrics, drift results,
alert states, incidents, retrain requests, the outbox) take it, so ingest waits for those short
writes, not for the pass. Other stores run the whole pass under the Monitor lock.

>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "features": []}]})
>>> [r.model for r in run_cycle(Monitor(cfg, store=":memory:"))]
['tickets']
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from modelsteward.cycle import run_cycle as _run_cycle
from modelsteward.errors import StewardError
from modelsteward.monitor import CheckReport, Monitor
from modelsteward.server.runtime import locked

__all__ = ["run_cycle", "run_every", "run_pass"]

log = logging.getLogger("modelsteward.server")


def run_cycle(monitor: Monitor, *, until: datetime | None = None) -> list[CheckReport]:
    """One monitoring pass over every model, then delivery of the notifications that are due.

    The library's :func:`modelsteward.cycle.run_cycle`, the same pass `steward check` runs.
    """
    return _run_cycle(monitor, until=until).reports


def run_pass(monitor: Monitor, lock: threading.Lock) -> list[CheckReport]:
    """One scheduled pass (blocking): reads apart from the writers where the store can, else all under ``lock``.

    ``lock`` is the Monitor lock every request's write holds (:func:`.runtime.locked`).
    """
    apart = getattr(monitor.store, "reads_apart", None)
    if apart is None:
        return locked(lock, run_cycle, (monitor,), {})
    with apart(lock):
        return run_cycle(monitor)


async def run_every(monitor: Monitor, lock: threading.Lock, interval: float) -> None:
    """Run :func:`run_cycle` every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        start = time.perf_counter()
        try:
            reports: list[Any] = await _finished(run_in_threadpool(run_pass, monitor, lock))
            _log_pass(reports, start)
        except StewardError as exc:
            log.error("monitoring pass failed: %s", exc, extra=_failed(start))
        except Exception:
            log.exception("monitoring pass failed", extra=_failed(start))
        await asyncio.sleep(interval)


async def _finished(work: Awaitable[list[Any]]) -> list[Any]:
    """The pass's result; cancelled (the server stops), it still waits for the pass's thread to end.

    The pass reads outside the Monitor lock, so the lock no longer keeps the store from being
    closed under it: the caller closes the store only after this returns.
    """
    future = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await future
        raise


def _log_pass(reports: list[CheckReport], start: float) -> None:
    """One structured line per pass: models, windows computed, alerts fired, retrain requests, duration."""
    windows = sum(len(r.windows) for r in reports)
    alerts = sum(len(r.new_alerts) for r in reports)
    log.info("monitoring pass: %d model(s), %d window(s), %d new alert(s)", len(reports), windows, alerts, extra={
        "event": "monitoring_cycle", "status": "ok", "models": [r.model for r in reports], "windows": windows,
        "alerts_fired": alerts, "retrain_requests": sum(len(r.retrain_requests) for r in reports),
        "by_model": {r.model: {"windows": len(r.windows), "alerts_fired": len(r.new_alerts)} for r in reports},
        "duration_ms": round((time.perf_counter() - start) * 1000, 1)})


def _failed(start: float) -> dict[str, Any]:
    return {"event": "monitoring_cycle", "status": "failed", "duration_ms": round((time.perf_counter() - start) * 1000, 1)}
