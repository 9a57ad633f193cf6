"""Binning inside the engine: the SQL twin of :func:`modelsteward.drift.psi.bin_counts`.

Bins are right-closed: with inner edges ``e1 < e2 < ... < ek`` bin 0 is ``(-inf, e1]``, bin i
is ``(ei, ei+1]`` and bin k is ``(ek, inf)``.

>>> bin_index_sql('"x"', [1.0, 2.0])
('CASE WHEN "x" <= ? THEN 0 WHEN "x" <= ? THEN 1 ELSE 2 END', [1.0, 2.0])
"""

from __future__ import annotations

__all__ = ["bin_index_sql"]


def bin_index_sql(column_sql: str, edges: list[float]) -> tuple[str, list[float]]:
    """A SQL expression giving each value's bin number, and its parameters (the edges)."""
    if not edges:
        return "0", []
    cases = " ".join(f"WHEN {column_sql} <= ? THEN {i}" for i in range(len(edges)))
    return f"CASE {cases} ELSE {len(edges)} END", [float(e) for e in edges]
