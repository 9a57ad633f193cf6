"""Group commit: single-prediction requests that arrive together share one transaction.

A commit costs more than a row, so one transaction per request caps single-prediction ingest
at a few hundred per second. While one group is being written, the requests that arrive queue
up; the next group takes them all (up to :data:`MAX_GROUP`) in one ``log_predictions`` call.
Each request is still answered only after the transaction holding its row has committed, and
each gets its own answer: if the group is refused (an invalid row, an id clash), its rows are
written one by one, so one bad request never fails the others.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pyarrow as pa
from starlette.concurrency import run_in_threadpool

from modelsteward.errors import StewardError
from modelsteward.monitor import Monitor
from modelsteward.server.runtime import locked
from modelsteward.store.duckdb_store import DuckDBStore

__all__ = ["GroupWriter", "MAX_GROUP"]

MAX_GROUP = 1000


class GroupWriter:
    """Writes single predictions in groups; ``await write(model, record)`` returns True for a duplicate."""

    def __init__(self, monitor: Monitor, lock: Any) -> None:
        self.monitor = monitor
        self.lock = lock
        self._pending: dict[str, list[tuple[dict[str, Any], asyncio.Future[bool]]]] = {}
        self._flushing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0  # groups written, and the requests in them: their ratio is the mean group size
        self.requests = 0
        # pyarrow imports pandas at its first pa.array() of a list (a second or more on a busy machine): pay
        # it now rather than in the first group's write, which holds the lock while every request waits.
        pa.array([0.0])

    async def write(self, model: str, record: dict[str, Any]) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(model, []).append((record, future))
        if model not in self._flushing:
            self._flushing.add(model)
            task = asyncio.create_task(self._flush(model))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _flush(self, model: str) -> None:
        try:
            while self._pending.get(model):
                queue = self._pending[model]
                group, self._pending[model] = queue[:MAX_GROUP], queue[MAX_GROUP:]
                self.groups += 1
                self.requests += len(group)
                try:
                    results = await run_in_threadpool(locked, self.lock, self._write_group, (model, [r for r, _ in group]), {})
                except BaseException as exc:  # noqa: BLE001  every waiting request learns of it
                    results = [exc] * len(group)
                for (_, future), result in zip(group, results, strict=True):
                    if future.done():  # the client went away; its row is written all the same
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._flushing.discard(model)

    def _write_group(self, model: str, records: list[dict[str, Any]]) -> list[bool | BaseException]:
        if len(records) == 1:
            return [self._write_one(model, records[0])]
        ids = [str(r["prediction_id"]) for r in records]
        repeats = len(ids) - len(set(ids))  # copies within the group: identical ones are collapsed
        try:
            result = self.monitor.log_predictions(records, model=model)
        except StewardError:
            return [self._write_one(model, r) for r in records]
        # Usually every id is new and no look-up is needed; only a retry of an id stored earlier
        # makes the store count more duplicates than the group's own copies.
        stored = self._stored_before(model, ids, result.inserted) if result.duplicates > repeats else set()
        out: list[bool | BaseException] = []
        seen: set[str] = set()
        for pid in ids:
            out.append(pid in stored or pid in seen)
            seen.add(pid)
        return out

    def _stored_before(self, model: str, ids: list[str], inserted: int) -> set[str]:
        """The ids of a group just written that were stored by an earlier write.

        A store that reports the ids its last write inserted (PostgreSQL: ``INSERT ... ON
        CONFLICT DO NOTHING RETURNING``) answers exactly, even with several servers writing the
        same ids at once: every other id of the group was stored by someone else. Otherwise (the
        DuckDB file, one writing process) the rows of one write share one ``ingested_at``, later
        than any earlier write's (writes are serialised under the process lock), so the latest
        time among the group's ids is this write's, unless it inserted nothing.
        """
        written_ids = getattr(self.monitor.store, "written_ids", None)
        written = written_ids() if written_ids is not None else None
        if written is not None and len(written) == inserted and written <= set(ids):
            return set(ids) - written
        table = DuckDBStore.predictions_table(model)
        rows = self.monitor.store.query(
            f"SELECT prediction_id, ingested_at FROM {table} WHERE prediction_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        if not inserted:
            return {r[0] for r in rows}
        latest = max(r[1] for r in rows)
        return {r[0] for r in rows if r[1] != latest}

    def _write_one(self, model: str, record: dict[str, Any]) -> bool | BaseException:
        try:
            return self.monitor.log_predictions([record], model=model).duplicates > 0
        except StewardError as exc:
            return exc
