"""steward.yaml loading and validation: every refusal names the file, the key path and what was expected."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from modelsteward.config import AlertRule, StewardConfig, config_error_from_pydantic, load_config, parse_duration
from modelsteward.errors import ConfigError, NotFoundError

Mutation = Callable[[dict[str, Any]], None]


def _base() -> dict[str, Any]:
    """A valid file: one binary model, a categorical and a numeric feature, two alert rules."""
    return {
        "version": 1,
        "store": "data/steward.duckdb",
        "models": [
            {
                "name": "tickets",
                "task": "binary",
                "labels": ["urgent", "routine"],
                "features": [
                    {"name": "category", "type": "categorical", "categories": ["technical", "other"]},
                    {"name": "length", "type": "numeric"},
                ],
                "alerts": [
                    {"name": "accuracy_drop", "metric": "accuracy", "condition": {"kind": "below", "value": 0.85}},
                    {"name": "slow", "metric": "latency_p95", "condition": {"kind": "above", "value": 500}, "severity": "medium"},
                ],
            }
        ],
    }


def _write(tmp_path: Path, data: Any, name: str = "steward.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _load_error(tmp_path: Path, data: Any) -> tuple[Path, ConfigError]:
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return path, info.value


def _mutated(mutation: Mutation) -> dict[str, Any]:
    data = _base()
    mutation(data)
    return data


def _model(d: dict[str, Any]) -> dict[str, Any]:
    return d["models"][0]


# ----------------------------------------------------------------------------------------- accepting


def test_base_file_loads_and_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = _write(sub, _base())
    cfg = load_config(path)
    assert cfg.store == str((sub / "data" / "steward.duckdb").resolve())
    m = cfg.model("tickets")
    assert [f.name for f in m.features] == ["category", "length"]
    assert [r.name for r in m.alerts] == ["accuracy_drop", "slow"]
    # defaults filled in
    assert m.window == "week" and m.ground_truth.priority == ["expert", "explicit", "outcome", "implicit"]
    assert m.alerts[0].severity == "medium" and m.alerts[0].for_windows == 1


def test_shipped_example_validates_without_its_reference_file(tmp_path: Path) -> None:
    source = resources.files("modelsteward") / "templates" / "steward.yaml"
    text = source.read_text(encoding="utf-8")
    path = _write(tmp_path, text)
    assert not (tmp_path / "training.parquet").exists()
    cfg = load_config(path)
    raw = yaml.safe_load(text)
    m = cfg.model()
    assert m.name == raw["models"][0]["name"] == "ticket-classifier"
    # the reference file is resolved against the file's folder, not the working directory
    assert m.reference is not None and m.reference.file == str((tmp_path / "training.parquet").resolve())
    assert cfg.store == str((tmp_path / "steward.duckdb").resolve())
    # every alert of the file is there, with severities normalised
    assert [r.name for r in m.alerts] == [a["name"] for a in raw["models"][0]["alerts"]]
    assert {r.severity for r in m.alerts} <= {"critical", "high", "medium", "low", "info"}
    assert [r.name for r in m.alerts if r.retrain] == ["retrain_accuracy_below_85", "retrain_confidence_drift"]
    for_two = [r for r in m.alerts if r.name == "retrain_accuracy_below_85"][0]
    assert for_two.for_windows == 2  # `for:` is read through its alias


def test_shipped_example_also_validates_in_place() -> None:
    with resources.as_file(resources.files("modelsteward") / "templates" / "steward.yaml") as path:
        cfg = load_config(path)
    assert cfg.model().reference is not None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("P0", "critical"),
        ("P1", "high"),
        ("p2", "medium"),
        ("P3", "low"),
        ("P4", "info"),
        (" High ", "high"),
        ("critical", "critical"),
        ("INFO", "info"),
    ],
)
def test_severity_aliases(given: str, expected: str) -> None:
    rule = AlertRule.model_validate({"name": "r", "metric": "volume", "condition": {"kind": "above", "value": 1}, "severity": given})
    assert rule.severity == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("30 min", 1800),
        ("45 minutes", 2700),
        ("1h", 3600),
        ("24 hours", 86400),
        ("1.5h", 5400),
        ("3d", 259200),
        ("1 day", 86400),
        ("2w", 1209600),
        ("1 week", 604800),
        ("2H", 7200),
        ("next business day", 86400),
        ("Next Business Day", 86400),
        (90, 90),
        (2.5, 2.5),
    ],
)
def test_parse_duration_accepts(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["soon", "", "1y", "h", "1 fortnight", "-1h", "1h30m", "1 hour ago"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("sla", ["1h", "24h", "next business day", "15m", "3d"])
def test_alert_response_sla_accepts_durations(tmp_path: Path, sla: str) -> None:
    data = _base()
    _model(data)["alerts"][0]["response_sla"] = sla
    assert load_config(_write(tmp_path, data)).model().alerts[0].response_sla == sla


@pytest.mark.parametrize(
    "metric",
    [
        "accuracy",
        "volume",
        "latency_p95",
        "error_rate",
        "precision.urgent",
        "recall.routine",
        "f1.urgent",
        "class_share.routine",
        "label_share.urgent",
        "feature.category.share.technical",
        "feature.length.mean",
        "feature.length.missing_rate",
        "feature.category.unseen_rate",
        "feature.confidence.mean",
        "drift.length.ks_p_value",
        "drift.length.psi",
        "drift.category.chi2_p_value",
        "drift.category.max_share_change_pp",
        "drift.confidence.ks_statistic",
        "drift.prediction.psi",
        "drift.label.chi2_p_value",
        "drift.features_drifted",
        "error_type_share.timeout",
    ],
)
def test_alert_metric_names_accepted(tmp_path: Path, metric: str) -> None:
    data = _base()
    _model(data)["alerts"][0]["metric"] = metric
    assert load_config(_write(tmp_path, data)).model().alerts[0].metric == metric


def test_model_lookup() -> None:
    data = _base()
    data["models"].append({**copy.deepcopy(_model(data)), "name": "other"})
    cfg = StewardConfig.model_validate(data)
    assert cfg.model("other").name == "other"
    with pytest.raises(NotFoundError, match="several models"):
        cfg.model()
    with pytest.raises(NotFoundError, match="unknown model 'nope'"):
        cfg.model("nope")


# ----------------------------------------------------------------------------------------- refusing

BAD: list[tuple[str, Mutation, str, str]] = [
    # (id, mutation, key path, fragment of what was expected)
    (
        "threshold_not_a_number",
        lambda d: _model(d)["alerts"][1]["condition"].update(value="high"),
        "models[0].alerts[1].condition.value",
        "valid number",
    ),
    ("feature_type", lambda d: _model(d)["features"][0].update(type="text"), "models[0].features[0].type", "'numeric' or 'categorical'"),
    (
        "second_feature_type",
        lambda d: _model(d)["features"][1].update(type="float"),
        "models[0].features[1].type",
        "'numeric' or 'categorical'",
    ),
    ("unknown_model_key", lambda d: _model(d).update(featurs=[]), "models[0].featurs", "unknown setting"),
    ("unknown_top_key", lambda d: d.update(modles=[]), "modles", "unknown setting"),
    (
        "unknown_condition_key",
        lambda d: _model(d)["alerts"][0]["condition"].update(threshold=1),
        "models[0].alerts[0].condition.threshold",
        "unknown setting",
    ),
    ("unknown_feature_key", lambda d: _model(d)["features"][1].update(unit="chars"), "models[0].features[1].unit", "unknown setting"),
    ("missing_task", lambda d: _model(d).pop("task"), "models[0].task", "required"),
    ("missing_labels", lambda d: _model(d).pop("labels"), "models[0].labels", "required"),
    ("missing_models", lambda d: d.pop("models"), "models", "required"),
    (
        "missing_condition_value",
        lambda d: _model(d)["alerts"][0]["condition"].pop("value"),
        "models[0].alerts[0].condition.value",
        "required",
    ),
    ("missing_rule_metric", lambda d: _model(d)["alerts"][1].pop("metric"), "models[0].alerts[1].metric", "required"),
    ("no_models", lambda d: d.update(models=[]), "models", "at least 1"),
    ("version", lambda d: d.update(version=2), "version", "1"),
    ("condition_kind", lambda d: _model(d)["alerts"][0]["condition"].update(kind="sideways"), "models[0].alerts[0].condition", "below"),
    (
        "unknown_metric",
        lambda d: _model(d)["alerts"][1].update(metric="accurasy"),
        "models[0].alerts[1].metric",
        "unknown metric 'accurasy'",
    ),
    (
        "metric_unknown_label",
        lambda d: _model(d)["alerts"][0].update(metric="precision.spam"),
        "models[0].alerts[0].metric",
        "not in the model's labels",
    ),
    (
        "metric_unknown_feature",
        lambda d: _model(d)["alerts"][0].update(metric="feature.colour.mean"),
        "models[0].alerts[0].metric",
        "unknown feature 'colour'",
    ),
    (
        "metric_mean_of_categorical",
        lambda d: _model(d)["alerts"][1].update(metric="feature.category.mean"),
        "models[0].alerts[1].metric",
        "categorical",
    ),
    (
        "metric_share_of_numeric",
        lambda d: _model(d)["alerts"][0].update(metric="feature.length.share.x"),
        "models[0].alerts[0].metric",
        "numeric",
    ),
    (
        "metric_drift_stat_mismatch",
        lambda d: _model(d)["alerts"][0].update(metric="drift.category.ks_p_value"),
        "models[0].alerts[0].metric",
        "drift.category.chi2_p_value",
    ),
    ("severity", lambda d: _model(d)["alerts"][0].update(severity="P9"), "models[0].alerts[0].severity", "critical, high"),
    ("response_sla", lambda d: _model(d)["alerts"][1].update(response_sla="soon"), "models[0].alerts[1].response_sla", "duration"),
    ("for_zero", lambda d: _model(d)["alerts"][0].update({"for": 0}), "models[0].alerts[0].for", "greater than or equal to 1"),
    (
        "band_order",
        lambda d: _model(d)["alerts"][0].update(condition={"kind": "outside_band", "lower": 2, "upper": 1}),
        "models[0].alerts[0].condition",
        "`lower` must be less than `upper`",
    ),
    ("binary_three_labels", lambda d: _model(d).update(labels=["a", "b", "c"]), "models[0].labels", "exactly 2 labels"),
    ("labels_repeat", lambda d: _model(d).update(task="multiclass", labels=["a", "b", "a"]), "models[0].labels", "must not repeat"),
    ("positive_label", lambda d: _model(d).update(positive_label="spam"), "models[0].positive_label", "not in `labels`"),
    (
        "duplicate_feature",
        lambda d: _model(d)["features"].append({"name": "category", "type": "categorical"}),
        "models[0].features[2].name",
        "unique",
    ),
    ("duplicate_rule", lambda d: _model(d)["alerts"].append(copy.deepcopy(_model(d)["alerts"][0])), "models[0].alerts[2].name", "unique"),
    ("duplicate_model", lambda d: d["models"].append(copy.deepcopy(_model(d))), "models[1].name", "unique"),
    (
        "models_share_tables",
        lambda d: d["models"].extend([{**copy.deepcopy(_model(d)), "name": "a-b"}, {**copy.deepcopy(_model(d)), "name": "a_b"}]),
        "models[2].name",
        "differ only in '-'",
    ),
    (
        "feature_named_confidence",
        lambda d: _model(d)["features"][1].update(name="confidence"),
        "models[0].features[1].name",
        "monitored already",
    ),
    ("feature_named_error", lambda d: _model(d)["features"][0].update(name="error"), "models[0].features[0].name", "reserved"),
    ("feature_named_prediction", lambda d: _model(d)["features"][0].update(name="prediction"), "models[0].features[0].name", "reserved"),
    ("feature_name_upper", lambda d: _model(d)["features"][0].update(name="Category"), "models[0].features[0].name", "lower case"),
    (
        "feature_name_trailing_newline",
        lambda d: _model(d)["features"][0].update(name="category\n"),
        "models[0].features[0].name",
        "lower case",
    ),
    (
        "categories_on_numeric",
        lambda d: _model(d)["features"][1].update(categories=["a"]),
        "models[0].features[1]",
        "only allowed on a categorical",
    ),
    ("model_name_sql", lambda d: _model(d).update(name='x"; DROP TABLE models; --'), "models[0].name", "lower case"),
    ("model_name_trailing_newline", lambda d: _model(d).update(name="tickets\n"), "models[0].name", "lower case"),
    ("model_name_too_long", lambda d: _model(d).update(name="m" * 64), "models[0].name", "at most 63"),
    (
        "low_confidence_threshold",
        lambda d: _model(d).update(low_confidence_threshold=1.5),
        "models[0].low_confidence_threshold",
        "less than 1",
    ),
    ("window", lambda d: _model(d).update(window="month"), "models[0].window", "'hour', 'day' or 'week'"),
    (
        "priority_repeat",
        lambda d: _model(d).update(ground_truth={"priority": ["expert", "expert"]}),
        "models[0].ground_truth.priority",
        "once",
    ),
    (
        "priority_unknown_source",
        lambda d: _model(d).update(ground_truth={"priority": ["expert", "oracle"]}),
        "models[0].ground_truth.priority[1]",
        "expert",
    ),
    (
        "reference_both",
        lambda d: _model(d).update(reference={"file": "t.csv", "start": "2026-01-01", "end": "2026-02-01"}),
        "models[0].reference",
        "either `file` or `start`/`end`",
    ),
    ("drift_bins", lambda d: _model(d).update(drift={"bins": 1}), "models[0].drift.bins", "greater than or equal to 2"),
    (
        "baseline_unknown_metric",
        lambda d: _model(d).update(reference={"file": "t.csv", "baselines": {"acuracy": 0.88}}),
        "models[0].reference.baselines",
        "'acuracy': unknown metric",
    ),
]


@pytest.mark.parametrize(("mutation", "key_path", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_file_names_file_key_path_and_expectation(tmp_path: Path, mutation: Mutation, key_path: str, expected: str) -> None:
    path, err = _load_error(tmp_path, _mutated(mutation))
    assert err.file == str(path)
    assert err.path == key_path
    assert expected in err.detail
    text = str(err)
    assert text.startswith(f"{path}: {key_path}: ")
    assert err.to_dict()["file"] == str(path) and err.to_dict()["path"] == key_path
    assert err.to_dict()["error"] == "config_error"


def test_several_problems_are_all_mentioned(tmp_path: Path) -> None:
    def two(d: dict[str, Any]) -> None:
        _model(d)["features"][0]["type"] = "text"
        _model(d)["alerts"][1]["condition"]["value"] = "high"

    _, err = _load_error(tmp_path, _mutated(two))
    assert err.path == "models[0].features[0].type"
    assert "models[0].alerts[1].condition.value" in err.detail


def test_validation_without_a_file_still_names_the_key_path() -> None:
    from pydantic import ValidationError as PydanticValidationError

    data = _mutated(lambda d: _model(d)["features"][0].update(type="text"))
    with pytest.raises(PydanticValidationError) as info:
        StewardConfig.model_validate(data)
    err = config_error_from_pydantic(info.value, None)
    assert err.file is None and err.path == "models[0].features[0].type"
    assert str(err).startswith("models[0].features[0].type: ")


def test_invalid_yaml_gives_the_line(tmp_path: Path) -> None:
    text = "version: 1\nmodels:\n  - name: tickets\n    labels: [urgent, routine\n    task: binary\n"
    path, err = _load_error(tmp_path, text)
    assert err.file == str(path)
    # PyYAML reports the flow sequence left open at the line where it notices (line 5)
    assert err.path is not None and err.path.startswith("line 5,")
    assert "not valid YAML" in err.detail


def test_invalid_yaml_tab_indentation_gives_the_line(tmp_path: Path) -> None:
    text = "version: 1\nmodels:\n\t- name: tickets\n"
    _, err = _load_error(tmp_path, text)
    assert err.path is not None and err.path.startswith("line 3,")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text\n"])
def test_file_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    path, err = _load_error(tmp_path, text)
    assert err.file == str(path) and "mapping" in err.detail


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found") as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")
    assert info.value.hint and "steward init" in info.value.hint


def test_baselines_of_known_metrics_accepted(tmp_path: Path) -> None:
    data = _base()
    baselines = {"accuracy": 0.88, "precision.urgent": 0.8, "feature.category.share.technical": 0.4, "volume": 200.0}
    _model(data)["reference"] = {"file": "train.parquet", "baselines": baselines}
    assert load_config(_write(tmp_path, data)).model().reference.baselines == baselines  # type: ignore[union-attr]


def test_store_url_is_left_alone(tmp_path: Path) -> None:
    data = _base()
    data["store"] = "postgresql://host/db"
    assert load_config(_write(tmp_path, data)).store == "postgresql://host/db"


def test_absolute_reference_file_is_kept(tmp_path: Path) -> None:
    data = _base()
    target = tmp_path / "elsewhere" / "train.csv"
    _model(data)["reference"] = {"file": str(target)}
    assert load_config(_write(tmp_path, data)).model().reference.file == str(target)  # type: ignore[union-attr]


def test_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "models:\n"
        "  - name: tickets\n"
        "    task: binary\n"
        "    labels: [urgent, routine]\n"
        "    window: day\n"
        "    window: week\n"
    )
    path, err = _load_error(tmp_path, text)
    assert err.file == str(path)
    assert err.path is not None and err.path.startswith("line 7,")
    assert "'window' is given twice" in err.detail
    # the same keys in different mappings are fine
    ok = "version: 1\nmodels:\n  - {name: a, task: binary, labels: [x, y]}\n  - {name: b, task: binary, labels: [x, y]}\n"
    assert [m.name for m in load_config(_write(tmp_path, ok, "ok.yaml")).models] == ["a", "b"]


def test_yaml_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = (
        "version: 1\n"
        "models:\n"
        "  - &base {name: a, task: binary, labels: [x, y], window: day}\n"
        "  - <<: *base\n"
        "    name: b\n"
    )
    cfg = load_config(_write(tmp_path, text))
    assert [(m.name, m.window) for m in cfg.models] == [("a", "day"), ("b", "day")]
