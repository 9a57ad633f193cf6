"""One Monitor per process, and the way request handlers reach it.

DuckDB connections are not safe for concurrent writes from several threads, and a library call
may span several statements; so every call into the Monitor runs in the threadpool (it blocks)
under one process-wide lock. A write returns only after the library committed it.

The scheduled monitoring pass is the exception that keeps ingest fast: it reads on a cursor of
its own outside this lock and takes the lock only for its writes and its alert phase
(:func:`modelsteward.server.scheduler.run_pass`, ``DuckDBStore.reads_apart``). The lock still
orders every write of the process: each holder commits before it releases it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from modelsteward.monitor import Monitor

__all__ = ["call", "locked", "monitor_of"]

T = TypeVar("T")


def monitor_of(request: Request) -> Monitor:
    monitor: Monitor = request.app.state.monitor
    return monitor


def locked(lock: threading.Lock, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    with lock:
        return fn(*args, **kwargs)


async def call(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking library call in the threadpool, under the process's Monitor lock."""
    return await run_in_threadpool(locked, request.app.state.lock, fn, args, kwargs)
