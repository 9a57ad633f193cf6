"""The maintenance plan: every configured rule, threshold and owner appears; gaps are flagged; output is inert."""

from __future__ import annotations

import html.parser
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from markdown_it import MarkdownIt

from modelsteward.cli import main
from modelsteward.config import StewardConfig
from modelsteward.monitor import Monitor
from modelsteward.report.plan import build_plan, render_html, render_markdown

EVIL = "<script>alert(1)</script>"
T0 = datetime(2026, 1, 5, 9)  # a Monday

RULES: list[dict[str, Any]] = [
    {"name": "accuracy_drop", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "for": 2,
     "severity": "P1", "response_sla": "1h", "runbook": "https://runbooks.example/accuracy", "owner": "ml-team", "retrain": True},
    {"name": "latency_high", "metric": "latency_p95", "condition": {"kind": "above", "value": 500},
     "severity": "medium", "response_sla": "24h", "owner": "platform-team"},
    {"name": "volume_anomaly", "metric": "volume", "condition": {"kind": "outside_band", "lower": 0.5, "upper": 1.5},
     "severity": "low"},  # no owner, no SLA, no runbook: three gaps
    {"name": "share_shift", "metric": f"feature.category.share.{EVIL}", "condition": {"kind": "above", "value": 0.3},
     "severity": "info", "owner": EVIL, "response_sla": "next business day", "runbook": f"https://x.example/{EVIL}"},
]
# what a reader must find, computed from RULES by hand (not by the code under test)
THRESHOLDS = {"accuracy_drop": "< 0.85 for 2 windows", "latency_high": "> 500", "volume_anomaly": "outside 0.5-1.5 × baseline (reference)",
              "share_shift": "> 0.3"}
OWNERS = {"accuracy_drop": "ml-team", "latency_high": "platform-team", "share_shift": EVIL}
SEVERITIES = {"accuracy_drop": "high (P1)", "latency_high": "medium (P2)", "volume_anomaly": "low (P3)", "share_shift": "info (P4)"}


def config(**model: Any) -> StewardConfig:
    m = {"name": "tickets", "task": "binary", "labels": ["urgent", "routine"],
         "features": [{"name": "category", "type": "categorical"}], "alerts": RULES,
         "alerting": {"escalation": [{"level": "first_responder", "who": "ml-oncall"},
                                     {"level": "escalation", "who": "ml-lead", "after": "4h"}, {"level": "executive"}]}}
    m.update(model)
    return StewardConfig.model_validate({"models": [m]})


