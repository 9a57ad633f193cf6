"""`drift_report`'s own engine against the store's window engine, and across the exact/sketch switch."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats

from modelsteward.config import DriftSettings, ModelConfig
from modelsteward.drift.report import drift_report
from modelsteward.drift.window_drift import drift_of
from modelsteward.records import feature_column
from modelsteward.reference import build_reference
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

SEVERITY = {"no_drift": 0, "small_change": 1, "drift": 2}


def _write(tmp_path, n_ref, n_cur, seed=4):
    rng = np.random.default_rng(seed)

    def frame(n, moved):
        return {
            "a": rng.normal(0, 1, n) + (0.3 if moved else 0.0),
            "b": rng.lognormal(0, 1, n),
            "c": rng.poisson(3, n).astype(float),
            "d": rng.normal(0, 1, n) + (0.03 if moved else 0.0),
            "k": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2] if not moved else [0.4, 0.35, 0.25]),
            "prediction": rng.integers(0, 2, n),
            "confidence": rng.beta(8, 2, n),
        }

    pq.write_table(pa.table(frame(n_ref, False)), tmp_path / "ref.parquet")
    pq.write_table(pa.table(frame(n_cur, True)), tmp_path / "cur.parquet")
    return tmp_path / "ref.parquet", tmp_path / "cur.parquet"


def _store_path(ref, cur, settings):
    """The former implementation: reference copied into a store, window engine on the current file."""
    store = DuckDBStore(":memory:")
    kinds = {"a": "numeric", "b": "numeric", "c": "numeric", "d": "numeric", "k": "categorical"}
    model = ModelConfig.model_validate({
        "name": "report", "task": "binary", "labels": ["0", "1"],
        "features": [{"name": n, "type": k} for n, k in kinds.items()],
        "reference": {"file": str(ref), "columns": {n: n for n in kinds}}, "drift": settings.model_dump()})
    profile = build_reference(store, model)
    selects = [f"TRY_CAST({n} AS {'DOUBLE' if k == 'numeric' else 'VARCHAR'}) AS {quote_ident(feature_column(n))}"
               for n, k in kinds.items()]
    selects += ["TRY_CAST(confidence AS DOUBLE) AS confidence", "TRY_CAST(prediction AS VARCHAR) AS prediction",
                "CAST(NULL AS VARCHAR) AS label"]
    try:
        return drift_of(store, model, profile, (f"(SELECT {', '.join(selects)} FROM read_parquet(?)) AS c", [str(cur)]))
    finally:
        store.close()


def test_exact_engine_equals_the_store_engine(tmp_path):
    ref, cur = _write(tmp_path, 3000, 2000)
    settings = DriftSettings.model_validate({"numeric_tests": ["ks", "wasserstein", "psi", "jensen_shannon", "hellinger",
                                                               "anderson_darling", "cramer_von_mises"]})
    report = drift_report(ref, cur, settings=settings)
    mine = {(r.subject, r.test): r for r in report.results}
    theirs = {(r.subject, r.test): r for r in _store_path(ref, cur, settings) if r.subject != "label"}
    assert set(mine) == set(theirs)
    for key, r in theirs.items():
        m = mine[key]
        assert m.status == r.status, key
        for field in ("statistic", "p_value", "effect_size"):
            a, b = getattr(m, field), getattr(r, field)
            assert (a is None) == (b is None), (key, field)
            if a is not None:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-12), (key, field)
        pa_mine, pa_theirs = m.details.get("p_adjusted"), r.details.get("p_adjusted")
        assert (pa_mine is None) == (pa_theirs is None), key
        if pa_theirs is not None:
            assert pa_mine == pytest.approx(pa_theirs, rel=1e-9, abs=1e-12), key


def test_sketch_moves_d_and_w_down_by_at_most_the_stated_bound(tmp_path):
    ref, cur = _write(tmp_path, 60_000, 50_000, seed=8)
    exact = drift_report(ref, cur)
    sketch = drift_report(ref, cur, exact_max_rows=0)
    x, y = (pq.read_table(p) for p in (ref, cur))
    for r in sketch.results:
        if r.test == "ks":
            e = next(q for q in exact.results if q.subject == r.subject and q.test == "ks")
            col = "confidence" if r.subject == "confidence" else r.subject
            assert e.statistic == pytest.approx(stats.ks_2samp(x[col].to_numpy(), y[col].to_numpy()).statistic, rel=1e-12)
            assert r.details["method"] == "grid_sketch" and e.details["method"] == "exact"
            assert r.statistic <= e.statistic + 1e-12 <= r.statistic + r.details["error_bound"] + 2e-12
            assert r.p_value >= e.p_value  # conservative side
        if r.test == "wasserstein":
            e = next(q for q in exact.results if q.subject == r.subject and q.test == "wasserstein")
            w1 = e.details["wasserstein_1"]
            assert r.details["wasserstein_1"] <= w1 + 1e-12 <= r.details["wasserstein_1_upper"] + 2e-12
    for name, v in sketch.features.items():
        # The sketch never reports a more severe verdict than the exact statistics.
        assert SEVERITY[v.status] <= SEVERITY[exact.features[name].status]
    assert {f: v.status for f, v in sketch.features.items()} == {f: v.status for f, v in exact.features.items()}
    assert exact.features["a"].status == "drift" and exact.features["b"].status == "no_drift"


def test_csv_files_and_missing_values(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    x[:20] = np.nan
    y = rng.normal(1.0, size=400)
    (tmp_path / "r.csv").write_text("v\n" + "\n".join("" if np.isnan(v) else f"{v:.17g}" for v in x) + "\n")
    (tmp_path / "c.csv").write_text("v\n" + "\n".join(f"{v:.17g}" for v in y) + "\n")
    report = drift_report(tmp_path / "r.csv", tmp_path / "c.csv")
    ks = next(r for r in report.results if r.test == "ks")
    expected = stats.ks_2samp(x[~np.isnan(x)], y)
    assert ks.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert ks.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert ks.n_reference == 480 and report.features["v"].status == "drift"


def test_cli_exact_max_rows_switches_to_the_sketch(tmp_path):
    import json

    from click.testing import CliRunner

    from modelsteward.cli import main

    ref, cur = _write(tmp_path, 3000, 2000)
    methods = {}
    for limit in ("0", "100000"):
        r = CliRunner().invoke(main, ["drift-report", str(ref), str(cur), "--json", "--exact-max-rows", limit])
        assert r.exit_code == 0, r.output
        doc = json.loads(r.output)
        methods[limit] = {t["details"]["method"] for t in doc["tests"] if t["test"] == "ks"}
        assert doc["features"]["a"]["status"] == "drift"
    assert methods == {"0": {"grid_sketch"}, "100000": {"exact"}}


@pytest.mark.parametrize("limit", [None, 0])
def test_parquet_integers_with_nulls_nan_and_inf(tmp_path, limit):
    rng = np.random.default_rng(6)
    ints = pa.array([None if i % 17 == 0 else int(v) for i, v in enumerate(rng.poisson(4, 3000))], type=pa.int64())
    floats = rng.normal(size=3000)
    floats[::50], floats[1::97] = np.nan, np.inf
    pq.write_table(pa.table({"i": ints, "f": floats}), tmp_path / "r.parquet")
    cur_i, cur_f = rng.poisson(4.5, 2500), rng.normal(0.2, 1, 2500)
    pq.write_table(pa.table({"i": cur_i, "f": cur_f}), tmp_path / "c.parquet")
    report = drift_report(tmp_path / "r.parquet", tmp_path / "c.parquet", exact_max_rows=limit)
    ks = {r.subject: r for r in report.results if r.test == "ks"}
    ref_i = np.array([v for v in ints.to_pylist() if v is not None], dtype=float)
    ref_f = floats[np.isfinite(floats)]
    for name, x, y in (("i", ref_i, cur_i), ("f", ref_f, cur_f)):
        exact = stats.ks_2samp(x, y).statistic
        assert ks[name].n_reference == x.size and ks[name].n_current == y.size
        if limit is None:
            assert ks[name].statistic == pytest.approx(exact, rel=1e-12)
        else:
            assert ks[name].statistic <= exact + 1e-12 <= ks[name].statistic + ks[name].details["error_bound"] + 2e-12


def test_grouping_by_sorting_equals_grouped_counts():
    from modelsteward.drift.file_stats import _grouped_sorted
    from modelsteward.drift.samples import grouped_counts

    rng = np.random.default_rng(13)
    for x, y in ((rng.normal(size=5000), rng.normal(size=3000)), (rng.poisson(2, 4000) * 1.0, rng.poisson(3, 100) * 1.0),
                 (np.array([1.0]), np.array([1.0, 1.0, 2.0]))):
        for got, want in zip(_grouped_sorted(x, y), grouped_counts(x, y), strict=True):
            assert got.tolist() == want.tolist()


def test_streamed_columns_give_the_same_sketch(tmp_path, monkeypatch):
    """Columns longer than CHUNK_ROWS are read in batches; the sketch must not depend on it."""
    from modelsteward.drift import file_stats

    rng = np.random.default_rng(17)
    x = rng.normal(size=4000)
    x[::31] = np.nan
    pq.write_table(pa.table({"f": x, "i": pa.array([None if i % 13 == 0 else i % 7 for i in range(4000)], pa.int64())}),
                   tmp_path / "r.parquet")
    pq.write_table(pa.table({"f": rng.normal(0.1, 1, 3500), "i": rng.integers(0, 8, 3500)}), tmp_path / "c.parquet")
    whole = drift_report(tmp_path / "r.parquet", tmp_path / "c.parquet", exact_max_rows=0)
    monkeypatch.setattr(file_stats, "CHUNK_ROWS", 700)
    streamed = drift_report(tmp_path / "r.parquet", tmp_path / "c.parquet", exact_max_rows=0)
    a = {(r.subject, r.test): (r.statistic, r.p_value, r.n_reference, r.n_current) for r in whole.results}
    b = {(r.subject, r.test): (r.statistic, r.p_value, r.n_reference, r.n_current) for r in streamed.results}
    assert set(a) == set(b)
    for key, (stat, p, n_ref, n_cur) in a.items():
        # Only the summation order of the moments differs (reference std: last digits).
        assert b[key][0] == pytest.approx(stat, rel=1e-12, abs=1e-15) and b[key][2:] == (n_ref, n_cur)
        assert (p is None and b[key][1] is None) or b[key][1] == pytest.approx(p, rel=1e-12)
    assert a[("f", "ks")][2] == int(np.isfinite(x).sum()) and a[("i", "ks")][2] == 4000 - len(range(0, 4000, 13))
