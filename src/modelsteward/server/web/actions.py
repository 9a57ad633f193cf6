"""Pages where people act: incidents (acknowledge, resolve, silence) and the review queue (claim, decide).

Who may do what (the role from the session; each role may do what the roles before it may):

=====================================  ======  ========  =====
action                                 viewer  reviewer  admin
=====================================  ======  ========  =====
read every page, download exports      yes     yes       yes
claim and decide review items          no      yes       yes
acknowledge and resolve incidents      no      yes       yes
silence alerts, expire silences        no      no        yes
=====================================  ======  ========  =====

The person recorded on an acknowledgement, a resolution, a silence or a review decision is the
signed-in user; no form field can name someone else. Every form carries the session's CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from modelsteward.review.queue import DECISIONS, ITEM_STATES
from modelsteward.server.web._common import (
    PAGE_SIZE,
    PageError,
    Viewer,
    check_form_csrf,
    monitor_of,
    page,
    page_bounds,
    page_number,
    paginate,
    render,
    require_model,
    security_headers,
    signed_in,
)

__all__ = ["INCIDENT_FILTERS", "MESSAGES", "router"]

router = APIRouter()

#: ``?status=`` filters of the incidents list.
INCIDENT_FILTERS = ("active", "open", "acknowledged", "resolved", "all")

#: Confirmation shown after an action (``?done=<key>``); codes, so no text is reflected from the URL.
MESSAGES = {
    "acknowledged": "Incident acknowledged.", "resolved": "Incident resolved.", "silenced": "Silence added.",
    "expired": "Silence expired.", "claimed": "Item claimed: it is yours until the lease ends.", "decided": "Decision recorded.",
    "empty": "Nothing to claim: the queue has no item you may take.",
}

#: Longest silence the dashboard adds (30 days); longer ones belong in a reviewed change.
MAX_SILENCE_HOURS = 720


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _back(path: str, done: str) -> Response:
    return security_headers(RedirectResponse(f"{path}?done={done}", status_code=303))


# -- incidents ---------------------------------------------------------------------------------
@router.get("/models/{model}/alerts", include_in_schema=False)
@page
def alerts(request: Request, model: str) -> Response:
    viewer = signed_in(request)
    cfg = require_model(request, model)
    engine = monitor_of(request).alerting
    status = request.query_params.get("status", "active")
    if status not in INCIDENT_FILTERS:
        raise PageError(400, f"Unknown incident filter {status!r}.", f"use one of: {', '.join(INCIDENT_FILTERS)}")
    rows = engine.incidents(model=cfg.name)
    if status == "active":
        rows = [r for r in rows if r["status"] != "resolved"]
    elif status != "all":
        rows = [r for r in rows if r["status"] == status]
    # Unresolved first, newest first within each (sorts are stable).
    rows = sorted(sorted(rows, key=lambda r: r["opened_at"], reverse=True), key=lambda r: r["status"] == "resolved")
    now = _now()
    silences = [s.to_dict(now) for s in engine.silences() if any(m.name == "model" and m.op == "=" and m.value == cfg.name
                                                                 for m in s.matchers)]
    silences = [s for s in silences if s["status"] != "expired"]
    return render(request, "alerts.html", {
        "model": cfg.name, "tab": "alerts", "status": status, "filters": INCIDENT_FILTERS,
        "incidents": paginate(rows, page_number(request)), "silences": silences, "done": MESSAGES.get(request.query_params.get("done", "")),
        "may_ack": viewer.may("reviewer"), "may_silence": viewer.may("admin"), "max_hours": MAX_SILENCE_HOURS,
    })


def _incident_of(request: Request, model: str, incident_id: str) -> dict[str, Any]:
    row: dict[str, Any] = monitor_of(request).alerting.incident(incident_id)
    if row["model"] != model:
        raise PageError(404, f"Incident {incident_id!r} is not an incident of model {model!r}.")
    return row


@router.post("/models/{model}/alerts/{incident_id}/acknowledge", include_in_schema=False)
@page
def acknowledge(request: Request, model: str, incident_id: str) -> Response:
    viewer = signed_in(request, role="reviewer")
    form = check_form_csrf(request, viewer)
    cfg = require_model(request, model)
    _incident_of(request, cfg.name, incident_id)
    monitor_of(request).alerting.acknowledge(incident_id, by=viewer.name, now=_now(), comment=form.get("comment") or None)
    return _back(f"/models/{quote(cfg.name)}/alerts", "acknowledged")


@router.post("/models/{model}/alerts/{incident_id}/resolve", include_in_schema=False)
@page
def resolve(request: Request, model: str, incident_id: str) -> Response:
    viewer = signed_in(request, role="reviewer")
    form = check_form_csrf(request, viewer)
    cfg = require_model(request, model)
    _incident_of(request, cfg.name, incident_id)
    monitor_of(request).alerting.resolve(incident_id, by=viewer.name, now=_now(), comment=form.get("comment") or None)
    return _back(f"/models/{quote(cfg.name)}/alerts", "resolved")


@router.post("/models/{model}/alerts/{incident_id}/silence", include_in_schema=False)
@page
def silence(request: Request, model: str, incident_id: str) -> Response:
    viewer = signed_in(request, role="admin")
    form = check_form_csrf(request, viewer)
    cfg = require_model(request, model)
    row = _incident_of(request, cfg.name, incident_id)
    try:
        hours = float(form.get("hours", ""))
    except ValueError:
        raise PageError(400, "Say for how many hours to silence the alert.", f"a number from 1 to {MAX_SILENCE_HOURS}") from None
    if not 0 < hours <= MAX_SILENCE_HOURS:
        raise PageError(400, f"A silence from the dashboard lasts up to {MAX_SILENCE_HOURS} hours, not {hours:g}.")
    now = _now()
    matchers = [f"model={cfg.name}", f"rule={row['rule']}"]
    monitor_of(request).alerting.silence(matchers, starts_at=now, ends_at=now + timedelta(hours=hours), created_by=viewer.name,
                                         comment=form.get("comment", ""), now=now)
    return _back(f"/models/{quote(cfg.name)}/alerts", "silenced")


@router.post("/models/{model}/silences/{silence_id}/expire", include_in_schema=False)
@page
def expire(request: Request, model: str, silence_id: str) -> Response:
    viewer = signed_in(request, role="admin")
    check_form_csrf(request, viewer)
    cfg = require_model(request, model)
    monitor_of(request).alerting.unsilence(silence_id, now=_now())
    return _back(f"/models/{quote(cfg.name)}/alerts", "expired")


# -- review queue ------------------------------------------------------------------------------
def _queue(request: Request, model: str) -> Any:
    cfg = require_model(request, model)
    if cfg.review is None:
        raise PageError(404, f"Model {cfg.name!r} has no review queue.", "add a `review:` section to the model in steward.yaml")
    return monitor_of(request).review_queue(cfg.name)


@router.get("/models/{model}/review", include_in_schema=False)
@page
def review(request: Request, model: str) -> Response:
    viewer = signed_in(request)
    cfg = require_model(request, model)
    if cfg.review is None:
        return render(request, "review.html", {"model": cfg.name, "tab": "review", "enabled": False})
    queue = monitor_of(request).review_queue(cfg.name)
    queue.expire_leases()
    state = request.query_params.get("state", "pending")
    if state not in ITEM_STATES:
        raise PageError(400, f"Unknown item state {state!r}.", f"use one of: {', '.join(ITEM_STATES)}")
    store = queue.store
    counts = dict(store.query("SELECT state, count(*) FROM review_items WHERE model = ? GROUP BY 1", [cfg.name]))
    number, pages, offset = page_bounds(int(counts.get(state, 0)), page_number(request))
    ids = [r[0] for r in store.query(
        "SELECT item_id FROM review_items WHERE model = ? AND state = ? "
        "ORDER BY priority_rank DESC, due_at NULLS LAST, routed_at, item_id LIMIT ? OFFSET ?", [cfg.name, state, PAGE_SIZE, offset])]
    mine = queue.items(state="in_review", reviewer=viewer.name)
    return render(request, "review.html", {
        "model": cfg.name, "tab": "review", "enabled": True, "state": state, "states": ITEM_STATES,
        "counts": {s: int(counts.get(s, 0)) for s in ITEM_STATES}, "items": [queue.item(i) for i in ids],
        "pager": {"number": number, "pages": pages}, "mine": mine, "may_review": viewer.may("reviewer"), "now": _now(),
        "done": MESSAGES.get(request.query_params.get("done", "")),
    })


@router.get("/models/{model}/review/{item_id}", include_in_schema=False)
@page
def review_item(request: Request, model: str, item_id: str) -> Response:
    viewer = signed_in(request)
    queue = _queue(request, model)
    item = queue.item(item_id)
    return render(request, "review_item.html", {
        "model": queue.model.name, "tab": "review", "item": item, "decisions": queue.decisions(item_id),
        "held": item.state == "in_review" and item.holder == viewer.name, "may_review": viewer.may("reviewer"),
        "labels": queue.model.labels, "choices": DECISIONS, "now": _now(), "done": MESSAGES.get(request.query_params.get("done", "")),
    })


@router.post("/models/{model}/review/claim", include_in_schema=False)
@page
def claim_next(request: Request, model: str) -> Response:
    viewer = signed_in(request, role="reviewer")
    check_form_csrf(request, viewer)
    queue = _queue(request, model)
    item = queue.claim(viewer.name)
    base = f"/models/{quote(queue.model.name)}/review"
    return _back(base, "empty") if item is None else _back(f"{base}/{quote(item.item_id)}", "claimed")


@router.post("/models/{model}/review/{item_id}/claim", include_in_schema=False)
@page
def claim(request: Request, model: str, item_id: str) -> Response:
    viewer = signed_in(request, role="reviewer")
    check_form_csrf(request, viewer)
    queue = _queue(request, model)
    queue.item(item_id)  # 404 for an unknown item
    if queue.claim(viewer.name, item_id=item_id) is None:
        raise PageError(409, f"Item {item_id!r} cannot be claimed now.", "another reviewer may hold it; pick another item")
    return _back(f"/models/{quote(queue.model.name)}/review/{quote(item_id)}", "claimed")


@router.post("/models/{model}/review/{item_id}/decide", include_in_schema=False)
@page
def decide(request: Request, model: str, item_id: str) -> Response:
    viewer: Viewer = signed_in(request, role="reviewer")
    form = check_form_csrf(request, viewer)
    queue = _queue(request, model)
    decision = form.get("decision", "")
    # Only a correction carries a label: accept keeps the model's suggestion, reject and skip give none.
    label = (form.get("label") or None) if decision == "correct" else None
    queue.decide(item_id, viewer.name, decision, label=label, comment=form.get("comment") or None)
    return _back(f"/models/{quote(queue.model.name)}/review/{quote(item_id)}", "decided")
