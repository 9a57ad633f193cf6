"""The command line, through click's runner: exit codes, --json output, errors people can act on."""

import json
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
import yaml
from click.testing import CliRunner

from modelsteward.cli import main

START = datetime(2026, 3, 2)  # a Monday


def config_text(store: str) -> str:
    return yaml.safe_dump({
        "store": store,
        "models": [{
            "name": "clf", "task": "multiclass", "labels": ["a", "b", "c"], "window": "day",
            "features": [{"name": "size", "type": "numeric"}, {"name": "kind", "type": "categorical"}],
            "reference": {"file": "ref.csv"},
            "alerts": [
                {"name": "acc_low", "metric": "accuracy", "condition": {"kind": "below", "value": 0.5}, "severity": "high"},
                {"name": "conf_low", "metric": "mean_confidence", "condition": {"kind": "below", "value": 0.2}, "severity": "low"},
            ],
        }],
    })


@pytest.fixture
def project(tmp_path):
    rng = np.random.default_rng(7)
    n = 300
    pacsv.write_csv(pa.table({"size": rng.normal(10, 2, n), "kind": rng.choice(["x", "y"], n),
                              "confidence": rng.uniform(0.5, 1, n)}), tmp_path / "ref.csv")
    (tmp_path / "steward.yaml").write_text(config_text("store.duckdb"))
    ts = [START + timedelta(minutes=10 * i) for i in range(n)]  # two days and a bit
    preds = rng.choice(["a", "b", "c"], n)
    pacsv.write_csv(pa.table({
        "id": [f"p{i}" for i in range(n)], "ts": pa.array(ts, pa.timestamp("us")), "prediction": preds,
        "confidence": rng.uniform(0.5, 1, n), "size": rng.normal(10, 2, n), "kind": rng.choice(["x", "y"], n),
        "tier": rng.choice(["gold", "basic"], n),
    }), tmp_path / "preds.csv")
    # Feedback: every prediction corrected to "a" -> accuracy = share of "a" predictions (about 1/3, below 0.5)
    pacsv.write_csv(pa.table({"prediction_id": [f"p{i}" for i in range(n)], "kind": ["explicit"] * n, "label": ["a"] * n}),
                    tmp_path / "feedback.csv")
    return tmp_path, preds


