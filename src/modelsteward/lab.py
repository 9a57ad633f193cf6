"""The course lab's scenario (``mlops-week9.md``, "Hands-On Lab"), reproduced draw for draw.

:func:`lab_draws` makes exactly the lab's random draws, in the lab's order, from a NumPy
``RandomState`` seeded like the lab's ``np.random.seed(42)``: 1,000 training rows (confidence
~ Beta(8, 2), technical ~ Bernoulli(0.4), resolution hours ~ Exp(4)), then 8 weeks of 200
predictions, with drift from week 5 (confidence ~ Beta(6, 3), technical share 0.7, accuracy
0.80 instead of 0.88).

The lab only records whether each prediction was correct. To log real predictions and
feedback, :func:`lab_events` adds what a production system would have — the predicted
class, the true class, timestamps within each week, latency, users, the feedback events —
from a *second*, independently seeded generator, so the lab's own draws are untouched and its
numbers come out of the product exactly.

>>> draws = lab_draws()
>>> len(draws.training_confidence), len(draws.weeks)
(1000, 8)
>>> round(float(draws.weeks[0].correct.mean()), 3)
0.83
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

__all__ = ["DEMO_START", "LAB_SEED", "LabDraws", "LabEvents", "LabWeek", "lab_draws", "lab_events"]

LAB_SEED = 42
DEMO_START = datetime(2026, 1, 5)  # a Monday: week 1 of the demo is the ISO week starting here
LABELS = ("urgent", "routine")


@dataclass(frozen=True)
class LabWeek:
    week: int
    confidence: np.ndarray
    technical: np.ndarray
    correct: np.ndarray


@dataclass(frozen=True)
class LabDraws:
    training_confidence: np.ndarray
    training_technical: np.ndarray
    training_resolution_hours: np.ndarray
    weeks: list[LabWeek]


def lab_draws(seed: int = LAB_SEED, *, n_training: int = 1000, n_weekly: int = 200, n_weeks: int = 8, drift_week: int = 5) -> LabDraws:
    """The lab's draws, in the lab's order (training, then week by week)."""
    rs = np.random.RandomState(seed)
    confidence = rs.beta(8, 2, n_training)
    technical = rs.choice([0, 1], n_training, p=[0.6, 0.4])
    resolution = rs.exponential(4, n_training)
    weeks = []
    for week in range(n_weeks):
        if week < drift_week - 1:
            conf = rs.beta(8, 2, n_weekly)
            tech = rs.choice([0, 1], n_weekly, p=[0.6, 0.4])
            correct = rs.choice([0, 1], n_weekly, p=[0.12, 0.88])
        else:
            conf = rs.beta(6, 3, n_weekly)
            tech = rs.choice([0, 1], n_weekly, p=[0.3, 0.7])
            correct = rs.choice([0, 1], n_weekly, p=[0.20, 0.80])
        weeks.append(LabWeek(week + 1, conf, tech, correct))
    return LabDraws(confidence, technical, resolution, weeks)


@dataclass(frozen=True)
class LabEvents:
    """The lab as a production system would have logged it."""

    training: dict[str, list[Any]]        # columns of the training (reference) file
    predictions: list[dict[str, Any]]
    feedback: list[dict[str, Any]]


def lab_events(draws: LabDraws, *, seed: int = LAB_SEED + 1, start: datetime = DEMO_START, expert_per_week: int = 50) -> LabEvents:
    """Predictions and feedback consistent with the lab's draws.

    Each prediction's class is urgent with probability 0.3; its true class equals it when the
    lab says the prediction was correct, and is the other class otherwise. Feedback follows the
    lab's feedback plan: agents correct wrong predictions (explicit), accept right ones
    (implicit), every ticket gets an outcome (escalation, CSAT, resolution hours), and an
    expert reviews ``expert_per_week`` random predictions a week.
    """
    rng = np.random.default_rng(seed)
    category = lambda bits: ["technical" if b else "other" for b in bits]  # noqa: E731
    n_train = len(draws.training_confidence)
    train_pred = rng.choice(LABELS, n_train, p=[0.3, 0.7])
    train_correct = rng.random(n_train) < 0.88
    training = {
        "confidence": draws.training_confidence.tolist(),
        "category": category(draws.training_technical),
        "resolution_hours": draws.training_resolution_hours.tolist(),
        "prediction": train_pred.tolist(),
        "label": [p if ok else _other(p) for p, ok in zip(train_pred, train_correct, strict=True)],
    }
    predictions: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    for wk in draws.weeks:
        n = len(wk.confidence)
        week_start = start + timedelta(weeks=wk.week - 1)
        offsets = np.sort(rng.random(n)) * 7 * 86400
        pred = rng.choice(LABELS, n, p=[0.3, 0.7])
        latency = rng.lognormal(np.log(180), 0.45, n)
        users = rng.integers(0, 120, n)
        escalated = rng.random(n) < np.where(wk.correct == 1, 0.05, 0.25)
        csat = np.clip(np.round(rng.normal(np.where(wk.correct == 1, 4.3, 3.1), 0.7)), 1, 5)
        hours = rng.exponential(np.where(wk.correct == 1, 4.0, 9.0))
        expert = set(rng.choice(n, size=min(expert_per_week, n), replace=False).tolist())
        for i in range(n):
            pid = f"w{wk.week}-{i:03d}"
            ts = week_start + timedelta(seconds=float(offsets[i]))
            truth = pred[i] if wk.correct[i] else _other(pred[i])
            predictions.append({
                "prediction_id": pid, "timestamp": ts, "prediction": str(pred[i]),
                "confidence": float(wk.confidence[i]), "latency_ms": float(latency[i]),
                "model_version": "v1", "user_id": f"agent-{users[i]:03d}",
                "features": {"category": "technical" if wk.technical[i] else "other"},
            })
            if wk.correct[i]:
                feedback.append({"prediction_id": pid, "kind": "implicit", "action": "accepted", "timestamp": ts + timedelta(minutes=5)})
            else:
                feedback.append({"prediction_id": pid, "kind": "explicit", "label": str(truth), "timestamp": ts + timedelta(minutes=5)})
            feedback.append({"prediction_id": pid, "kind": "outcome", "escalated": bool(escalated[i]), "csat": float(csat[i]),
                             "resolution_hours": float(hours[i]), "timestamp": ts + timedelta(hours=float(hours[i]))})
            if i in expert:
                feedback.append({"prediction_id": pid, "kind": "expert", "label": str(truth), "reviewer": "qa-team",
                                 "timestamp": week_start + timedelta(days=7, hours=10)})
    return LabEvents(training, predictions, feedback)


def _other(label: str) -> str:
    return LABELS[1] if label == LABELS[0] else LABELS[0]
