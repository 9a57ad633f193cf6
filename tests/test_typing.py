"""The package type-checks (it ships ``py.typed``, so its users' type checkers read these hints)."""

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[1]


def test_package_type_checks():
    stdout, stderr, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "src" / "modelsteward")])
    assert status == 0, stdout + stderr
