"""Feedback kinds and the resolution of ground-truth labels from them."""

from modelsteward.feedback.labels import resolved_labels_sql

__all__ = ["resolved_labels_sql"]
