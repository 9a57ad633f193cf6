"""Feedback and retraining (collection rates, retrain requests, their exports), and the maintenance plan."""

from __future__ import annotations

import re
from pathlib import Path

import markupsafe
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from modelsteward.config import FEEDBACK_SOURCES
from modelsteward.report.charts import Panel, Series
from modelsteward.report.plan import MaintenancePlan, build_plan, render_html
from modelsteward.retrain.requests import get_request, list_requests
from modelsteward.server.web import data
from modelsteward.server.web._common import (
    PageError,
    monitor_of,
    page,
    page_number,
    paginate,
    render,
    require_model,
    security_headers,
    signed_in,
)
from modelsteward.server.web.charts import panel_chart

__all__ = ["router"]

router = APIRouter()

_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd")


@router.get("/models/{model}/feedback", include_in_schema=False)
@page
def feedback(request: Request, model: str) -> Response:
    signed_in(request)
    cfg = require_model(request, model)
    store = monitor_of(request).store
    hist = data.history(store, cfg)
    xs = [data.window_label(ws, cfg) for ws, _, _ in hist]
    charts = []
    if hist:
        rates = Panel("Feedback collection rates", "Window", "Share of predictions with feedback",
                      [Series(kind, xs, [m.get(f"feedback.{kind}_rate") for _, _, m in hist], color=c)
                       for kind, c in zip(FEEDBACK_SOURCES, _COLORS, strict=False)]
                      + [Series("label coverage", xs, [m.get("label_coverage") for _, _, m in hist], color="#7f7f7f", marker="square")],
                      y_format=".0%")
        delay = Panel("Outcome feedback delay", "Window", "Hours (median)",
                      [Series("median delay", xs, [m.get("feedback.outcome_delay_hours_p50") for _, _, m in hist], color="#8c564b")])
        charts = [panel_chart(rates), panel_chart(delay)]
    latest = hist[-1][2] if hist else {}
    requests = list(reversed(list_requests(store, cfg.name)))
    page_of = paginate(requests, page_number(request))
    exports = {r.request_id: _export_file(r.export_path) is not None for r in page_of.items}
    return render(request, "feedback.html", {
        "model": cfg.name, "tab": "feedback", "charts": charts, "kinds": FEEDBACK_SOURCES,
        "latest": latest, "latest_label": data.window_label(hist[-1][0], cfg) if hist else None,
        "requests": page_of, "exports": exports,
    })


def _export_file(path: str | None) -> Path | None:
    """The export's file when it is a Parquet file that still exists.

    The file must start with Parquet's magic bytes: a name ending in ``.parquet`` (say a symlink
    planted where an export was) is not enough to have any other file served.
    """
    if not path:
        return None
    p = Path(path)
    if p.suffix != ".parquet" or not p.is_file():
        return None
    try:
        with p.open("rb") as fh:
            magic = fh.read(4)
    except OSError:
        return None
    return p if magic == b"PAR1" else None


@router.get("/models/{model}/feedback/requests/{request_id}/export", include_in_schema=False)
@page
def export(request: Request, model: str, request_id: str) -> Response:
    signed_in(request)
    cfg = require_model(request, model)
    req = get_request(monitor_of(request).store, request_id)
    if req.model != cfg.name:
        raise PageError(404, f"Retrain request {request_id!r} is not a request of model {cfg.name!r}.")
    path = _export_file(req.export_path)
    if path is None:
        raise PageError(404, f"Retrain request {req.request_id} has no export file.",
                        "exports are written when a trigger fires; `steward retrain list` shows where")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{cfg.name}-{req.request_id}.parquet")
    return security_headers(FileResponse(path, media_type="application/vnd.apache.parquet", filename=name))


@router.get("/models/{model}/plan", include_in_schema=False)
@page
def plan(request: Request, model: str) -> Response:
    signed_in(request)
    cfg = require_model(request, model)
    mon = monitor_of(request)
    whole = build_plan(mon.config, mon.store)
    mine = MaintenancePlan([m for m in whole.models if m.name == cfg.name], whole.generated_at, whole.notifications)
    return render(request, "plan.html", {"model": cfg.name, "tab": "plan", "plan_body": _body(render_html(mine)),
                                         "markdown_hint": "steward plan"})


def _body(document: str) -> markupsafe.Markup:
    """The inside of ``<body>`` of the plan's own page (escaped by its autoescaped template)."""
    start = document.find("<body>")
    end = document.rfind("</body>")
    if start < 0 or end < 0:
        raise RuntimeError("the maintenance plan's page has no <body>")
    return markupsafe.Markup(document[start + len("<body>"):end])
