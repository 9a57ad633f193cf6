"""Concept drift's error stream and CBPE's confidence bins, one contract on every engine.

The seeded dataset of ``dataset.py`` (two weeks, labels from expert, explicit and implicit
feedback) is read by DuckDB (the store's tables and the Parquet log), Spark (local mode) and
PostgreSQL. Expected values come from the raw records with pandas and numpy (labels resolved
by hand, bins by ``numpy.searchsorted``), not from the code under test; then the window's
CBPE estimate and concept-drift results must be the same on every engine as on the store.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import dataset as D
import numpy as np
import pandas as pd
import pytest
from engine_cases import ENGINES, make_engine
from test_contract import _resolved

from modelsteward.drift.concept_window import window_concept
from modelsteward.engines import streams
from modelsteward.engines.aggregates import window_rows
from modelsteward.performance import ConfidenceCalibrator, summary_edges
from modelsteward.performance.window import window_estimate

WEEK = timedelta(weeks=1)
WEEKS = ((D.WEEK1, False, 11), (D.WEEK2, True, 12))


def _frame() -> pd.DataFrame:
    """Every prediction of both weeks with its hand-resolved label (None when unlabelled)."""
    parts = []
    for start, drifted, seed in WEEKS:
        preds, feedback = D.week_rows(start, drifted=drifted, seed=seed)
        labels = _resolved(preds, feedback)
        parts.append(pd.DataFrame({"ts": [p["timestamp"] for p in preds], "pid": [p["prediction_id"] for p in preds],
                                   "prediction": [p["prediction"] for p in preds], "confidence": [p["confidence"] for p in preds],
                                   "label": [labels.get(p["prediction_id"]) for p in preds]}))
    return pd.concat(parts).sort_values(["ts", "pid"]).reset_index(drop=True)


RAW = _frame()


def _labelled(start: datetime | None, end: datetime) -> pd.DataFrame:
    t = RAW[RAW.label.notna() & (RAW.ts < end)]
    return t if start is None else t[t.ts >= start]


def _naive(values: Any) -> list[datetime]:
    return [v.replace(tzinfo=None) if getattr(v, "tzinfo", None) else v for v in values]


def _edges(mon: Any) -> dict[str, tuple[float, ...]]:
    cal = mon.reference().calibration
    assert cal is not None, "the dataset's reference carries labels: CBPE is calibrated"
    return summary_edges(D.LABELS, calibrator=ConfidenceCalibrator.from_dict(cal["calibrator"]), positive_label="urgent",
                         positive_calibrator=ConfidenceCalibrator.from_dict(cal["positive_calibrator"]))


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    return make_engine(request.param, request)


def test_error_stream_is_the_labelled_predictions_in_time_order(engine: tuple[Any, Any]) -> None:
    eng, mon = engine
    model = mon.model()
    labelled = streams.labelled_rows(eng.events(model), eng.feedback(model), model, D.WEEK2, D.WEEK2 + WEEK)
    got = eng.arrow(streams.error_stream(labelled)).to_pydict()
    want = _labelled(D.WEEK2, D.WEEK2 + WEEK)
    assert len(want) == 700  # dataset.py labels 700 predictions a week
    assert _naive(got["ts"]) == list(want.ts)
    assert got["e"] == (want.prediction != want.label).astype(int).tolist()
    assert sum(got["e"]) > 0 and 0 in got["e"]

    thinned = eng.arrow(streams.error_stream(labelled, every=7)).to_pydict()
    assert _naive(thinned["ts"]) == list(want.ts.iloc[6::7])  # every 7th in time order, the 7th first
    confusion = {(r["prediction"], r["label"]): r["n"] for r in eng.rows(streams.labelled_confusion(labelled))}
    assert confusion == want.groupby(["prediction", "label"]).size().to_dict()


def test_warm_up_is_the_latest_labelled_predictions_before_the_window(engine: tuple[Any, Any]) -> None:
    eng, mon = engine
    model = mon.model()
    before = streams.labelled_rows(eng.events(model), eng.feedback(model), model, None, D.WEEK2)
    got = eng.arrow(streams.warmup_stream(before, 250)).to_pydict()
    want = _labelled(None, D.WEEK2).iloc[-250:].iloc[::-1]  # latest first
    assert _naive(got["ts"]) == list(want.ts)
    assert got["e"] == (want.prediction != want.label).astype(int).tolist()
    assert eng.arrow(streams.warmup_stream(before, 10_000)).num_rows == len(_labelled(None, D.WEEK2)) == 700


@pytest.mark.parametrize("labelled_only", [False, True])
def test_confidence_bins_are_numpy_bins_of_the_window(engine: tuple[Any, Any], labelled_only: bool) -> None:
    eng, mon = engine
    model = mon.model()
    edges = _edges(mon)
    assert min(len(e) for e in edges.values()) > 10  # calibrator knots: many bins, several per grid cell somewhere
    rows = window_rows(eng.events(model), model, D.WEEK2, D.WEEK2 + WEEK, aligned=True)
    if labelled_only:
        rows = streams.labelled_rows(eng.events(model), eng.feedback(model), model, D.WEEK2, D.WEEK2 + WEEK)
    got = {(r["prediction"], r["bin"]): (r["n"], r["s1"], r["s2"]) for r in eng.rows(streams.confidence_bins(rows, edges, eng))}
    t = _labelled(D.WEEK2, D.WEEK2 + WEEK) if labelled_only else RAW[(RAW.ts >= D.WEEK2) & (RAW.ts < D.WEEK2 + WEEK)]
    want: dict[tuple[str, int], tuple[int, float, float]] = {}
    for cls, e in edges.items():
        c = t.confidence[t.prediction == cls].to_numpy()
        b = np.searchsorted(np.asarray(e), c, side="left")  # the first edge >= the value: right-closed bins
        for k in np.unique(b):
            v = c[b == k]
            want[(cls, int(k))] = (v.size, float(v.sum()), float((v * v).sum()))
    assert got.keys() == want.keys() and len(want) > 20
    for key, (n, s1, s2) in want.items():
        assert got[key][0] == n, key
        assert got[key][1] == pytest.approx(s1, rel=1e-12) and got[key][2] == pytest.approx(s2, rel=1e-12), key


def test_bins_on_edges_between_cells_and_out_of_range(engine: tuple[Any, Any]) -> None:
    """Values exactly on an edge, edges crowded into one cell, and confidences outside [0, 1] (unvalidated lake data)."""
    eng, _ = engine
    import pyarrow as pa

    edges = {"urgent": (0.0, 0.25, 0.5, 0.5001, 0.5002, 0.5003, 0.5004, 0.5005, 0.75, 1.0), "routine": (0.3,)}
    conf = [0.0, 0.25, 0.2500001, 0.5, 0.50015, 0.5005, 0.9, 1.0, -0.5, 1.5, 0.3, 0.31, None]
    pred = ["urgent"] * 10 + ["routine"] * 2 + ["urgent"]
    rows = eng.upload(pa.table({"prediction": pred, "confidence": pa.array(conf, pa.float64())}))
    got = {(r["prediction"], r["bin"]): r["n"] for r in eng.rows(streams.confidence_bins(rows, edges, eng))}
    want: dict[tuple[str, int], int] = {}
    for p, c in zip(pred, conf, strict=True):
        if c is not None:
            k = (p, int(np.searchsorted(edges[p], c, side="left")))
            want[k] = want.get(k, 0) + 1
    assert got == want


def _clean(results: list[Any]) -> list[dict[str, Any]]:
    return json.loads(json.dumps([r.__dict__ for r in results], default=str))


def test_estimate_and_concept_drift_are_the_same_on_every_engine(engine: tuple[Any, Any], built: Any) -> None:
    eng, mon = engine
    store_mon = built[0]  # the DuckDB store: the yardstick, on its own tables
    model, profile = mon.model(), mon.reference()
    for start in (D.WEEK1, D.WEEK2):
        want = window_estimate(store_mon.store, store_mon.model(), store_mon.reference().calibration, start, start + WEEK)
        got = window_estimate(mon.store, model, profile.calibration, start, start + WEEK, engine=eng)
        assert want and got.keys() == want.keys()
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
        want_m, want_r = window_concept(store_mon.store, store_mon.model(), store_mon.reference(), start, start + WEEK)
        got_m, got_r = window_concept(mon.store, model, profile, start, start + WEEK, engine=eng)
        assert "concept.expected_accuracy" in want_m and "concept.errors.adwin_changes" in want_m
        assert got_m.keys() == want_m.keys()
        for k, v in want_m.items():
            assert got_m[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k
        assert _clean(got_r) == _clean(want_r)
    # the realised accuracy of week 2's labelled predictions, by hand
    t = _labelled(D.WEEK2, D.WEEK2 + WEEK)
    realised = float((t.prediction == t.label).mean())
    assert want_m["concept.accuracy_gap"] + want_m["concept.expected_accuracy"] == pytest.approx(realised, abs=1e-12)


def test_a_window_beyond_the_cap_is_thinned_in_time_order(built: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """700 labelled predictions and a cap of 100: every 7th reaches the detectors, and the result says so."""
    mon = built[0]
    full_m, full_r = window_concept(mon.store, mon.model(), mon.reference(), D.WEEK2, D.WEEK2 + WEEK)
    monkeypatch.setattr(streams, "STREAM_CAP", 100)
    m, r = window_concept(mon.store, mon.model(), mon.reference(), D.WEEK2, D.WEEK2 + WEEK)
    adwin = next(x for x in r if x.subject == "errors" and x.test == "adwin")
    assert adwin.n_current == 100 and adwin.details["thinned_every"] == 7
    assert "thinned_every" not in next(x for x in full_r if x.subject == "errors").details
    # the accuracy and F1 tests and CBPE's expectation still read every labelled prediction
    for k in ("concept.accuracy_drop", "concept.f1_drop", "concept.expected_accuracy"):
        assert m[k] == full_m[k]
