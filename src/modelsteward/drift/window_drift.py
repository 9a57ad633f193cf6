"""Drift of one window against the reference, with summaries computed inside the engine.

Numeric subjects (numeric features and the confidence score):

- **Kolmogorov–Smirnov** two-sample test. The statistic is computed in SQL from the pooled
  empirical distribution functions (the same tie handling as ``scipy.stats.ks_2samp``); the
  p-value by :func:`~modelsteward.drift.ks.ks_pvalue`, equal to scipy's. Reference: Hodges
  (1958), "The significance probability of the Smirnov two-sample test".
- **PSI** over the reference's quantile bins (counts per bin computed in SQL).

Categorical subjects (categorical features, the predicted class, the ground-truth label):

- **Pearson's chi-square test of homogeneity** of reference against current counts, with
  Cramér's V; the **share change** of each category in percentage points; PSI.

Verdict per subject (stored as the ``verdict`` test): *drift* when the change is significant
(p below ``drift.p_value``) and practically large (PSI at least ``drift.psi_threshold`` for
numeric subjects; a category share moved by at least ``drift.share_change_pp`` points for
categorical ones); *small_change* when significant but below the effect threshold;
*no_drift* otherwise; *not_enough_data* when the window has fewer than ``drift.min_samples``
values; *no_reference* when the reference lacks the subject.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from modelsteward.config import ModelConfig
from modelsteward.drift.chi_square import chi_square_homogeneity, share_change
from modelsteward.drift.ks import ks_pvalue
from modelsteward.drift.psi import psi
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.metrics.binning import bin_index_sql
from modelsteward.reference import ReferenceProfile, categorical_subjects, numeric_subjects
from modelsteward.store.duckdb_store import DuckDBStore, quote_ident

__all__ = ["DriftResult", "window_drift"]


@dataclass(frozen=True)
class DriftResult:
    """One test of one subject in one window."""

    subject: str
    test: str
    status: str
    reading: str
    statistic: float | None = None
    p_value: float | None = None
    effect_size: float | None = None
    n_reference: int = 0
    n_current: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def ks_statistic_sql(store: DuckDBStore, ecdf_table: str, subject: str, cur_sql: str, cur_params: list[Any]) -> tuple[float, int, int]:
    """Two-sample KS statistic D of the stored reference ECDF against a window, in the engine.

    D is the largest gap between the two empirical distribution functions over the pooled
    values: at each of the window's distinct values (the reference's ECDF found by an ASOF join)
    and at each of the reference's (the window's ECDF likewise), exactly as
    ``scipy.stats.ks_2samp`` evaluates it, ties included.
    """
    row = store.query(
        f"""
        WITH ref AS (SELECT v, cum FROM {ecdf_table} WHERE subject = ?),
        cur AS (SELECT v, count(*) AS n FROM ({cur_sql}) c WHERE v IS NOT NULL GROUP BY v),
        cur_cum AS (SELECT v, sum(n) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM cur),
        totals AS (SELECT (SELECT max(cum) FROM ref) AS na, (SELECT sum(n) FROM cur) AS nb),
        at_cur AS (SELECT coalesce(r.cum, 0) AS ca, c.cum AS cb FROM cur_cum c ASOF LEFT JOIN ref r ON c.v >= r.v),
        at_ref AS (SELECT r.cum AS ca, coalesce(c.cum, 0) AS cb FROM ref r ASOF LEFT JOIN cur_cum c ON r.v >= c.v)
        SELECT max(abs(CAST(ca AS DOUBLE) / na - CAST(cb AS DOUBLE) / nb)), any_value(na), any_value(nb)
        FROM (SELECT * FROM at_cur UNION ALL SELECT * FROM at_ref), totals
        """,
        [subject, *cur_params],
    )[0]
    d, na, nb = row
    return (float(d) if d is not None else 0.0), int(na or 0), int(nb or 0)


def window_drift(
    store: DuckDBStore, model: ModelConfig, profile: ReferenceProfile, start: datetime, end: datetime
) -> list[DriftResult]:
    """Every drift test of the window ``[start, end)`` against the stored reference profile."""
    settings = model.drift
    table = DuckDBStore.predictions_table(model.name)
    results: list[DriftResult] = []

    for subject, column in numeric_subjects(model).items():
        ref = profile.numeric.get(subject)
        cur_sql = f"SELECT {quote_ident(column)} AS v FROM {table} WHERE ts >= ? AND ts < ?"
        if ref is None:
            results.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        n_cur = int(store.query(f"SELECT count(v) FROM ({cur_sql})", [start, end])[0][0])
        if n_cur < settings.min_samples:
            results.append(DriftResult(subject, "verdict", "not_enough_data",
                                       f"{n_cur} values in this window; at least {settings.min_samples} are needed to tell",
                                       n_reference=ref["n"], n_current=n_cur))
            continue
        d, n_ref, n_cur = ks_statistic_sql(store, DuckDBStore.reference_ecdf_table(model.name), subject, cur_sql, [start, end])
        p = ks_pvalue(d, n_ref, n_cur)
        expr, eparams = bin_index_sql("v", ref["edges"])
        got = dict(store.query(f"SELECT {expr}, count(*) FROM ({cur_sql}) WHERE v IS NOT NULL GROUP BY 1", [*eparams, start, end]))
        cur_counts = [int(got.get(i, 0)) for i in range(len(ref["edges"]) + 1)]
        psi_value = psi(ref["counts"], cur_counts)
        significant = p < settings.p_value
        large = psi_value >= settings.psi_threshold
        results.append(DriftResult(subject, "ks", "drift" if significant else "no_drift",
                                   f"KS D = {d:.4f}, p = {_fmt_p(p)}", d, p, d, n_ref, n_cur))
        results.append(DriftResult(subject, "psi", "drift" if large else "no_drift",
                                   f"PSI = {psi_value:.3f} (threshold {settings.psi_threshold:g})", psi_value, None, psi_value,
                                   n_ref, n_cur, {"edges": ref["edges"], "reference_counts": ref["counts"], "current_counts": cur_counts}))
        mean_now = float(store.query(f"SELECT avg(v) FROM ({cur_sql})", [start, end])[0][0])
        move = f"mean {ref['mean']:.4g} → {mean_now:.4g}"
        results.append(_verdict(subject, significant, large, p, psi_value, f"PSI {psi_value:.3f}", move, n_ref, n_cur))

    labels_sql, label_params = resolved_labels_sql(model)
    for subject, column in categorical_subjects(model).items():
        ref_counts_map = profile.categorical.get(subject)
        if subject == "label":
            cur_sql = (f"SELECT l.label AS v FROM {table} p JOIN ({labels_sql}) l USING (prediction_id) "
                       "WHERE p.ts >= ? AND p.ts < ?")
            cur_params: list[Any] = [*label_params, start, end]
        else:
            cur_sql = f"SELECT {quote_ident(column)} AS v FROM {table} WHERE ts >= ? AND ts < ?"
            cur_params = [start, end]
        if not ref_counts_map:
            results.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        got = {str(k): int(n) for k, n in store.query(f"SELECT v, count(*) FROM ({cur_sql}) WHERE v IS NOT NULL GROUP BY 1", cur_params)}
        n_cur = sum(got.values())
        n_ref = sum(ref_counts_map.values())
        if n_cur < settings.min_samples:
            results.append(DriftResult(subject, "verdict", "not_enough_data",
                                       f"{n_cur} values in this window; at least {settings.min_samples} are needed to tell",
                                       n_reference=n_ref, n_current=n_cur))
            continue
        cats = sorted(set(ref_counts_map) | set(got))
        r = np.array([ref_counts_map.get(c, 0) for c in cats], dtype=float)
        k = np.array([got.get(c, 0) for c in cats], dtype=float)
        chi = chi_square_homogeneity(r, k)
        changes = share_change(r, k)
        psi_value = psi(r, k)
        biggest = max(range(len(cats)), key=lambda i: (abs(round(float(changes[i]), 9)), changes[i]))
        max_pp = float(abs(changes[biggest]))
        shares = {c: {"reference": float(r[i] / r.sum()), "current": float(k[i] / k.sum()), "change_pp": float(changes[i])}
                  for i, c in enumerate(cats)}
        significant = chi.p_value < settings.p_value
        large = max_pp >= settings.share_change_pp
        results.append(DriftResult(subject, "chi2", "drift" if significant else "no_drift",
                                   f"chi-square = {chi.statistic:.2f} (dof {chi.dof}), p = {_fmt_p(chi.p_value)}, Cramér's V = {chi.cramers_v:.3f}",
                                   chi.statistic, chi.p_value, chi.cramers_v, n_ref, n_cur, {"categories": cats}))
        results.append(DriftResult(subject, "share_change", "drift" if large else "no_drift",
                                   f"largest share change: {cats[biggest]} {changes[biggest]:+.1f} pp",
                                   max_pp, None, max_pp, n_ref, n_cur, {"shares": shares}))
        results.append(DriftResult(subject, "psi", "drift" if psi_value >= settings.psi_threshold else "no_drift",
                                   f"PSI = {psi_value:.3f}", psi_value, None, psi_value, n_ref, n_cur))
        move = f"{cats[biggest]} share {shares[cats[biggest]]['reference']:.1%} → {shares[cats[biggest]]['current']:.1%}"
        results.append(_verdict(subject, significant, large, chi.p_value, max_pp, f"largest share change {max_pp:.1f} pp", move, n_ref, n_cur))
    return results


def _verdict(subject: str, significant: bool, large: bool, p: float, effect: float, effect_text: str,
             move: str, n_ref: int, n_cur: int) -> DriftResult:
    if significant and large:
        status, reading = "drift", f"{subject} has drifted: {move} ({effect_text}, p = {_fmt_p(p)})"
    elif significant:
        status, reading = "small_change", f"{subject} changed a little but clearly: {move} ({effect_text}, below the effect threshold; p = {_fmt_p(p)})"
    else:
        status, reading = "no_drift", f"no evidence that {subject} changed: {move} (p = {_fmt_p(p)})"
    return DriftResult(subject, "verdict", status, reading, effect, p, effect, n_ref, n_cur)


def results_json(results: list[DriftResult]) -> str:
    return json.dumps([r.to_dict() for r in results], default=str)
