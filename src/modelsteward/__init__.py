"""modelsteward: keep AI models working well after they ship.

Log every prediction and piece of feedback, measure each window, detect drift, and alert::

    from modelsteward import Monitor

    monitor = Monitor("steward.yaml")
    monitor.log_prediction(prediction_id="t-1", features={"category": "technical"},
                           prediction="urgent", confidence=0.91, latency_ms=120)
    monitor.log_feedback("t-1", kind="explicit", label="routine")
    report = monitor.check()          # metrics, drift and alert rules for the ended windows

See ``docs/quickstart.md``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers; at run time they load on first use
    from modelsteward.alerts.engine import AlertEngine
    from modelsteward.alerts.notify import Dispatcher, Notification
    from modelsteward.alerts.rules import Evaluation
    from modelsteward.alerts.silences import Silence
    from modelsteward.config import (
        AlertingSettings,
        AlertRule,
        Feature,
        ModelConfig,
        RetrainSettings,
        ReviewSettings,
        StewardConfig,
        load_config,
    )
    from modelsteward.drift.window_drift import DriftResult
    from modelsteward.errors import (
        BackupError,
        BatchRejected,
        ConfigError,
        ConflictError,
        DeliveryError,
        IncidentStateError,
        InsufficientDataError,
        NotFoundError,
        RetrainError,
        ReviewStateError,
        RowError,
        StewardError,
        StoreError,
        ValidationError,
    )
    from modelsteward.monitor import CheckReport, IngestResult, Monitor
    from modelsteward.retrain.evaluate import request_retrain
    from modelsteward.retrain.requests import RetrainRequest
    from modelsteward.review import ReviewItem, ReviewQueue, RoutingDecision
    from modelsteward.store.duckdb_store import DuckDBStore
    from modelsteward.store.open import open_store
    from modelsteward.store.postgres_store import PostgresStore

#: Where each public name lives. Importing ``modelsteward`` loads none of them, so the
#: command line and scripts that need one corner of the package start fast; a name is imported
#: from its module the first time it is used (PEP 562).
_LOCATIONS: dict[str, str] = {
    "AlertEngine": "modelsteward.alerts.engine",
    "AlertRule": "modelsteward.config",
    "AlertingSettings": "modelsteward.config",
    "BackupError": "modelsteward.errors",
    "BatchRejected": "modelsteward.errors",
    "CheckReport": "modelsteward.monitor",
    "ConfigError": "modelsteward.errors",
    "ConflictError": "modelsteward.errors",
    "DeliveryError": "modelsteward.errors",
    "Dispatcher": "modelsteward.alerts.notify",
    "DriftResult": "modelsteward.drift.window_drift",
    "DuckDBStore": "modelsteward.store.duckdb_store",
    "Evaluation": "modelsteward.alerts.rules",
    "Feature": "modelsteward.config",
    "IncidentStateError": "modelsteward.errors",
    "IngestResult": "modelsteward.monitor",
    "InsufficientDataError": "modelsteward.errors",
    "ModelConfig": "modelsteward.config",
    "Monitor": "modelsteward.monitor",
    "NotFoundError": "modelsteward.errors",
    "Notification": "modelsteward.alerts.notify",
    "PostgresStore": "modelsteward.store.postgres_store",
    "RetrainError": "modelsteward.errors",
    "RetrainRequest": "modelsteward.retrain.requests",
    "RetrainSettings": "modelsteward.config",
    "ReviewItem": "modelsteward.review",
    "ReviewQueue": "modelsteward.review",
    "ReviewSettings": "modelsteward.config",
    "ReviewStateError": "modelsteward.errors",
    "RoutingDecision": "modelsteward.review",
    "RowError": "modelsteward.errors",
    "Silence": "modelsteward.alerts.silences",
    "StewardConfig": "modelsteward.config",
    "StewardError": "modelsteward.errors",
    "StoreError": "modelsteward.errors",
    "ValidationError": "modelsteward.errors",
    "load_config": "modelsteward.config",
    "open_store": "modelsteward.store.open",
    "request_retrain": "modelsteward.retrain.evaluate",
}

try:
    __version__ = version("modelsteward")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'modelsteward' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LOCATIONS))


__all__ = [
    "AlertEngine",
    "AlertRule",
    "AlertingSettings",
    "BackupError",
    "BatchRejected",
    "CheckReport",
    "ConfigError",
    "ConflictError",
    "DeliveryError",
    "Dispatcher",
    "DriftResult",
    "DuckDBStore",
    "Evaluation",
    "Feature",
    "IncidentStateError",
    "IngestResult",
    "InsufficientDataError",
    "ModelConfig",
    "Monitor",
    "NotFoundError",
    "Notification",
    "PostgresStore",
    "RetrainError",
    "RetrainRequest",
    "RetrainSettings",
    "ReviewItem",
    "ReviewQueue",
    "ReviewSettings",
    "ReviewStateError",
    "RoutingDecision",
    "RowError",
    "Silence",
    "StewardConfig",
    "StewardError",
    "StoreError",
    "ValidationError",
    "__version__",
    "load_config",
    "open_store",
    "request_retrain",
]
