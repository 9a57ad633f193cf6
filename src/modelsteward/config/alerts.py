"""Alerting settings of a model in ``steward.yaml``: alert conditions, alert rules (``alerts``), and
incidents, escalation and flapping (``alerting``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from modelsteward.config.base import (
    IDENTIFIER,
    RESERVED_ALERT_LABELS,
    SEVERITIES,
    SEVERITY_ALIASES,
    _Strict,
    parse_duration,
)

__all__ = [
    "AlertRule",
    "AlertingSettings",
    "BandCondition",
    "ChangeCondition",
    "Condition",
    "EscalationStep",
    "FlappingSettings",
    "ThresholdCondition",
]


class ThresholdCondition(_Strict):
    """Fires when the value is below (or above) a fixed number."""

    kind: Literal["below", "above"] = Field(description="`below` or `above`.")
    value: float = Field(description="The threshold.")


class ChangeCondition(_Strict):
    """Fires when the value moved away from its baseline by more than an amount."""

    kind: Literal["change"] = Field(description="`change`: compare with the baseline.")
    direction: Literal["down", "up", "either"] = Field(default="either", description="Which way counts: `down`, `up` or `either`.")
    by_more_than: float = Field(gt=0, description="Size of the change that fires: a fraction of the baseline when `relative`, else in the metric's units.")
    relative: bool = Field(default=True, description="Measure the change as a fraction of the baseline (true) or in absolute units (false).")


class BandCondition(_Strict):
    """Fires when the value leaves a band of multiples of the baseline."""

    kind: Literal["outside_band"] = Field(description="`outside_band`: fires below `lower`×baseline or above `upper`×baseline.")
    lower: float = Field(ge=0, description="Lower edge as a multiple of the baseline (0.5 = half of it).")
    upper: float = Field(gt=0, description="Upper edge as a multiple of the baseline (1.5 = 50% above it).")

    @model_validator(mode="after")
    def _ordered(self) -> BandCondition:
        if self.lower >= self.upper:
            raise ValueError("`lower` must be less than `upper`")
        return self


Condition = Annotated[ThresholdCondition | ChangeCondition | BandCondition, Field(discriminator="kind")]


class AlertRule(_Strict):
    """A rule evaluated on each window's metrics; it fires only where its condition holds."""

    name: str = Field(description="Rule name, unique within the model.")
    metric: str = Field(description="Metric to watch, e.g. `accuracy`, `latency_p95`, `feature.category.share.technical`, `drift.features_drifted`.")
    condition: Condition = Field(description="When the rule fires: `below`/`above` a value, a `change` against the baseline, or `outside_band` around it.")
    severity: str = Field(default="medium", description="critical, high, medium, low or info (P0–P4 accepted as aliases).")
    for_windows: int = Field(default=1, ge=1, alias="for", description="Consecutive windows the condition must hold before the rule fires.")
    baseline: Literal["reference", "trailing"] | float = Field(
        default="reference",
        description="Baseline for `change` and `outside_band`: `reference`, `trailing` (median of earlier windows), or a number.",
    )
    trailing_windows: int = Field(default=4, ge=1, description="How many earlier windows a `trailing` baseline uses.")
    action: str = Field(default="", description="What the responder should do.")
    response_sla: str | None = Field(default=None, description="How fast someone must respond, e.g. `1h`, `24h`, `next business day`.")
    runbook: str | None = Field(default=None, description="Link to the runbook.")
    owner: str | None = Field(default=None, description="Team or person who owns the response.")
    retrain: bool = Field(default=False, description="This rule is a retraining trigger: when it fires, retraining is due.")
    keep_firing_for: str | None = Field(
        default=None,
        description="Keep a firing alert firing this long after its condition clears (against flapping), e.g. `1w`; "
                    "measured from the first clear window's end, as Prometheus does.")
    no_data: Literal["keep", "resolve", "alert"] = Field(
        default="keep",
        description="A window without a value: `keep` the alert's state, `resolve` (count it as the condition clear), "
                    "or `alert` (the state `no_data`, which opens an incident like firing).")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Extra labels of the alert (e.g. `team: support`), used by silences, routing and the incident fingerprint.")

    @field_validator("keep_firing_for")
    @classmethod
    def _keep_firing_for(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str]) -> dict[str, str]:
        for key in v:
            if not IDENTIFIER.match(key):
                raise ValueError(f"label name {key!r}: expected lower case letters, digits and underscores, starting with a letter")
            if key in RESERVED_ALERT_LABELS:
                raise ValueError(f"label name {key!r} is set by modelsteward on every alert; choose another name")
        return v

    @field_validator("name")
    @classmethod
    def _rule_name(cls, v: str) -> str:
        if not IDENTIFIER.match(v):
            raise ValueError("expected lower case letters, digits and underscores, starting with a letter")
        return v

    @field_validator("severity")
    @classmethod
    def _severity(cls, v: str) -> str:
        key = v.strip().lower()
        key = SEVERITY_ALIASES.get(key, key)
        if key not in SEVERITIES:
            raise ValueError(f"expected one of {', '.join(SEVERITIES)} (or P0–P4), got {v!r}")
        return key

    @field_validator("response_sla")
    @classmethod
    def _sla(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class EscalationStep(_Strict):
    """One step of the escalation path: who is told, and how long after the step before."""

    level: str = Field(description="Name of the step, e.g. `first_responder`, `escalation`, `executive` (the course's path).")
    who: str | None = Field(
        default=None,
        description="Team or person told at this step; on the first step the rule's (or model's) owner by default. "
                    "A step without anyone is reported as a gap to fill.")
    after: str | None = Field(
        default=None,
        description="How long the incident may stay unanswered at the step before before it reaches this one, e.g. `1h`; "
                    "default: the rule's `response_sla`. Not used on the first step.")

    @field_validator("after")
    @classmethod
    def _after(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


def _course_escalation_path() -> list[EscalationStep]:
    return [EscalationStep(level="first_responder"), EscalationStep(level="escalation"), EscalationStep(level="executive")]


class FlappingSettings(_Strict):
    """When an alert that keeps changing its mind is held instead of notifying each change."""

    enabled: bool = Field(default=True, description="Detect flapping at all.")
    max_flips: int = Field(default=4, ge=1, description="More flips (firing to clear or back) than this within `period` marks the alert flapping.")
    period: str | None = Field(default=None, description="The period flips are counted over, e.g. `8w`; default: ten windows of the model.")

    @field_validator("period")
    @classmethod
    def _period(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class AlertingSettings(_Strict):
    """How firing alerts become incidents: the escalation path, what stops it, and flapping control."""

    escalation: list[EscalationStep] = Field(
        default_factory=_course_escalation_path, min_length=1,
        description="The escalation path, first responder first (default: the course's first responder, escalation, executive).")
    escalate_until: Literal["acknowledged", "resolved"] = Field(
        default="acknowledged",
        description="An incident escalates while it is not `acknowledged` (or, stricter, not `resolved`) within its response SLA.")
    flapping: FlappingSettings = Field(default_factory=FlappingSettings, description="Flapping detection.")
