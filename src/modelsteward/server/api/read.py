"""Reads (scope ``read``): window metrics, drift, diagnoses, alerts, incidents, review items, retrain requests.

Long lists are pages: ``?limit=&offset=``, and ``next`` holds the link to the following page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from modelsteward.config import SEVERITIES
from modelsteward.errors import NotFoundError
from modelsteward.server.api._common import Page, jsonable, model_of, paginate
from modelsteward.server.auth import Principal, require_scope
from modelsteward.server.runtime import call, monitor_of
from modelsteward.times import naive_utc

__all__ = ["router"]

router = APIRouter(tags=["read"])
_read = Depends(require_scope("read"))


@router.get("/models")
async def list_models(request: Request, principal: Principal = _read) -> dict[str, Any]:
    """The configured models, with the number of predictions stored for each."""
    mon = monitor_of(request)

    def models() -> list[dict[str, Any]]:
        return [{"name": m.name, "task": m.task, "labels": list(m.labels), "predictions": mon.count_predictions(m.name)}
                for m in mon.config.models]

    return {"items": await call(request, models)}


@router.get("/models/{model}/metrics")
async def metrics(request: Request, model: str, page: Page = Depends(), principal: Principal = _read,
                  start: datetime | None = Query(None, description="first window start to include"),
                  end: datetime | None = Query(None, description="window starts before this")) -> dict[str, Any]:
    """Window metrics history, oldest first: one item per window with every metric it has."""
    cfg = model_of(request, model)
    start, end = naive_utc(start), naive_utc(end)  # the store's times are naive UTC; an aware bound is converted
    history = await call(request, monitor_of(request).metric_history, cfg.name)
    rows = [{"window_start": ws, "window_end": we, "metrics": m} for ws, we, m in history
            if (start is None or ws >= start) and (end is None or ws < end)]
    return paginate(request, rows, page)


@router.get("/models/{model}/drift")
async def drift(request: Request, model: str, page: Page = Depends(), principal: Principal = _read,
                window_start: datetime | None = Query(None, description="one window only")) -> dict[str, Any]:
    """Drift test results per window, subject and test: statistic, p-value, effect size, status."""
    cfg = model_of(request, model)
    return paginate(request, await call(request, monitor_of(request).drift, cfg.name, window_start=naive_utc(window_start)), page)


@router.get("/models/{model}/diagnosis")
async def diagnosis(request: Request, model: str, page: Page = Depends(), principal: Principal = _read,
                    window_start: datetime | None = Query(None)) -> dict[str, Any]:
    """Per-window diagnoses: which kinds of drift, and the evidence."""
    cfg = model_of(request, model)
    return paginate(request, await call(request, monitor_of(request).diagnosis, cfg.name, window_start=naive_utc(window_start)), page)


@router.get("/models/{model}/alerts")
async def alerts(request: Request, model: str, page: Page = Depends(), principal: Principal = _read,
                 min_severity: str = Query("info", pattern=f"^({'|'.join(SEVERITIES)})$",
                                           description="least severe to list: " + ", ".join(reversed(SEVERITIES)))) -> dict[str, Any]:
    """Fired alerts by window, most severe first within a window."""
    cfg = model_of(request, model)
    return paginate(request, await call(request, monitor_of(request).alerts, cfg.name, min_severity=min_severity), page)


@router.get("/models/{model}/incidents")
async def incidents(request: Request, model: str, page: Page = Depends(), principal: Principal = _read,
                    status: str | None = Query(None, description="open | acknowledged | resolved",
                                               pattern="^(open|acknowledged|resolved)$")) -> dict[str, Any]:
    """Incidents of the model's alerts."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    return paginate(request, await call(request, lambda: mon.alerting.incidents(model=cfg.name, status=status)), page)


@router.get("/models/{model}/incidents/{incident_id}")
async def incident(request: Request, model: str, incident_id: str, principal: Principal = _read) -> dict[str, Any]:
    """One incident with its events and the alert transitions under it."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    row = await call(request, lambda: mon.alerting.incident(incident_id))
    _same_model(row, cfg.name, f"incident {incident_id!r}")
    out: dict[str, Any] = jsonable(row)
    return out


@router.get("/models/{model}/review/items")
async def review_items(request: Request, model: str, page: Page = Depends(), principal: Principal = _read,
                       state: str | None = Query(None, description="pending | in_review | decided | skipped",
                                                 pattern="^(pending|in_review|decided|skipped)$"),
                       overdue: bool = Query(False, description="only open items past their SLA")) -> dict[str, Any]:
    """Review items in claim order (highest priority, then earliest due)."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    items = await call(request, lambda: mon.review_queue(cfg.name).items(state=state, overdue=overdue,
                                                                         limit=page.offset + page.limit + 1))
    return paginate(request, items, page)


@router.get("/models/{model}/review/items/{item_id}")
async def review_item(request: Request, model: str, item_id: str, principal: Principal = _read) -> dict[str, Any]:
    """One review item: what to show, why it was routed, its state and decisions."""
    cfg = model_of(request, model)
    mon = monitor_of(request)

    def read() -> dict[str, Any]:
        queue = mon.review_queue(cfg.name)
        return {**queue.item(item_id).to_dict(), "decisions": queue.decisions(item_id)}

    out: dict[str, Any] = jsonable(await call(request, read))
    _same_model(out, cfg.name, f"review item {item_id!r}")
    return out


@router.get("/models/{model}/retrain-requests")
async def retrain_requests(request: Request, model: str, page: Page = Depends(), principal: Principal = _read,
                           status: str | None = Query(None)) -> dict[str, Any]:
    """Retrain requests, oldest first, with the evidence of the trigger that made each."""
    from modelsteward.retrain.requests import list_requests

    cfg = model_of(request, model)
    mon = monitor_of(request)
    return paginate(request, await call(request, list_requests, mon.store, cfg.name, status=status), page)


def _same_model(row: dict[str, Any], model: str, what: str) -> None:
    if row.get("model") != model:
        raise NotFoundError(f"{what} does not belong to model {model!r}", hint=f"it belongs to {row.get('model')!r}")
