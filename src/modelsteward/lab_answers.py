"""Answers to the course lab's four questions, derived from what the store holds.

Nothing here is written in advance: each answer is computed from the window metrics, the drift
results, the alerts and the feedback of the run, so a different scenario gets different
answers.

- *When does performance start degrading?* The change point of weekly accuracy (the split that
  maximises the binomial likelihood of the weekly correct counts, Hinkley 1970), tested by a
  two-proportion z-test of before against after; and the first week from which the confidence
  and input drift verdicts hold in every later week.
- *What type of drift?* Data drift when input features drift; concept drift when accuracy falls
  *within* input segments, i.e. more than the change in the input mix explains (the before-
  period accuracy of each segment, weighted by the after-period mix, against the observed
  accuracy); label drift when the ground-truth mix moves.
- *Which alert first?* The earliest fired alert, most severe first.
- *How to use the feedback loop?* The labelled evidence collected since the change, by source,
  the retraining triggers that fired, and how often expert review agreed with the labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from scipy import stats

from modelsteward.config import SEVERITY_RANK
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.monitor import Monitor
from modelsteward.records import feature_column
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables

__all__ = ["accuracy_change_point", "answer_lab_questions", "two_proportion_z_test"]

History = Sequence[tuple[datetime, datetime, dict[str, float | None]]]


def _loglik(k: float, n: float) -> float:
    if n == 0 or k in (0, n):
        return 0.0
    p = k / n
    return k * math.log(p) + (n - k) * math.log(1 - p)


def accuracy_change_point(correct: Sequence[int], labelled: Sequence[int]) -> int:
    """Index of the first window after the most likely single change in a Bernoulli rate.

    >>> accuracy_change_point([90, 88, 91, 70, 72, 69], [100] * 6)
    3
    """
    best, best_ll = 1, -math.inf
    for split in range(1, len(correct)):
        ll = _loglik(sum(correct[:split]), sum(labelled[:split])) + _loglik(sum(correct[split:]), sum(labelled[split:]))
        if ll > best_ll:
            best, best_ll = split, ll
    return best


def two_proportion_z_test(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test.

    >>> round(two_proportion_z_test(88, 100, 78, 100), 4)
    0.0598
    """
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (k1 / n1 - k2 / n2) / se
    return float(2 * stats.norm.sf(abs(z)))


def _persistent_from(weeks: list[int], flagged: set[int]) -> int | None:
    for i, w in enumerate(weeks):
        if all(x in flagged for x in weeks[i:]):
            return w if any(x in flagged for x in weeks[i:]) else None
    return None


