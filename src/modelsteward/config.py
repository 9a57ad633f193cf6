"""``steward.yaml``: the configuration schema, declared once, and its loading.

Every setting is declared here with its type, default and description; the same declaration
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

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from modelsteward.errors import ConfigError, NotFoundError
from modelsteward.metrics.names import check_metric_name

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
    "StewardConfig",
    "TextDriftSettings",
    "ThresholdCondition",
    "load_config",
    "parse_duration",
    "parse_interval",
]

# ``\Z``, not ``$``: ``$`` also matches before a trailing newline, which would let "name\n" through.
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}\Z")
MODEL_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}\Z")
# Names a feature may not take: the fields of a logged prediction (a feature called `error`
# would be read as the error field), the nested `features` key, and the columns a reference
# file is read by (`confidence`, `prediction`, `label`).
RESERVED_FEATURE_NAMES = frozenset({
    "prediction_id", "timestamp", "model_version", "prediction", "confidence", "probabilities",
    "latency_ms", "error", "user_id", "attributes", "features", "label",
})
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_ALIASES = {"p0": "critical", "p1": "high", "p2": "medium", "p3": "low", "p4": "info"}
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}
RESERVED_ALERT_LABELS = frozenset({"model", "rule", "severity", "owner", "alertname"})  # set on every alert
WINDOWS = ("hour", "day", "week")
FEEDBACK_SOURCES = ("expert", "explicit", "implicit", "outcome")
FeedbackSource = Literal["expert", "explicit", "implicit", "outcome"]
DEFAULT_PRIORITY: tuple[FeedbackSource, ...] = ("expert", "explicit", "outcome", "implicit")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)\s*$", re.I)
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float) -> timedelta:
    """Parse a response time such as ``"1h"``, ``"24 hours"``, ``"3d"`` or ``"next business day"``.

    A number is read as seconds. "next business day" is read as 24 hours (calendars are not
    modelled).

    >>> parse_duration("1h"), parse_duration("30m").total_seconds()
    (datetime.timedelta(seconds=3600), 1800.0)
    """
    if isinstance(text, (int, float)):
        return timedelta(seconds=float(text))
    if text.strip().lower() in ("next business day", "next_business_day"):
        return timedelta(hours=24)
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"expected a duration like '30m', '1h', '24h', '3d' or 'next business day', got {text!r}")
    return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)[0].lower()])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Feature(_Strict):
    """One input feature of the model, stored in a typed column so its distribution can be tested."""

    name: str = Field(description="Feature name: lower case letters, digits and underscores, starting with a letter.")
    type: Literal["numeric", "categorical"] = Field(description="`numeric` (tested by KS and PSI) or `categorical` (chi-square, share change, PSI).")
    categories: list[str] | None = Field(
        default=None,
        description="Known categories of a categorical feature (optional; otherwise taken from the reference).",
    )
    description: str | None = Field(default=None, description="What the feature means, shown in reports.")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not IDENTIFIER.match(v):
            raise ValueError("expected lower case letters, digits and underscores, starting with a letter (at most 63)")
        if v == "confidence":
            raise ValueError("`confidence` is monitored already; do not declare it as a feature")
        if v in RESERVED_FEATURE_NAMES:
            raise ValueError(f"{v!r} is a reserved name (a field of every prediction); rename the feature")
        return v

    @model_validator(mode="after")
    def _categories_only_for_categorical(self) -> Feature:
        if self.categories is not None and self.type != "categorical":
            raise ValueError("`categories` is only allowed on a categorical feature")
        return self


class Reference(_Strict):
    """What 'normal' looks like: a file of training data, or a period of logged predictions."""

    file: str | None = Field(default=None, description="CSV or Parquet file of training data (relative to the config file).")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Map from feature (or `confidence`, `prediction`, `label`) to the file's column name, where they differ.",
    )
    start: datetime | None = Field(default=None, description="Start (inclusive) of a period of logged predictions to use as reference.")
    end: datetime | None = Field(default=None, description="End (exclusive) of that period.")
    baselines: dict[str, float] = Field(
        default_factory=dict,
        description="Metric baselines known from elsewhere, e.g. `accuracy: 0.88` from the validation set; they override computed ones.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Reference:
        if self.file and (self.start or self.end):
            raise ValueError("give either `file` or `start`/`end`, not both")
        if (self.start is None) != (self.end is None):
            raise ValueError("a reference period needs both `start` and `end`")
        if self.start and self.end and self.start >= self.end:
            raise ValueError("`start` must be before `end`")
        return self


class GroundTruthSettings(_Strict):
    """How a ground-truth label is resolved from the feedback a prediction received."""

    priority: list[FeedbackSource] = Field(
        default_factory=lambda: list(DEFAULT_PRIORITY),
        description="Feedback sources in order of trust; the first source that carries a label wins.",
    )
    implicit_accept_confirms: bool = Field(
        default=True,
        description="Treat implicit `accepted` feedback as confirming the prediction (label = prediction).",
    )

    @field_validator("priority")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("each feedback source may appear once")
        return v


class DriftSettings(_Strict):
    """How distributions are compared with the reference (the tests are listed in docs/concepts.md)."""

    bins: int = Field(default=10, ge=2, le=100, description="Quantile bins of the reference used by the binned tests (PSI, Jensen–Shannon, Hellinger) on numeric features.")
    p_value: float = Field(default=0.05, gt=0, lt=1, description="Significance level of the drift tests, after correction across the features of a window.")
    dataset_p_value: float = Field(
        default=0.001, gt=0, lt=1,
        description="Significance level of the window's verdict over its inputs (subject `inputs`, metric `drift.inputs_drifted`): the most often a window where no input changed is called drift (Simes' test across the inputs). 0.001 is one false alarm in about 19 years of weekly windows per model.")
    correction: Literal["bh", "bonferroni", "none"] = Field(
        default="bh", description="Multiple-testing correction across the features of a window: `bh` (Benjamini–Hochberg), `bonferroni` or `none`.")
    numeric_tests: list[str] = Field(
        default_factory=lambda: list(_registry().DEFAULT_NUMERIC),
        description="Tests run on numeric features and confidence: any of ks, wasserstein, psi, jensen_shannon, hellinger, anderson_darling, cramer_von_mises.")
    categorical_tests: list[str] = Field(
        default_factory=lambda: list(_registry().DEFAULT_CATEGORICAL),
        description="Tests run on categorical features, the predicted class and the label: any of chi2, g_test, total_variation, psi, jensen_shannon.")
    thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="Effect size at or above which a test counts a change as practically large, by test name (defaults in docs/concepts.md).")
    min_samples: int = Field(default=30, ge=1, description="Windows with fewer values than this are reported as 'not enough data'.")

    @model_validator(mode="after")
    def _known_tests(self) -> DriftSettings:
        tests = _registry().TESTS
        for key, kind in (("numeric_tests", "numeric"), ("categorical_tests", "categorical")):
            for name in getattr(self, key):
                if name not in tests or not tests[name].accepts(kind):
                    ok = ", ".join(t.name for t in tests.values() if t.accepts(kind))
                    raise ValueError(f"{key}: {name!r} is not a {kind} drift test; expected one of {ok}")
        for name, value in self.thresholds.items():
            if name not in tests:
                raise ValueError(f"thresholds: unknown test {name!r}; expected one of {', '.join(tests)}")
            if not value >= 0:
                raise ValueError(f"thresholds: {name} must be a number >= 0")
        return self


def _registry() -> Any:
    from modelsteward.drift import registry

    return registry


class ConceptDriftSettings(_Strict):
    """Concept drift with labels: a significant fall of accuracy and F1 against the reference, and online detectors on the error stream."""

    enabled: bool = Field(default=True, description="Test each window's realised accuracy and F1 against the reference's and run the online detectors (needs labels).")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="Significance level of the one-sided tests of a drop (two-proportion z-test for accuracy, bootstrap for F1).")
    min_drop: float = Field(default=0.02, ge=0, lt=1, description="Smallest fall (in accuracy or F1 units, 0.02 = 2 points) that counts as a practically large drop.")
    min_labelled: int = Field(default=30, ge=1, description="Windows with fewer labelled predictions are reported as 'not enough data' for concept drift.")
    detectors: list[Literal["adwin", "ddm", "page_hinkley"]] = Field(
        default_factory=lambda: ["adwin"],  # type: ignore[arg-type]
        description="Online detectors run on the error stream of labelled predictions in time order: `adwin` (default), `ddm` (noisy), `page_hinkley`.")
    warmup: int = Field(default=1000, ge=0, le=100_000, description="Labelled predictions before the window that the detectors read first, so a change at the window's start can be seen.")
    bootstrap: int = Field(default=2000, ge=200, le=20_000, description="Bootstrap draws behind the F1 drop's interval and p-value (seeded).")


class MultivariateSettings(_Strict):
    """Multivariate data drift in each window (opt-in): a domain classifier and PCA reconstruction error on seeded samples."""

    enabled: bool = Field(default=False, description="Run the domain classifier (cross-validated AUC) and PCA reconstruction error on every window.")
    sample_rows: int = Field(default=5000, ge=100, le=20_000, description="Rows sampled (seeded reservoir) from the reference and from each window; bounds memory and time.")
    min_auc: float = Field(default=0.55, gt=0.5, le=1, description="AUC from which a significant separation counts as drift.")
    seed: int = Field(default=0, ge=0, description="Seed of the samples, folds and classifier.")


class TextDriftSettings(_Strict):
    """Drift of free-text attributes (e.g. the ticket text), opt-in by naming the attributes that hold text."""

    attributes: list[str] = Field(default_factory=list, description="Keys of the logged `attributes` that hold free text (for a file reference, the file's column of that name, or as mapped in `reference.columns`).")
    sample_texts: int = Field(default=2000, ge=50, le=20_000, description="Texts sampled (seeded) from the reference and from each window.")
    dims: int = Field(default=50, ge=2, le=300, description="Dimensions of the offline TF-IDF/SVD text representation.")
    vocab_size: int = Field(default=2000, ge=50, le=20_000, description="Unigrams and bigrams kept in the reference vocabulary.")
    min_auc: float = Field(default=0.55, gt=0.5, le=1, description="AUC from which a significant separation of the texts counts as drift.")
    seed: int = Field(default=0, ge=0, description="Seed of the samples and of the representation.")

    @field_validator("attributes")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for key in v:
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
                raise ValueError(f"{key!r}: attribute keys hold letters, digits, '_' and '-' only (at most 64)")
        if len(set(v)) != len(v):
            raise ValueError("each text attribute may appear once")
        return v


class DiagnosisSettings(_Strict):
    """Every kind of drift per window (concept, multivariate, text) and the diagnosis that names them."""

    concept: ConceptDriftSettings = Field(default_factory=ConceptDriftSettings, description="Concept drift with labels.")
    multivariate: MultivariateSettings = Field(default_factory=MultivariateSettings, description="Multivariate data drift (opt-in).")
    text: TextDriftSettings = Field(default_factory=TextDriftSettings, description="Text drift of free-text attributes (opt-in).")


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


REVIEW_PRIORITIES = ("critical", "high", "medium", "low")
RISK_FIELDS = ("prediction", "confidence", "model_version", "user_id")


class RiskPredicate(_Strict):
    """One test on a field of a prediction, e.g. `attributes.tier` `in` `[gold, platinum]`."""

    field: str = Field(description="What is tested: `attributes.<key>`, `features.<name>`, `prediction`, `confidence`, `model_version` or `user_id`.")
    op: Literal["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge"] = Field(
        default="eq", description="`eq`, `ne`, `in`, `not_in` (a list), or a numeric comparison `lt`, `le`, `gt`, `ge`. A missing value never matches.")
    value: str | float | bool | list[str | float] = Field(description="The value (or list, for `in`/`not_in`) compared with.")

    @field_validator("field")
    @classmethod
    def _field_path(cls, v: str) -> str:
        head, _, rest = v.partition(".")
        if head in ("attributes", "features") and rest:
            return v
        if v in RISK_FIELDS:
            return v
        raise ValueError(f"expected `attributes.<key>`, `features.<name>` or one of {', '.join(RISK_FIELDS)}, got {v!r}")

    @model_validator(mode="after")
    def _value_fits_op(self) -> RiskPredicate:
        is_list = isinstance(self.value, list)
        if self.op in ("in", "not_in") and not is_list:
            raise ValueError(f"`{self.op}` needs a list of values")
        if self.op not in ("in", "not_in") and is_list:
            raise ValueError(f"`{self.op}` compares with one value; use `in` for a list")
        if self.op in ("lt", "le", "gt", "ge") and (isinstance(self.value, bool) or not isinstance(self.value, (int, float))):
            raise ValueError(f"`{self.op}` compares numbers; give a number")
        return self


class _ReviewConditionBase(_Strict):
    name: str | None = Field(default=None, description="Name of the reason recorded when the condition matches (default: its kind); unique within the policy.")
    priority: str | None = Field(default=None, description="Priority of this reason: critical, high, medium or low (default depends on the kind).")

    def __repr__(self) -> str:  # as written in steward.yaml (the configuration reference shows defaults this way)
        return "{" + ", ".join(f"{k}: {v}" for k, v in self.model_dump(exclude_none=True).items()) + "}"

    @field_validator("priority")
    @classmethod
    def _priority(cls, v: str | None) -> str | None:
        if v is not None and v not in REVIEW_PRIORITIES:
            raise ValueError(f"expected one of {', '.join(REVIEW_PRIORITIES)}, got {v!r}")
        return v

    @field_validator("name")
    @classmethod
    def _reason_name(cls, v: str | None) -> str | None:
        if v is not None and not IDENTIFIER.match(v):
            raise ValueError("expected lower case letters, digits and underscores, starting with a letter")
        return v


class ConfidenceBelowCondition(_ReviewConditionBase):
    """Route when the model's confidence is below a threshold (the course: below 0.7)."""

    kind: Literal["confidence_below"] = Field(description="`confidence_below`.")
    threshold: float = Field(default=0.7, gt=0, le=1, description="Confidence below which a person reviews the prediction.")


