"""Report sections for the diagnosis of each window and the triage of windows with alerts.

* **Diagnosis**: per window, which kinds of drift are present (data, concept, label,
  prediction) and the plain-language summary ``check`` stored.
* **Triage**: for the latest windows with alerts (at most :data:`TRIAGED_WINDOWS`), the
  segments that explain the change of accuracy ranked first, the features that moved most,
  and the features the domain classifier relies on (when the multivariate check ran).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from modelsteward.config import ModelConfig
from modelsteward.drift.diagnosis import KINDS
from modelsteward.drift.triage import Triage, triage
from modelsteward.errors import StewardError
from modelsteward.report.html import Section, Table
from modelsteward.store.base import Store

__all__ = ["TRIAGED_WINDOWS", "diagnosis_section", "drift_sections", "triage_section"]

TRIAGED_WINDOWS = 3
_MARK = {"present": "yes", "possible": "possible", "absent": "no", "unknown": "not enough data"}


def _label(ws: datetime, model: ModelConfig) -> str:
    return ws.strftime("%Y-%m-%d %H:00") if model.window == "hour" else ws.strftime("%Y-%m-%d")


def diagnosis_section(model: ModelConfig, diagnoses: Sequence[dict[str, Any]]) -> Section:
    """One row per window: the status of each kind of drift and the summary."""
    rows = [[_label(d["window_start"], model), *(_MARK.get(d["findings"].get(k, {}).get("status", ""), "—") for k in KINDS),
             d["summary"]] for d in diagnoses]
    return Section(
        "Diagnosis",
        paragraphs=["Which kinds of drift each window shows. Data drift: the inputs moved. Concept drift: realised accuracy "
                    "fell below what the model's calibrated confidence predicts (the input-outcome relation changed). "
                    "Label drift: the ground-truth mix moved. Prediction drift: the predicted class mix or the confidence moved."],
        tables=[Table("Diagnosis per window", ["Window", "Data drift", "Concept drift", "Label drift", "Prediction drift", "Why"], rows)],
    )


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _pts(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.1f}"


def triage_section(model: ModelConfig, triages: Sequence[Triage], notes: Sequence[str] = ()) -> Section:
    """Tables of ranked segments and features for each triaged window."""
    paragraphs = ["For the latest windows with alerts: the segments that explain most of the change of accuracy against the "
                  "baseline (rate: the metric moved within the segment; mix: the segment's share moved), and the inputs that "
                  "moved most.", *notes]
    tables = []
    for t in triages:
        when = _label(t.window_start, model)
        if t.diagnosis:
            paragraphs.append(f"{when}: {t.diagnosis['summary']}")
        if t.drop is not None:
            paragraphs.append(f"{when}: {t.drop.summary}")
            tables.append(Table(f"{when}: segments explaining the change of {t.metric}",
                                ["Segment", "Baseline", "Now", "Contribution (points)", "Rate", "Mix", "Labelled now", "Note"],
                                [[s.label, _pct(s.baseline_value), _pct(s.current_value), _pts(s.contribution), _pts(s.rate),
                                  _pts(s.mix), f"{s.current_n:,}", "few rows" if s.uncertain else ""] for s in t.drop.ranked[:8]]))
        elif t.drop_note:
            paragraphs.append(f"{when}: {t.drop_note}")
        if t.drift is not None:
            tables.append(Table(f"{when}: what moved most", ["Subject", "Verdict", "Effect / threshold", "Reading"],
                                [[d.subject, d.status, "—" if d.relative_effect is None else f"{d.relative_effect:.2f}", d.reading]
                                 for d in t.drift.drivers]))
        if t.separating:
            tables.append(Table(f"{when}: features the domain classifier relies on", ["Feature", "AUC drop when permuted"],
                                [[f["feature"], f"{f['auc_drop']:.3f}"] for f in t.separating]))
    return Section("Triage of windows with alerts", paragraphs=paragraphs, tables=tables)


def drift_sections(store: Store, model: ModelConfig, diagnoses: Sequence[dict[str, Any]],
                   alerts: Sequence[dict[str, Any]]) -> list[Section]:
    """The diagnosis section, and a triage section when some window has alerts."""
    sections = [diagnosis_section(model, diagnoses)] if diagnoses else []
    windows = sorted({a["window_start"] for a in alerts})[-TRIAGED_WINDOWS:]
    triages, notes = [], []
    for ws in windows:
        try:
            triages.append(triage(store, model, ws))
        except StewardError as exc:  # a window without predictions (an outage alert) has nothing to break down
            notes.append(f"{_label(ws, model)}: {exc.message}")
    if triages or notes:
        sections.append(triage_section(model, triages, notes))
    return sections
