"""Drift settings of a model in ``steward.yaml``: the data-drift tests (``drift``) and the diagnosis of
concept, multivariate and text drift (``diagnosis``)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from modelsteward.config.base import _Strict

__all__ = [
    "ConceptDriftSettings",
    "DiagnosisSettings",
    "DriftSettings",
    "MultivariateSettings",
    "TextDriftSettings",
]


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
