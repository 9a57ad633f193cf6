"""Every kind of drift in the monitoring run, and the per-window diagnosis.

:meth:`WindowKinds.window` is what :meth:`modelsteward.monitor.Monitor.check` calls for each
window after the per-feature drift and the performance estimate: it adds concept drift
(:mod:`~modelsteward.drift.concept_window`), multivariate and text drift where enabled
(:mod:`~modelsteward.drift.joint_window`), then the diagnosis (:mod:`~modelsteward.drift.diagnosis`)
built from all of the window's evidence. It returns new window metrics and drift results for
``check`` to store with the others; :func:`stored_diagnoses` reads the diagnoses back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.drift.concept_window import window_concept
from modelsteward.drift.diagnosis import KINDS, diagnose
from modelsteward.drift.joint_window import JointDrift
from modelsteward.drift.window_drift import DriftResult
from modelsteward.reference import ReferenceProfile
from modelsteward.store.base import Store

__all__ = ["WindowKinds", "stored_diagnoses"]


def _finite(metrics: Mapping[str, float | None]) -> dict[str, float | None]:
    return {k: (None if v is None or not math.isfinite(v) else float(v)) for k, v in metrics.items()}


class WindowKinds:
    """Concept, multivariate and text drift and the diagnosis, for the windows of one monitoring pass."""

    def __init__(self, store: Store, model: ModelConfig, profile: ReferenceProfile | None, *, engine: Any = None) -> None:
        self.store = store
        self.engine = engine  # where concept drift reads the labelled predictions (None: the store's own tables)
        self.model = model
        self.profile = profile
        self.joint = JointDrift(store, model) if profile is not None else None

    def window(self, start: datetime, end: datetime, metrics: Mapping[str, float | None],
               drift: Sequence[DriftResult]) -> tuple[dict[str, float | None], list[DriftResult]]:
        """Metrics and drift results to add to the window ``[start, end)``, the diagnosis last."""
        new_metrics, results = window_concept(self.store, self.model, self.profile, start, end, engine=self.engine)
        if self.joint is not None:
            for step in (self.joint.multivariate, self.joint.text):
                m, r = step(start, end)
                new_metrics.update(m)
                results.extend(r)
        baselines = self.profile.baselines if self.profile is not None else {}
        diagnosis = diagnose({**metrics, **new_metrics}, [*drift, *results], reference_accuracy=baselines.get("accuracy"))
        new_metrics.update(diagnosis.to_metrics())
        return _finite(new_metrics), [*results, *diagnosis.to_results()]


def stored_diagnoses(store: Store, model: str, *, window_start: datetime | None = None) -> list[dict[str, Any]]:
    """The stored diagnoses, one dict per window in time order: ``window_start``, ``window_end``,
    ``summary`` and ``findings`` (kind -> ``{"status", "reason"}``)."""
    sql = "SELECT window_start, window_end, test, status, reading FROM drift_results WHERE model = ? AND subject = 'diagnosis'"
    params: list[Any] = [model]
    if window_start is not None:
        sql += " AND window_start = ?"
        params.append(window_start)
    out: dict[datetime, dict[str, Any]] = {}
    for ws, we, test, status, reading in store.query(sql + " ORDER BY window_start", params):
        entry = out.setdefault(ws, {"window_start": ws, "window_end": we, "summary": "", "findings": {}})
        if test == "summary":
            entry["summary"] = reading
        else:
            entry["findings"][test] = {"status": status, "reason": reading}
    for entry in out.values():
        entry["findings"] = {k: entry["findings"][k] for k in KINDS if k in entry["findings"]}
    return list(out.values())
