"""A window's drift in a fixed number of queries, whatever the number of subjects, on every engine.

The fused summaries (every numeric subject in one query, every categorical subject in one more,
the rank tests' pooled values in a third only when configured) are checked subject by subject
against scipy (``ks_2samp``, ``wasserstein_distance``, ``anderson_ksamp``,
``cramervonmises_2samp``, ``chi2_contingency``) and numpy (counts on the reference's
right-closed bins) on a seeded dataset built to corner them: a subject with no value in the
window, one with a single distinct value, values tied within and across the reference and the
window (rounded and integer features), missing values in the reference and the window, and rows
outside the window that must not count. The queries are counted at the engine's one door
(``Engine.arrow``), so a return to one query per subject fails.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from modelsteward.config import EngineSettings, StewardConfig
from modelsteward.drift.window_drift import DriftResult, _window_drift_sql
from modelsteward.engines.connect import Engine, open_engine, store_engine
from modelsteward.engines.drift import ReferenceECDF, engine_window_drift
from modelsteward.engines.parquet_log import export_parquet_log
from modelsteward.monitor import Monitor

START = datetime(2026, 3, 2)  # a Monday
END = START + timedelta(weeks=1)
N_REF, N_WEEK = 800, 400
LABELS = ["yes", "no"]
NUMERIC = ["a", "b", "c", "d", "e", "f"]  # b: no value in the window; c: one distinct value in the window
CATEGORICAL = ["cat", "mode"]
ALL_TESTS = ["ks", "wasserstein", "psi", "jensen_shannon", "hellinger", "anderson_darling", "cramer_von_mises"]


def _config(reference: Path, numeric: list[str], categorical: list[str], tests: list[str]) -> dict[str, Any]:
    return {"models": [{
        "name": "fused", "task": "binary", "labels": LABELS, "window": "week",
        "features": [{"name": n, "type": "numeric"} for n in numeric] + [{"name": n, "type": "categorical"} for n in categorical],
        "reference": {"file": str(reference)},
        "drift": {"min_samples": 5, "bins": 6, "numeric_tests": tests},
    }]}


def _numeric(rng: np.random.Generator, name: str, n: int, *, window: bool) -> np.ndarray:
    """A feature's values (NaN missing): rounded and integer values tie within and across samples."""
    shift = 0.4 if window else 0.0
    x = {"a": np.round(rng.normal(shift, 1.0, n), 1), "b": np.round(rng.normal(0, 2, n), 2),
         "c": np.full(n, 1.5) if window else np.round(rng.uniform(0, 3, n), 1),
         "d": rng.integers(0, 6 if window else 5, n).astype(float), "e": np.round(rng.exponential(1 + shift, n), 2),
         "f": np.round(rng.normal(0, 1, n), 3)}[name]
    if name == "b" and window:
        return np.full(n, np.nan)
    return np.where(rng.random(n) < 0.1, np.nan, x)


def write_reference(path: Path) -> None:
    rng = np.random.default_rng(7)
    cols: dict[str, Any] = {n: pa.array(_numeric(rng, n, N_REF, window=False), from_pandas=True) for n in NUMERIC}
    cols["cat"] = rng.choice(["p", "q", "r"], N_REF, p=[0.5, 0.3, 0.2]).tolist()
    cols["mode"] = rng.choice(["m1", "m2"], N_REF).tolist()
    cols["confidence"] = np.round(rng.uniform(0.5, 1.0, N_REF), 2)
    pred = rng.choice(LABELS, N_REF, p=[0.4, 0.6])
    cols["prediction"] = pred.tolist()
    cols["label"] = np.where(rng.random(N_REF) < 0.2, np.where(pred == "yes", "no", "yes"), pred).tolist()
    pq.write_table(pa.table(cols), path)


