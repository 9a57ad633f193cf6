"""The package has one public door: ``modelsteward.__all__`` is exactly the intended names."""

import modelsteward

INTENDED = {
    "AlertRule", "BatchRejected", "CheckReport", "ConfigError", "ConflictError", "DriftResult", "DuckDBStore",
    "Evaluation", "Feature", "IngestResult", "InsufficientDataError", "ModelConfig", "Monitor", "NotFoundError",
    "ReviewItem", "ReviewQueue", "ReviewSettings", "ReviewStateError", "RoutingDecision",
    "RowError", "StewardConfig", "StewardError", "StoreError", "ValidationError", "__version__", "load_config",
    "RetrainError", "RetrainRequest", "RetrainSettings", "request_retrain",
    "DeliveryError", "Dispatcher", "Notification",
    "AlertEngine", "AlertingSettings", "IncidentStateError", "Silence",
    "BackupError", "PostgresStore", "open_store",
}


def test_all_is_the_intended_public_api():
    assert set(modelsteward.__all__) == INTENDED


def test_all_is_sorted_and_importable():
    assert list(modelsteward.__all__) == sorted(modelsteward.__all__)
    for name in modelsteward.__all__:
        assert hasattr(modelsteward, name), name


def test_every_error_is_a_steward_error():
    for name in ("BatchRejected", "ConfigError", "ConflictError", "InsufficientDataError", "NotFoundError",
                 "StoreError", "ValidationError", "ReviewStateError", "RetrainError", "DeliveryError", "BackupError"):
        assert issubclass(getattr(modelsteward, name), modelsteward.StewardError)


def test_public_names_load_on_first_use_not_at_import():
    import subprocess
    import sys

    code = "import sys, modelsteward; print('modelsteward.monitor' in sys.modules, 'scipy' in sys.modules); modelsteward.Monitor; print('modelsteward.monitor' in sys.modules)"
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert lines == ["False", "False", "True"]


def test_unknown_names_raise_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Monitr'"):
        modelsteward.Monitr  # noqa: B018