class RiskCondition(_ReviewConditionBase):
    """Route high-risk predictions: predicates over attributes and features (high-value customer, sensitive topic)."""

    kind: Literal["risk"] = Field(description="`risk`.")
    where: list[RiskPredicate] = Field(min_length=1, description="The predicates tested.")
    match: Literal["all", "any"] = Field(default="all", description="`all` predicates must hold, or `any` one of them.")


class DisagreementCondition(_ReviewConditionBase):
    """Route when the champion and a challenger model logged for the same input disagree."""

    kind: Literal["disagreement"] = Field(description="`disagreement`.")
    champion: str = Field(description="`model_version` of the champion, the model whose predictions are served and routed.")
    challengers: list[str] = Field(default_factory=list, description="`model_version`s of the challengers (default: any other version).")
    margin: float | None = Field(
        default=None, ge=0, le=1,
        description="Also route when the labels agree but the confidences differ by more than this (default: labels only).")
    input_key: str = Field(
        default="input_id",
        description="Prediction attribute naming the input, shared by the champion's and the challengers' predictions of it.")


class NoveltyCondition(_ReviewConditionBase):
    """Route inputs unlike the reference: the novelty percentile (needs `novelty: true`) above a threshold."""

    kind: Literal["novelty_above"] = Field(description="`novelty_above`.")
    percentile: float = Field(
        default=99.0, ge=0, lt=100,
        description="Route when the input is more unusual than this percentage of reference rows (99 = the top 1% of the reference).")