def log_rows(seed: int = 8) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A week of predictions in the window and a week before it (other values, which must not count)."""
    rng = np.random.default_rng(seed)
    preds: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    for start, window in ((START - timedelta(weeks=1), False), (START, True)):
        values = {n: _numeric(rng, n, N_WEEK, window=window) for n in NUMERIC}
        cats = rng.choice(["p", "q", "r", "s"] if window else ["p", "q"], N_WEEK)
        conf = np.round(rng.uniform(0.4 if window else 0.6, 1.0, N_WEEK), 2)
        pred = rng.choice(LABELS, N_WEEK)
        for i in range(N_WEEK):
            pid = f"{start:%Y%m%d}-{i}"
            feats: dict[str, Any] = {n: float(values[n][i]) for n in NUMERIC if not np.isnan(values[n][i])}
            if i % 9:
                feats["cat"] = str(cats[i])
            feats["mode"] = "m1" if i % 3 else "m2"
            preds.append({"prediction_id": pid, "timestamp": start + timedelta(seconds=600 * i), "prediction": str(pred[i]),
                          "confidence": float(conf[i]), "features": feats})
            if i % 4 == 0:
                feedback.append({"prediction_id": pid, "kind": "explicit", "label": str(pred[i]) if i % 3 else LABELS[i % 2]})
    return preds, feedback


def _window(preds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in preds if START <= p["timestamp"] < END]


@pytest.fixture(scope="module")
def fused_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Monitor, Path, Path]]:
    """A DuckDB store with the rows, the Parquet log exported from it, and the reference file."""
    tmp = tmp_path_factory.mktemp("fused")
    write_reference(tmp / "ref.parquet")
    mon = Monitor(StewardConfig.model_validate(_config(tmp / "ref.parquet", NUMERIC, CATEGORICAL, ALL_TESTS)),
                  store=tmp / "state.duckdb")
    preds, feedback = log_rows()
    mon.log_predictions(preds)
    mon.log_feedbacks(feedback)
    mon.reference(rebuild=True)
    export_parquet_log(mon.store, mon.model(), tmp / "log")
    yield mon, tmp / "log", tmp / "ref.parquet"
    mon.close()


@pytest.fixture(scope="module")
def fused_pg(fused_data: tuple[Monitor, Path, Path],
             fresh_pg_database: Callable[[str], AbstractContextManager[str]]) -> Iterator[Monitor]:
    """The same rows in a fresh PostgreSQL store (dropped at the end)."""
    with fresh_pg_database("steward_fused_") as url:
        mon = Monitor(StewardConfig.model_validate(_config(fused_data[2], NUMERIC, CATEGORICAL, ALL_TESTS)), store=url)
        preds, feedback = log_rows()
        mon.log_predictions(preds)
        mon.log_feedbacks(feedback)
        mon.reference(rebuild=True)
        yield mon
        mon.close()


def _engine(kind: str, request: pytest.FixtureRequest) -> tuple[Engine, Monitor]:
    mon, log, _ = request.getfixturevalue("fused_data")
    if kind == "duckdb-store":
        return store_engine(mon.store), mon
    if kind == "duckdb-parquet":
        return open_engine(EngineSettings(kind="duckdb", events=str(log))), mon
    if kind == "spark":
        settings = request.getfixturevalue("spark_settings")  # skips without PySpark or Java
        return open_engine(settings.model_copy(update={"events": str(log)})), mon
    pg = request.getfixturevalue("fused_pg")
    return store_engine(pg.store), pg


def _counted(engine: Engine) -> list[int]:
    """Count the engine's executions: every query of an engine goes through ``Engine.arrow``."""
    calls = [0]
    run = engine.arrow

    def arrow(expr: Any) -> pa.Table:
        calls[0] += 1
        return run(expr)

    engine.arrow = arrow  # type: ignore[method-assign]
    return calls


def _drift(engine: Engine, mon: Monitor) -> tuple[dict[tuple[str, str], DriftResult], int]:
    calls = _counted(engine)
    try:
        results = engine_window_drift(engine, mon.store, mon.model(), mon.reference(), START, END)
    finally:
        del engine.arrow
    out = {(r.subject, r.test): r for r in results}
    assert len(out) == len(results)
    return out, calls[0]


ENGINES = ["duckdb-store", "duckdb-parquet", "spark", "postgres"]


