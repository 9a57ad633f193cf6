"""``steward review`` through click's runner: list, claim, decide, stats, dry-run, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.monitor import Monitor

from .conftest import review_config


def setup(tmp_path: Path, n: int = 3) -> Path:
    cfg = review_config().model_dump(mode="json", by_alias=True, exclude_none=True)
    cfg["store"] = str(tmp_path / "steward.duckdb")
    path = tmp_path / "steward.yaml"
    path.write_text(yaml.safe_dump(cfg))
    with Monitor(path) as mon:
        for i in range(n):
            mon.log_prediction(prediction_id=f"t-{i}", prediction="billing", confidence=0.5,
                               attributes={"tier": "gold"} if i == 1 else None,
                               features={"category": "invoice", "length": 3.0})
            mon.route(f"t-{i}")
        mon.log_prediction(prediction_id="t-ok", prediction="billing", confidence=0.99)
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_claim_decide_list_and_stats(tmp_path: Path) -> None:
    cfg = str(setup(tmp_path))
    res = run("review", "claim", "-c", cfg, "--reviewer", "alice", "--json")
    assert res.exit_code == 0, res.output
    item = json.loads(res.output)["item"]
    assert item["prediction_id"] == "t-1" and item["priority"] == "high"  # the vip first
    human = run("review", "claim", "-c", cfg, "--reviewer", "bob")
    assert "suggestion: billing" in human.output and "why: confidence_below" in human.output
    res = run("review", "decide", item["item_id"], "correct", "-c", cfg, "--reviewer", "alice", "--label", "technical", "--json")
    decision = json.loads(res.output)["decision"]
    assert (decision["label"], decision["item_state"]) == ("technical", "decided")
    listed = json.loads(run("review", "list", "-c", cfg, "--json").output)
    assert {(i["prediction_id"], i["state"]) for i in listed} == {("t-0", "in_review"), ("t-1", "decided"), ("t-2", "pending")}
    stats = json.loads(run("review", "stats", "-c", cfg, "--json").output)
    assert stats["states"] == {"pending": 1, "in_review": 1, "decided": 1, "skipped": 0}
    assert {r["reviewer"]: r["decided"] for r in stats["reviewers"]} == {"alice": 1, "bob": 0}
    assert "Progress per reviewer" in run("review", "stats", "-c", cfg).output


def test_deciding_an_item_not_held_exits_2_with_what_to_do(tmp_path: Path) -> None:
    cfg = str(setup(tmp_path))
    items = json.loads(run("review", "list", "-c", cfg, "--json").output)
    res = CliRunner().invoke(main, ["review", "decide", items[0]["item_id"], "accept", "-c", cfg, "--reviewer", "alice"])
    assert res.exit_code == 2
    assert "is pending: nobody holds it" in res.output and "steward review claim --item" in res.output
    res = CliRunner().invoke(main, ["review", "decide", items[0]["item_id"], "accept", "-c", cfg, "--reviewer", "alice", "--json"])
    body = json.loads(res.output)
    assert res.exit_code == 2 and body["error"] == "review_state" and body["state"] == "pending"


def test_dry_run_reports_the_share_by_reason(tmp_path: Path) -> None:
    cfg = str(setup(tmp_path))
    data = json.loads(run("review", "dry-run", "-c", cfg, "--json").output)
    assert (data["total"], data["routed"]) == (4, 3) and data["share"] == 0.75
    assert data["by_reason"]["vip"]["routed"] == 1 and data["by_reason"]["confidence_below"]["routed"] == 3
    policy = tmp_path / "stricter.yaml"
    policy.write_text(yaml.safe_dump({"review": {"conditions": [{"kind": "confidence_below", "threshold": 0.4}]}}))
    other = json.loads(run("review", "dry-run", "-c", cfg, "--policy", str(policy), "--json").output)
    assert (other["total"], other["routed"]) == (4, 0)
    assert "would go to people (75.0%)" in run("review", "dry-run", "-c", cfg).output
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"review": {"conditions": [{"kind": "confidence_below", "threshold": 7}]}}))
    res = CliRunner().invoke(main, ["review", "dry-run", "-c", cfg, "--policy", str(bad)])
    assert res.exit_code == 2 and "conditions[0]" in res.output and "bad.yaml" in res.output