class AuditSampleCondition(_ReviewConditionBase):
    """A deterministic random sample for quality assurance (the course: 5%), chosen by hashing the prediction id."""

    kind: Literal["audit_sample"] = Field(description="`audit_sample`.")
    percent: float = Field(default=5.0, ge=0, le=100, description="Share of predictions sampled, in percent.")
    salt: str | None = Field(default=None, description="Changes which ids are drawn (default: the model name); keep it fixed to keep the sample stable.")


ReviewCondition = Annotated[
    ConfidenceBelowCondition | RiskCondition | DisagreementCondition | NoveltyCondition | AuditSampleCondition,
    Field(discriminator="kind"),
]


def _default_review_conditions() -> list[Any]:
    return [ConfidenceBelowCondition(kind="confidence_below"), AuditSampleCondition(kind="audit_sample")]


class ReviewSettings(_Strict):
    """Review routing: which predictions go to a person, with what priority, and the review queue's rules."""

    enabled: bool = Field(default=True, description="Put routed predictions in the review queue; `false` only returns and counts decisions (shadow mode).")
    conditions: list[ReviewCondition] = Field(
        default_factory=_default_review_conditions,
        description="Conditions, each evaluated on every prediction (default: `confidence_below` 0.7 and a 5% `audit_sample`).")
    when: str | dict[str, list[Any]] = Field(
        default="any",
        description="How conditions combine: `any` (default), `all`, or a tree such as `{all: [low_confidence, {any: [vip, audit_sample]}]}` "
                    "whose leaves are condition names.")
    queue: str = Field(default="default", description="Name of the queue routed items go to.")
    sla: dict[str, str] = Field(
        default_factory=lambda: {"critical": "1h", "high": "4h", "medium": "24h", "low": "72h"},
        description="Time to a decision by priority (`1h`, `24h`, `3d`); an undecided item past it is overdue.")
    overlap: int = Field(default=1, ge=1, le=10, description="Decisions from this many different reviewers complete an item (agreement is reported when above 1).")
    lease: str = Field(default="15m", description="How long a claim holds an item; an undecided item returns to the queue when its lease ends.")
    max_skips: int = Field(default=3, ge=1, description="An item skipped by this many reviewers leaves the queue as `skipped`.")

    @field_validator("sla")
    @classmethod
    def _sla(cls, v: dict[str, str]) -> dict[str, str]:
        for key, text in v.items():
            if key not in REVIEW_PRIORITIES:
                raise ValueError(f"unknown priority {key!r}; expected {', '.join(REVIEW_PRIORITIES)}")
            parse_duration(text)
        return v

    @field_validator("lease")
    @classmethod
    def _lease(cls, v: str) -> str:
        if parse_duration(v).total_seconds() <= 0:
            raise ValueError("the lease must be longer than 0")
        return v

    @model_validator(mode="after")
    def _names_and_tree(self) -> ReviewSettings:
        names = [c.name or c.kind for c in self.conditions]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"conditions: the reason {name!r} is given twice; give the conditions distinct `name`s")
        _check_when(self.when, set(names))
        return self


