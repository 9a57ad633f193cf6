"""The configuration reference in docs/ is generated from the schema and complete."""

from pathlib import Path

from modelsteward.config_docs import SECTIONS, configuration_reference, undocumented_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_has_a_description():
    assert undocumented_settings() == []


def test_docs_configuration_md_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == configuration_reference(), (
        "docs/configuration.md is stale: run `python -m modelsteward.config_docs > docs/configuration.md`"
    )


def test_every_setting_appears_in_the_reference():
    text = configuration_reference()
    for _, model in SECTIONS:
        for name, info in model.model_fields.items():
            assert f"| `{info.alias or name}` |" in text, f"{model.__name__}.{name} missing"
