"""The `retraining:` and `feedback:` sections of steward.yaml: refusals name the key path and what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from modelsteward.config import DriftTrigger, ScheduleTrigger, load_config
from modelsteward.errors import ConfigError

from .conftest import template


def _write(tmp_path: Path, retraining: dict[str, Any] | None = None, **model: Any) -> Path:
    doc = template()
    if retraining is not None:
        doc["models"][0]["retraining"] = retraining
    doc["models"][0].update(model)
    path = tmp_path / "steward.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_template_declares_the_quarterly_retrain_and_the_review_plan(tmp_path: Path) -> None:
    m = load_config(_write(tmp_path)).model()
    assert m.retraining is not None
    (quarterly,) = m.retraining.triggers
    assert isinstance(quarterly, ScheduleTrigger) and quarterly.cron == "quarterly"
    assert Path(m.retraining.export_dir) == tmp_path / "retrain-exports"  # relative to the config file
    assert (m.feedback.expert_review.weekly_sample, m.feedback.orphan_after) == (50, "24h")


@pytest.mark.parametrize("trigger,path,words", [
    ({"name": "x", "kind": "sometimes"}, "retraining.triggers[0]", "'metric', 'drift', 'schedule'"),
    ({"name": "x", "kind": "schedule", "cron": "0 25 * * *"}, "retraining.triggers[0].cron", "hour '25' must lie within 0-23"),
    ({"name": "x", "kind": "drift", "test": "psi"}, "retraining.triggers[0].test", "not a drift test with a p-value"),
    ({"name": "x", "kind": "drift", "subjects": ["colour"]}, "retraining.triggers[0].subjects", "unknown subject 'colour'"),
    ({"name": "x", "kind": "metric", "metric": "acuracy", "condition": {"kind": "below", "value": 1}}, "retraining.triggers[0].metric",
     "unknown metric 'acuracy'"),
    ({"name": "retrain_accuracy_below_85", "kind": "schedule", "cron": "@monthly"}, "retraining.triggers[0].name", "already the name"),
    ({"name": "x", "kind": "schedule", "cron": "@monthly", "cooldown": "soon"}, "retraining.triggers[0].cooldown", "expected a duration"),
])
def test_bad_triggers_name_the_key_path(tmp_path: Path, trigger: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, {"triggers": [trigger]}))
    assert err.value.path is not None and err.value.path.startswith(f"models[0].{path}")
    assert words in str(err.value)


def test_other_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="non-empty argument list"):
        load_config(_write(tmp_path, {"command": []}))
    with pytest.raises(ConfigError, match="http"):
        load_config(_write(tmp_path, {"webhook": {"url": "ftp://x"}}))
    with pytest.raises(ConfigError, match="orphan_after"):
        load_config(_write(tmp_path, None, feedback={"orphan_after": "a while"}))
    drift = load_config(_write(tmp_path, {"triggers": [{"name": "d", "kind": "drift"}]})).model().retraining.triggers[0]  # type: ignore[union-attr]
    assert isinstance(drift, DriftTrigger) and (drift.test, drift.p_value, drift.adjusted, drift.for_windows) == ("ks", 0.01, False, 1)
