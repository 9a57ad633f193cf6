"""Review settings of a model in ``steward.yaml`` (``review``): the routing conditions that send a
prediction to a person, their priorities, SLAs, overlap and leases."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from modelsteward.config.base import IDENTIFIER, _Strict, parse_duration

__all__ = [
    "AuditSampleCondition",
    "ConfidenceBelowCondition",
    "DisagreementCondition",
    "NoveltyCondition",
    "REVIEW_PRIORITIES",
    "RISK_FIELDS",
    "ReviewCondition",
    "ReviewSettings",
    "RiskCondition",
    "RiskPredicate",
]


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
