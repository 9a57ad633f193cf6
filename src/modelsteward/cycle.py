"""One monitoring pass: what ``steward check`` runs once for cron and the server runs on a schedule.

:func:`run_cycle` checks the due windows of each model (metrics, drift, the diagnosis, alert
rules and incidents, retraining triggers), then sends the notifications that are due. Both
entry points call it, so a team gets the same result from a cron job and from the server.

The ``engine:`` section of ``steward.yaml`` (or ``engine=``) chooses where the events are read.
On the store's own engine (the default) the pass is :meth:`~modelsteward.monitor.Monitor.check`.
With ``kind: spark``, or ``kind: duckdb`` over a Parquet ``events`` log, the window metrics and
drift of every ended window of the log are computed on that engine
(:func:`~modelsteward.engines.check.engine_check`) and stored, and so are the CBPE estimates and
concept drift (the error stream the online detectors read); the steps that read the store's
own events (feedback collection rates, review progress, multivariate and text drift), the
diagnosis and everything after the windows (alert rules, incidents, retraining triggers,
notifications) then run on the store exactly as they do there.

>>> from modelsteward.config import StewardConfig
>>> from modelsteward.monitor import Monitor
>>> cfg = StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary",
...     "labels": ["urgent", "routine"], "features": []}]})
>>> cycle = run_cycle(Monitor(cfg, store=":memory:"))
>>> [r.model for r in cycle.reports], cycle.delivery is None
(['tickets'], True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelsteward.config import EngineSettings
from modelsteward.monitor import CheckReport, Monitor
from modelsteward.store.base import try_exclusive

__all__ = ["CycleResult", "run_cycle"]


@dataclass
class CycleResult:
    """The reports of one pass, one per model, and what the notification delivery did (None if not run)."""

    reports: list[CheckReport] = field(default_factory=list)
    delivery: dict[str, Any] | None = None
    skipped: bool = False  # another process sharing the store was running a pass (PostgreSQL); this one did nothing
    engine: dict[str, Any] = field(default_factory=dict)  # where the window metrics and drift were computed


def run_cycle(
    monitor: Monitor,
    *,
    models: Sequence[str] | None = None,
    until: datetime | None = None,
    everything: bool = False,
    deliver: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
    engine: EngineSettings | None = None,
) -> CycleResult:
    """Check every model (or ``models``), then deliver the notifications that are due.

    ``progress(model, done, total)`` is called after each window; ``deliver=False`` leaves the
    outbox for `steward notify deliver`. Delivery never raises for a receiver's failure.
    ``engine`` overrides the configuration's ``engine:`` section. On an engine other than the
    store's, every ended window of the log is recomputed (``everything`` is implied).
    """
    from modelsteward.engines.check import off_store, resolve_engine

    settings: EngineSettings | None = engine if engine is not None else monitor.config.engine
    if settings is not None and off_store(settings, monitor.store):
        settings = resolve_engine(settings)  # the log's root exists, the master URL is well formed
        result = CycleResult(engine={"kind": settings.kind, "events": settings.events,
                                     **({"master": settings.master} if settings.kind == "spark" else {})})
    else:
        result = CycleResult(engine={"kind": _store_kind(monitor), "events": "store"})
        settings = None
    with try_exclusive(monitor.store, "monitoring-cycle") as mine:  # several servers on one PostgreSQL: one pass at a time
        if not mine:
            result.skipped = True
            return result
        return _run(monitor, result, models=models, until=until, everything=everything, deliver=deliver, progress=progress,
                    settings=settings)


def _store_kind(monitor: Monitor) -> str:
    url = getattr(monitor.store, "url", None)
    return "postgres" if isinstance(url, str) and url.startswith(("postgresql://", "postgres://")) else "duckdb"


def _run(monitor: Monitor, result: CycleResult, *, models: Sequence[str] | None, until: datetime | None, everything: bool,
         deliver: bool, progress: Callable[[str, int, int], None] | None, settings: EngineSettings | None) -> CycleResult:
    engine = None
    if settings is not None:
        from modelsteward.engines.connect import open_engine

        engine = open_engine(settings, store=monitor.store)  # one engine (one Spark session) for every model
    try:
        for name in models or [m.name for m in monitor.config.models]:
            step = None if progress is None else (lambda done, total, n=name: progress(n, done, total))
            if engine is None:
                result.reports.append(monitor.check(name, until=until, everything=everything, progress=step))
            else:
                from modelsteward.engines.check import engine_check

                done = engine_check(monitor, name, settings=settings, engine=engine, until=until, progress=step, store_steps=True)
                result.reports.append(done.check)
    finally:
        if engine is not None:
            engine.close()
    if deliver and monitor.config.notifications is not None:
        from modelsteward.alerts.notify import Dispatcher

        delivery = Dispatcher(monitor.store, monitor.config).deliver_due().to_dict()
        delivery.pop("attempts")
        result.delivery = delivery
    return result
