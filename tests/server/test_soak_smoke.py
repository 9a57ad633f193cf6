"""The soak benchmark, briefly: ~15 s of mixed load against a real ``steward serve``, no error, nothing lost.

The store it leaves is read again here with DuckDB, apart from the benchmark's own check.
Timings and memory are the benchmark's business (a run this short is all warm-up), so the
memory bound is switched off and no figure is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_soak.py"


def test_a_short_soak_has_no_errors_and_stores_exactly_what_was_acknowledged(tmp_path: Path) -> None:
    folder = tmp_path / "soak"
    run = subprocess.run([sys.executable, str(BENCH), "--minutes", "0.25", "--every", "5", "--prefill", "none",
                          "--check-every", "2s", "--memory-slack-mb", "1000000", "--dir", str(folder), "--json"],
                         capture_output=True, text=True, timeout=300)
    summary = json.loads(run.stdout)
    assert run.returncode == 0, run.stderr[-3000:]
    assert summary["errors"] == 0 and summary["error_samples"] == []
    assert all(kind["requests"] > 0 for kind in summary["kinds"].values()), summary["kinds"]
    counts = summary["counts"]
    assert counts["match"] and counts["predictions_acknowledged"] > 0 and counts["feedback_acknowledged"] > 0
    assert summary["monitoring_passes"]["count"] >= 1 and summary["monitoring_passes"]["failed"] == 0
    assert summary["server"]["error_lines"] == 0 and summary["server"]["shutdown"]["requests_unfinished"] == 0
    # the rows on stderr: a header and at least one row of figures
    assert "RSS MB" in run.stderr and sum(line.strip()[:1].isdigit() for line in run.stderr.splitlines()) >= 1

    con = duckdb.connect(str(folder / "steward.duckdb"), read_only=True)
    try:
        [(preds, distinct)] = con.execute("SELECT count(*), count(DISTINCT prediction_id) FROM predictions__ticket_classifier "
                                          "WHERE prediction_id LIKE 'soak-%'").fetchall()
        [(feedback,)] = con.execute("SELECT count(*) FROM feedback WHERE feedback_id LIKE 'soak-fb-%'").fetchall()
        [(orphans,)] = con.execute("SELECT count(*) FROM feedback f WHERE feedback_id LIKE 'soak-fb-%' AND NOT EXISTS "
                                   "(SELECT 1 FROM predictions__ticket_classifier p WHERE p.prediction_id = f.prediction_id)"
                                   ).fetchall()
    finally:
        con.close()
    assert preds == distinct == counts["predictions_acknowledged"]
    assert feedback == counts["feedback_acknowledged"] and orphans == 0  # feedback only for acknowledged predictions
    # the server's own log: JSON lines, its monitoring passes among them
    lines = [json.loads(line) for line in (folder / "server.log").read_text(encoding="utf-8").splitlines()]
    assert sum(line.get("event") == "monitoring_cycle" for line in lines) == summary["monitoring_passes"]["count"]
    assert sum(line["logger"] == "modelsteward.access" for line in lines) == summary["server"]["shutdown"]["requests_served"]
