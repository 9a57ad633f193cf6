"""The top of the ``steward.yaml`` schema: a model's features and reference, :class:`ModelConfig`
(one monitored model, gathering the settings of every area) and :class:`StewardConfig` (a whole file)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelsteward.config.alerts import AlertingSettings, AlertRule
from modelsteward.config.base import IDENTIFIER, MODEL_NAME, RESERVED_FEATURE_NAMES, _Strict
from modelsteward.config.drift import DiagnosisSettings, DriftSettings
from modelsteward.config.engine import EngineSettings
from modelsteward.config.feedback import FeedbackSettings, GroundTruthSettings
from modelsteward.config.notifications import NotificationsConfig
from modelsteward.config.retrain import DriftTrigger, MetricTrigger, RetrainSettings
from modelsteward.config.review import ReviewSettings
from modelsteward.config.server import ServerSettings
from modelsteward.errors import NotFoundError
from modelsteward.metrics.names import check_metric_name

__all__ = [
    "Feature",
    "ModelConfig",
    "Reference",
    "StewardConfig",
]


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


class StewardConfig(_Strict):
    """A whole ``steward.yaml``."""

    version: Literal[1] = Field(default=1, description="Version of this file's format.")
    store: str = Field(default="steward.duckdb", description="Path of the embedded DuckDB store (relative to the config file), "
                       "or a `postgresql://` URL: events and state on PostgreSQL, shared by several `steward serve` processes.")
    models: list[ModelConfig] = Field(min_length=1, description="The monitored models.")
    notifications: NotificationsConfig | None = Field(
        default=None, description="Incident notifications: receivers, routing by labels, grouping, repeats and retries.")
    engine: EngineSettings = Field(
        default_factory=EngineSettings,
        description="Which engine aggregates the windows (DuckDB, PostgreSQL or Spark) and where the events are.")
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="What `steward serve` accepts: the largest request body.")

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
