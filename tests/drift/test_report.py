"""`drift_report` / `steward drift-report`: two files compared with the same engine and verdicts."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import stats

from modelsteward.cli import main
from modelsteward.drift.report import drift_report


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(12)
    n = 4000
    ref = {"steady": rng.normal(10, 2, n), "moved": rng.normal(0, 1, n), "tiny": rng.normal(0, 1, n),
           "Kind Of": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]), "prediction": rng.integers(0, 2, n),
           "confidence": rng.beta(8, 2, n)}
    cur = {"steady": rng.normal(10, 2, n), "moved": rng.normal(0.6, 1, n), "tiny": rng.normal(0, 1, n),
           "Kind Of": rng.choice(["a", "b", "c"], n, p=[0.3, 0.3, 0.4]), "prediction": rng.integers(0, 2, n),
           "confidence": rng.beta(8, 2, n)}
    pq.write_table(pa.table(ref), tmp_path / "ref.parquet")
    pq.write_table(pa.table(cur), tmp_path / "cur.parquet")
    return tmp_path, ref, cur


def test_report_verdicts_and_statistics(files):
    folder, ref, cur = files
    report = drift_report(folder / "ref.parquet", folder / "cur.parquet")
    assert set(report.features) == {"steady", "moved", "tiny", "Kind Of"}  # odd column names kept as given
    assert set(report.outputs) == {"confidence", "prediction"}
    assert report.features["moved"].status == "drift" and report.features["Kind Of"].status == "drift"
    assert report.features["steady"].status == "no_drift"
    ks = [r for r in report.results if r.test == "ks"]
    by_subject = {r.subject: r for r in ks}
    expected = stats.ks_2samp(ref["moved"], cur["moved"])
    moved = by_subject[next(r.subject for r in ks if r.subject.startswith("moved"))]
    assert moved.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert moved.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    # KS p-values are Benjamini-Hochberg adjusted across every subject that ran KS: the numeric
    # inputs (steady, moved, tiny) and the confidence score, one family
    columns = {r.subject: c for c in ("steady", "moved", "tiny", "confidence") for r in ks if r.subject.startswith(c)}
    raw = {s: stats.ks_2samp(ref[c], cur[c]).pvalue for s, c in columns.items()}
    adjusted = dict(zip(raw, stats.false_discovery_control(list(raw.values()), method="bh"), strict=True))
    assert set(by_subject) == set(adjusted)
    for s, r in by_subject.items():
        assert r.details["p_adjusted"] == pytest.approx(adjusted[s], rel=1e-9)
    assert report.n_reference == report.n_current == 4000
    assert report.inputs_status == "drift"


def test_cli_prints_json_and_refuses_mismatched_files(files, tmp_path):
    folder, _, _ = files
    r = CliRunner().invoke(main, ["drift-report", str(folder / "ref.parquet"), str(folder / "cur.parquet"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["features"]["moved"]["status"] == "drift" and doc["inputs"]["status"] == "drift"
    pq.write_table(pa.table({"other": [1.0, 2.0]}), tmp_path / "bad.parquet")
    r = CliRunner().invoke(main, ["drift-report", str(folder / "ref.parquet"), str(tmp_path / "bad.parquet")])
    assert r.exit_code == 2 and "missing from the current file" in r.output


def test_multivariate_sees_a_correlation_change_the_marginals_hide(tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    z = rng.normal(size=(n, 2))
    correlated = np.column_stack([z[:, 0], 0.95 * z[:, 0] + np.sqrt(1 - 0.95**2) * z[:, 1]])
    independent = rng.normal(size=(n, 2))
    pq.write_table(pa.table({"u": correlated[:, 0], "v": correlated[:, 1], "w": rng.normal(size=n)}), tmp_path / "r.parquet")
    pq.write_table(pa.table({"u": independent[:, 0], "v": independent[:, 1], "w": rng.normal(size=n)}), tmp_path / "c.parquet")
    report = drift_report(tmp_path / "r.parquet", tmp_path / "c.parquet", multivariate=True)
    assert {f: v.status for f, v in report.features.items()} == {"u": "no_drift", "v": "no_drift", "w": "no_drift"}
    dc = report.multivariate["domain_classifier"]
    assert dc["drift"] and dc["auc"] > 0.6
    assert {f["feature"] for f in dc["features"][:2]} == {"u", "v"}
    assert report.multivariate["pca_reconstruction"]["drift"]
    assert json.loads(json.dumps(report.to_dict(), default=str))["multivariate"]["domain_classifier"]["auc"] == dc["auc"]
