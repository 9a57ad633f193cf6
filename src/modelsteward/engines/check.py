"""A monitoring pass whose events are read by an engine (Spark, DuckDB over Parquet, PostgreSQL).

:func:`engine_check` computes, on the configured engine, the window metrics and drift results
of every ended window of the event log and writes them to the store (``window_metrics``,
``drift_results``: state stays in DuckDB or PostgreSQL). Then, as ``steward check`` does:

* ``store_steps=False`` (``steward engine check``): the alert rules are evaluated on the stored
  windows (new alerts stored), nothing else;
* ``store_steps=True`` (``steward check`` with an engine, :func:`modelsteward.cycle.run_cycle`):
  for each window the rest of the window's steps run after the engine's metrics: on the engine
  too, the CBPE estimate (:func:`~modelsteward.engines.streams.confidence_bins`) and concept
  drift (its confusion matrix, CBPE's expectation for the labelled predictions, and the
  time-ordered error stream the online detectors read in Python:
  :mod:`~modelsteward.engines.streams`); on the store's own events, feedback collection rates,
  review progress, multivariate and text drift; then the diagnosis, the alert rules, alert
  states and incidents, and retraining triggers, exactly as in
  :meth:`modelsteward.monitor.Monitor.check`.

:func:`resolve_engine` merges command-line choices into the ``engine:`` section and checks them
(the log's root exists, the Spark master URL is well formed) with errors that name the setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modelsteward.config import EngineSettings
from modelsteward.engines import aggregates as agg
from modelsteward.engines.connect import Engine, open_engine
from modelsteward.engines.drift import ReferenceECDF, engine_window_drift
from modelsteward.engines.metrics import engine_window_metrics
from modelsteward.errors import ConfigError
from modelsteward.metrics.window import WINDOW_LENGTH, window_bounds
from modelsteward.times import naive_utc

__all__ = ["EngineCheck", "engine_check", "naive", "off_store", "resolve_engine"]

# local, local[N], local[*], local[N,F], local-cluster[..], spark://h:p[,h:p], yarn, k8s://..., mesos://...
_MASTER = re.compile(r"local(\[(\d+|\*)(,\d+)?\])?|local-cluster\[\d+,\d+,\d+\]|spark://[\w.\-]+(:\d+)?(,[\w.\-]+(:\d+)?)*"
                     r"|yarn|k8s://\S+|mesos://\S+")


def naive(ts: Any) -> Any:
    """A timestamp as naive UTC (engines may return aware ones)."""
    return naive_utc(ts) if isinstance(ts, datetime) else ts


def off_store(settings: EngineSettings, store: Any) -> bool:
    """Whether ``settings`` read the events somewhere else than the store's own tables.

    >>> off_store(EngineSettings(), store=None), off_store(EngineSettings(kind="spark", events="/lake"), store=None)
    (False, True)
    """
    if settings.kind == "postgres":
        return settings.url != getattr(store, "url", None)
    return settings.kind == "spark" or bool(settings.events)


def resolve_engine(base: EngineSettings, *, kind: str | None = None, events: str | None = None, master: str | None = None,
                   url: str | None = None) -> EngineSettings:
    """The ``engine:`` section with the given choices over it, checked; errors name the setting and the option.

    >>> resolve_engine(EngineSettings(), kind="spark", events=".").master
    'local[2]'
    >>> resolve_engine(EngineSettings(), kind="spark")
    Traceback (most recent call last):
    ...
    modelsteward.errors.ConfigError: engine.events: the spark engine reads the Parquet prediction log, and no root was given
      hint: set engine.events in steward.yaml or pass --events ROOT (the folder holding model=<name>/date=YYYY-MM-DD/); ...
    """
    given = {"kind": kind, "events": events, "master": master, "url": url}
    merged = {**base.model_dump(), **{k: v for k, v in given.items() if v is not None}}
    if merged["kind"] == "spark" and not merged.get("events"):
        raise ConfigError("the spark engine reads the Parquet prediction log, and no root was given", path="engine.events",
                          hint="set engine.events in steward.yaml or pass --events ROOT (the folder holding "
                               "model=<name>/date=YYYY-MM-DD/); write one with `steward engine export ROOT`")
    try:
        settings = EngineSettings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(exc.errors()[0]["msg"], path="engine",
                          hint="fix the engine: section of steward.yaml or the --engine/--events/--master/--url options") from None
    if settings.events and settings.kind in ("duckdb", "spark") and not Path(settings.events).is_dir():
        raise ConfigError(f"the Parquet prediction log {settings.events} does not exist (or is not a folder)", path="engine.events",
                          hint="set engine.events in steward.yaml or pass --events ROOT to the folder holding "
                               "model=<name>/date=YYYY-MM-DD/part-*.parquet; write one with `steward engine export ROOT` "
                               "or `steward engine ingest FILE --to-parquet ROOT`")
    if settings.kind == "spark":
        _check_master(settings.master)
    return settings


def _check_master(master: str) -> None:
    if not _MASTER.fullmatch(master):
        raise ConfigError(f"{master!r} is not a Spark master URL", path="engine.master",
                          hint="set engine.master in steward.yaml or pass --master: local[N] (N cores of this machine), "
                               "local[*], spark://HOST:7077 (a standalone cluster), yarn or k8s://https://HOST:PORT")
    from modelsteward.engines import connect

    running = connect._SPARK.get("session")
    if running is not None and running.sparkContext.master != master:
        raise ConfigError(f"this process already runs Spark on {running.sparkContext.master}, not {master}", path="engine.master",
                          hint="one Spark session serves a process: use the same engine.master everywhere, or run the pass "
                               "in a process of its own (`steward check` from cron)")


@dataclass
class EngineCheck:
    """What :func:`engine_check` did: the engine, the windows computed, their drifted subjects.

    ``check`` is the full pass's report (alerts, incidents, retrain requests, warnings) when the
    store steps ran (``store_steps=True``).
    """

    model: str
    engine: str
    windows: list[datetime] = field(default_factory=list)
    drifted: dict[str, list[str]] = field(default_factory=dict)
    new_alerts: list[dict[str, Any]] = field(default_factory=list)
    check: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "engine": self.engine, "windows": [w.isoformat() for w in self.windows],
                "drifted": self.drifted, "new_alerts": self.new_alerts}


def _store_has_events(mon: Any, model: str) -> bool:
    table = mon.store.predictions_table(model)
    return bool(mon.store.query(f"SELECT 1 FROM {table} LIMIT 1"))


def engine_check(mon: Any, model: str | None = None, *, settings: EngineSettings | None = None, engine: Engine | None = None,
                 until: datetime | None = None, progress: Any = None, store_steps: bool = False) -> EngineCheck:
    """Metrics and drift of every window of the log that ended by ``until`` (default: now), computed on the engine.

    ``settings`` default to the configuration's ``engine:`` section; ``engine`` may be given
    ready-made (tests share one Spark session). Windows already in the store are recomputed.
    ``store_steps`` runs the rest of ``steward check`` after the engine (see the module's text).
    """
    from modelsteward.drift.kinds import WindowKinds
    from modelsteward.monitor import CheckReport, _drift_metrics

    cfg = mon.model(model)
    settings = settings or mon.config.engine
    engine = engine or open_engine(settings, store=mon.store)
    until = naive_utc(until) if until is not None else naive_utc(datetime.now().astimezone())
    events = engine.events(cfg)
    span = engine.rows(events.aggregate(first=events.ts.min(), last=events.ts.max()))[0]
    report = EngineCheck(cfg.name, engine.kind)
    profile = mon.reference(cfg.name)
    due: list[datetime] = []
    metrics: dict[datetime, dict[str, float | None]] = {}
    if span["first"] is not None:
        first, _ = window_bounds(cfg, naive(span["first"]))
        metrics = {naive(k): v for k, v in engine_window_metrics(engine, cfg, first, until, profile=profile).items()}
        start = first
        while start + WINDOW_LENGTH[cfg.window] <= until:  # windows without a prediction too: an outage shows as volume 0
            due.append(start)
            start += WINDOW_LENGTH[cfg.window]
    length = WINDOW_LENGTH[cfg.window]
    ecdf = ReferenceECDF(mon.store, cfg, engine) if profile is not None and due else None
    kinds = WindowKinds(mon.store, cfg, profile, engine=engine) if store_steps else None  # CBPE and concept drift on the engine
    for done, ws in enumerate(due, start=1):
        window_metrics = metrics.get(ws) or {"volume": 0.0, "unique_users": 0.0, "labelled": 0.0}
        drift = engine_window_drift(engine, mon.store, cfg, profile, ws, ws + length, ecdf=ecdf, empty=ws not in metrics) \
            if profile is not None else []
        window_metrics.update(_drift_metrics(drift))
        report.drifted[ws.isoformat()] = [d.subject for d in drift if d.test == "verdict" and d.status == "drift"]
        if kinds is not None:
            drift = mon._store_window_steps(cfg, kinds, profile, ws, ws + length, window_metrics, drift)
        mon._save_window(cfg, ws, ws + length, window_metrics, drift)
        report.windows.append(ws)
        if progress is not None:
            progress(done, len(due))
    if not store_steps:
        _, report.new_alerts = mon._evaluate_rules(cfg, profile)
        return report
    full = CheckReport(cfg.name, list(report.windows))
    if due and not _store_has_events(mon, cfg.name):
        full.warnings.append(
            f"the store holds no predictions of {cfg.name}: metrics, drift, CBPE estimates and concept drift came from the "
            f"{engine.kind} engine, but feedback collection rates, review progress and multivariate and text drift read the "
            "store's own events and found none; log the events to the store too to have them")
    from modelsteward.store.duckdb_store import held_writes

    with held_writes(mon.store):  # as Monitor.check: alert states and triggers read and written with no request between
        mon._after_windows(cfg, full, profile, until)
    report.new_alerts, report.check = full.new_alerts, full
    return report


_ = agg  # the aggregations this pass runs live there
