"""One monitoring pass: what ``steward check`` runs once for cron and the server runs on a schedule.

:func:`run_cycle` checks the due windows of each model (metrics, drift, the diagnosis, alert
rules and incidents, retraining triggers), then sends the notifications that are due. Both
entry points call it, so a team gets the same result from a cron job and from the server.

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

from modelsteward.monitor import CheckReport, Monitor
from modelsteward.store.base import try_exclusive

__all__ = ["CycleResult", "run_cycle"]


@dataclass
class CycleResult:
    """The reports of one pass, one per model, and what the notification delivery did (None if not run)."""

    reports: list[CheckReport] = field(default_factory=list)
    delivery: dict[str, Any] | None = None
    skipped: bool = False  # another process sharing the store was running a pass (PostgreSQL); this one did nothing


def run_cycle(
    monitor: Monitor,
    *,
    models: Sequence[str] | None = None,
    until: datetime | None = None,
    everything: bool = False,
    deliver: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> CycleResult:
    """Check every model (or ``models``), then deliver the notifications that are due.

    ``progress(model, done, total)`` is called after each window; ``deliver=False`` leaves the
    outbox for `steward notify deliver`. Delivery never raises for a receiver's failure.
    """
    result = CycleResult()
    with try_exclusive(monitor.store, "monitoring-cycle") as mine:  # several servers on one PostgreSQL: one pass at a time
        if not mine:
            result.skipped = True
            return result
        return _run(monitor, result, models=models, until=until, everything=everything, deliver=deliver, progress=progress)


def _run(monitor: Monitor, result: CycleResult, *, models: Sequence[str] | None, until: datetime | None, everything: bool,
         deliver: bool, progress: Callable[[str, int, int], None] | None) -> CycleResult:
    for name in models or [m.name for m in monitor.config.models]:
        step = None if progress is None else (lambda done, total, n=name: progress(n, done, total))
        result.reports.append(monitor.check(name, until=until, everything=everything, progress=step))
    if deliver and monitor.config.notifications is not None:
        from modelsteward.alerts.notify import Dispatcher

        delivery = Dispatcher(monitor.store, monitor.config).deliver_due().to_dict()
        delivery.pop("attempts")
        result.delivery = delivery
    return result
