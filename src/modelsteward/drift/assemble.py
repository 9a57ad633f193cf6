"""Verdicts of a drift report from per-subject results, as :func:`~modelsteward.drift.window_drift.drift_of` gives them.

:func:`~modelsteward.drift.report.drift_report` computes each subject's tests from the files
itself (:mod:`~modelsteward.drift.file_stats`), then needs the window engine's correction and
verdicts: :func:`assemble` runs the same ``_finish`` and ``_inputs_verdict`` as ``drift_of``
(a test in ``tests/drift/test_report_engine.py`` checks that both give the same results on the
same data). :func:`categorical_test` runs the window engine's own categorical tests
on a DuckDB connection.
"""

from __future__ import annotations

from typing import Any, cast

from modelsteward.config import ModelConfig
from modelsteward.drift.window_drift import DriftResult, _categorical, _finish, _inputs_verdict, _Tested
from modelsteward.store.duckdb_store import DuckDBStore

__all__ = ["assemble", "categorical_test"]


class _Connection:
    """The one method of :class:`DuckDBStore` the window engine's categorical tests use."""

    def __init__(self, con: Any) -> None:
        self._con = con

    def query(self, sql: str, params: list[Any] | None = None) -> list[Any]:
        return cast(list[Any], self._con.execute(sql, params or []).fetchall())


def categorical_test(con: Any, model: ModelConfig, subject: str, ref_counts: dict[str, int], source: tuple[str, list[Any]],
                     column: str) -> _Tested | DriftResult:
    """The window engine's categorical tests of ``column`` in ``source`` against ``ref_counts``."""
    if not ref_counts:
        return DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with")
    return _categorical(cast(DuckDBStore, _Connection(con)), model, subject, column, ref_counts, source)


def assemble(model: ModelConfig, tested: list[_Tested], early: list[DriftResult]) -> list[DriftResult]:
    """Corrected per-test results, subject verdicts and the inputs' verdict (subject ``"inputs"``)."""
    results = early + _finish(tested, model)
    window = _inputs_verdict(results, model)
    return results if window is None else [*results, window]
