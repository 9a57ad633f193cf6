"""Multivariate and text drift inside Monitor.check, on seeded streams where the truth is known."""

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward import Monitor, StewardConfig

START = datetime(2026, 4, 6)
TOPICS = ["my invoice is wrong please refund", "cannot log in to my account", "the site is down again outage"]


def tickets(rng, n, p_outage):
    topic = rng.choice(3, size=n, p=[(1 - p_outage) / 2, (1 - p_outage) / 2, p_outage])
    return [f"{TOPICS[k]} order {rng.integers(1000)}" for k in topic]


def correlated(rng, n, rho):
    z = rng.normal(size=n)
    return z, rho * z + np.sqrt(1 - rho**2) * rng.normal(size=n)


def _pg_admin_url(config):
    """STEWARD_TEST_PG_URL, as the suite's top conftest took it out of the environment (or as still set)."""
    import os

    for plugin in config.pluginmanager.get_plugins():
        url = getattr(plugin, "_PG_ADMIN_URL", None)
        if isinstance(url, str) and url:
            return url
    return os.environ.get("STEWARD_TEST_PG_URL")


def _store(kind, tmp, pytestconfig, cleanup):
    if kind == "duckdb":
        return tmp / "s.duckdb"
    admin = _pg_admin_url(pytestconfig)
    if not admin:
        pytest.skip("the PostgreSQL case needs STEWARD_TEST_PG_URL")
    psycopg = pytest.importorskip("psycopg")
    import uuid
    from urllib.parse import urlsplit

    name = "steward_joint_" + uuid.uuid4().hex[:10]
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as con:
        con.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    cleanup.append(drop)
    parts = urlsplit(admin)
    return f"{parts.scheme}://{parts.netloc}/{name}" + (f"?{parts.query}" if parts.query else "")


_BUILT: dict = {}


def _build(kind, tmp_path_factory, pytestconfig, cleanup):
    """The same seeded stream logged into one store of ``kind`` and checked (built once per module and kind)."""
    if kind in _BUILT:
        return _BUILT[kind]
    tmp = tmp_path_factory.mktemp("joint")
    store = _store(kind, tmp, pytestconfig, cleanup)
    rng = np.random.default_rng(7)
    a, b = correlated(rng, 3000, 0.9)
    pq.write_table(pa.table({"a": a, "b": b, "body": tickets(rng, 3000, 0.1)}), tmp / "ref.parquet")
    cfg = StewardConfig.model_validate({"models": [{
        "name": "m", "task": "binary", "labels": ["yes", "no"], "window": "day",
        "features": [{"name": "a", "type": "numeric"}, {"name": "b", "type": "numeric"}],
        "reference": {"file": str(tmp / "ref.parquet")},
        "diagnosis": {"multivariate": {"enabled": True, "sample_rows": 500},
                      "text": {"attributes": ["body"], "sample_texts": 600, "dims": 10}},
    }]})
    mon = Monitor(cfg, store=store)
    # day 0: as the reference; day 1: the correlation flips (each marginal unchanged) and outage tickets triple
    for day, (rho, p_outage) in enumerate([(0.9, 0.1), (-0.9, 0.3)]):
        x, y = correlated(rng, 800, rho)
        texts = tickets(rng, 800, p_outage)
        mon.log_predictions([{"prediction_id": f"{day}-{i}", "timestamp": START + timedelta(days=day, seconds=60 * i),
                              "prediction": "yes", "confidence": 0.8, "features": {"a": float(x[i]), "b": float(y[i])},
                              "attributes": {"body": texts[i]}} for i in range(800)])
    mon.check(until=START + timedelta(days=2))
    _BUILT[kind] = (mon, tmp)
    return _BUILT[kind]


@pytest.fixture(scope="module")
def _cleanup():
    cleanup = []
    yield cleanup
    for kind in list(_BUILT):
        _BUILT.pop(kind)[0].close()
    for drop in cleanup:
        drop()


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def checked(request, tmp_path_factory, pytestconfig, _cleanup):
    """The monitor after the check, on a DuckDB file and on a PostgreSQL database (the same data)."""
    return _build(request.param, tmp_path_factory, pytestconfig, _cleanup)[0]


def rows(mon, day):
    return {(r["subject"], r["test"]): r for r in mon.drift(window_start=START + timedelta(days=day))}


