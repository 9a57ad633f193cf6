"""A monitoring pass whose events are read by an engine (Spark, DuckDB over Parquet, PostgreSQL).

:func:`engine_check` computes, on the configured engine, the window metrics and drift results
of every ended window of the event log, writes them to the store (``window_metrics``,
``drift_results``: state stays in DuckDB or PostgreSQL) and evaluates the alert rules on them,
as ``steward check`` does on the store's own events. The other window kinds (concept drift
with online detectors, multivariate and text drift, CBPE estimates, review progress) read
the store's events and are not run here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelsteward.config import EngineSettings
from modelsteward.engines import aggregates as agg
from modelsteward.engines.connect import Engine, open_engine
from modelsteward.engines.drift import ReferenceECDF, engine_window_drift
from modelsteward.engines.metrics import engine_window_metrics
from modelsteward.metrics.window import WINDOW_LENGTH, window_bounds
from modelsteward.times import naive_utc

__all__ = ["EngineCheck", "engine_check", "naive"]


def naive(ts: Any) -> Any:
    """A timestamp as naive UTC (engines may return aware ones)."""
    return naive_utc(ts) if isinstance(ts, datetime) else ts


@dataclass
class EngineCheck:
    """What :func:`engine_check` did: the engine, the windows computed, their drifted subjects."""

    model: str
    engine: str
    windows: list[datetime] = field(default_factory=list)
    drifted: dict[str, list[str]] = field(default_factory=dict)
    new_alerts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "engine": self.engine, "windows": [w.isoformat() for w in self.windows],
                "drifted": self.drifted, "new_alerts": self.new_alerts}


def engine_check(mon: Any, model: str | None = None, *, settings: EngineSettings | None = None, engine: Engine | None = None,
                 until: datetime | None = None, progress: Any = None) -> EngineCheck:
    """Metrics and drift of every window of the log that ended by ``until`` (default: now), computed on the engine.

    ``settings`` default to the configuration's ``engine:`` section; ``engine`` may be given
    ready-made (tests share one Spark session). Windows already in the store are recomputed.
    """
    cfg = mon.model(model)
    settings = settings or mon.config.engine
    engine = engine or open_engine(settings, store=mon.store)
    until = naive_utc(until) if until is not None else naive_utc(datetime.now().astimezone())
    events = engine.events(cfg)
    span = engine.rows(events.aggregate(first=events.ts.min(), last=events.ts.max()))[0]
    report = EngineCheck(cfg.name, engine.kind)
    if span["first"] is None:
        return report
    first, _ = window_bounds(cfg, naive(span["first"]))
    length = WINDOW_LENGTH[cfg.window]
    profile = mon.reference(cfg.name)
    metrics = {naive(k): v for k, v in engine_window_metrics(engine, cfg, first, until, profile=profile).items()}
    ecdf = ReferenceECDF(mon.store, cfg, engine) if profile is not None else None
    start = first
    due = []
    while start + length <= until:  # windows without a prediction too: an outage shows as volume 0
        due.append(start)
        start += length
    for done, ws in enumerate(due, start=1):
        window_metrics = metrics.get(ws) or {"volume": 0.0, "unique_users": 0.0, "labelled": 0.0}
        drift = engine_window_drift(engine, mon.store, cfg, profile, ws, ws + length, ecdf=ecdf, empty=ws not in metrics) \
            if profile is not None else []
        from modelsteward.monitor import _drift_metrics

        window_metrics.update(_drift_metrics(drift))
        mon._save_window(cfg, ws, ws + length, window_metrics, drift)
        report.windows.append(ws)
        report.drifted[ws.isoformat()] = [d.subject for d in drift if d.test == "verdict" and d.status == "drift"]
        if progress is not None:
            progress(done, len(due))
    _, report.new_alerts = mon._evaluate_rules(cfg, profile)
    return report


_ = agg  # the aggregations this pass runs live there
