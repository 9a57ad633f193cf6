"""Operations endpoints: ``/healthz`` (open), ``/readyz`` (open) and ``/metrics`` (Prometheus).

``/metrics`` needs a token with the ``read`` scope, like the rest of what the store holds (the
metric labels name models and rules); in dev mode it is open, as is everything, and dev mode is
loopback only. A Prometheus scrape config passes the token as ``authorization: {credentials: ...}``.

The figures come from the store at each scrape, so they are the same from every process:

- ``steward_predictions`` / ``steward_prediction_errors``: predictions stored, and those the model failed on;
- ``steward_window_metric{metric=...}``: the last computed window's metrics (volume, latency
  percentiles, mean confidence, accuracy...), with ``steward_window_end_timestamp_seconds``;
- ``steward_alerts_fired`` by severity, ``steward_incidents_open`` by severity;
- ``steward_review_items`` by state (pending + in_review is the queue depth);
- ``steward_ingest_rejected``: ingest requests this process refused (4xx), by endpoint kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from modelsteward.server.auth import Principal, require_scope
from modelsteward.server.runtime import call, monitor_of
from modelsteward.store.base import Store
from modelsteward.store.model_tables import ModelTables

__all__ = ["StoreCollector", "router"]

router = APIRouter(tags=["operations"])
_read = Depends(require_scope("read"))


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers. Open, no token."""
    return {"status": "ok"}


@router.get("/readyz", response_class=PlainTextResponse)
async def readyz(request: Request) -> Response:
    """Readiness: the store answers a query. Open, no token."""
    mon = monitor_of(request)
    await call(request, mon.store.query, "SELECT 1")
    return PlainTextResponse("ready\n")


class StoreCollector(Collector):
    """Reads the figures from the store at each collection."""

    def __init__(self, store: Store, models: list[str], ingest_rejected: dict[str, int]) -> None:
        self.store = store
        self.models = models
        self.ingest_rejected = ingest_rejected

    def collect(self) -> Iterator[Metric]:
        preds = GaugeMetricFamily("steward_predictions", "predictions stored", labels=["model"])
        errs = GaugeMetricFamily("steward_prediction_errors", "stored predictions where the model raised an error", labels=["model"])
        for model in self.models:
            table = ModelTables.predictions_table(model)
            total, failed = self.store.query(f"SELECT count(*), count(error) FROM {table}")[0]
            preds.add_metric([model], float(total))
            errs.add_metric([model], float(failed))
        yield preds
        yield errs
        window = GaugeMetricFamily("steward_window_metric", "metrics of the last computed window", labels=["model", "metric"])
        ends = GaugeMetricFamily("steward_window_end_timestamp_seconds", "end of the last computed window", labels=["model"])
        seen: set[str] = set()
        for model, end, metric, value in self.store.query(
            "SELECT model, window_end, metric, value FROM window_metrics w WHERE window_start = "
            "(SELECT max(window_start) FROM window_metrics x WHERE x.model = w.model) AND value IS NOT NULL ORDER BY model, metric"
        ):
            window.add_metric([model, metric], float(value))
            if model not in seen:
                seen.add(model)
                ends.add_metric([model], _epoch(end))
        yield window
        yield ends
        yield _grouped("steward_alerts_fired", "alerts fired, by severity", ["model", "severity"],
                       self.store.query("SELECT model, severity, count(*) FROM alerts GROUP BY ALL ORDER BY ALL"))
        open_incidents = "SELECT model, severity, count(*) FROM incidents WHERE status <> 'resolved' GROUP BY ALL ORDER BY ALL"
        yield _grouped("steward_incidents_open", "incidents not resolved, by severity", ["model", "severity"],
                       self.store.query(open_incidents))
        yield _grouped("steward_review_items", "review items by state (pending + in_review = queue depth)", ["model", "state"],
                       self.store.query("SELECT model, state, count(*) FROM review_items GROUP BY ALL ORDER BY ALL"))
        rejected = GaugeMetricFamily("steward_ingest_rejected", "ingest requests refused by this process (4xx)", labels=["kind"])
        for kind in ("predictions", "feedback"):
            rejected.add_metric([kind], float(self.ingest_rejected.get(kind, 0)))
        yield rejected


def _epoch(value: Any) -> float:
    from datetime import UTC

    return float(value.replace(tzinfo=UTC).timestamp())


def _grouped(name: str, doc: str, labels: list[str], rows: list[tuple[Any, ...]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v) for v in values], float(count))
    return family


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request, principal: Principal = _read) -> Response:
    """The Prometheus exposition of what the store holds (scope ``read``; open in dev mode)."""
    mon = monitor_of(request)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(mon.store, [m.name for m in mon.config.models], request.app.state.ingest_rejected))
    body = await call(request, generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
