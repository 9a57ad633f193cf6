"""People acting (scope ``review``): acknowledge, resolve and silence alerts; claim and decide review items.

Who acts is always the caller (the token's owner), never a field of the body.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelsteward.config import parse_duration
from modelsteward.errors import NotFoundError
from modelsteward.server.api._common import Page, jsonable, model_of, paginate
from modelsteward.server.auth import Principal, require_scope
from modelsteward.server.runtime import call, monitor_of
from modelsteward.times import naive_utc

__all__ = ["router"]

router = APIRouter(tags=["act"])
_review = Depends(require_scope("review"))
_read = Depends(require_scope("read"))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Comment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(None, description="why, for the incident's history")


_MAX_SILENCE = timedelta(days=3650)  # longer is a mistake (and past the calendar's end for a far start)


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[str] = Field(default_factory=list, description="label matchers (`rule=accuracy_drop`, `severity=~warn.*`); "
                                "`model=<this model>` is always added")
    duration: str = Field(description="how long it mutes, e.g. `2h` or `30m`")
    starts_at: datetime | None = Field(None, description="UTC; now when left out")
    comment: str = Field(description="why the alerts are muted")

    @field_validator("duration")
    @classmethod
    def _duration(cls, v: str) -> str:
        try:
            seconds = parse_duration(v).total_seconds()  # a malformed one raises ValueError: a 422 naming the field
        except OverflowError:
            seconds = float("inf")
        if not 0 < seconds <= _MAX_SILENCE.total_seconds():
            raise ValueError(f"expected a positive duration of at most {_MAX_SILENCE.days} days, got {v!r}")
        return v

    @model_validator(mode="after")
    def _ends(self) -> SilenceIn:
        if self.starts_at is not None:
            try:
                naive_utc(self.starts_at) + parse_duration(self.duration)
            except OverflowError:
                raise ValueError("starts_at + duration ends after the year 9999; start it earlier") from None
        return self


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: str | None = Field(None, description="claim this item; the next one in claim order when left out")
    queue: str | None = Field(None, description="take the next item of this queue only")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: str = Field(description="accept | correct | reject | skip")
    label: str | None = Field(None, description="the right label (needed with `correct`)")
    comment: str | None = None


async def _incident_of(request: Request, model: str, incident_id: str) -> None:
    mon = monitor_of(request)
    rows = await call(request, mon.store.query, "SELECT model FROM incidents WHERE incident_id = ?", [incident_id])
    if not rows or rows[0][0] != model:
        raise NotFoundError(f"no incident {incident_id!r} of model {model!r}",
                            hint=f"list them with GET /api/v1/models/{model}/incidents")


@router.post("/models/{model}/incidents/{incident_id}/acknowledge")
async def acknowledge(request: Request, model: str, incident_id: str, body: Comment | None = None,
                      principal: Principal = _review) -> dict[str, Any]:
    """Acknowledge an open incident (it stops escalating); by the caller."""
    cfg = model_of(request, model)
    await _incident_of(request, cfg.name, incident_id)
    mon = monitor_of(request)
    row = await call(request, lambda: mon.alerting.acknowledge(incident_id, by=principal.name, now=_now(),
                                                               comment=body.comment if body else None))
    out: dict[str, Any] = jsonable(row)
    return out


@router.post("/models/{model}/incidents/{incident_id}/resolve")
async def resolve(request: Request, model: str, incident_id: str, body: Comment | None = None,
                  principal: Principal = _review) -> dict[str, Any]:
    """Resolve an incident by hand; by the caller."""
    cfg = model_of(request, model)
    await _incident_of(request, cfg.name, incident_id)
    mon = monitor_of(request)
    row = await call(request, lambda: mon.alerting.resolve(incident_id, by=principal.name, now=_now(),
                                                           comment=body.comment if body else None))
    out: dict[str, Any] = jsonable(row)
    return out


def _silence_models(s: Any) -> set[str]:
    return {m.value for m in s.matchers if m.name == "model" and m.op == "="}


@router.get("/models/{model}/silences")
async def list_silences(request: Request, model: str, page: Page = Depends(),
                        principal: Principal = _read) -> dict[str, Any]:
    """Silences that name this model (active, pending and expired), newest last."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    now = _now()
    silences = await call(request, lambda: mon.alerting.silences())
    return paginate(request, [s.to_dict(now) for s in silences if cfg.name in _silence_models(s)], page)


@router.post("/models/{model}/silences", status_code=201)
async def create_silence(request: Request, model: str, body: SilenceIn, principal: Principal = _review) -> dict[str, Any]:
    """Mute the notifications of this model's matching alerts for ``duration``; by the caller."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    now = _now()
    starts = naive_utc(body.starts_at) or now
    matchers = [m for m in body.matchers if not m.replace(" ", "").startswith("model=")] + [f"model={cfg.name}"]
    silence = await call(request, lambda: mon.alerting.silence(matchers, starts_at=starts, ends_at=starts + parse_duration(body.duration),
                                                               created_by=principal.name, comment=body.comment, now=now))
    out: dict[str, Any] = jsonable(silence.to_dict(now))
    return out


@router.post("/models/{model}/silences/{silence_id}/expire")
async def expire_silence(request: Request, model: str, silence_id: str, principal: Principal = _review) -> dict[str, Any]:
    """End a silence now; what it held back is sent."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    silences = await call(request, lambda: mon.alerting.silences())
    if not any(s.silence_id == silence_id and cfg.name in _silence_models(s) for s in silences):
        raise NotFoundError(f"no silence {silence_id!r} of model {model!r}", hint=f"list them with GET /api/v1/models/{model}/silences")
    now = _now()
    silence, _sent = await call(request, lambda: mon.alerting.unsilence(silence_id, now=now))
    out: dict[str, Any] = jsonable(silence.to_dict(now))
    return out


@router.post("/models/{model}/review/claim")
async def claim(request: Request, model: str, body: ClaimIn | None = None, principal: Principal = _review) -> dict[str, Any]:
    """Hold the next review item (or the one named) for the caller; ``item`` is null when none is left."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    args = body or ClaimIn(item_id=None, queue=None)
    item = await call(request, lambda: mon.review_queue(cfg.name).claim(principal.name, item_id=args.item_id, queue=args.queue))
    return {"item": jsonable(item) if item is not None else None}


@router.post("/models/{model}/review/items/{item_id}/decide")
async def decide(request: Request, model: str, item_id: str, body: DecisionIn, principal: Principal = _review) -> dict[str, Any]:
    """Record the caller's decision on an item they hold (a retry of the same decision returns it again)."""
    cfg = model_of(request, model)
    mon = monitor_of(request)
    decision = await call(request, lambda: mon.review_queue(cfg.name).decide(item_id, principal.name, body.decision,
                                                                             label=body.label, comment=body.comment))
    out: dict[str, Any] = jsonable(decision)
    return out