def test_a_correlation_flip_is_missed_per_feature_and_caught_by_the_multivariate_checks(checked):
    before, after = rows(checked, 0), rows(checked, 1)
    assert after[("a", "verdict")]["status"] != "drift" and after[("b", "verdict")]["status"] != "drift"
    assert after[("multivariate", "domain_classifier")]["status"] == "drift"
    assert after[("multivariate", "pca_reconstruction")]["status"] == "drift"
    assert before[("multivariate", "domain_classifier")]["status"] != "drift"
    m0, m1 = (m for _, _, m in checked.metric_history())
    assert m1["drift.multivariate.drifted"] == 1.0 and m0["drift.multivariate.drifted"] == 0.0
    assert m1["drift.multivariate.pca_error_ratio"] > 1.5
    diag = checked.diagnosis(window_start=START + timedelta(days=1))[0]
    assert diag["findings"]["data"]["status"] == "present"
    assert "classifier tells" in diag["findings"]["data"]["reason"]


def test_the_multivariate_samples_are_bounded(checked):
    dc = rows(checked, 1)[("multivariate", "domain_classifier")]
    assert dc["n_current"] == 500 and dc["n_reference"] == 500  # 800 logged, 3000 in the reference


def test_text_drift_of_a_declared_attribute_runs_in_the_check(checked):
    before, after = rows(checked, 0)[("text.body", "text_drift")], rows(checked, 1)[("text.body", "text_drift")]
    assert before["status"] == "no_drift"
    assert after["status"] == "drift"
    assert "'outage'" in after["reading"] or "'down'" in after["reading"]
    m0, m1 = (m for _, _, m in checked.metric_history())
    assert m1["drift.text.body.drifted"] == 1.0 and m0["drift.text.body.drifted"] == 0.0
    assert m1["drift.text.body.auc"] > m0["drift.text.body.auc"]


def test_the_text_and_multivariate_metrics_are_valid_alert_metrics():
    StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["y", "n"], "alerts": [
        {"name": "t", "metric": "drift.text.body.drifted", "condition": {"kind": "above", "value": 0.5}},
        {"name": "mv", "metric": "drift.multivariate.domain_auc", "condition": {"kind": "above", "value": 0.6}},
        {"name": "c", "metric": "concept.accuracy_drop_lower", "condition": {"kind": "above", "value": 0.0}}]}]})


def test_a_malformed_text_attribute_key_is_refused():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="attribute keys"):
        StewardConfig.model_validate({"models": [{"name": "m", "task": "binary", "labels": ["y", "n"],
                                                  "diagnosis": {"text": {"attributes": ["bad key'"]}}}]})


def test_the_same_data_gives_the_same_joint_drift_on_duckdb_and_postgres(tmp_path_factory, pytestconfig, _cleanup):
    duck = _build("duckdb", tmp_path_factory, pytestconfig, _cleanup)[0]
    pg = _build("postgres", tmp_path_factory, pytestconfig, _cleanup)[0]
    for day in (0, 1):
        a, b = rows(duck, day), rows(pg, day)
        for key in (("multivariate", "domain_classifier"), ("multivariate", "pca_reconstruction"), ("text.body", "text_drift")):
            assert a[key]["status"] == b[key]["status"], key
            assert a[key]["statistic"] == pytest.approx(b[key]["statistic"], rel=1e-9, abs=1e-12), key
            assert a[key]["p_value"] == pytest.approx(b[key]["p_value"], rel=1e-9, abs=1e-300), key


def test_multivariate_and_text_drift_run_on_the_parquet_log_with_the_stores_results(tmp_path_factory, pytestconfig, _cleanup):
    from modelsteward.config import EngineSettings
    from modelsteward.drift.joint_window import JointDrift
    from modelsteward.engines.connect import open_engine
    from modelsteward.engines.parquet_log import export_parquet_log

    mon, tmp = _build("duckdb", tmp_path_factory, pytestconfig, _cleanup)
    export_parquet_log(mon.store, mon.model("m"), tmp / "log")
    engine = open_engine(EngineSettings(kind="duckdb", events=str(tmp / "log")))
    joint = JointDrift(mon.store, mon.model("m"), engine=engine)
    stored = rows(mon, 1)
    start = START + timedelta(days=1)
    _, mv = joint.multivariate(start, start + timedelta(days=1))
    _, text = joint.text(start, start + timedelta(days=1))
    for r in mv + text:
        want = stored[(r.subject, r.test)]
        assert r.status == want["status"]
        assert r.statistic == pytest.approx(want["statistic"], rel=1e-12) and r.n_current == want["n_current"]