def test_init_writes_a_valid_example_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "steward.yaml"
    r = CliRunner().invoke(main, ["init", str(target)])
    assert r.exit_code == 0 and target.exists()
    r = CliRunner().invoke(main, ["validate", "-c", str(target), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["ok"] is True and doc["models"][0]["model"] == "ticket-classifier"
    assert doc["models"][0]["alert_rules"] == 12
    r = CliRunner().invoke(main, ["init", str(target)])
    assert r.exit_code == 2


def test_validate_names_file_key_path_and_expectation(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(config_text("s.duckdb").replace("type: numeric", "type: number"))
    r = CliRunner().invoke(main, ["validate", "-c", str(bad), "--json"])
    assert r.exit_code == 2
    doc = json.loads(r.output)
    assert doc["ok"] is False and doc["file"] == str(bad)
    assert doc["path"] == "models[0].features[0].type"
    assert "numeric" in doc["message"] and "categorical" in doc["message"]


def test_ingest_check_and_reports(project):
    folder, preds = project
    cfg = str(folder / "steward.yaml")
    r = CliRunner().invoke(main, ["ingest", str(folder / "preds.csv"), "-c", cfg, "--map", "id=prediction_id",
                                  "--map", "ts=timestamp", "--attribute", "tier", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["inserted"] == 300
    # The same file again: idempotent.
    r = CliRunner().invoke(main, ["ingest", str(folder / "preds.csv"), "-c", cfg, "--map", "id=prediction_id",
                                  "--map", "ts=timestamp", "--attribute", "tier", "--json"])
    assert json.loads(r.output)["duplicates"] == 300
    r = CliRunner().invoke(main, ["ingest", str(folder / "feedback.csv"), "-c", cfg, "--feedback", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["inserted"] == 300

    until = (START + timedelta(days=3)).isoformat()
    r = CliRunner().invoke(main, ["check", "-c", cfg, "--until", until, "--fail-on", "never", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    fired = {(a["rule"], a["window_start"][:10]) for a in doc["models"][0]["new_alerts"]}
    # Independently: accuracy per day = share of predictions equal to "a".
    days = {}
    for i, p in enumerate(preds):
        day = (START + timedelta(minutes=10 * i)).date().isoformat()
        days.setdefault(day, []).append(p == "a")
    complete = [d for d in days if d < (START + timedelta(days=3)).date().isoformat()]
    assert {d for rule, d in fired if rule == "acc_low"} == {d for d in complete if np.mean(days[d]) < 0.5}
    assert not any(rule == "conf_low" for rule, _ in fired)  # confidence is never below 0.2

    r = CliRunner().invoke(main, ["metrics", "-c", cfg, "--json"])
    windows = json.loads(r.output)
    assert [w["window_start"][:10] for w in windows] == complete
    assert [w["metrics"]["volume"] for w in windows] == [len(days[d]) for d in complete]
    assert windows[0]["metrics"]["accuracy"] == pytest.approx(np.mean(days[complete[0]]))

    r = CliRunner().invoke(main, ["alerts", "-c", cfg, "--json"])
    assert {(a["rule"], a["window_start"][:10]) for a in json.loads(r.output)} == fired
    r = CliRunner().invoke(main, ["drift", "-c", cfg, "--json"])
    subjects = {d["subject"] for d in json.loads(r.output) if d["test"] == "verdict"}
    assert {"size", "kind", "confidence"} <= subjects
    r = CliRunner().invoke(main, ["report", "-c", cfg, "-o", str(folder / "r.html")])
    assert r.exit_code == 0 and (folder / "r.html").stat().st_size > 1000


def test_check_exits_1_when_a_chosen_severity_fires(project):
    folder, _ = project
    cfg = str(folder / "steward.yaml")
    CliRunner().invoke(main, ["ingest", str(folder / "preds.csv"), "-c", cfg, "--map", "id=prediction_id", "--map", "ts=timestamp",
                              "--attribute", "tier"])
    CliRunner().invoke(main, ["ingest", str(folder / "feedback.csv"), "-c", cfg, "--feedback"])
    until = (START + timedelta(days=3)).isoformat()
    r = CliRunner().invoke(main, ["check", "-c", cfg, "--until", until, "--fail-on", "high"])
    assert r.exit_code == 1, r.output  # acc_low (high) fires
    # Nothing new on a second pass: nothing fires, exit 0.
    r = CliRunner().invoke(main, ["check", "-c", cfg, "--until", until, "--fail-on", "high"])
    assert r.exit_code == 0, r.output


def test_ingest_with_a_bad_row_writes_nothing_and_lists_it(project):
    folder, _ = project
    cfg = str(folder / "steward.yaml")
    text = (folder / "preds.csv").read_text().splitlines()
    cols = text[0].split(",")
    row = text[5].split(",")
    row[cols.index('"confidence"')] = "1.5"
    text[5] = ",".join(row)
    (folder / "bad.csv").write_text("\n".join(text) + "\n")
    r = CliRunner().invoke(main, ["ingest", str(folder / "bad.csv"), "-c", cfg, "--map", "id=prediction_id",
                                  "--map", "ts=timestamp", "--attribute", "tier", "--json"])
    assert r.exit_code == 2
    doc = json.loads(r.output)
    assert doc["ok"] is False
    assert [(e["index"], e["id"], e["field"]) for e in doc["rows"]] == [(4, "p4", "confidence")]
    from modelsteward import Monitor

    with Monitor(cfg) as mon:
        assert mon.count_predictions() == 0


def test_unknown_model_is_a_clear_error(project):
    folder, _ = project
    r = CliRunner().invoke(main, ["alerts", "-c", str(folder / "steward.yaml"), "-m", "nope"])
    assert r.exit_code == 2
    assert "unknown model 'nope'" in r.output and "clf" in r.output


def test_every_lazy_command_is_registered_by_its_module():
    import importlib

    from modelsteward.cli._register import LAZY_COMMANDS

    for name, module in LAZY_COMMANDS.items():
        importlib.import_module(module)
        assert name in main.commands, f"{module} does not register `steward {name}`"
        assert CliRunner().invoke(main, [name, "--help"]).exit_code == 0, name


def test_a_command_loads_only_what_it_uses():
    import subprocess
    import sys

    code = ("import sys; from modelsteward.cli import main; "
            "print(sorted(m for m in ('modelsteward.alerts.engine', 'modelsteward.review.queue', 'modelsteward.retrain.evaluate', "
            "'scipy.stats', 'sklearn') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_error_messages_keep_square_brackets(capsys):
    # key paths such as models[tickets].review must print as written, not be eaten as rich markup
    from modelsteward.cli import _fail
    from modelsteward.errors import ConfigError

    with pytest.raises(SystemExit) as exit_:
        _fail(ConfigError("models[tickets].review: unknown key [m]", hint="remove [m] or see docs/configuration.md"), False)
    assert exit_.value.code == 2
    printed = capsys.readouterr().err
    assert "models[tickets].review: unknown key [m]" in printed and "remove [m]" in printed
