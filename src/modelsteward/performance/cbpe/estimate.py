"""The estimate both CBPE routes share: expected confusion matrix, point estimates and intervals."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from modelsteward.errors import InsufficientDataError
from modelsteward.performance.cbpe.inputs import _Setup, _Units
from modelsteward.performance.cbpe.poisson_binomial import _pb_interval
from modelsteward.performance.cbpe.results import MetricEstimate, PerformanceEstimate

__all__ = []


#: Uniform draws held in memory at once by the per-row simulation (draws x rows).
_CHUNK = 4_000_000

def _confusion_metrics(cm: np.ndarray, pos: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Accuracy, precision, recall, F1 of a stack of confusion matrices ``cm[d, predicted, true]``."""
    tp = np.diagonal(cm, axis1=1, axis2=2)
    predicted = cm.sum(axis=2)
    actual = cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    accuracy = tp.sum(axis=1) / cm.sum(axis=(1, 2))
    if pos is not None:
        return accuracy, precision[:, pos], recall[:, pos], f1[:, pos]
    seen = (predicted + actual) > 0
    count = seen.sum(axis=1)
    return accuracy, (precision * seen).sum(axis=1) / count, (recall * seen).sum(axis=1) / count, (f1 * seen).sum(axis=1) / count


def _estimate(
    s: _Setup,
    u: _Units,
    *,
    exact_accuracy: bool,
    calibration_uncertainty: bool,
    level: float,
    n_draws: int,
    seed: int | None,
) -> PerformanceEstimate:
    k = len(s.labels)
    n = int(u.count.sum())
    if n == 0:
        raise InsufficientDataError("the window has no predictions to estimate performance from")
    m = np.bincount(u.group, weights=u.count, minlength=k)
    sum_p = np.bincount(u.group, weights=u.count * u.p, minlength=k)

    # The calibrator's own error: block values y_B with variances V_B; the expected number
    # correct moves by sum_B L_B dy_B.
    block_var = s.cal.block_variance() if calibration_uncertainty else None
    if block_var is None:
        block_var = np.zeros(int(max(u.lo.max(initial=0), u.hi.max(initial=0))) + 1)
    loading = np.bincount(u.lo, weights=u.count * u.sign * (1.0 - u.t), minlength=block_var.size) + np.bincount(
        u.hi, weights=u.count * u.sign * u.t, minlength=block_var.size
    )
    var_cal = float(np.sum(loading**2 * block_var))
    if exact_accuracy:
        lo, hi = _pb_interval(np.repeat(u.p, u.count), math.sqrt(var_cal), level)
        accuracy = MetricEstimate(float(sum_p.sum()) / n, lo / n, hi / n, "poisson-binomial")
    else:
        z = float(stats.norm.ppf(0.5 + level / 2))
        sd = math.sqrt(float(u.var.sum()) + var_cal)
        mid = float(sum_p.sum())
        accuracy = MetricEstimate(mid / n, min(max((mid - z * sd) / n, 0.0), 1.0), min(max((mid + z * sd) / n, 0.0), 1.0), "normal")

    expected = s.mix * (m - sum_p)[:, None]
    expected[np.arange(k), np.arange(k)] = sum_p
    _, precision, recall, f1 = _confusion_metrics(expected[None], s.pos)

    # Monte Carlo: per draw, perturb the calibration (when asked), then draw the number
    # correct per unit (Binomial(count, p), Bernoulli for rows) and spread the errors.
    rng = np.random.default_rng(seed)
    draws = int(n_draws)
    shifts = rng.standard_normal((draws, block_var.size)) * np.sqrt(block_var) if np.any(block_var > 0) else None
    correct = np.zeros((draws, k), dtype=np.int64)
    step = max(1, _CHUNK // draws)
    for i in range(k):
        members = np.flatnonzero(u.group == i)
        for start in range(0, members.size, step):
            j = members[start : start + step]
            p = np.broadcast_to(u.p[j], (draws, j.size))
            if shifts is not None:
                p = np.clip(p + u.sign[j] * ((1.0 - u.t[j]) * shifts[:, u.lo[j]] + u.t[j] * shifts[:, u.hi[j]]), 0.0, 1.0)
            if np.all(u.count[j] == 1):
                correct[:, i] += np.count_nonzero(rng.random((draws, j.size)) < p, axis=1)
            else:
                correct[:, i] += rng.binomial(u.count[j], p).sum(axis=1)
    cm = np.zeros((draws, k, k))
    for i in range(k):
        cm[:, i, :] = rng.multinomial(int(m[i]) - correct[:, i], s.mix[i])
        cm[:, i, i] = correct[:, i]
    _, sim_p, sim_r, sim_f = _confusion_metrics(cm, s.pos)
    alpha = 1.0 - level

    def mc(value: float, sims: np.ndarray) -> MetricEstimate:
        lo, hi = np.quantile(sims, [alpha / 2, 1.0 - alpha / 2])
        return MetricEstimate(float(value), float(lo), float(hi), "monte-carlo")

    return PerformanceEstimate(
        n=n,
        labels=s.labels,
        positive_label=None if s.pos is None else s.labels[s.pos],
        average="macro" if s.pos is None else "binary",
        accuracy=accuracy,
        precision=mc(float(precision[0]), sim_p),
        recall=mc(float(recall[0]), sim_r),
        f1=mc(float(f1[0]), sim_f),
        expected_confusion={(s.labels[i], s.labels[j]): float(expected[i, j]) for i in range(k) for j in range(k)},
        level=level,
    )