def answer_lab_questions(mon: Monitor, history: History, recent: dict[tuple[str, str], Any],
                         alerts: list[dict[str, Any]], week_of: Callable[[datetime], int]) -> list[dict[str, str]]:
    model = mon.model()
    weeks = [week_of(ws) for ws, _, _ in history]
    labelled = [int(m.get("labelled") or 0) for _, _, m in history]
    correct = [round((m.get("accuracy") or 0.0) * n) for (_, _, m), n in zip(history, labelled, strict=True)]
    split = accuracy_change_point(correct, labelled)
    change_week = weeks[split]
    k1, n1, k2, n2 = sum(correct[:split]), sum(labelled[:split]), sum(correct[split:]), sum(labelled[split:])
    p_acc = two_proportion_z_test(k1, n1, k2, n2)
    verdicts: dict[str, set[int]] = {}
    for d in mon.drift():
        if d["test"] == "verdict" and d["status"] == "drift" and d["subject"] != "inputs":
            verdicts.setdefault(d["subject"], set()).add(week_of(d["window_start"]))
    from_week = {s: _persistent_from(weeks, v) for s, v in verdicts.items()}
    drifting = sorted((w, s) for s, w in from_week.items() if w is not None)
    conf_before = [c for _, _, m in history[:split] if (c := m.get("mean_confidence")) is not None]
    conf_after = [c for _, _, m in history[split:] if (c := m.get("mean_confidence")) is not None]
    dips = [f"week {w} ({a:.1%})" for w, (_, _, m) in zip(weeks[:split], history[:split], strict=True)
            if (a := m.get("accuracy")) is not None and a < 0.85]
    q1 = (f"Week {change_week}. Accuracy has its change point there: {k1 / n1:.1%} in weeks {weeks[0]}–{weeks[split - 1]} "
          f"against {k2 / n2:.1%} in weeks {change_week}–{weeks[-1]} (two-proportion z-test p = {p_acc:.2g}). "
          + (f"Mean confidence falls from {sum(conf_before) / len(conf_before):.3f} to {sum(conf_after) / len(conf_after):.3f}. "
             if conf_before and conf_after else "")
          + "".join(f"The drift verdict for {' and '.join(s for w2, s in drifting if w2 == w)} holds in every week from week {w} on"
                    f"{' and in none before' if not any(x < w for s2, ws2 in verdicts.items() for x in ws2 if (w, s2) in drifting) else ''}. "
                    for w in sorted({w for w, _ in drifting}))
          + (f"Earlier single weeks below 85% ({', '.join(dips)}) recover the next week: noise, not degradation." if dips else ""))

    seg = _segment_accuracy(mon, history[split][0])
    feature_drift = [s for s in ("category", *[f.name for f in model.features]) if recent.get((s, "verdict")) is not None
                     and recent[(s, "verdict")].status == "drift"]
    feature_drift = list(dict.fromkeys(feature_drift))
    concept, concept_text = _concept_drift(seg)
    label_v = recent.get(("label", "verdict"))
    parts = []
    if feature_drift:
        parts.append("Data drift: " + " ".join(recent[(s, "verdict")].reading for s in feature_drift))
    if concept:
        parts.append(f"Concept drift: {concept_text}.")
    head = "Both." if feature_drift and concept else ("Data drift only." if feature_drift else
                                                       "Concept drift only." if concept else "No drift that the tests can see.")
    q2 = " ".join([head, *parts])
    if not concept:
        q2 += f" Not concept drift: {concept_text}."
    if label_v is not None:
        q2 += f" Label drift: {'yes' if label_v.status == 'drift' else 'no'} — {label_v.reading}"

    ordered = sorted(alerts, key=lambda a: (a["week"], -SEVERITY_RANK[a["severity"]], a["rule"]))
    if ordered:
        first = ordered[0]
        at_change = [a for a in ordered if a["week"] == change_week]
        q3 = (f"{first['rule']} ({first['severity']}) in week {first['week']}: {first['message']}. ")
        if first["week"] != change_week and at_change:
            q3 += (f"On the lasting change, week {change_week} fires {len(at_change)} rules, most severe first: "
                   + ", ".join(f"{a['rule']} ({a['severity']})" for a in at_change) + ".")
    else:
        q3 = "No alert fired."

    q4 = _feedback_answer(mon, history[split][0], alerts)
    return [
        {"question": "1. At what week does performance start degrading? What metrics indicate this?", "answer": q1},
        {"question": "2. What type of drift is occurring (data drift, concept drift, or both)?", "answer": q2},
        {"question": "3. Which alert would trigger first based on this data?", "answer": q3},
        {"question": "4. How would you use the feedback loop to improve the model?", "answer": q4},
    ]


def _segment_accuracy(mon: Monitor, change_start: datetime) -> dict[tuple[str, bool], tuple[int, int]]:
    model = mon.model()
    cat = next((f for f in model.features if f.type == "categorical"), None)
    if cat is None:
        return {}
    labels_sql, params = resolved_labels_sql(model)
    col = quote_ident(feature_column(cat.name))
    rows = mon.store.query(
        f"SELECT p.{col}, p.ts >= ?, count(*), sum(CASE WHEN p.prediction = l.label THEN 1 ELSE 0 END) "
        f"FROM {ModelTables.predictions_table(model.name)} p JOIN ({labels_sql}) l USING (prediction_id) GROUP BY 1, 2",
        [change_start, *params],
    )
    return {(str(c), bool(after)): (int(k), int(n)) for c, after, n, k in rows}


