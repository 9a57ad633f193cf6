"""The configuration reference, generated from the schema in :mod:`modelsteward.config`.

``docs/configuration.md`` is this module's output (``python -m modelsteward.config_docs``); a
test fails when the two differ or when a setting has no description.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from modelsteward.config import (
    AlertingSettings,
    AlertRule,
    AuditSampleCondition,
    BandCondition,
    ChangeCondition,
    ConceptDriftSettings,
    ConfidenceBelowCondition,
    DiagnosisSettings,
    DisagreementCondition,
    DriftSettings,
    DriftTrigger,
    EngineSettings,
    EscalationStep,
    ExpertReviewPlan,
    Feature,
    FeedbackSettings,
    FlappingSettings,
    GroundTruthSettings,
    MetricTrigger,
    ModelConfig,
    MultivariateSettings,
    NotificationsConfig,
    NoveltyCondition,
    ReceiverConfig,
    Reference,
    RetrainSettings,
    RetrainWebhook,
    RetrySettings,
    ReviewSettings,
    RiskCondition,
    RiskPredicate,
    RouteConfig,
    ScheduleTrigger,
    ServerSettings,
    StewardConfig,
    TextDriftSettings,
    ThresholdCondition,
)

__all__ = ["SECTIONS", "configuration_reference", "undocumented_settings"]

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("Top level", StewardConfig),
    ("`models[]`", ModelConfig),
    ("`models[].features[]`", Feature),
    ("`models[].reference`", Reference),
    ("`models[].ground_truth`", GroundTruthSettings),
    ("`models[].drift`", DriftSettings),
    ("`models[].diagnosis`", DiagnosisSettings),
    ("`models[].diagnosis.concept`", ConceptDriftSettings),
    ("`models[].diagnosis.multivariate`", MultivariateSettings),
    ("`models[].diagnosis.text`", TextDriftSettings),
    ("`models[].alerts[]`", AlertRule),
    ("`models[].alerts[].condition` — `kind: below` or `kind: above`", ThresholdCondition),
    ("`models[].alerts[].condition` — `kind: change`", ChangeCondition),
    ("`models[].alerts[].condition` — `kind: outside_band`", BandCondition),
    ("`models[].alerting`", AlertingSettings),
    ("`models[].alerting.escalation[]`", EscalationStep),
    ("`models[].alerting.flapping`", FlappingSettings),
    ("`models[].review`", ReviewSettings),
    ("`models[].review.conditions[]` — `kind: confidence_below`", ConfidenceBelowCondition),
    ("`models[].review.conditions[]` — `kind: risk`", RiskCondition),
    ("`models[].review.conditions[].where[]`", RiskPredicate),
    ("`models[].review.conditions[]` — `kind: disagreement`", DisagreementCondition),
    ("`models[].review.conditions[]` — `kind: novelty_above`", NoveltyCondition),
    ("`models[].review.conditions[]` — `kind: audit_sample`", AuditSampleCondition),
    ("`models[].retraining`", RetrainSettings),
    ("`models[].retraining.triggers[]` — `kind: metric`", MetricTrigger),
    ("`models[].retraining.triggers[]` — `kind: drift`", DriftTrigger),
    ("`models[].retraining.triggers[]` — `kind: schedule`", ScheduleTrigger),
    ("`models[].retraining.webhook`", RetrainWebhook),
    ("`models[].feedback`", FeedbackSettings),
    ("`models[].feedback.expert_review`", ExpertReviewPlan),
    ("`notifications`", NotificationsConfig),
    ("`notifications.receivers[]`", ReceiverConfig),
    ("`notifications.route` (and each of its `routes[]`)", RouteConfig),
    ("`notifications.retry`", RetrySettings),
    ("`server`", ServerSettings),
    ("`engine`", EngineSettings),
]


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType) and all(isinstance(a, type) and issubclass(a, BaseModel) for a in args):
        return "mapping (one of the condition kinds below)"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + (" (optional)" if type(None) in args else "")
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, dict):
        return f"{origin.__name__} of " + ", ".join(_type_name(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        return "see below" if isinstance(value, BaseModel) else f"`{value!r}`"
    return f"`{info.default!r}`"


def undocumented_settings() -> list[str]:
    """Settings declared without a description (should be none)."""
    return [f"{model.__name__}.{name}" for _, model in SECTIONS for name, info in model.model_fields.items() if not info.description]


def configuration_reference() -> str:
    lines = [
        "# Configuration reference (`steward.yaml`)",
        "",
        "Generated from the schema in `src/modelsteward/config/` by `python -m modelsteward.config_docs`;",
        "do not edit by hand. `steward init` writes a commented example; `steward validate` checks a file.",
        "",
    ]
    for title, model in SECTIONS:
        lines += [f"## {title}", "", (model.__doc__ or "").strip().splitlines()[0], "",
                  "| setting | type | default | description |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            key = info.alias or name
            lines.append(f"| `{key}` | {_type_name(info.annotation)} | {_default(info)} | {info.description or ''} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(configuration_reference())
