"""The metric catalogue: every name a window metric, a baseline or an alert rule can use.

Fixed names cover operations and quality; dotted names reach into labels and features::

    volume, unique_users, latency_p50, latency_p95, latency_p99, error_rate,
    mean_confidence, low_confidence_rate, label_coverage, labelled,
    novel_rate (with ``novelty: true``: share of predictions more unusual than 95% of the reference),
    feedback.<kind>_rate         share of predictions with explicit | implicit | outcome | expert feedback
    feedback.outcome_delay_hours_p50  median hours from a prediction to its first outcome
    accuracy, precision_macro, recall_macro, f1_macro
    review.routed, review.decided, review.pending, review.overdue, review.hours_to_decision
                                 the review queue (with a `review:` policy), see modelsteward.review.progress
    precision.<label>, recall.<label>, f1.<label>
    estimated.<m>, estimated_lower.<m>, estimated_upper.<m>
                                 performance estimated from calibrated confidence (CBPE) with its
                                 interval, e.g. estimated.accuracy, estimated_lower.f1.<label>
    class_share.<label>          share of predictions in each class (prediction mix)
    label_share.<label>          share of ground-truth labels in each class (label mix)
    error_type_share.<type>      share of errors of one type among all predictions
    feature.<f>.mean             numeric features (and `confidence`)
    feature.<f>.share.<category> categorical features (share among the window's non-missing values)
    feature.<f>.missing_rate | unseen_rate | out_of_range_rate
    drift.features_drifted       input features whose drift verdict is 'drift'
    drift.inputs_drifted         1 when the window's inputs drifted (after correction), else 0
    drift.<f>.<test>             the test's effect size (ks, wasserstein, psi, chi2, total_variation, ...)
    drift.<f>.<test>_statistic | <test>_p_value | <test>_p_adjusted
    drift.<f>.max_share_change_pp   categorical subjects: the largest share change
    (``<f>`` is a feature, ``confidence``, ``prediction`` or ``label``)
    concept.<m>_drop | <m>_drop_lower | <m>_drop_upper | <m>_drop_p_value
                                 fall of realised accuracy (``<m>`` = accuracy) or F1 (``f1``)
                                 against the reference, with its 95% interval and one-sided p-value
    concept.dropped              1 when accuracy or F1 fell significantly and by at least min_drop
    concept.expected_accuracy | expected_accuracy_lower | expected_accuracy_upper | accuracy_gap
                                 CBPE's accuracy for the labelled predictions, and realised minus it
    concept.errors.<detector>_changes   change points an online detector found in the window
    drift.multivariate.<stat>    domain_auc, domain_auc_lower, domain_auc_p_value, pca_error_ratio,
                                 pca_p_value, drifted
    drift.text.<attribute>.<stat>   auc, auc_lower, auc_p_value, mean_shift, oov_share, drifted
    diagnosis.<kind>_drift       1 present, 0.5 possible, 0 absent (data, concept, label, prediction)

>>> check_metric_name("feature.category.share.technical", ["a", "b"], {"category": "categorical"})
>>> check_metric_name("feature.category.mean", ["a", "b"], {"category": "categorical"})
"feature 'category' is categorical; use feature.category.share.<category>"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["DRIFT_STATS", "FIXED_METRICS", "check_metric_name"]

FIXED_METRICS = (
    "volume", "unique_users", "latency_p50", "latency_p95", "latency_p99", "error_rate",
    "mean_confidence", "low_confidence_rate", "label_coverage", "labelled",
    "accuracy", "precision_macro", "recall_macro", "f1_macro", "drift.features_drifted", "drift.inputs_drifted",
    "novel_rate",
    "review.routed", "review.decided", "review.pending", "review.overdue", "review.hours_to_decision",
    "feedback.explicit_rate", "feedback.implicit_rate", "feedback.outcome_rate", "feedback.expert_rate",
    "feedback.outcome_delay_hours_p50",
)
_NUMERIC_TESTS = ("ks", "wasserstein", "psi", "jensen_shannon", "hellinger", "anderson_darling", "cramer_von_mises")
_CATEGORICAL_TESTS = ("chi2", "g_test", "total_variation", "psi", "jensen_shannon")
_SUFFIXES = ("", "_statistic", "_p_value", "_p_adjusted")
NUMERIC_DRIFT_STATS = tuple(t + s for t in _NUMERIC_TESTS for s in _SUFFIXES)
CATEGORICAL_DRIFT_STATS = tuple(t + s for t in _CATEGORICAL_TESTS for s in _SUFFIXES) + ("max_share_change_pp",)
DRIFT_STATS = tuple(sorted(set(NUMERIC_DRIFT_STATS + CATEGORICAL_DRIFT_STATS)))
QUALITY = ("missing_rate", "unseen_rate", "out_of_range_rate")
CONCEPT_METRICS = tuple(f"concept.{m}_drop{s}" for m in ("accuracy", "f1") for s in ("", "_lower", "_upper", "_p_value")) + (
    "concept.dropped", "concept.expected_accuracy", "concept.expected_accuracy_lower", "concept.expected_accuracy_upper",
    "concept.accuracy_gap", "concept.errors.adwin_changes", "concept.errors.ddm_changes", "concept.errors.page_hinkley_changes",
    "diagnosis.data_drift", "diagnosis.concept_drift", "diagnosis.label_drift", "diagnosis.prediction_drift",
)
MULTIVARIATE_STATS = ("domain_auc", "domain_auc_lower", "domain_auc_p_value", "pca_error_ratio", "pca_p_value", "drifted")
TEXT_STATS = ("auc", "auc_lower", "auc_p_value", "mean_shift", "oov_share", "drifted")


def check_metric_name(name: str, labels: Sequence[str], features: Mapping[str, str]) -> str | None:
    """Return why ``name`` is not a metric of a model with these labels and features, or None."""
    if name in FIXED_METRICS:
        return None
    if name in CONCEPT_METRICS:
        return None
    parts = name.split(".")
    head = parts[0]
    feats = {"confidence": "numeric", **features}
    if head in ("precision", "recall", "f1", "class_share", "label_share") and len(parts) >= 2:
        label = ".".join(parts[1:])
        return None if label in labels else f"{label!r} is not in the model's labels ({', '.join(labels)})"
    if head == "error_type_share" and len(parts) >= 2:
        return None
    if head in ("estimated", "estimated_lower", "estimated_upper") and len(parts) >= 2:
        inner = ".".join(parts[1:])  # the estimate of a quality metric, before labels arrive
        if inner in ("accuracy", "precision_macro", "recall_macro", "f1_macro"):
            return None
        if parts[1] in ("precision", "recall", "f1") and len(parts) >= 3:
            label = ".".join(parts[2:])
            return None if label in labels else f"{label!r} is not in the model's labels ({', '.join(labels)})"
        return f"expected {head}.accuracy, {head}.<precision|recall|f1>.<label> or {head}.<precision|recall|f1>_macro"
    if head == "feature" and len(parts) >= 3:
        fname, rest = parts[1], parts[2:]
        if fname not in feats:
            return f"unknown feature {fname!r}; features: {', '.join(feats)}"
        kind = feats[fname]
        if rest[0] in QUALITY and len(rest) == 1:
            return None
        if rest == ["mean"]:
            return None if kind == "numeric" else f"feature {fname!r} is categorical; use feature.{fname}.share.<category>"
        if rest[0] == "share" and len(rest) >= 2:
            return None if kind == "categorical" else f"feature {fname!r} is numeric; use feature.{fname}.mean"
        return f"expected feature.{fname}.mean, .share.<category>, or one of {', '.join(QUALITY)}"
    if head == "drift" and len(parts) >= 3 and parts[1] in ("multivariate", "text"):
        if parts[1] == "multivariate":
            ok_stats = MULTIVARIATE_STATS
            stat = ".".join(parts[2:])
        else:
            ok_stats = TEXT_STATS
            stat = parts[-1] if len(parts) == 4 else ""
        if stat in ok_stats:
            return None
        shape = "drift.multivariate.<stat>" if parts[1] == "multivariate" else "drift.text.<attribute>.<stat>"
        return f"expected {shape} with a stat among {', '.join(ok_stats)}"
    if head == "drift" and len(parts) == 3:
        subject, stat = parts[1], parts[2]
        ok: tuple[str, ...]
        if subject in ("prediction", "label"):
            ok = CATEGORICAL_DRIFT_STATS
        elif subject in feats:
            ok = NUMERIC_DRIFT_STATS if feats[subject] == "numeric" else CATEGORICAL_DRIFT_STATS
        else:
            return f"unknown drift subject {subject!r}; use a feature, confidence, prediction or label"
        if stat in ok:
            return None
        kind = "numeric" if ok is NUMERIC_DRIFT_STATS else "categorical"
        tests = _NUMERIC_TESTS if ok is NUMERIC_DRIFT_STATS else (*_CATEGORICAL_TESTS, "max_share_change_pp")
        return (f"{subject!r} is {kind}: expected drift.{subject}.<test> with a test among {', '.join(tests)}, "
                f"optionally followed by _statistic, _p_value or _p_adjusted (e.g. drift.{subject}.{tests[0]}_p_value)")
    return f"unknown metric {name!r}; see the metric catalogue in docs/concepts.md"
