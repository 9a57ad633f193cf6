"""Retraining settings of a model in ``steward.yaml`` (``retraining``): metric, drift and schedule
triggers, their guards, the labelled export and the command or webhook told of each request."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from modelsteward.config.alerts import Condition
from modelsteward.config.base import IDENTIFIER, _Strict, parse_duration
from modelsteward.config.drift import _registry

__all__ = [
    "DriftTrigger",
    "MetricTrigger",
    "RetrainSettings",
    "RetrainTrigger",
    "RetrainWebhook",
    "ScheduleTrigger",
]


class _TriggerBase(_Strict):
    name: str = Field(description="Trigger name, unique within the model (and distinct from the names of alert rules with `retrain: true`).")
    min_new_labels: int | None = Field(
        default=None, ge=0, description="Override of `retraining.min_new_labels` for this trigger.")
    cooldown: str | None = Field(default=None, description="Override of `retraining.cooldown` for this trigger, e.g. `7d`.")

    @field_validator("name")
    @classmethod
    def _trigger_name(cls, v: str) -> str:
        if not IDENTIFIER.match(v):
            raise ValueError("expected lower case letters, digits and underscores, starting with a letter")
        return v

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v


class MetricTrigger(_TriggerBase):
    """Retrain when a window metric meets a condition for `for` consecutive windows ("accuracy below 85% for 2 weeks")."""

    kind: Literal["metric"] = Field(description="`metric`.")
    metric: str = Field(description="Window metric watched, e.g. `accuracy` (any name an alert rule may use).")
    condition: Condition = Field(description="`below`/`above` a value, a `change` against the baseline, or `outside_band`, as for alert rules.")
    for_windows: int = Field(default=1, ge=1, alias="for", description="Consecutive windows the condition must hold.")
    baseline: Literal["reference", "trailing"] | float = Field(
        default="reference", description="Baseline for `change` and `outside_band` conditions, as for alert rules.")


class DriftTrigger(_TriggerBase):
    """Retrain when a stored drift test is significant ("KS p-value below 0.01")."""

    kind: Literal["drift"] = Field(description="`drift`.")
    test: str = Field(default="ks", description="Drift test whose p-value is read (one with a p-value: ks, anderson_darling, cramer_von_mises, chi2, g_test).")
    subjects: list[str] = Field(
        default_factory=list,
        description="Features (or `confidence`, `prediction`, `label`) watched; empty: every subject the test ran on.")
    p_value: float = Field(default=0.01, gt=0, lt=1, description="The trigger holds in a window where a watched subject's p-value is below this.")
    adjusted: bool = Field(default=False, description="Read the p-value after the window's multiple-testing correction instead of the raw one.")
    for_windows: int = Field(default=1, ge=1, alias="for", description="Consecutive windows the drift must be significant.")

    @field_validator("test")
    @classmethod
    def _test_has_p_value(cls, v: str) -> str:
        tests = _registry().TESTS
        ok = [t.name for t in tests.values() if t.has_p_value]
        if v not in ok:
            raise ValueError(f"{v!r} is not a drift test with a p-value; expected one of {', '.join(ok)}")
        return v


class ScheduleTrigger(_TriggerBase):
    """Retrain on a schedule ("Quarterly scheduled retrain regardless")."""

    kind: Literal["schedule"] = Field(description="`schedule`.")
    cron: str = Field(description="`quarterly`, an alias such as `@monthly`, or a 5-field cron expression in UTC, e.g. `0 6 1 */3 *`.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        from modelsteward.retrain.schedule import CronSchedule

        CronSchedule(v)
        return v


RetrainTrigger = Annotated[MetricTrigger | DriftTrigger | ScheduleTrigger, Field(discriminator="kind")]


class RetrainWebhook(_Strict):
    """A URL that receives each new retrain request as a JSON POST."""

    url: str = Field(description="http(s) URL the request is POSTed to as JSON.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers, e.g. an authorisation token.")
    timeout: float = Field(default=10.0, gt=0, le=300, description="Seconds to wait for the receiver.")

    @field_validator("url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return v


class RetrainSettings(_Strict):
    """When retraining is due, what a retrain request carries, and who is told."""

    triggers: list[RetrainTrigger] = Field(
        default_factory=list,
        description="Retraining triggers (`kind: metric`, `drift` or `schedule`); alert rules with `retrain: true` are triggers too.")
    min_new_labels: int = Field(
        default=100, ge=0,
        description="A trigger fires only when at least this many predictions got a label since its previous request (by feedback time).")
    cooldown: str = Field(default="14d", description="Least time between two requests of the same trigger (in data time), e.g. `14d`.")
    export_dir: str = Field(
        default="retrain-exports",
        description="Folder for the labelled Parquet export of each request (relative to the config file).")
    command: list[str] | None = Field(
        default=None,
        description="Command run for each new request, as an argument list (no shell); `{request_id}`, `{export_path}`, `{model}` "
                    "and `{trigger}` in an argument are replaced; the same values are in STEWARD_REQUEST_ID, STEWARD_EXPORT_PATH, "
                    "STEWARD_MODEL, STEWARD_TRIGGER.")
    command_timeout: float = Field(default=600.0, gt=0, description="Seconds the command may run before it is stopped and counted as failed.")
    webhook: RetrainWebhook | None = Field(default=None, description="URL told of each new request (JSON POST).")

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("command")
    @classmethod
    def _argv(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("expected a non-empty argument list, e.g. [python, train.py, '{export_path}']")
        return v
