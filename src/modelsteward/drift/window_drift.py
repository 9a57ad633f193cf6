"""Drift of one window against the reference: every configured test, corrected, with verdicts.

Summaries come from the store's engine; the statistics run on them:

- numeric subjects (numeric features and the confidence score): the two-sample KS statistic
  and the Wasserstein-1 distance are computed in SQL from the stored reference ECDF and the
  window's grouped values (exactly as ``scipy.stats.ks_2samp`` and
  ``scipy.stats.wasserstein_distance`` evaluate them); PSI, Jensen–Shannon and Hellinger from
  counts on the reference's quantile bins; Anderson–Darling and Cramér–von Mises, when
  configured, from the pooled distinct values with their counts (these fetch one row per
  distinct value, so they suit windows of up to a few hundred thousand values);
- categorical subjects (categorical features, the predicted class, the ground-truth label):
  chi-square, G-test, total variation, PSI and Jensen–Shannon from counts per category.

Every test is declared once in :mod:`~modelsteward.drift.registry` (stable name, kinds,
p-value or not, effect size, default threshold). Each subject's headline **verdict** pairs an
effect with a p-value (:data:`~modelsteward.drift.registry.VERDICT_TESTS`: normalised
Wasserstein with KS for numeric subjects, total variation with chi-square for categorical
ones). The verdict p-values of **every subject of the window** - input features and the
model's outputs (confidence, predicted class, label) - are adjusted together as one family
(Benjamini–Hochberg by default), so no subject escapes the correction by sitting in a small
family of its own. Each test's own result is adjusted across the subjects that ran it.

The window-level verdict over the inputs (subject ``"inputs"``) is stricter: *drift* needs a
drifted input whose p-value passes ``drift.dataset_p_value`` (default 0.001) after
correction across the inputs - Simes' global test - so a window where no input changed is
called drift at most that often (:func:`~modelsteward.drift.registry.dataset_verdict`).

p-values are stored and printed no smaller than
:data:`~modelsteward.drift.correction.P_FLOOR` (1e-300): an underflowed tail probability
reads "p < 1e-300", never 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from modelsteward.config import ModelConfig
from modelsteward.drift.chi_square import chi_square_homogeneity, share_change
from modelsteward.drift.correction import CorrectionMethod, adjust, floor_p
from modelsteward.drift.distances import cohens_w, g_test, hellinger, jensen_shannon, total_variation
from modelsteward.drift.ks import ks_pvalue
from modelsteward.drift.psi import psi
from modelsteward.drift.registry import TESTS, VERDICT_TESTS, dataset_verdict, verdict
from modelsteward.drift.samples import anderson_darling_grouped, cramer_von_mises_grouped
from modelsteward.feedback.labels import resolved_labels_sql
from modelsteward.metrics.binning import bin_index_sql
from modelsteward.reference import ReferenceProfile, categorical_subjects, numeric_subjects
from modelsteward.store.base import Store
from modelsteward.store.identifiers import quote_ident
from modelsteward.store.model_tables import ModelTables

__all__ = ["DriftResult", "Source", "drift_of", "ks_wasserstein_sql", "window_drift"]

#: The model's outputs: corrected with the inputs, but outside the window's ``inputs`` verdict.
OUTPUT_SUBJECTS = ("confidence", "prediction", "label")
Source = tuple[str, list[Any]]  # a FROM-clause and its parameters


@dataclass(frozen=True)
class DriftResult:
    """One test of one subject in one window (``test == "verdict"`` is the subject's verdict)."""

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


@dataclass
class _Tested:
    """The raw results of one subject before correction: test name -> (statistic, p, effect, details)."""

    subject: str
    kind: str
    n_reference: int
    n_current: int
    results: dict[str, tuple[float, float | None, float, dict[str, Any]]]
    move: str


def ks_wasserstein_sql(store: Store, ecdf_table: str, subject: str, cur_sql: str, cur_params: list[Any]) -> tuple[float, float, int, int]:
    """KS statistic D and Wasserstein-1 distance of the stored reference ECDF against a window.

    Both ECDFs are evaluated at every pooled distinct value — the window's (the reference's
    ECDF found by an ASOF join on the stored, sorted reference) and the reference's (the
    window's ECDF likewise) — exactly as ``scipy.stats.ks_2samp`` and
    ``scipy.stats.wasserstein_distance`` evaluate them: D is the largest gap, W1 the sum of
    gaps times the distance to the next pooled value. Returns ``(D, W1, n_ref, n_cur)``.
    """
    row = store.query(
        f"""
        WITH ref AS (SELECT v, cum FROM {ecdf_table} WHERE subject = ?),
        cur AS (SELECT v, count(*) AS n FROM ({cur_sql}) c WHERE v IS NOT NULL GROUP BY v),
        cur_cum AS (SELECT v, sum(n) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum FROM cur),
        totals AS (SELECT (SELECT max(cum) FROM ref) AS na, (SELECT sum(n) FROM cur) AS nb),
        points AS (
            SELECT c.v, coalesce(r.cum, 0) AS ca, c.cum AS cb FROM cur_cum c ASOF LEFT JOIN ref r ON c.v >= r.v
            UNION ALL
            SELECT r.v, r.cum AS ca, coalesce(c.cum, 0) AS cb FROM ref r ASOF LEFT JOIN cur_cum c ON r.v >= c.v
        ),
        pooled AS (SELECT v, max(ca) AS ca, max(cb) AS cb FROM points GROUP BY v),
        gaps AS (SELECT abs(CAST(ca AS DOUBLE) / na - CAST(cb AS DOUBLE) / nb) AS gap,
                        lead(v) OVER (ORDER BY v) - v AS width FROM pooled, totals)
        SELECT max(gap), sum(gap * width), (SELECT na FROM totals), (SELECT nb FROM totals) FROM gaps
        """,
        [subject, *cur_params],
    )[0]
    d, w1, na, nb = row
    return (float(d) if d is not None else 0.0), (float(w1) if w1 is not None else 0.0), int(na or 0), int(nb or 0)


def _grouped_values(store: Store, ecdf_table: str, subject: str, cur_sql: str, cur_params: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled distinct values with their reference and window counts (one row per distinct value)."""
    rows = store.query(
        f"""
        WITH ref AS (SELECT v, cum - coalesce(lag(cum) OVER (ORDER BY v), 0) AS n FROM {ecdf_table} WHERE subject = ?),
        cur AS (SELECT v, count(*) AS n FROM ({cur_sql}) c WHERE v IS NOT NULL GROUP BY v)
        SELECT coalesce(r.v, c.v) AS v, coalesce(r.n, 0), coalesce(c.n, 0) FROM ref r FULL OUTER JOIN cur c ON r.v = c.v ORDER BY 1
        """,
        [subject, *cur_params],
    )
    arr = np.array(rows, dtype=float) if rows else np.zeros((0, 3))
    return arr[:, 0], arr[:, 1], arr[:, 2]


_Results = dict[str, tuple[float, float | None, float, dict[str, Any]]]
Grouped = tuple[np.ndarray, np.ndarray, np.ndarray]


def not_enough(model: ModelConfig, subject: str, n_ref: int, n_cur: int) -> DriftResult:
    """The result of a subject whose window holds fewer than ``drift.min_samples`` values."""
    v = verdict(effect=0.0, threshold=0.0, p_adjusted=None, alpha=model.drift.p_value, n_current=n_cur,
                min_samples=model.drift.min_samples, subject=subject)
    return DriftResult(subject, "verdict", v.status, v.reading, n_reference=n_ref, n_current=n_cur)


def numeric_tested(model: ModelConfig, subject: str, ref: dict[str, Any], *, d: float, w1: float, n_ref: int,
                   n_cur: int, mean_now: float, bin_counts: Callable[[], list[int]],
                   grouped: Callable[[], Grouped]) -> _Tested:
    """Every configured numeric test of one subject, from the window's summaries (any engine).

    ``d`` and ``w1`` are KS D and the Wasserstein-1 distance against the reference ECDF;
    ``bin_counts`` returns the window's counts on the reference's bins and ``grouped`` the
    pooled distinct values with the reference and window counts of each; both are called only
    when a configured test needs them, so an engine computes no summary nobody reads.
    """
    tests = model.drift.numeric_tests
    out: _Results = {}
    if "ks" in tests or VERDICT_TESTS["numeric"][1] == "ks":
        out["ks"] = (d, ks_pvalue(d, n_ref, n_cur), d, {})
    std = ref.get("std") or 0.0
    w_norm = w1 / std if std > 0 else (0.0 if w1 == 0 else math.inf)
    out["wasserstein"] = (w_norm, None, w_norm, {"wasserstein_1": w1, "reference_std": std})
    binned = {"psi", "jensen_shannon", "hellinger"} & set(tests)
    if binned:
        cur_counts = bin_counts()
        bins = {"edges": ref["edges"], "reference_counts": ref["counts"], "current_counts": cur_counts}
        for name, fn in (("psi", psi), ("jensen_shannon", jensen_shannon), ("hellinger", hellinger)):
            if name in binned:
                value = float(fn(ref["counts"], cur_counts))
                out[name] = (value, None, value, bins if name == "psi" else {})
    if {"anderson_darling", "cramer_von_mises"} & set(tests):
        values, c1, c2 = grouped()
        if "anderson_darling" in tests:
            ad = anderson_darling_grouped(values, c1, c2)
            out["anderson_darling"] = (ad.statistic, ad.p_value, ad.effect_size, {"p_value_clipped": ad.p_value_clipped})
        if "cramer_von_mises" in tests:
            cvm = cramer_von_mises_grouped(values, c1, c2)
            out["cramer_von_mises"] = (cvm.statistic, cvm.p_value, cvm.effect_size, {})
    move = f"mean {ref['mean']:.4g} → {float(mean_now):.4g}"
    return _Tested(subject, "numeric", n_ref, n_cur, out, move)


def categorical_tested(model: ModelConfig, subject: str, ref_counts_map: dict[str, int], got: dict[str, int]) -> _Tested | DriftResult:
    """Every configured categorical test of one subject, from the window's counts per category (any engine)."""
    n_cur, n_ref = sum(got.values()), sum(ref_counts_map.values())
    if n_cur < model.drift.min_samples:
        return not_enough(model, subject, n_ref, n_cur)
    cats = sorted(set(ref_counts_map) | set(got))
    r = np.array([ref_counts_map.get(c, 0) for c in cats], dtype=float)
    k = np.array([got.get(c, 0) for c in cats], dtype=float)
    changes = share_change(r, k)
    shares = {c: {"reference": float(r[i] / r.sum()), "current": float(k[i] / k.sum()), "change_pp": float(changes[i])}
              for i, c in enumerate(cats)}
    biggest = max(range(len(cats)), key=lambda i: (abs(round(float(changes[i]), 9)), changes[i]))
    tests = set(model.drift.categorical_tests) | {VERDICT_TESTS["categorical"][1]}
    out: _Results = {}
    if "chi2" in tests:
        chi = chi_square_homogeneity(r, k)
        out["chi2"] = (chi.statistic, chi.p_value, cohens_w(chi.statistic, n_ref, n_cur) if chi.dof else 0.0,
                       {"dof": chi.dof, "cramers_v": chi.cramers_v, "categories": cats})
    if "g_test" in tests:
        g = g_test(r, k)
        out["g_test"] = (g.statistic, g.p_value, g.effect_size, {"dof": g.dof})
    tv = float(total_variation(r, k))
    out["total_variation"] = (tv, None, tv, {"shares": shares, "max_share_change_pp": float(abs(changes[biggest]))})
    for name, fn in (("psi", psi), ("jensen_shannon", jensen_shannon)):
        if name in tests:
            value = float(fn(r, k))
            out[name] = (value, None, value, {})
    top = cats[biggest]
    move = f"{top} share {shares[top]['reference']:.1%} → {shares[top]['current']:.1%}"
    return _Tested(subject, "categorical", n_ref, n_cur, out, move)


def _numeric(store: Store, model: ModelConfig, subject: str, column: str, ref: dict[str, Any],
             source: Source) -> _Tested | DriftResult:
    ecdf = ModelTables.reference_ecdf_table(model.name)
    cur_sql = f"SELECT {quote_ident(column)} AS v FROM {source[0]}"
    params: list[Any] = list(source[1])
    n_cur, mean_now = store.query(f"SELECT count(v), avg(v) FROM ({cur_sql})", params)[0]
    if int(n_cur) < model.drift.min_samples:
        return not_enough(model, subject, ref["n"], int(n_cur))
    d, w1, n_ref, n_cur = ks_wasserstein_sql(store, ecdf, subject, cur_sql, params)

    def bin_counts() -> list[int]:
        expr, eparams = bin_index_sql("v", ref["edges"])
        got = dict(store.query(f"SELECT {expr}, count(*) FROM ({cur_sql}) WHERE v IS NOT NULL GROUP BY 1", [*eparams, *params]))
        return [int(got.get(i, 0)) for i in range(len(ref["edges"]) + 1)]

    return numeric_tested(model, subject, ref, d=d, w1=w1, n_ref=n_ref, n_cur=n_cur, mean_now=mean_now, bin_counts=bin_counts,
                          grouped=lambda: _grouped_values(store, ecdf, subject, cur_sql, params))


def _categorical(store: Store, model: ModelConfig, subject: str, column: str, ref_counts_map: dict[str, int],
                 source: Source) -> _Tested | DriftResult:
    cur_sql = f"SELECT {quote_ident(column)} AS v FROM {source[0]}"
    got = {str(k): int(n) for k, n in store.query(f"SELECT v, count(*) FROM ({cur_sql}) WHERE v IS NOT NULL GROUP BY 1", list(source[1]))}
    return categorical_tested(model, subject, ref_counts_map, got)


def _adjusted(pairs: list[tuple[str, float | None]], method: CorrectionMethod) -> dict[str, float | None]:
    """Adjust the p-values of ``(subject, p)`` pairs as one family; floored at ``P_FLOOR`` after adjustment."""
    ps = adjust([p for _, p in pairs], method)
    return {subject: floor_p(float(p)) for (subject, _), p in zip(pairs, ps, strict=True)}


def _finish(tested: list[_Tested], model: ModelConfig) -> list[DriftResult]:
    """Adjust the p-values of the window's tested subjects, then give each test and subject its verdict.

    Each test's p-values are adjusted across the subjects that ran it; the verdicts'
    p-values (one per subject, from its kind's p-value test) across every subject, inputs and
    outputs together.  Raw and adjusted p-values are kept at or above ``P_FLOOR``.
    """
    settings = model.drift
    alpha = settings.p_value
    results: list[DriftResult] = []
    per_test: dict[str, dict[str, float | None]] = {}
    for test in sorted({t for s in tested for t, r in s.results.items() if r[1] is not None}):
        per_test[test] = _adjusted([(s.subject, s.results[test][1]) for s in tested if test in s.results], settings.correction)
    family = _adjusted([(s.subject, s.results[VERDICT_TESTS[s.kind][1]][1]) for s in tested], settings.correction)
    for s in tested:
        for test, (stat, p, effect, details) in s.results.items():
            threshold = settings.thresholds.get(test, TESTS[test].default_threshold)
            p_adj = per_test.get(test, {}).get(s.subject)
            v = verdict(effect=effect, threshold=threshold, p_adjusted=p_adj, alpha=alpha, n_current=s.n_current,
                        min_samples=settings.min_samples, subject=s.subject, effect_name=test)
            results.append(DriftResult(s.subject, test, v.status, v.reading, stat, floor_p(p), effect, s.n_reference,
                                       s.n_current, {**details, "p_adjusted": p_adj, "threshold": threshold}))
        effect_test, p_test = VERDICT_TESTS[s.kind]
        threshold = settings.thresholds.get(effect_test, TESTS[effect_test].default_threshold)
        effect = s.results[effect_test][2]
        p_adj = family[s.subject]
        v = verdict(effect=effect, threshold=threshold, p_adjusted=p_adj, alpha=alpha, n_current=s.n_current,
                    min_samples=settings.min_samples, subject=s.subject, effect_name=TESTS[effect_test].name)
        results.append(DriftResult(s.subject, "verdict", v.status, f"{v.reading.rstrip('.')}; {s.move}.", effect,
                                   floor_p(s.results[p_test][1]), effect, s.n_reference, s.n_current,
                                   {"effect_test": effect_test, "p_test": p_test, "p_adjusted": p_adj, "threshold": threshold,
                                    "family_size": len(tested), "correction": settings.correction}))
    return results


def window_drift(
    store: Store, model: ModelConfig, profile: ReferenceProfile, start: datetime, end: datetime
) -> list[DriftResult]:
    """Every drift test of the window ``[start, end)`` against the stored reference profile,
    each subject's verdict, and the window's verdict over its inputs (subject ``"inputs"``).

    The summaries are the Ibis expressions of :mod:`modelsteward.engines.aggregates` run on
    the store's engine (:func:`~modelsteward.engines.drift.engine_window_drift`), the same ones
    Spark and PostgreSQL run; :func:`drift_of` below serves FROM-clause sources (files).
    """
    from modelsteward.engines.connect import store_engine
    from modelsteward.engines.drift import engine_window_drift

    return engine_window_drift(store_engine(store), store, model, profile, start, end)


def _window_drift_sql(
    store: Store, model: ModelConfig, profile: ReferenceProfile, start: datetime, end: datetime
) -> list[DriftResult]:
    """:func:`window_drift` in hand-written DuckDB SQL through :func:`drift_of` (kept as a second method for tests)."""
    table = ModelTables.predictions_table(model.name)
    labels_sql, label_params = resolved_labels_sql(model)
    rows: Source = (f"(SELECT * FROM {table} WHERE ts >= ? AND ts < ?) AS window_rows", [start, end])
    # Only the label needs the join with the feedback.
    labelled: Source = (
        f"(SELECT l.label FROM {table} p JOIN ({labels_sql}) l USING (prediction_id) WHERE p.ts >= ? AND p.ts < ?) AS window_labels",
        [*label_params, start, end],
    )
    return drift_of(store, model, profile, rows, label_source=labelled)


def drift_of(store: Store, model: ModelConfig, profile: ReferenceProfile, source: Source, *,
             label_source: Source | None = None) -> list[DriftResult]:
    """Every configured drift test of the rows of ``source`` against the reference profile.

    ``source`` is a FROM-clause (a table, or a parenthesised query with an alias) and its
    parameters; its columns are named as in the prediction table (``f_<feature>``,
    ``confidence``, ``prediction``) plus ``label`` (or ``label_source`` gives the labels); a
    subject whose column holds no value is reported as not enough data. Every tested subject is
    corrected in one family (:func:`_finish`); the inputs then get the window-level verdict
    (subject ``"inputs"``, its ``p_value`` Simes' p across the tested inputs).
    """
    tested: list[_Tested] = []
    early: list[DriftResult] = []
    for subject, column in numeric_subjects(model).items():
        ref = profile.numeric.get(subject)
        if ref is None:
            early.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        result = _numeric(store, model, subject, column, ref, source)
        (tested.append(result) if isinstance(result, _Tested) else early.append(result))
    for subject, column in categorical_subjects(model).items():
        ref_counts = profile.categorical.get(subject)
        if not ref_counts:
            early.append(DriftResult(subject, "verdict", "no_reference", f"the reference has no {subject} values to compare with"))
            continue
        result = _categorical(store, model, subject, column, ref_counts,
                              label_source if subject == "label" and label_source is not None else source)
        (tested.append(result) if isinstance(result, _Tested) else early.append(result))
    results = early + _finish(tested, model)
    window = _inputs_verdict(results, model)
    return results if window is None else [*results, window]


def _inputs_verdict(results: list[DriftResult], model: ModelConfig) -> DriftResult | None:
    """The window's verdict over its inputs (subject ``"inputs"``) from the subjects' verdicts; None without inputs."""
    inputs = [r for r in results if r.test == "verdict" and r.subject not in OUTPUT_SUBJECTS]
    if not inputs:
        return None
    large = [r.effect_size is not None and r.effect_size >= r.details["threshold"] for r in inputs]
    dv = dataset_verdict([r.p_value for r in inputs], large, [r.status for r in inputs], dataset_alpha=model.drift.dataset_p_value)
    drifted = [r.subject for r in inputs if r.status == "drift"]
    return DriftResult("inputs", "verdict", dv.status, dv.reading, float(len(drifted)), floor_p(dv.p_value), None,
                       0, max((r.n_current for r in inputs), default=0),
                       {"drifted": drifted, "alarming": [inputs[i].subject for i in dv.alarming], "p_test": "simes",
                        "dataset_p_value": model.drift.dataset_p_value, "correction": model.drift.correction})


def results_json(results: list[DriftResult]) -> str:
    return json.dumps([r.to_dict() for r in results], default=str)
