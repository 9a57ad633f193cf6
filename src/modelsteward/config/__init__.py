"""``steward.yaml``: the configuration schema, declared once, and its loading.

The schema is split by area: :mod:`~modelsteward.config.base` (the strict base, names, durations),
:mod:`~modelsteward.config.drift`, :mod:`~modelsteward.config.alerts`, :mod:`~modelsteward.config.review`,
:mod:`~modelsteward.config.feedback`, :mod:`~modelsteward.config.retrain`,
:mod:`~modelsteward.config.notifications`, :mod:`~modelsteward.config.model` (:class:`ModelConfig` and
:class:`StewardConfig`) and :mod:`~modelsteward.config.loading` (:func:`load_config`). Every name is
imported from here, as before the split.

Every setting is declared once, in those modules, with its type, default and description; the same declaration
validates files, fills defaults and generates ``docs/configuration.md`` (a test fails when a
setting has no description). A bad file raises :class:`~modelsteward.errors.ConfigError`
naming the file, the key path and what was expected.

>>> cfg = StewardConfig.model_validate({
...     "models": [{"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
...                 "features": [{"name": "category", "type": "categorical"}]}]})
>>> cfg.model("tickets").window
'week'
"""

from __future__ import annotations

# Re-exports: every name `modelsteward.config` had before the split stays importable from here,
# including the private ones (only the public ones are in `__all__`).
# ruff: noqa: F401
from modelsteward.config.alerts import (
    AlertingSettings,
    AlertRule,
    BandCondition,
    ChangeCondition,
    Condition,
    EscalationStep,
    FlappingSettings,
    ThresholdCondition,
    _course_escalation_path,
)
from modelsteward.config.base import (
    _DURATION,
    _DURATION_UNITS,
    _INTERVAL,
    DEFAULT_PRIORITY,
    FEEDBACK_SOURCES,
    IDENTIFIER,
    MODEL_NAME,
    RESERVED_ALERT_LABELS,
    RESERVED_FEATURE_NAMES,
    SEVERITIES,
    SEVERITY_ALIASES,
    SEVERITY_RANK,
    WINDOWS,
    FeedbackSource,
    _check_interval,
    _Strict,
    parse_duration,
    parse_interval,
)
from modelsteward.config.drift import (
    ConceptDriftSettings,
    DiagnosisSettings,
    DriftSettings,
    MultivariateSettings,
    TextDriftSettings,
    _registry,
)
from modelsteward.config.engine import EngineSettings
from modelsteward.config.feedback import (
    ExpertReviewPlan,
    FeedbackSettings,
    GroundTruthSettings,
)
from modelsteward.config.loading import (
    _NESTED_PATH,
    _is_url,
    _key_path,
    _UniqueKeyLoader,
    config_error_from_pydantic,
    load_config,
)
from modelsteward.config.model import (
    Feature,
    ModelConfig,
    Reference,
    StewardConfig,
)
from modelsteward.config.notifications import (
    NotificationsConfig,
    ReceiverConfig,
    RetrySettings,
    RouteConfig,
)
from modelsteward.config.retrain import (
    DriftTrigger,
    MetricTrigger,
    RetrainSettings,
    RetrainTrigger,
    RetrainWebhook,
    ScheduleTrigger,
    _TriggerBase,
)
from modelsteward.config.review import (
    REVIEW_PRIORITIES,
    RISK_FIELDS,
    AuditSampleCondition,
    ConfidenceBelowCondition,
    DisagreementCondition,
    NoveltyCondition,
    ReviewCondition,
    ReviewSettings,
    RiskCondition,
    RiskPredicate,
    _check_when,
    _default_review_conditions,
    _ReviewConditionBase,
)
from modelsteward.config.server import ServerSettings

__all__ = [
    "AlertRule",
    "AlertingSettings",
    "AuditSampleCondition",
    "BandCondition",
    "ChangeCondition",
    "ConceptDriftSettings",
    "ConfidenceBelowCondition",
    "DiagnosisSettings",
    "DisagreementCondition",
    "DriftSettings",
    "DriftTrigger",
    "EngineSettings",
    "EscalationStep",
    "ExpertReviewPlan",
    "Feature",
    "FeedbackSettings",
    "FlappingSettings",
    "GroundTruthSettings",
    "MetricTrigger",
    "ModelConfig",
    "MultivariateSettings",
    "NotificationsConfig",
    "NoveltyCondition",
    "Reference",
    "ReceiverConfig",
    "RetrainSettings",
    "RetrainWebhook",
    "RetrySettings",
    "ReviewSettings",
    "RiskCondition",
    "RiskPredicate",
    "RouteConfig",
    "ScheduleTrigger",
    "ServerSettings",
    "StewardConfig",
    "TextDriftSettings",
    "ThresholdCondition",
    "load_config",
    "parse_duration",
    "parse_interval",
]
