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

from importlib.metadata import PackageNotFoundError, version

from modelsteward.alerts.engine import AlertEngine
from modelsteward.alerts.notify import Dispatcher, Notification
from modelsteward.alerts.rules import Evaluation
from modelsteward.alerts.silences import Silence
from modelsteward.config import AlertingSettings, AlertRule, Feature, ModelConfig, RetrainSettings, ReviewSettings, StewardConfig, load_config
from modelsteward.drift.window_drift import DriftResult
from modelsteward.errors import (
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

try:
    __version__ = version("modelsteward")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = [
    "AlertEngine",
    "AlertRule",
    "AlertingSettings",
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
    "request_retrain",
]
