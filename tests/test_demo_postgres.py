"""`steward demo --store postgresql://...` runs the course lab on PostgreSQL and finds what it finds on DuckDB.

The same command runs twice, into a DuckDB file and into a fresh PostgreSQL database; every
figure, alert and answer it reports must agree (to 1e-9 for floats), the weekly figures must
equal the lab's own, and the database must hold the lab's rows, counted with psycopg.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import psycopg
import yaml
from click.testing import CliRunner

from modelsteward.cli import main


def _same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{where}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert sorted(a) == sorted(b), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def _demo(*args: str) -> dict[str, Any]:
    res = CliRunner().invoke(main, ["demo", "--json", *args])
    assert res.exit_code == 0, res.output
    return dict(json.loads(res.output))


def test_the_demo_on_postgresql_reports_what_it_reports_on_duckdb(tmp_path: Path, pg_url: str):
    on_pg = _demo("--dir", str(tmp_path / "pg"), "--store", pg_url)
    on_duckdb = _demo("--dir", str(tmp_path / "duckdb"))
    assert on_pg["store"].startswith("postgresql://") and on_duckdb["store"].endswith("steward.duckdb")
    for key in ("weekly", "ks", "technical", "alerts", "answers"):
        _same(on_pg[key], on_duckdb[key], key)
    assert len(on_pg["weekly"]) == 8 and all(w["matches_lab"] for w in on_pg["weekly"]) and on_pg["alerts"]
    # the folder's steward.yaml names the database, and the database holds the lab's rows
    assert yaml.safe_load((tmp_path / "pg" / "steward.yaml").read_text())["store"] == pg_url
    with psycopg.connect(pg_url) as con:
        assert con.execute('SELECT count(*) FROM "predictions__ticket_classifier"').fetchone() == (1600,)
        assert con.execute("SELECT count(*) FROM alerts").fetchone()[0] > 0  # type: ignore[index]
    assert not (tmp_path / "pg" / "steward.duckdb").exists()

    # a database that already holds a model is refused, with what to do
    res = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path / "again"), "--store", pg_url])
    assert res.exit_code != 0 and "already holds model(s) ticket-classifier" in res.output and "createdb" in res.output


def test_a_store_that_is_not_a_postgresql_url_is_refused(tmp_path: Path):
    res = CliRunner().invoke(main, ["demo", "--dir", str(tmp_path), "--store", str(tmp_path / "x.duckdb")])
    assert res.exit_code != 0 and "is not a postgresql:// URL" in res.output
    assert not (tmp_path / "x.duckdb").exists()