@pytest.mark.parametrize("kind", ENGINES)
def test_fused_summaries_match_scipy_subject_by_subject(kind: str, request: pytest.FixtureRequest) -> None:
    engine, mon = _engine(kind, request)
    got, queries = _drift(engine, mon)
    assert queries == 3  # numeric, categorical, and the pooled values of the rank tests
    ref = pq.read_table(request.getfixturevalue("fused_data")[2]).to_pydict()
    window = _window(log_rows()[0])
    profile = mon.reference()
    for name in [*NUMERIC, "confidence"]:
        r = np.array([v for v in ref[name] if v is not None and not np.isnan(v)])
        c = np.array([p["features"][name] if name != "confidence" else p["confidence"] for p in window
                      if name == "confidence" or name in p["features"]], dtype=float)
        if c.size == 0:  # b: no value in the window
            v = got[(name, "verdict")]
            assert (v.status, v.n_current, v.n_reference) == ("not_enough_data", 0, r.size), name
            assert (name, "ks") not in got
            continue
        ks = got[(name, "ks")]
        assert (ks.n_reference, ks.n_current) == (r.size, c.size), name
        assert ks.statistic == pytest.approx(stats.ks_2samp(r, c).statistic, rel=1e-12, abs=1e-15), name
        w1 = stats.wasserstein_distance(r, c)
        assert got[(name, "wasserstein")].details["wasserstein_1"] == pytest.approx(w1, rel=1e-9, abs=1e-12), name
        edges = np.array(profile.numeric[name]["edges"])
        want_bins = np.bincount(np.searchsorted(edges, c, side="left"), minlength=edges.size + 1)  # right-closed bins
        assert got[(name, "psi")].details["current_counts"] == want_bins.tolist(), name
        with warnings.catch_warnings():  # (scipy says its tabulated p-value is capped; only the statistic is compared)
            warnings.simplefilter("ignore", UserWarning)
            ad = stats.anderson_ksamp([r, c], variant="midrank")
        assert got[(name, "anderson_darling")].statistic == pytest.approx(ad.statistic, rel=1e-9, abs=1e-12), name
        cvm = stats.cramervonmises_2samp(r, c)
        assert got[(name, "cramer_von_mises")].statistic == pytest.approx(cvm.statistic, rel=1e-9, abs=1e-12), name
        assert f"→ {c.mean():.4g}" in got[(name, "verdict")].reading, name
    assert got[("c", "ks")].statistic > 0.4  # one distinct value against a spread reference
    labels = {f["prediction_id"]: f["label"] for f in log_rows()[1]}
    for name, values in (("cat", [p["features"]["cat"] for p in window if "cat" in p["features"]]),
                         ("mode", [p["features"]["mode"] for p in window]),
                         ("prediction", [p["prediction"] for p in window]),
                         ("label", [labels[p["prediction_id"]] for p in window if p["prediction_id"] in labels])):
        names = sorted(set(ref[name]) | set(values))
        table = np.array([[Counter(ref[name])[k] for k in names], [Counter(values)[k] for k in names]])
        chi = got[(name, "chi2")]
        assert chi.n_current == len(values), name
        assert chi.statistic == pytest.approx(stats.chi2_contingency(table, correction=False).statistic, rel=1e-9), name


def test_the_store_engine_gives_the_hand_written_sql_path_s_results(request: pytest.FixtureRequest) -> None:
    """A second method: the hand-written DuckDB SQL, one subject at a time, gives every test the same value."""
    engine, mon = _engine("duckdb-store", request)
    got, _ = _drift(engine, mon)
    want = {(r.subject, r.test): r for r in _window_drift_sql(mon.store, mon.model(), mon.reference(), START, END)}
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        assert (g.status, g.n_reference, g.n_current) == (w.status, w.n_reference, w.n_current), key
        for field in ("statistic", "p_value", "effect_size"):
            a, b = getattr(g, field), getattr(w, field)
            assert (a is None) == (b is None), (key, field)
            if a is not None:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (key, field)