def _concept_drift(seg: dict[tuple[str, bool], tuple[int, int]]) -> tuple[bool, str]:
    cats = sorted({c for c, _ in seg})
    if not cats or any((c, False) not in seg or (c, True) not in seg for c in cats):
        return False, "no labelled segments on both sides of the change"
    after_n = sum(seg[(c, True)][1] for c in cats)
    expected = sum(seg[(c, False)][0] / seg[(c, False)][1] * seg[(c, True)][1] / after_n for c in cats)
    observed = sum(seg[(c, True)][0] for c in cats) / after_n
    k_obs = sum(seg[(c, True)][0] for c in cats)
    # One-sided binomial test of the observed correct count against the mix-adjusted expectation.
    p = float(stats.binomtest(k_obs, after_n, expected, alternative="less").pvalue)
    within = ", ".join(f"{c} {seg[(c, False)][0] / seg[(c, False)][1]:.1%} → {seg[(c, True)][0] / seg[(c, True)][1]:.1%}" for c in cats)
    text = (f"accuracy fell within each input segment ({within}); the new input mix alone predicts {expected:.1%}, "
            f"observed {observed:.1%} (binomial test p = {p:.2g})")
    return p < 0.05 and observed < expected, text


def _feedback_answer(mon: Monitor, change_start: datetime, alerts: list[dict[str, Any]]) -> str:
    model = mon.model()
    table = ModelTables.predictions_table(model.name)
    kinds = dict(mon.store.query(
        f"SELECT f.kind, count(*) FROM feedback f JOIN {table} p USING (prediction_id) WHERE f.model = ? AND p.ts >= ? GROUP BY 1",
        [model.name, change_start]))
    labels_sql, params = resolved_labels_sql(model)
    n_pred, n_lab, n_wrong = mon.store.query(
        f"SELECT count(*), count(l.label), count(*) FILTER (WHERE l.label <> p.prediction) FROM {table} p "
        f"LEFT JOIN ({labels_sql}) l USING (prediction_id) WHERE p.ts >= ?", [*params, change_start])[0]
    agree = mon.store.query(
        f"""SELECT count(*), count(*) FILTER (WHERE e.label = coalesce(x.label, CASE WHEN i.action = 'accepted' THEN p.prediction END))
            FROM feedback e JOIN {table} p USING (prediction_id)
            LEFT JOIN feedback x ON x.prediction_id = e.prediction_id AND x.kind = 'explicit' AND x.model = e.model
            LEFT JOIN feedback i ON i.prediction_id = e.prediction_id AND i.kind = 'implicit' AND i.model = e.model
            WHERE e.model = ? AND e.kind = 'expert'""", [model.name])[0]
    triggers = sorted({(a["week"], a["rule"]) for a in alerts if a["retrain"]})
    first_trigger: dict[str, int] = {}
    for week, rule in triggers:
        first_trigger.setdefault(rule, week)
    parts = [
        f"Since the change, {n_lab:,} of {n_pred:,} predictions have a ground-truth label ({n_lab / n_pred:.0%}): "
        f"{kinds.get('explicit', 0):,} agent corrections, {kinds.get('implicit', 0):,} implicit accept/modify/reject signals, "
        f"{kinds.get('outcome', 0):,} outcomes (escalation, CSAT, resolution time) and {kinds.get('expert', 0):,} expert reviews.",
        f"{n_wrong:,} of them are errors the model made: the hard cases to add to the training set.",
    ]
    if first_trigger:
        parts.append("Retraining triggers fired: " + ", ".join(f"{r} in week {w}" for r, w in first_trigger.items())
                     + "; retrain on the reference data plus the labelled weeks since the change, then compare on a held-out recent week.")
    if agree[0]:
        parts.append(f"Expert review agreed with the agents' labels in {agree[1]} of {agree[0]} sampled cases "
                     f"({agree[1] / agree[0]:.0%}), so the corrections can be trusted as labels.")
    return " ".join(parts)