class _Text(html.parser.HTMLParser):
    """Visible text and tags of an HTML document, parsed independently of the renderer."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parsed(page: str) -> _Text:
    p = _Text()
    p.feed(page)
    return p


@pytest.fixture(params=["html", "md"])
def rendered(request: pytest.FixtureRequest) -> _Text:
    plan = build_plan(config(), None, now=T0)
    if request.param == "html":
        return parsed(render_html(plan))
    return parsed(MarkdownIt("commonmark").enable("table").render(render_markdown(plan)))


def test_every_rule_threshold_owner_severity_sla_runbook_appears(rendered: _Text) -> None:
    by_metric = {r[0]: r for r in rendered.rows if len(r) == 4}
    for rule in RULES:
        row = by_metric[rule["metric"]]
        assert row[1] == "Weekly" and row[2] == THRESHOLDS[rule["name"]]
        assert row[3] == OWNERS.get(rule["name"], f"⚠ gap: no owner set for rule {rule['name']}")
    alerting = {r[0]: r for r in rendered.rows if len(r) == 5 and r[0] in SEVERITIES}
    assert set(alerting) == {r["name"] for r in RULES}
    for rule in RULES:
        row = alerting[rule["name"]]
        assert row[1] == SEVERITIES[rule["name"]]
        assert row[2] == rule.get("response_sla", f"⚠ gap: no response SLA set for rule {rule['name']}")
        assert row[3] == rule.get("runbook", f"⚠ gap: no runbook set for rule {rule['name']}")


def test_gaps_are_flagged_and_listed(rendered: _Text) -> None:
    text = "".join(rendered.text)
    for gap in ("no owner set for model tickets", "no owner set for rule volume_anomaly", "no response SLA set for rule volume_anomaly",
                "no runbook set for rule volume_anomaly", "no one set for escalation step executive",
                "no scheduled retraining configured for model tickets", "no predictions stored yet"):
        assert f"⚠ gap: {gap}" in text
    assert "no owner set for rule accuracy_drop" not in text  # configured: not a gap
    # escalation path, from the configuration
    assert "First responder: ml-oncall" in text and "Escalation: ml-lead" in text and "after 4h unanswered" in text


def test_output_is_inert(rendered: _Text) -> None:
    assert "script" not in rendered.tags
    assert EVIL in "".join(rendered.text)  # shown as text, not run


def test_a_model_owner_fills_rule_owners_and_the_first_step() -> None:
    plan = build_plan(config(owner="support-ml", alerting={"escalation": [{"level": "first_responder"}]}), None, now=T0)
    m = plan.models[0]
    assert {r.rule: r.owner for r in m.monitoring}["volume_anomaly"] == "support-ml"
    assert m.escalation[0].who == "support-ml"


def test_no_rules_no_escalation_no_notifications_are_gaps() -> None:
    plan = build_plan(config(alerts=[]), None, now=T0)
    text = render_markdown(plan)
    assert "⚠ gap: no alert rules configured for model tickets" in text
    assert "⚠ gap: no retraining trigger configured for model tickets" in text
    assert "⚠ gap: no notifications section in the configuration" in text


def _filled_store(tmp_path: Path) -> Monitor:
    mon = Monitor(config(), store=tmp_path / "plan.duckdb")
    n = 40
    for i in range(n):
        mon.log_prediction(prediction_id=f"p{i}", features={"category": "billing"}, prediction="urgent", confidence=0.9,
                           timestamp=T0 + timedelta(minutes=i))
    for i in range(0, n, 8):   # 5 of 40 predictions get explicit feedback, one of them twice
        mon.log_feedback(f"p{i}", kind="explicit", label="routine", timestamp=T0 + timedelta(hours=1))
    mon.log_feedback("p0", kind="explicit", label="urgent", timestamp=T0 + timedelta(hours=2))
    for i in range(n):         # implicit on all
        mon.log_feedback(f"p{i}", kind="implicit", action="accepted", timestamp=T0 + timedelta(hours=1))
    for i in range(10):        # outcome on 10
        mon.log_feedback(f"p{i}", kind="outcome", escalated=False, timestamp=T0 + timedelta(days=1))
    return mon


def test_measured_collection_rates_from_the_feedback_table(tmp_path: Path) -> None:
    mon = _filled_store(tmp_path)
    mon.store.query("DELETE FROM window_metrics")  # force the computation from the feedback table
    m = build_plan(mon.config, mon.store, now=T0).models[0]
    rates = {r.source: r.measured for r in m.feedback}
    assert rates["explicit"] == f"{5 / 40:.1%}" and rates["implicit"] == f"{40 / 40:.1%}" and rates["outcome"] == f"{10 / 40:.1%}"
    assert str(rates["expert"]).startswith("⚠ gap: no expert feedback collected")
    assert m.feedback[0].basis == "all 40 stored predictions"


def test_stored_window_rates_are_preferred(tmp_path: Path) -> None:
    mon = _filled_store(tmp_path)
    mon.store.query("DELETE FROM window_metrics")
    for start, value in ((T0 - timedelta(days=7), 0.5), (T0, 0.0625)):
        mon.store.query("INSERT INTO window_metrics VALUES ('tickets', ?, ?, 'feedback.explicit_rate', ?, ?)",
                        [start, start + timedelta(days=7), value, T0])
    m = build_plan(mon.config, mon.store, now=T0).models[0]
    [row] = [r for r in m.feedback if r.source == "explicit"]
    assert (row.source, row.measured) == ("explicit", "6.2%")  # the latest window's 0.0625, not the older 0.5
    assert row.basis.startswith(f"window {T0:%Y-%m-%d}")


def test_last_firing_from_retrain_requests_and_its_absence(tmp_path: Path) -> None:
    mon = _filled_store(tmp_path)
    store = mon.store
    fired_at = datetime(2026, 2, 2, 6, 0)
    cols = [r[0] for r in store.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'retrain_requests' "
                                      "ORDER BY ordinal_position")]
    assert {"trigger_name", "created_at", "model"} <= set(cols)
    values = {c: None for c in cols} | {
        "request_id": "r1", "model": "tickets", "trigger_name": "accuracy_drop", "kind": "rule", "dedup_key": "k1", "reason": "test",
        "evidence": "{}", "as_of": fired_at, "labels_total": 0, "new_labels": 0, "status": "open", "actions": "[]", "created_at": fired_at}
    store.query(f"INSERT INTO retrain_requests ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", [values[c] for c in cols])
    m = build_plan(mon.config, store, now=T0).models[0]
    [trigger] = [r for r in m.retraining if r.name == "accuracy_drop"]
    assert trigger.last_fired == "2026-02-02 06:00"
    store.query("DROP TABLE retrain_requests")
    m = build_plan(mon.config, store, now=T0).models[0]
    [trigger] = [r for r in m.retraining if r.name == "accuracy_drop"]
    assert trigger.last_fired == "never"


def test_cli_writes_both_formats(tmp_path: Path) -> None:
    cfg_path = tmp_path / "steward.yaml"
    cfg_path.write_text(
        "store: s.duckdb\nmodels:\n- name: tickets\n  task: binary\n  labels: [urgent, routine]\n  alerts:\n"
        "  - {name: accuracy_drop, metric: accuracy, condition: {kind: below, value: 0.85}, severity: P1, owner: ml-team}\n")
    runner = CliRunner()
    md = runner.invoke(main, ["plan", "-c", str(cfg_path)])
    assert md.exit_code == 0, md.output
    assert "# AI System Maintenance Plan" in md.output and "| accuracy | Weekly | < 0.85 | ml-team |" in md.output
    res = runner.invoke(main, ["plan", "-c", str(cfg_path), "--format", "html", "--out", str(tmp_path / "plan.html")])
    assert res.exit_code == 0, res.output
    assert re.search(r"wrote .*plan\.html \(1 model\(s\), \d+ gap\(s\) to fill\)", res.output.replace("\n", ""))
    page = parsed((tmp_path / "plan.html").read_text())
    assert ["accuracy", "Weekly", "< 0.85", "ml-team"] in page.rows


def test_retraining_triggers_and_schedule_with_their_last_firing(tmp_path: Path) -> None:
    cfg = config(retraining={"triggers": [
        {"kind": "schedule", "name": "quarterly_retrain", "cron": "quarterly"},
        {"kind": "metric", "name": "accuracy_two_weeks", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}, "for": 2},
        {"kind": "drift", "name": "ks_drift", "test": "ks", "p_value": 0.01, "subjects": ["category"]}]})
    mon = Monitor(cfg, store=tmp_path / "r.duckdb")
    cols = [r[0] for r in mon.store.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'retrain_requests' "
                                          "ORDER BY ordinal_position")]
    tick = datetime(2026, 4, 1)
    values = {c: None for c in cols} | {
        "request_id": "r2", "model": "tickets", "trigger_name": "quarterly_retrain", "kind": "schedule", "dedup_key": "q2",
        "reason": "tick", "evidence": "{}", "as_of": tick, "labels_total": 0, "new_labels": 0, "status": "open", "actions": "[]",
        "created_at": tick}
    mon.store.query(f"INSERT INTO retrain_requests ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", [values[c] for c in cols])
    m = build_plan(mon.config, mon.store, now=T0).models[0]
    rows = {r.name: r for r in m.retraining}
    assert (rows["quarterly_retrain"].kind, rows["quarterly_retrain"].when, rows["quarterly_retrain"].last_fired) == (
        "scheduled", "cron quarterly (UTC)", "2026-04-01 00:00")
    assert (rows["accuracy_two_weeks"].when, rows["accuracy_two_weeks"].last_fired) == ("accuracy < 0.85 for 2 windows", "never")
    assert rows["ks_drift"].when == "ks p-value < 0.01 on category"
    assert rows["accuracy_drop"].kind == "trigger"  # the alert rule with retrain: true
    text = render_markdown(build_plan(mon.config, mon.store, now=T0))
    assert "no scheduled retraining" not in text and "Scheduled: quarterly_retrain" in text