@pytest.mark.parametrize("kind", ["duckdb-store", "duckdb-parquet"])
@pytest.mark.parametrize(("tests", "want"), [(["ks", "wasserstein", "psi"], 2), (ALL_TESTS, 3)])
def test_queries_per_window_do_not_grow_with_subjects(kind: str, tests: list[str], want: int, request: pytest.FixtureRequest,
                                                      tmp_path: Path) -> None:
    """One feature or six numeric and two categorical: the same number of queries for the window."""
    engine, mon = _engine(kind, request)
    ref = request.getfixturevalue("fused_data")[2]
    counts = []
    for numeric, categorical in ((["a"], []), (NUMERIC, CATEGORICAL)):
        model = StewardConfig.model_validate(_config(ref, numeric, categorical, tests)).models[0]
        calls = _counted(engine)
        try:
            results = engine_window_drift(engine, mon.store, model, mon.reference(), START, END,
                                          ecdf=ReferenceECDF(mon.store, model, engine))
        finally:
            del engine.arrow
        assert {r.subject for r in results if r.test == "verdict"} >= {*numeric, *categorical, "confidence", "prediction", "label"}
        counts.append(calls[0])
    assert counts == [want, want]


@pytest.mark.parametrize("kind", ["spark", "postgres", "duckdb-parquet"])
def test_every_engine_gives_the_store_path_s_fused_results(kind: str, request: pytest.FixtureRequest) -> None:
    want, _ = _drift(*_engine("duckdb-store", request))
    got, queries = _drift(*_engine(kind, request))
    assert queries == 3
    assert got.keys() == want.keys()
    for key, w in want.items():
        g = got[key]
        assert (g.status, g.n_reference, g.n_current, g.reading) == (w.status, w.n_reference, w.n_current, w.reading), key
        for field in ("statistic", "p_value", "effect_size"):
            a, b = getattr(g, field), getattr(w, field)
            assert (a is None) == (b is None), (key, field)
            if a is not None:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (key, field)


def test_a_window_known_empty_runs_no_query(request: pytest.FixtureRequest) -> None:
    engine, mon = _engine("duckdb-store", request)
    calls = _counted(engine)
    try:
        results = engine_window_drift(engine, mon.store, mon.model(), mon.reference(), START, END, empty=True)
    finally:
        del engine.arrow
    assert calls[0] == 0
    assert {r.status for r in results if r.test == "verdict" and r.subject != "inputs"} == {"not_enough_data"}


@pytest.mark.parametrize("kind", ["duckdb-store", "duckdb-parquet"])
def test_both_ways_of_stacking_subjects_give_the_same_summaries(kind: str, request: pytest.FixtureRequest) -> None:
    """The union of one select per subject (DuckDB, PostgreSQL) and one unnested scan (Spark's way) stack the same values."""
    from modelsteward.engines import aggregates as agg
    from modelsteward.reference import categorical_subjects, numeric_subjects

    engine, mon = _engine(kind, request)
    model, profile = mon.model(), mon.reference()
    rows = agg._prune(engine.events(model), START, END)
    numeric = [(k, rows, c) for k, c in enumerate(numeric_subjects(model).values())]
    categorical = [(k, rows, c) for k, c in enumerate(categorical_subjects(model).values()) if c != "label"]
    edges = {k: profile.numeric[s]["edges"] for k, s in enumerate(numeric_subjects(model)) if s in profile.numeric}
    ecdf = ReferenceECDF(mon.store, model, engine).table()
    got = []
    for explode in (False, True):
        num = engine.arrow(agg.numeric_drift_summary(ecdf, agg.subject_values(numeric, "float64", explode=explode), edges))
        cat = engine.arrow(agg.category_counts(agg.subject_values(categorical, "string", explode=explode)))
        got.append((sorted(num.to_pylist(), key=lambda r: (r["k"], r["bin"])), sorted(cat.to_pylist(), key=lambda r: (r["k"], r["value"]))))
    (num_union, cat_union), (num_explode, cat_explode) = got
    assert cat_union == cat_explode and len(cat_union) > 5
    counts = [[(r["k"], r["bin"], r["n"], r["na"], r["nb"]) for r in rows] for rows in (num_union, num_explode)]
    assert counts[0] == counts[1] and len(counts[0]) > 10
    for a, b in zip(num_union, num_explode, strict=True):
        for field in ("d", "w1", "s"):
            assert (a[field] is None) == (b[field] is None)
            if a[field] is not None:
                assert a[field] == pytest.approx(b[field], rel=1e-12, abs=1e-15)
