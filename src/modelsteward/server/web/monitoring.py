"""Reading pages: the model list, each model's overview, and drift per feature (viewer role)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from modelsteward.server.web import data
from modelsteward.server.web._common import (
    PAGE_SIZE,
    PageError,
    monitor_of,
    page,
    page_bounds,
    page_number,
    render,
    require_model,
    signed_in,
)
from modelsteward.server.web.charts import chart_json, distribution_figure, panel_chart

__all__ = ["router"]

router = APIRouter()


@router.get("/", include_in_schema=False)
@page
def home(request: Request) -> Response:
    signed_in(request)
    models = monitor_of(request).config.models
    if len(models) == 1:
        return RedirectResponse(f"/models/{models[0].name}", status_code=303)
    return render(request, "home.html", {"model": None})


@router.get("/models/{model}", include_in_schema=False)
@page
def overview(request: Request, model: str) -> Response:
    signed_in(request)
    cfg = require_model(request, model)
    mon = monitor_of(request)
    store = mon.store
    profile = data.profile_or_none(store, cfg)
    baselines = data.baselines_of(store, cfg, profile)
    hist = data.history(store, cfg)
    dashboard, operations = data.overview_panels(cfg, hist, baselines)
    estimate = data.estimate_panel(cfg, hist, baselines)
    if estimate is not None:
        operations.append(estimate)
    incidents = [i for i in mon.alerting.incidents(model=cfg.name) if i["status"] != "resolved"]
    diagnoses = mon.diagnosis(cfg.name)
    latest = hist[-1] if hist else None
    return render(request, "overview.html", {
        "model": cfg.name, "config": cfg, "tab": "overview",
        "dashboard": [panel_chart(p) for p in dashboard] if hist else [],
        "operations": [panel_chart(p) for p in operations] if hist else [],
        "latest": None if latest is None else {"label": data.window_label(latest[0], cfg), "metrics": latest[2]},
        "windows": len(hist), "incidents": incidents[:10], "incident_count": len(incidents),
        "diagnosis": diagnoses[-1] if diagnoses else None, "has_profile": profile is not None,
        "predictions": mon.count_predictions(cfg.name),
    })


@router.get("/models/{model}/drift", include_in_schema=False)
@page
def drift_index(request: Request, model: str) -> Response:
    signed_in(request)
    cfg = require_model(request, model)
    store = monitor_of(request).store
    last, verdicts = data.latest_verdicts(store, cfg)
    subjects = [{"name": s, "kind": k, "verdict": verdicts.get(s)} for s, k in data.drift_subjects(cfg)]
    return render(request, "drift_index.html", {"model": cfg.name, "tab": "drift", "subjects": subjects,
                                                "window": None if last is None else data.window_label(last, cfg)})


@router.get("/models/{model}/drift/{feature}", include_in_schema=False)
@page
def drift_feature(request: Request, model: str, feature: str) -> Response:
    signed_in(request)
    cfg = require_model(request, model)
    kinds = dict(data.drift_subjects(cfg))
    if feature not in kinds:
        raise PageError(404, f"Model {cfg.name!r} has no feature {feature!r} with drift results.",
                        "pick one from the drift page's list")
    store = monitor_of(request).store
    windows = data.subject_windows(store, cfg, feature)
    selected = _selected_window(request, windows)
    tests = data.window_tests(store, cfg, feature, selected) if selected is not None else []
    profile = data.profile_or_none(store, cfg)
    dist = data.distribution(store, cfg, profile, feature, kinds[feature], selected) if selected is not None else None
    if dist is None and selected is not None:  # labels: the shares the categorical test stored
        dist = _stored_shares(tests)
    label = None if selected is None else data.window_label(selected, cfg)
    dist_chart = None if dist is None else chart_json(distribution_figure(feature, *dist, current_label=f"Window {label}"))
    _, over_time = data.subject_history(store, cfg, feature, limit=data.OVERVIEW_WINDOWS, newest_first=True)
    time_charts = [panel_chart(p) for p in data.drift_over_time_panels(cfg, feature, list(reversed(over_time)))]
    total, _ = data.subject_history(store, cfg, feature, limit=0)
    number, pages, offset = page_bounds(total, page_number(request))
    _, rows = data.subject_history(store, cfg, feature, limit=PAGE_SIZE, offset=offset)
    return render(request, "drift_feature.html", {
        "model": cfg.name, "tab": "drift", "feature": feature, "kind": kinds[feature], "tests": tests,
        "window_label": label, "window_iso": None if selected is None else selected.isoformat(),
        "windows": [(w.isoformat(), data.window_label(w, cfg)) for w in reversed(windows)],
        "distribution": dist_chart, "time_charts": time_charts, "alpha": cfg.drift.p_value,
        "history": [{**r, "label": data.window_label(r["window_start"], cfg), "iso": r["window_start"].isoformat()} for r in rows],
        "pager": {"number": number, "pages": pages, "total": total},
    })


def _selected_window(request: Request, windows: list[datetime]) -> datetime | None:
    raw = request.query_params.get("window")
    if raw is None:
        return windows[-1] if windows else None
    try:
        chosen = datetime.fromisoformat(raw)
    except ValueError:
        raise PageError(400, f"{raw!r} is not a window start.", "pick a window from the list") from None
    if chosen not in windows:
        raise PageError(404, f"No drift results for the window starting {raw}.", "pick a window from the list")
    return chosen


def _stored_shares(tests: list[dict[str, object]]) -> tuple[list[str], list[float], list[float]] | None:
    for t in tests:
        details = t.get("details")
        shares = details.get("shares") if isinstance(details, dict) else None
        if isinstance(shares, dict) and shares:
            cats = sorted(shares)[: data.MAX_CATEGORIES]
            return cats, [float(shares[c]["reference"]) for c in cats], [float(shares[c]["current"]) for c in cats]
    return None