def _check_when(node: Any, names: set[str]) -> None:
    if node in ("any", "all") or (isinstance(node, str) and node in names):
        return
    if isinstance(node, str):
        raise ValueError(f"when: unknown condition {node!r}; conditions: {', '.join(sorted(names))}")
    if isinstance(node, dict) and len(node) == 1:
        (op, items), = node.items()
        if op in ("any", "all") and isinstance(items, list) and items:
            for item in items:
                if item in ("any", "all"):
                    raise ValueError(f"when: {item!r} may only stand alone at the top")
                _check_when(item, names)
            return
    raise ValueError(f"when: expected `any`, `all`, a condition name or {{any|all: [...]}}, got {node!r}")


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


class ExpertReviewPlan(_Strict):
    """The course's expert-review plan: a weekly random QA sample and a focus on high-confidence errors."""

    weekly_sample: int = Field(default=50, ge=0, description="Predictions drawn at random each week for QA review (the course: 50).")
    high_confidence: float = Field(default=0.8, gt=0, le=1, description="Confidence from which a prediction that feedback contradicts is a high-confidence error.")
    max_high_confidence_errors: int | None = Field(
        default=None, ge=1, description="At most this many high-confidence errors a week, most confident first (default: all).")
    seed: int = Field(default=0, ge=0, description="Seed of the weekly sample; the same seed and week give the same sample.")
    sample_priority: str = Field(
        default="low",
        description="Review priority of a randomly sampled prediction put in the review queue (`steward feedback sample --enqueue`).")
    error_priority: str = Field(
        default="medium",
        description="Review priority of a high-confidence error put in the review queue (`steward feedback sample --enqueue`).")

    @field_validator("sample_priority", "error_priority")
    @classmethod
    def _review_priority(cls, v: str) -> str:
        if v not in REVIEW_PRIORITIES:
            raise ValueError(f"expected one of {', '.join(REVIEW_PRIORITIES)}, got {v!r}")
        return v


