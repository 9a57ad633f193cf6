"""A small driver for the alerting engine over a real DuckDB store, window by window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from modelsteward.alerts.engine import AlertEngine
from modelsteward.alerts.notify import Notification
from modelsteward.alerts.rules import evaluate_rule
from modelsteward.config import StewardConfig
from modelsteward.store.duckdb_store import DuckDBStore

START = datetime(2026, 1, 5)  # a Monday
WEEK = timedelta(weeks=1)
LOW, HIGH = 0.80, 0.90


class Capture:
    """A notifier that keeps what it is given (the dispatcher's ``submit``)."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def submit(self, notifications: Sequence[Notification]) -> None:
        self.sent.extend(notifications)

    def kinds(self) -> list[str]:
        return [n.kind for n in self.sent]


def config(*, rule: dict[str, Any] | None = None, alerting: dict[str, Any] | None = None, owner: str | None = "ml-team") -> StewardConfig:
    r = {"name": "acc", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "severity": "high",
         "response_sla": "1h", "runbook": "docs/runbooks.md#acc", **(rule or {})}
    model: dict[str, Any] = {"name": "tickets", "task": "binary", "labels": ["urgent", "routine"], "alerts": [r]}
    if owner:
        model["owner"] = owner
    if alerting is not None:
        model["alerting"] = alerting
    return StewardConfig.model_validate({"models": [model]})


class Driver:
    """Feeds weekly accuracy values to the engine one window at a time, like successive checks."""

    def __init__(self, cfg: StewardConfig, store: DuckDBStore | None = None) -> None:
        self.cfg = cfg
        self.store = store or DuckDBStore(":memory:")
        self.capture = Capture()
        self.engine = AlertEngine(self.store, cfg, notifier=self.capture)
        self.history: list[tuple[datetime, datetime, dict[str, float | None]]] = []

    def window(self, value: float | None, *, late: timedelta = timedelta(minutes=5)) -> list[Notification]:
        """Add the next weekly window and process it at its end + ``late``; returns what was sent."""
        return self.windows([value], late=late)

    def windows(self, values: list[float | None], *, late: timedelta = timedelta(minutes=5)) -> list[Notification]:
        """Add several weekly windows and process them in one pass, at the last one's end + ``late``."""
        for value in values:
            i = len(self.history)
            self.history.append((START + i * WEEK, START + (i + 1) * WEEK, {"accuracy": value}))
        model = self.cfg.models[0]
        evals = [e for r in model.alerts for e in evaluate_rule(r, self.history, {})]
        return self.engine.process(model, evals, now=self.history[-1][1] + late)

    def end(self, i: int) -> datetime:
        """The end of window ``i`` (0-based)."""
        return START + (i + 1) * WEEK

    def incidents(self, **kw: Any) -> list[dict[str, Any]]:
        return self.engine.incidents(**kw)
