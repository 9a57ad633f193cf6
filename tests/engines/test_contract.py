"""One contract, every engine: the same window metrics and drift results on DuckDB, Spark and PostgreSQL.

Expected values are computed independently from the raw records of the seeded dataset
(numpy for counts, means and quantiles; scikit-learn for accuracy, precision, recall and
F1; scipy for KS, Wasserstein and chi-square), then every engine must give them: counts
exactly, means and rates to 1e-9, exact quantiles to 1e-9 (all three engines interpolate
linearly between order statistics, as ``numpy.quantile``), approximate quantiles to 1% of
the ranks.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import dataset as D
import numpy as np
import pyarrow.parquet as pq
import pytest
from engine_cases import ENGINES, make_engine
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from modelsteward.engines.drift import engine_window_drift
from modelsteward.engines.metrics import engine_window_metrics

WEEK = timedelta(weeks=1)
END = D.WEEK2 + WEEK
TOL = 1e-9


def _records(start: Any, drifted: bool, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return D.week_rows(start, drifted=drifted, seed=seed)


def _resolved(preds: list[dict[str, Any]], feedback: list[dict[str, Any]]) -> dict[str, str]:
    """Label per prediction id by hand: expert over explicit over implicit acceptance (which confirms)."""
    by_id = {p["prediction_id"]: p for p in preds}
    rank = {"expert": 0, "explicit": 1, "outcome": 2, "implicit": 3}
    best: dict[str, tuple[int, str]] = {}
    for f in feedback:
        label = f.get("label") or (by_id[f["prediction_id"]]["prediction"] if f["kind"] == "implicit" and f.get("action") == "accepted" else None)
        if label is None:
            continue
        r = rank[f["kind"]]
        if f["prediction_id"] not in best or r < best[f["prediction_id"]][0]:
            best[f["prediction_id"]] = (r, label)
    return {k: v[1] for k, v in best.items()}


def expected_metrics(drifted: bool, seed: int, start: Any) -> dict[str, float]:
    preds, feedback = _records(start, drifted, seed)
    ref = pq.read_table(D.N_REF and _ref_path()).to_pydict()
    n = len(preds)
    lat = np.array([p["latency_ms"] for p in preds if "latency_ms" in p])
    conf = np.array([p["confidence"] for p in preds])
    x = np.array([p["features"]["x"] for p in preds if "x" in p["features"]])
    cats = [p["features"]["category"] for p in preds if "category" in p["features"]]
    known = set(ref["category"])
    out = {
        "volume": float(n), "unique_users": float(len({p["user_id"] for p in preds})),
        "latency_p50": float(np.quantile(lat, 0.5)), "latency_p95": float(np.quantile(lat, 0.95)),
        "latency_p99": float(np.quantile(lat, 0.99)),
        "error_rate": sum("error" in p for p in preds) / n, "mean_confidence": float(conf.mean()),
        "low_confidence_rate": float((conf < 0.6).mean()),
        "feature.x.missing_rate": 1 - x.size / n, "feature.x.mean": float(x.mean()),
        "feature.x.out_of_range_rate": float(((x < min(ref["x"])) | (x > max(ref["x"]))).mean()),
        "feature.category.missing_rate": 1 - len(cats) / n,
        "feature.category.unseen_rate": sum(c not in known for c in cats) / len(cats),
    }
    for c, k in Counter(cats).items():
        out[f"feature.category.share.{c}"] = k / len(cats)
    for c, k in Counter(p["prediction"] for p in preds).items():
        out[f"class_share.{c}"] = k / n
    labels = _resolved(preds, feedback)
    ids = [p["prediction_id"] for p in preds if p["prediction_id"] in labels]
    y_true = [labels[i] for i in ids]
    y_pred = [next(p["prediction"] for p in preds if p["prediction_id"] == i) for i in ids]
    out["labelled"] = float(len(ids))
    out["label_coverage"] = len(ids) / n
    out["accuracy"] = float(accuracy_score(y_true, y_pred))
    out["precision.urgent"] = float(precision_score(y_true, y_pred, pos_label="urgent"))
    out["recall.urgent"] = float(recall_score(y_true, y_pred, pos_label="urgent"))
    out["f1.urgent"] = float(f1_score(y_true, y_pred, pos_label="urgent"))
    out["f1_macro"] = float(f1_score(y_true, y_pred, average="macro"))
    return out


_REF: list[Any] = []


def _ref_path() -> Any:
    return _REF[0]


@pytest.fixture(scope="module")
def expected(built: Any) -> dict[Any, dict[str, float]]:
    mon, root = built
    _REF[:] = [root.parent / "ref.parquet"]
    return {D.WEEK1: expected_metrics(False, 11, D.WEEK1), D.WEEK2: expected_metrics(True, 12, D.WEEK2)}


@pytest.mark.parametrize("kind", ENGINES)
def test_window_metrics_match_an_independent_computation(kind: str, request: pytest.FixtureRequest,
                                                         expected: dict[Any, dict[str, float]]) -> None:
    engine, mon = make_engine(kind, request)
    got = engine_window_metrics(engine, mon.model(), D.WEEK1, END, profile=mon.reference())
    assert sorted(got) == [D.WEEK1, D.WEEK2]
    for ws, want in expected.items():
        for metric, value in want.items():
            assert got[ws][metric] == pytest.approx(value, rel=TOL, abs=TOL), (kind, ws, metric)
    # the unseen category shows in week 2's shares and nowhere in week 1's
    assert got[D.WEEK2]["feature.category.share.new"] > 0.2
    assert "feature.category.share.new" not in got[D.WEEK1]


@pytest.mark.parametrize("kind", ENGINES[1:])
def test_every_engine_gives_the_store_path_s_metrics(kind: str, request: pytest.FixtureRequest) -> None:
    base_engine, base_mon = make_engine("duckdb-store", request)
    engine, mon = make_engine(kind, request)
    want = engine_window_metrics(base_engine, base_mon.model(), D.WEEK1, END, profile=base_mon.reference())
    got = engine_window_metrics(engine, mon.model(), D.WEEK1, END, profile=mon.reference())
    assert got.keys() == want.keys()
    for ws in want:
        assert got[ws].keys() == want[ws].keys()
        for metric, value in want[ws].items():
            assert got[ws][metric] == pytest.approx(value, rel=TOL, abs=TOL, nan_ok=True), (kind, ws, metric)


@pytest.mark.parametrize("kind", ["duckdb-store", "duckdb-parquet", "spark"])
def test_approximate_latency_quantiles_are_within_one_percent_of_ranks(kind: str, request: pytest.FixtureRequest) -> None:
    engine, mon = make_engine(kind, request, quantiles="approximate")
    got = engine_window_metrics(engine, mon.model(), D.WEEK1, END, profile=None)
    for ws, drifted, seed in ((D.WEEK1, False, 11), (D.WEEK2, True, 12)):
        preds, _ = _records(ws, drifted, seed)
        lat = np.sort([p["latency_ms"] for p in preds if "latency_ms" in p])
        for q in (0.5, 0.95, 0.99):
            value = got[ws][f"latency_p{round(q * 100)}"]
            rank = np.searchsorted(lat, value, side="right") / lat.size
            assert abs(rank - q) <= 0.01 + 1 / lat.size, (kind, ws, q, value)


def _drift(kind: str, request: pytest.FixtureRequest) -> dict[tuple[str, str], Any]:
    engine, mon = make_engine(kind, request)
    results = engine_window_drift(engine, mon.store, mon.model(), mon.reference(), D.WEEK2, END)
    out = {(r.subject, r.test): r for r in results}
    assert len(out) == len(results)
    return out


@pytest.mark.parametrize("kind", ENGINES)
def test_drift_matches_scipy(kind: str, request: pytest.FixtureRequest, expected: Any) -> None:
    got = _drift(kind, request)
    ref = pq.read_table(_ref_path()).to_pydict()
    preds, _ = _records(D.WEEK2, True, 12)
    x = np.array([p["features"]["x"] for p in preds if "x" in p["features"]])
    ks = stats.ks_2samp(ref["x"], x)
    assert got[("x", "ks")].statistic == pytest.approx(ks.statistic, rel=1e-12)
    assert got[("x", "wasserstein")].details["wasserstein_1"] == pytest.approx(stats.wasserstein_distance(ref["x"], x), rel=1e-9)
    conf = np.array([p["confidence"] for p in preds])
    assert got[("confidence", "ks")].statistic == pytest.approx(stats.ks_2samp(ref["confidence"], conf).statistic, rel=1e-12)
    cats = [p["features"]["category"] for p in preds if "category" in p["features"]]
    names = sorted(set(ref["category"]) | set(cats))
    table = np.array([[Counter(ref["category"])[c] for c in names], [Counter(cats)[c] for c in names]])
    chi = stats.chi2_contingency(table, correction=False)
    assert got[("category", "chi2")].statistic == pytest.approx(chi.statistic, rel=1e-9)
    assert got[("category", "chi2")].n_current == len(cats)
    assert got[("x", "verdict")].status == "drift"
    assert got[("category", "verdict")].status == "drift"
    assert got[("inputs", "verdict")].status == "drift"


@pytest.mark.parametrize("kind", ENGINES[1:])
def test_every_engine_gives_the_store_path_s_drift(kind: str, request: pytest.FixtureRequest) -> None:
    want = _drift("duckdb-store", request)
    got = _drift(kind, request)
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        assert (g.status, g.n_reference, g.n_current) == (w.status, w.n_reference, w.n_current), key
        for field in ("statistic", "p_value", "effect_size"):
            a, b = getattr(g, field), getattr(w, field)
            assert (a is None) == (b is None), (key, field)
            if a is not None:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (key, field)


def test_a_quiet_week_shows_no_input_drift(request: pytest.FixtureRequest) -> None:
    engine, mon = make_engine("duckdb-parquet", request)
    results = engine_window_drift(engine, mon.store, mon.model(), mon.reference(), D.WEEK1, D.WEEK2)
    verdicts = {r.subject: r.status for r in results if r.test == "verdict"}
    assert verdicts["x"] != "drift" and verdicts["category"] != "drift"