class FeedbackSettings(_Strict):
    """Feedback handling: how long feedback may wait for its prediction, and the expert-review plan."""

    orphan_after: str = Field(
        default="24h",
        description="Feedback whose prediction has not arrived after this long is reported by `steward check` and `steward feedback orphans`.")
    expert_review: ExpertReviewPlan = Field(default_factory=ExpertReviewPlan, description="Expert-review sampling plan.")

    @field_validator("orphan_after")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class ModelConfig(_Strict):
    """One monitored model."""

    name: str = Field(description="Model name: lower case letters, digits, `_` and `-`.")
    task: Literal["binary", "multiclass"] = Field(description="`binary` or `multiclass` classification.")
    labels: list[str] = Field(min_length=2, description="The label set; predictions and ground truth must be among them.")
    positive_label: str | None = Field(default=None, description="For binary tasks, the positive class (default: the first label).")
    features: list[Feature] = Field(default_factory=list, description="Input features, stored in typed columns.")
    window: Literal["hour", "day", "week"] = Field(default="week", description="Length of a monitoring window (`hour`, `day` or `week`; weeks start on Monday, UTC).")
    low_confidence_threshold: float = Field(default=0.6, gt=0, lt=1, description="Confidence below which a prediction counts as low-confidence.")
    reference: Reference | None = Field(default=None, description="What normal looks like (training data file or a logged period).")
    ground_truth: GroundTruthSettings = Field(default_factory=GroundTruthSettings, description="How labels are resolved from feedback.")
    drift: DriftSettings = Field(default_factory=DriftSettings, description="Drift test settings.")
    alerts: list[AlertRule] = Field(default_factory=list, description="Alert rules and retraining triggers.")
    owner: str | None = Field(default=None, description="Team or person who owns the model's quality.")
    review: ReviewSettings | None = Field(
        default=None,
        description="Review routing and the review queue: which predictions go to a person (conditions, priorities), SLAs, overlap, leases.")
    diagnosis: DiagnosisSettings = Field(
        default_factory=DiagnosisSettings,
        description="Every kind of drift per window: concept drift with labels, multivariate and text drift (opt-in), and the diagnosis.")
    novelty: bool = Field(
        default=False,
        description="Score each prediction's novelty against the reference when it is logged (a percentile: 99 = more unusual "
                    "than 99% of reference rows), for review routing and the `novel_rate` metric; about 0.1 ms a prediction.")
    alerting: AlertingSettings = Field(default_factory=AlertingSettings, description="Incidents, escalation and flapping of the model's alerts.")
    retraining: RetrainSettings | None = Field(
        default=None,
        description="Retraining triggers, their guards (new labels, cooldown), the labelled export and the command or webhook told of "
                    "each request; without this section no retrain request is made.")
    feedback: FeedbackSettings = Field(default_factory=FeedbackSettings, description="Orphan feedback and the expert-review sampling plan.")

    @field_validator("name")
    @classmethod
    def _model_name(cls, v: str) -> str:
        if not MODEL_NAME.match(v):
            raise ValueError("expected lower case letters, digits, '_' and '-', starting with a letter (at most 63)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels: `labels` must not repeat")
        if self.task == "binary" and len(self.labels) != 2:
            raise ValueError(f"labels: a binary task needs exactly 2 labels, got {len(self.labels)}")
        if self.positive_label is not None and self.positive_label not in self.labels:
            raise ValueError(f"positive_label: `positive_label` {self.positive_label!r} is not in `labels`")
        seen: set[str] = set()
        for i, f in enumerate(self.features):
            if f.name in seen:
                raise ValueError(f"features[{i}].name: feature names must be unique; {f.name!r} is given twice")
            seen.add(f.name)
        seen = set()
        for i, r in enumerate(self.alerts):
            if r.name in seen:
                raise ValueError(f"alerts[{i}].name: alert rule names must be unique; {r.name!r} is given twice")
            seen.add(r.name)
        kinds = {f.name: f.type for f in self.features}
        for i, rule in enumerate(self.alerts):
            problem = check_metric_name(rule.metric, self.labels, kinds)
            if problem:
                raise ValueError(f"alerts[{i}].metric: {problem}")
        for key in self.reference.baselines if self.reference is not None else {}:
            problem = check_metric_name(key, self.labels, kinds)
            if problem:  # a misspelt baseline would silently leave its rules without one
                raise ValueError(f"reference.baselines: {key!r}: {problem}")
        return self

    @model_validator(mode="after")
    def _review_fits_model(self) -> ModelConfig:
        if self.review is None:
            return self
        names = {f.name for f in self.features}
        for i, cond in enumerate(self.review.conditions):
            for j, pred in enumerate(getattr(cond, "where", [])):
                head, _, rest = pred.field.partition(".")
                if head == "features" and rest not in names:
                    raise ValueError(f"review.conditions[{i}].where[{j}].field: unknown feature {rest!r}; features: {', '.join(sorted(names)) or 'none'}")
            if cond.kind == "novelty_above" and not self.novelty:
                raise ValueError(f"review.conditions[{i}]: `novelty_above` needs `novelty: true` on the model (and a reference)")
        return self

    @model_validator(mode="after")
    def _retraining_fits_model(self) -> ModelConfig:
        if self.retraining is None:
            return self
        kinds = {f.name: f.type for f in self.features}
        taken = {r.name for r in self.alerts if r.retrain}
        for i, t in enumerate(self.retraining.triggers):
            if t.name in taken:
                raise ValueError(f"retraining.triggers[{i}].name: {t.name!r} is already the name of a trigger or of an alert rule with `retrain: true`")
            taken.add(t.name)
            if isinstance(t, MetricTrigger):
                problem = check_metric_name(t.metric, self.labels, kinds)
                if problem:
                    raise ValueError(f"retraining.triggers[{i}].metric: {problem}")
            if isinstance(t, DriftTrigger):
                known = {"confidence", "prediction", "label", *kinds}
                for s in t.subjects:
                    if s not in known:
                        raise ValueError(f"retraining.triggers[{i}].subjects: unknown subject {s!r}; expected one of {', '.join(sorted(known))}")
        return self

    @property
    def positive(self) -> str:
        return self.positive_label or self.labels[0]

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise NotFoundError(f"model {self.name!r} has no feature {name!r}")


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|seconds?)\s*$", re.I)


