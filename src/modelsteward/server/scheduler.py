"""The monitoring cycle inside the server: every ``interval``, check each model's due windows.

:func:`run_cycle` is one pass (windows, drift, alert rules, retrain triggers for every model,
then the notifications that are due), the same work ``steward check`` does once for cron. The
server runs it in the threadpool under the Monitor lock, so ingest waits while a pass runs.

>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "features": []}]})
>>> [r.model for r in run_cycle(Monitor(cfg, store=":memory:"))]
['tickets']
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from modelsteward.cycle import run_cycle as _run_cycle
from modelsteward.errors import StewardError
from modelsteward.monitor import CheckReport, Monitor
from modelsteward.server.runtime import locked

__all__ = ["run_cycle", "run_every"]

log = logging.getLogger("modelsteward.server")


def run_cycle(monitor: Monitor, *, until: datetime | None = None) -> list[CheckReport]:
    """One monitoring pass over every model, then delivery of the notifications that are due.

    The library's :func:`modelsteward.cycle.run_cycle`, the same pass `steward check` runs.
    """
    return _run_cycle(monitor, until=until).reports


async def run_every(monitor: Monitor, lock: threading.Lock, interval: float) -> None:
    """Run :func:`run_cycle` every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        try:
            reports: list[Any] = await run_in_threadpool(locked, lock, run_cycle, (monitor,), {})
            for r in reports:
                if r.windows or r.new_alerts:
                    log.info("check %s: %d window(s), %d new alert(s)", r.model, len(r.windows), len(r.new_alerts))
        except StewardError as exc:
            log.error("monitoring pass failed: %s", exc)
        except Exception:
            log.exception("monitoring pass failed")
        await asyncio.sleep(interval)
