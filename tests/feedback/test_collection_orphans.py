"""Collection rates per window (against pandas), and orphan feedback: held, joined, reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelsteward.config import StewardConfig
from modelsteward.feedback.collection import collection_rates
from modelsteward.feedback.orphans import orphan_feedback, overdue_orphans
from modelsteward.monitor import Monitor

DAY0 = datetime(2026, 3, 2)
KINDS = ("explicit", "implicit", "outcome", "expert")


def _config(**model: object) -> StewardConfig:
    return StewardConfig.model_validate({"models": [{"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
                                                     "window": "day", **model}]})


def _random_traffic(seed: int = 11, days: int = 4, per_day: int = 120) -> tuple[pd.DataFrame, list[dict[str, object]]]:
    rng = np.random.default_rng(seed)
    n = days * per_day
    preds = pd.DataFrame({
        "prediction_id": [f"p{i}" for i in range(n)],
        "timestamp": [DAY0 + timedelta(days=i // per_day, seconds=int(rng.integers(0, 86400))) for i in range(n)],
        "prediction": rng.choice(["urgent", "routine"], n),
        "confidence": rng.uniform(0.3, 1.0, n),
    })
    rows = []
    share = {"explicit": 0.15, "implicit": 0.9, "outcome": 0.7, "expert": 0.05}
    for _, p in preds.iterrows():
        for kind, q in share.items():
            for _ in range(int(rng.random() < q) + int(rng.random() < q / 3)):  # some get two of a kind
                delay = timedelta(hours=float(rng.exponential(30 if kind == "outcome" else 1)))
                rec = {"prediction_id": p["prediction_id"], "kind": kind, "timestamp": p["timestamp"] + delay}
                if kind == "implicit":
                    rec["action"] = str(rng.choice(["accepted", "modified", "rejected"]))
                elif kind == "outcome":
                    rec["escalated"] = bool(rng.random() < 0.2)
                else:
                    rec["label"] = str(rng.choice(["urgent", "routine"]))
                rows.append(rec)
    return preds, rows


def test_collection_rates_per_window_equal_pandas(tmp_path: Path) -> None:
    preds, fb_rows = _random_traffic()
    fb = pd.DataFrame(fb_rows)
    with Monitor(_config(), store=tmp_path / "s.duckdb") as mon:
        mon.log_predictions(preds.to_dict("records"))
        mon.log_feedbacks(fb_rows)
        mon.check(until=DAY0 + timedelta(days=4))
        stored = {ws: m for ws, _, m in mon.metric_history()}
    preds["window"] = preds["timestamp"].dt.floor("D")
    joined = fb.merge(preds[["prediction_id", "timestamp", "window"]], on="prediction_id", suffixes=("", "_pred"))
    assert len(stored) == 4
    for window, group in preds.groupby("window"):
        m = stored[window.to_pydatetime()]
        ours = joined[joined["window"] == window]
        for kind in KINDS:
            expected = ours.loc[ours["kind"] == kind, "prediction_id"].nunique() / len(group)
            assert m[f"feedback.{kind}_rate"] == pytest.approx(expected, abs=1e-12)
        outcome = ours[ours["kind"] == "outcome"].groupby("prediction_id").agg(first=("timestamp", "min"), made=("timestamp_pred", "first"))
        delay = (outcome["first"] - outcome["made"]).dt.total_seconds() / 3600
        assert m["feedback.outcome_delay_hours_p50"] == pytest.approx(float(np.median(delay)), rel=1e-9)


def test_no_predictions_no_rates_and_rates_without_feedback_are_zero(tmp_path: Path) -> None:
    with Monitor(_config(), store=tmp_path / "s.duckdb") as mon:
        assert collection_rates(mon.store, mon.model(), DAY0, DAY0 + timedelta(days=1)) == {}
        mon.log_prediction(prediction_id="a", prediction="urgent", confidence=0.8, timestamp=DAY0)
        rates = collection_rates(mon.store, mon.model(), DAY0, DAY0 + timedelta(days=1))
        assert rates == {"feedback.explicit_rate": 0.0, "feedback.implicit_rate": 0.0, "feedback.outcome_rate": 0.0,
                         "feedback.expert_rate": 0.0, "feedback.outcome_delay_hours_p50": None}


def test_feedback_before_its_prediction_is_held_then_joined(tmp_path: Path) -> None:
    with Monitor(_config(), store=tmp_path / "s.duckdb") as mon:
        fid = mon.log_feedback("late", kind="explicit", label="routine", timestamp=DAY0 + timedelta(hours=2))
        mon.log_prediction(prediction_id="known", prediction="urgent", confidence=0.9, timestamp=DAY0)
        later = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=3)
        (orphan,) = orphan_feedback(mon.store, mon.model(), now=later)
        assert (orphan["feedback_id"], orphan["prediction_id"], orphan["kind"], orphan["overdue"]) == (fid, "late", "explicit", True)
        assert orphan["age_hours"] == pytest.approx((later - orphan["ingested_at"]).total_seconds() / 3600)
        assert orphan_feedback(mon.store, mon.model(), now=later, older_than=timedelta(days=4)) == []
        assert mon.labelled().num_rows == 0
        mon.check(until=DAY0 + timedelta(days=1))
        assert mon.metric_history()[0][2]["feedback.explicit_rate"] == 0.0
        # the prediction arrives: the held feedback is its label, its window is due again
        mon.log_prediction(prediction_id="late", prediction="urgent", confidence=0.7, timestamp=DAY0 + timedelta(hours=1))
        assert orphan_feedback(mon.store, mon.model(), now=later) == []
        labelled = mon.labelled().to_pylist()
        assert [(r["prediction_id"], r["label"], r["label_source"]) for r in labelled] == [("late", "routine", "explicit")]
        report = mon.check(until=DAY0 + timedelta(days=1))
        assert report.windows == [DAY0]
        m = mon.metric_history()[0][2]
        assert (m["feedback.explicit_rate"], m["accuracy"]) == (0.5, 0.0)


@pytest.mark.parametrize("after,warned", [("0m", True), ("24h", False)])
def test_check_warns_of_overdue_orphans(tmp_path: Path, after: str, warned: bool) -> None:
    with Monitor(_config(feedback={"orphan_after": after}), store=tmp_path / "s.duckdb") as mon:
        mon.log_prediction(prediction_id="a", prediction="urgent", confidence=0.9, timestamp=DAY0)
        mon.log_feedback("ghost", kind="outcome", escalated=True, timestamp=DAY0)
        report = mon.check(until=DAY0 + timedelta(days=1))
        n, _ = overdue_orphans(mon.store, mon.model())
        assert (n == 1) is warned
        assert bool(report.warnings) is warned
        if warned:
            assert "steward feedback orphans" in report.warnings[0] and "1 feedback event" in report.warnings[0]