def parse_interval(text: str | int | float) -> timedelta:
    """Parse a notification interval: seconds as a number or ``"30s"``, else as :func:`parse_duration`.

    >>> parse_interval("30s").total_seconds(), parse_interval("5m").total_seconds(), parse_interval(0).total_seconds()
    (30.0, 300.0, 0.0)
    """
    if isinstance(text, str):
        match = _INTERVAL.match(text)
        if match:
            return timedelta(seconds=float(match.group(1)))
    value = parse_duration(text)
    if value.total_seconds() < 0:
        raise ValueError(f"expected a duration of 0 or more, got {text!r}")
    return value


def _check_interval(v: str | int | float) -> str | int | float:
    parse_interval(v)
    return v


class ReceiverConfig(_Strict):
    """Where notifications go: a signed JSON webhook, an apprise URL (Slack, Teams, email, PagerDuty, ...) or a log file."""

    name: str = Field(description="Receiver name, referred to by routes.")
    type: Literal["webhook", "apprise", "log"] = Field(
        description="`webhook` (JSON POST signed with HMAC-SHA256), `apprise` (any apprise URL: `slack://`, `mailto://`, "
                    "`msteams://`, `pagerduty://`, `json://`, ...) or `log` (JSON lines appended to a file).")
    url: str = Field(
        description="Webhook URL, apprise URL, or the path of the log file (relative to the working directory). "
                    "`${NAME}` is replaced by environment variable NAME when sending, so tokens stay out of the file; "
                    "its value is redacted from every log and error.")
    secret_env: str | None = Field(
        default=None,
        description="Environment variable holding the webhook's HMAC secret (the secret itself never goes in this file).")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers for a webhook (values may use `${NAME}`).")
    timeout: float = Field(default=5.0, gt=0, le=120, description="Seconds to wait for the receiver before counting the attempt as failed.")

    @field_validator("name")
    @classmethod
    def _receiver_name(cls, v: str) -> str:
        if not MODEL_NAME.match(v):
            raise ValueError("expected lower case letters, digits, '_' and '-', starting with a letter")
        return v

    @model_validator(mode="after")
    def _secret_only_for_webhook(self) -> ReceiverConfig:
        if self.secret_env is not None and self.type != "webhook":
            raise ValueError("`secret_env` is only used by a `webhook` receiver (an apprise URL takes `${NAME}` instead)")
        if self.headers and self.type != "webhook":
            raise ValueError("`headers` is only used by a `webhook` receiver")
        return self


