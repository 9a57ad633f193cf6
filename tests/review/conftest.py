"""Fixtures of the review tests: a model with a review policy, a Monitor, and a clock to move."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor

START = datetime(2026, 3, 2, 9, 0)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def review_config(review: dict[str, Any] | None = None, **model: Any) -> StewardConfig:
    base: dict[str, Any] = {
        "name": "tickets", "task": "multiclass", "labels": ["billing", "technical", "account"],
        "features": [{"name": "category", "type": "categorical"}, {"name": "length", "type": "numeric"}],
        "review": {"conditions": [{"kind": "confidence_below", "threshold": 0.7},
                                  {"kind": "risk", "name": "vip", "where": [{"field": "attributes.tier", "op": "eq", "value": "gold"}]}],
                   "sla": {"high": "1h", "medium": "4h"}, "lease": "10m"} if review is None else review,
    }
    base.update(model)
    return StewardConfig.model_validate({"models": [base]})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_monitor(open_monitor: Callable[..., Monitor]) -> Callable[..., Monitor]:
    def make(review: dict[str, Any] | None = None, **model: Any) -> Monitor:
        return open_monitor(review_config(review, **model))

    return make


@pytest.fixture
def routed(make_monitor: Callable[..., Monitor], clock: Clock) -> Callable[..., tuple[Monitor, list[str]]]:
    """``routed(n, review=None)``: a Monitor with ``n`` low-confidence predictions routed at the clock's time."""

    def make(n: int, review: dict[str, Any] | None = None, **model: Any) -> tuple[Monitor, list[str]]:
        mon = make_monitor(review, **model)
        ids = []
        for i in range(n):
            pid = mon.log_prediction(prediction_id=f"t-{i}", prediction="billing", confidence=0.5 + i * 0.001,
                                     features={"category": "invoice", "length": 10.0 + i}, timestamp=clock.now)
            d = mon.route(pid, routed_at=clock.now)
            assert d.to_human and d.item_id
            ids.append(d.item_id)
        return mon, ids

    return make
