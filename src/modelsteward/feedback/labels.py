"""Ground truth from feedback.

A prediction may receive several pieces of feedback; the label used for quality metrics is the
label from the most trusted source that has one, in the order ``ground_truth.priority``
(default: expert review, then explicit correction, then an outcome-derived label, then
implicit acceptance). Within one source the latest feedback wins. Implicit ``accepted``
feedback confirms the prediction (its label is the prediction) when
``ground_truth.implicit_accept_confirms`` is on; ``modified`` and ``rejected`` carry no label
by themselves. Ratings, CSAT and escalation are outcomes, not labels.

Feedback may arrive before its prediction: it is stored as it comes and joined when metrics
are computed, so the order of arrival does not matter.
"""

from __future__ import annotations

from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.store.model_tables import ModelTables

__all__ = ["resolved_labels_sql"]


def resolved_labels_sql(model: ModelConfig) -> tuple[str, list[Any]]:
    """SQL (and its parameters) selecting ``prediction_id, label, source`` for every labelled prediction."""
    table = ModelTables.predictions_table(model.name)
    rank_cases = " ".join(f"WHEN ? THEN {i}" for i, _ in enumerate(model.ground_truth.priority))
    params: list[Any] = list(model.ground_truth.priority)
    sql = f"""
        SELECT prediction_id, label, source FROM (
            SELECT f.prediction_id,
                   coalesce(f.label, CASE WHEN f.kind = 'implicit' AND f.action = 'accepted' AND ?
                                          THEN p.prediction END) AS label,
                   f.kind AS source,
                   CASE f.kind {rank_cases} END AS rank,
                   f.ts, f.ingested_at, f.feedback_id
            FROM feedback f JOIN {table} p USING (prediction_id)
            WHERE f.model = ?
        )
        WHERE label IS NOT NULL AND rank IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY prediction_id ORDER BY rank, ts DESC, ingested_at DESC, feedback_id DESC) = 1
    """
    return sql, [model.ground_truth.implicit_accept_confirms, *params, model.name]