class RouteConfig(_Strict):
    """A node of the route tree: which notifications it takes (by labels) and how it groups and repeats them."""

    receiver: str | None = Field(default=None, description="Receiver of the notifications this route takes (default: its parent's).")
    match: dict[str, str] = Field(
        default_factory=dict,
        description="Labels that must equal these values, e.g. `{severity: critical, model: tickets}`.")
    match_re: dict[str, str] = Field(
        default_factory=dict,
        description="Labels that must fully match these regular expressions, e.g. `{severity: 'critical|high'}`.")
    group_by: list[str] | None = Field(
        default=None,
        description="Labels that split notifications into groups; one message per group (default: the parent's, at the root "
                    "`[model]`, so one bad window of a model is one message; `['...']` groups by all labels, i.e. one "
                    "message per incident).")
    group_wait: str | int | float | None = Field(
        default=None,
        description="How long a new group waits to collect more notifications before its first message (default: "
                    "parent's, root `30s`).")
    group_interval: str | int | float | None = Field(
        default=None,
        description="Least time between two messages of the same group with new content (default: parent's, root `5m`).")
    repeat_interval: str | int | float | None = Field(
        default=None,
        description="How long before a still-firing group is notified again without news (default: parent's, root `4h`).")
    continue_: bool = Field(default=False, alias="continue", description="After matching this route, go on to try its later siblings too.")
    routes: list[RouteConfig] = Field(
        default_factory=list,
        description="Child routes, tried in order; the first that matches takes the notification (unless it has "
                    "`continue`).")

    @field_validator("group_wait", "group_interval", "repeat_interval")
    @classmethod
    def _interval(cls, v: str | int | float | None) -> str | int | float | None:
        return None if v is None else _check_interval(v)

    @field_validator("match_re")
    @classmethod
    def _regexes(cls, v: dict[str, str]) -> dict[str, str]:
        for key, pattern in v.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match_re.{key}: not a valid regular expression: {exc}") from None
        return v


class RetrySettings(_Strict):
    """How failed deliveries are retried: exponential backoff with jitter, then given up."""

    max_attempts: int = Field(default=8, ge=1, le=100, description="Attempts per message before it is given up (and logged as failed).")
    backoff: str | int | float = Field(
        default="30s",
        description="Wait before the first retry; each later retry waits twice as long (with jitter).")
    max_backoff: str | int | float = Field(default="1h", description="Longest wait between two attempts.")
    jitter: float = Field(default=0.5, ge=0, le=1, description="Each wait is multiplied by a random factor in [1 - jitter, 1].")

    @field_validator("backoff", "max_backoff")
    @classmethod
    def _interval(cls, v: str | int | float) -> str | int | float:
        return _check_interval(v)


class NotificationsConfig(_Strict):
    """Where incident notifications go: receivers, the route tree that picks them, and retries."""

    receivers: list[ReceiverConfig] = Field(min_length=1, description="The receivers notifications can be sent to.")
    route: RouteConfig = Field(description="The root of the route tree; it must name a `receiver` (the default for everything).")
    dashboard_url: str | None = Field(
        default=None,
        description="Link to the dashboard put in every message; `{model}` and `{incident_id}` are filled in, e.g. `https://steward.example/models/{model}`.")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="Retry of failed deliveries.")

    @model_validator(mode="after")
    def _receivers_known(self) -> NotificationsConfig:
        names: set[str] = set()
        for i, r in enumerate(self.receivers):
            if r.name in names:
                raise ValueError(f"receivers[{i}].name: receiver names must be unique; {r.name!r} is given twice")
            names.add(r.name)
        if self.route.receiver is None:
            raise ValueError("route.receiver: the root route must name a receiver")

        def walk(route: RouteConfig, path: str) -> None:
            if route.receiver is not None and route.receiver not in names:
                raise ValueError(f"{path}.receiver: unknown receiver {route.receiver!r}; configured: {', '.join(sorted(names))}")
            for j, child in enumerate(route.routes):
                walk(child, f"{path}.routes[{j}]")

        walk(self.route, "route")
        return self

    def receiver(self, name: str) -> ReceiverConfig:
        for r in self.receivers:
            if r.name == name:
                return r
        raise NotFoundError(f"unknown receiver {name!r}", hint=f"configured receivers: {', '.join(r.name for r in self.receivers)}")


