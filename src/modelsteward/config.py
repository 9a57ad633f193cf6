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
    "BandCondition",
    "ChangeCondition",
    "DriftSettings",
    "Feature",
    "GroundTruthSettings",
    "ModelConfig",
    "Reference",
    "StewardConfig",
    "ThresholdCondition",
    "load_config",
    "parse_duration",
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
    novelty: bool = Field(
        default=False,
        description="Score each prediction's novelty against the reference when it is logged (a percentile: 99 = more unusual "
                    "than 99% of reference rows), for review routing and the `novel_rate` metric; about 0.1 ms a prediction.")

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
    store: str = Field(default="steward.duckdb", description="Path of the embedded DuckDB store (relative to the config file).")
    models: list[ModelConfig] = Field(min_length=1, description="The monitored models.")

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
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
        prev = part
    return out


# A model-level check names the key below it as "<path>: <problem>".
_NESTED_PATH = re.compile(r"^((?:alerts|features|models)\[\d+\]\.\w+|labels|positive_label|reference\.baselines): (.*)$", re.S)


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
        models.append(m.model_copy(update={"reference": ref}))
    return cfg.model_copy(update={"store": store, "models": models})


def _is_url(text: str) -> bool:
    return "://" in text
