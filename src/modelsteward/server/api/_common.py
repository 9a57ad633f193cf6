"""Helpers shared by the API routers: the model of a path, JSON-safe values, pages of long lists."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from fastapi import Query, Request

from modelsteward.config import ModelConfig
from modelsteward.server.runtime import monitor_of

__all__ = ["Page", "jsonable", "model_of", "paginate"]

MAX_LIMIT = 1000


def model_of(request: Request, model: str) -> ModelConfig:
    """The configured model named in the path (unknown: the library's NotFoundError, a 404)."""
    return monitor_of(request).model(model)


def jsonable(value: Any) -> Any:
    """Plain JSON values: times as ISO 8601, non-finite numbers as null, dataclasses as objects."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(value.to_dict() if hasattr(value, "to_dict") else dataclasses.asdict(value))
    return value


class Page:
    """``?limit=&offset=`` of a list endpoint (limit 1..1000, default 100)."""

    def __init__(self, limit: int = Query(100, ge=1, le=MAX_LIMIT, description="items per page"),
                 offset: int = Query(0, ge=0, description="items to skip (follow `next` instead of counting)")) -> None:
        self.limit = limit
        self.offset = offset


def paginate(request: Request, items: Sequence[Any], page: Page, *, from_offset: bool = False) -> dict[str, Any]:
    """One page of ``items`` with the link to the next page (null on the last page).

    ``items`` is the whole list, or with ``from_offset`` up to ``limit + 1`` items read from the
    page's offset (the extra item only says there is a next page).
    """
    window = list(items) if from_offset else list(items[page.offset:page.offset + page.limit + 1])
    more = len(window) > page.limit
    nxt = str(request.url.include_query_params(limit=page.limit, offset=page.offset + page.limit)) if more else None
    return {"items": jsonable(window[:page.limit]), "limit": page.limit, "offset": page.offset, "next": nxt}