class StewardConfig(_Strict):
    """A whole ``steward.yaml``."""

    version: Literal[1] = Field(default=1, description="Version of this file's format.")
    store: str = Field(default="steward.duckdb", description="Path of the embedded DuckDB store (relative to the config file).")
    models: list[ModelConfig] = Field(min_length=1, description="The monitored models.")
    notifications: NotificationsConfig | None = Field(
        default=None, description="Incident notifications: receivers, routing by labels, grouping, repeats and retries.")

    @model_validator(mode="after")
    def _unique_models(self) -> StewardConfig:
        seen: dict[str, str] = {}
        for i, m in enumerate(self.models):
            # The store names a model's tables after it with '-' read as '_': "a-b" and "a_b" would share them.
            key = m.name.replace("-", "_")
            if key in seen:
                if seen[key] == m.name:
                    raise ValueError(f"models[{i}].name: model names must be unique; {m.name!r} is given twice")
                raise ValueError(f"models[{i}].name: {m.name!r} and {seen[key]!r} differ only in '-' against '_'; the store would mix their data")
            seen[key] = m.name
        return self

    def model(self, name: str | None = None) -> ModelConfig:
        """The model called ``name`` (or the only one)."""
        if name is None:
            if len(self.models) == 1:
                return self.models[0]
            raise NotFoundError(
                "several models are configured", hint=f"name one of: {', '.join(m.name for m in self.models)}"
            )
        for m in self.models:
            if m.name == name:
                return m
        raise NotFoundError(
            f"unknown model {name!r}", hint=f"configured models: {', '.join(m.name for m in self.models)}"
        )


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    prev = None
    for part in loc:
        if prev == "condition" and part in ("below", "above", "change", "outside_band"):
            prev = part
            continue  # pydantic adds the union tag to the location; people never write it
        if isinstance(prev, int) and out.endswith(f"triggers[{prev}]") and part in ("metric", "drift", "schedule"):
            prev = part
            continue  # the same for the kinds of retraining triggers
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        prev = part
    return out


# A model-level check names the key below it as "<path>: <problem>".
_NESTED_PATH = re.compile(r"^((?:alerts|features|models)\[\d+\]\.\w+|retraining\.triggers\[\d+\]\.\w+|labels|positive_label|reference\.baselines): (.*)$", re.S)


def config_error_from_pydantic(exc: PydanticValidationError, file: str | None) -> ConfigError:
    """Turn pydantic's report into one ConfigError naming the key path of the first problem."""
    problems = []
    for err in exc.errors():
        path = _key_path(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        nested = _NESTED_PATH.match(msg)
        if nested:  # a model-level check that names the key below it
            path = f"{path}.{nested.group(1)}" if path else nested.group(1)
            msg = nested.group(2)
        if err["type"] == "extra_forbidden":
            msg = "unknown setting (check its spelling against docs/configuration.md)"
        elif err["type"] == "missing":
            msg = "required setting is missing"
        problems.append((path, msg))
    path, msg = problems[0]
    if len(problems) > 1:
        msg += " (and " + "; ".join(f"{p}: {m}" for p, m in problems[1:4]) + (" …" if len(problems) > 4 else "") + ")"
    return ConfigError(msg, file=file, path=path or "(top level)")


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: keys written here override it
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice in the same mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> StewardConfig:
    """Read and validate a ``steward.yaml``; relative paths in it are resolved against its folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("file not found", file=str(path), hint="run `steward init` to write a commented example")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path), path=where) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with a `models` list at the top level", file=str(path))
    try:
        cfg = StewardConfig.model_validate(data)
    except PydanticValidationError as exc:
        raise config_error_from_pydantic(exc, str(path)) from None
    base = path.resolve().parent
    store = str((base / cfg.store).resolve()) if not _is_url(cfg.store) else cfg.store
    models = []
    for m in cfg.models:
        ref = m.reference
        if ref is not None and ref.file and not Path(ref.file).is_absolute():
            ref = ref.model_copy(update={"file": str((base / ref.file).resolve())})
        retraining = m.retraining
        if retraining is not None and not Path(retraining.export_dir).is_absolute():
            retraining = retraining.model_copy(update={"export_dir": str((base / retraining.export_dir).resolve())})
        models.append(m.model_copy(update={"reference": ref, "retraining": retraining}))
    return cfg.model_copy(update={"store": store, "models": models})


def _is_url(text: str) -> bool:
    return "://" in text
