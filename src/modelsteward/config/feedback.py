"""Feedback settings of a model in ``steward.yaml``: how ground truth is resolved from feedback
(``ground_truth``), orphan feedback and the expert-review sampling plan (``feedback``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from modelsteward.config.base import DEFAULT_PRIORITY, FeedbackSource, _Strict, parse_duration
from modelsteward.config.review import REVIEW_PRIORITIES

__all__ = [
    "ExpertReviewPlan",
    "FeedbackSettings",
    "GroundTruthSettings",
]


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
