"""Sharing one DuckDB file between processes: open it when the other process lets go.

DuckDB lets one process at a time open a database file for writing (a second process gets a
lock error at open, even read-only). Review work from several processes (reviewers' terminals,
workers) therefore takes turns: each opens the store, does one short operation (a claim, a
decision) and closes it. :func:`open_monitor` retries the open with a growing, jittered pause
while another process holds the file, up to ``timeout`` seconds. Within a process the store's
lock serialises threads. A server deployment shares the store through the HTTP service instead.

>>> import tempfile, os
>>> from modelsteward.config import StewardConfig
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["a", "b"]}]})
>>> with tempfile.TemporaryDirectory() as d:
...     with open_monitor(cfg, os.path.join(d, "s.duckdb"), timeout=1) as mon:
...         mon.count_predictions()
0
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import TYPE_CHECKING

from modelsteward.config import StewardConfig
from modelsteward.errors import StoreError

if TYPE_CHECKING:
    from modelsteward.monitor import Monitor

__all__ = ["open_monitor"]


def _locked(exc: StoreError) -> bool:
    return "lock" in exc.message.lower()


def open_monitor(config: str | Path | StewardConfig, store: str | Path | None = None, *, timeout: float = 30.0) -> Monitor:
    """A Monitor over ``store``, waiting up to ``timeout`` seconds while another process holds the file."""
    from modelsteward.monitor import Monitor

    deadline = time.monotonic() + timeout
    pause = 0.005
    jitter = random.Random()  # spreads the retries of processes that collided; no result depends on it
    while True:
        try:
            return Monitor(config, store=store)
        except StoreError as exc:
            if not _locked(exc):
                raise
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{exc.message} (still locked after {timeout:g} s)",
                    hint="another process kept the store open; close it (or stop `steward serve`) and run the command again",
                ) from None
        time.sleep(pause * (0.5 + jitter.random()))
        pause = min(pause * 2, 0.1)
