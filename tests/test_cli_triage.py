"""`steward triage`, and the diagnosis in `steward drift` and `steward check`, through click's runner."""

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from triage_stream import START, build_project

from modelsteward.cli import main


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp("triage_cli"))


def test_steward_triage_prints_the_ranking_and_its_json(project):
    tmp, _ = project
    cfg = str(tmp / "steward.yaml")
    r = CliRunner().invoke(main, ["triage", "-c", cfg], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "tier=enterprise" in r.output and "By channel" in r.output
    r = CliRunner().invoke(main, ["triage", "-c", cfg, "--by", "channel", "--json"])
    data = json.loads(r.output)
    assert data["ok"] and data["dimensions"] == ["channel"]
    assert data["window_start"] == (START + timedelta(weeks=1)).isoformat()  # the window with the alert
    assert {s["segment"] for s in data["segments"]["channel"]} == {"email", "chat"}


def test_steward_triage_says_what_to_do_for_a_numeric_dimension(project):
    tmp, _ = project
    r = CliRunner().invoke(main, ["triage", "-c", str(tmp / "steward.yaml"), "--by", "feature.nope", "--json"])
    assert r.exit_code == 2 and json.loads(r.output)["ok"] is False


def test_steward_drift_and_check_show_the_diagnosis(project):
    tmp, _ = project
    cfg = str(tmp / "steward.yaml")
    r = CliRunner().invoke(main, ["drift", "-c", cfg])
    assert r.exit_code == 0 and "diagnosis:" in r.output and "concept" in r.output
    r = CliRunner().invoke(main, ["check", "-c", cfg, "--all", "--json", "--until", (START + timedelta(weeks=2)).isoformat()])
    data = json.loads(r.output)
    diagnoses = data["models"][0]["diagnoses"]
    assert len(diagnoses) == 2 and set(diagnoses[1]["findings"]) == {"data", "concept", "label", "prediction"}
