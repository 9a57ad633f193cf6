"""PCA reconstruction error: are current rows further from the reference's principal subspace?

:class:`PCAReconstructor` (encoder plus PCA, JSON-able), :func:`pca_reconstruction` and
its :class:`ReconstructionResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from modelsteward.drift._checks import whole_number as _positive_int
from modelsteward.drift.multivariate.encoder import FeatureEncoder
from modelsteward.drift.multivariate.inputs import (
    DEFAULT_MAX_ROWS,
    MIN_ROWS,
    _check_kinds,
    _decode_array,
    _encode_array,
    _n_rows,
    _sample,
    _take,
)
from modelsteward.errors import InsufficientDataError

__all__ = ["PCAReconstructor", "ReconstructionResult", "pca_reconstruction"]


#: Residuals below this share of a row's size are rounding noise (``errors`` reads them as 0).
ROUNDING = 1e-10


class PCAReconstructor:
    """PCA of encoded reference rows; per-row reconstruction error of any rows.

    Fitted with :meth:`fit`.  :meth:`errors` encodes rows, centres them on the reference
    mean, projects onto the kept principal components and back, and returns the Euclidean
    norm of the residual per row.  State is JSON-able (:meth:`to_dict`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=500)
    >>> ref = {"a": z, "b": z + 0.1 * rng.normal(size=500)}
    >>> pca = PCAReconstructor.fit(ref, kinds={"a": "numeric", "b": "numeric"}, variance=0.9)
    >>> pca.components
    1
    >>> print(np.round(pca.errors({"a": [1.0, 1.0], "b": [1.0, -1.0]}), 2))
    [0.   1.39]
    """

    def __init__(self, encoder: FeatureEncoder, mean: np.ndarray, basis: np.ndarray, explained: float) -> None:
        self.encoder = encoder
        self.mean = np.asarray(mean, dtype=np.float64)
        self.basis = np.asarray(basis, dtype=np.float64)  # (columns, components), orthonormal
        self.explained = float(explained)

    @property
    def components(self) -> int:
        """Number of principal components kept."""
        return int(self.basis.shape[1])

    @classmethod
    def fit(cls, reference: Mapping[str, Any], *, kinds: Mapping[str, str], variance: float = 0.9, top_k: int = 20) -> PCAReconstructor:
        """Fit the encoder and PCA (numpy SVD) on ``reference``.

        Keeps the fewest leading components whose explained-variance share reaches
        ``variance`` (in (0, 1)).
        """
        if not (isinstance(variance, (int, float)) and 0.0 < variance < 1.0):
            raise ValueError(f"variance must be a share in (0, 1), got {variance!r}")
        encoder = FeatureEncoder.fit(reference, kinds, top_k=top_k)
        x = encoder.transform(reference)
        if x.shape[0] < 2:
            raise InsufficientDataError("PCA needs at least two reference rows")
        mean = x.mean(axis=0)
        _, sv, vt = np.linalg.svd(x - mean, full_matrices=False)
        var = sv**2
        total = float(var.sum())
        if total <= 0:
            raise InsufficientDataError("every encoded reference column is constant: PCA has nothing to fit")
        share = np.cumsum(var) / total
        k = int(np.searchsorted(share, variance - 1e-12) + 1)
        k = min(k, vt.shape[0])
        return cls(encoder, mean, vt[:k].T.copy(), float(share[k - 1]))

    def errors(self, data: Mapping[str, Any]) -> np.ndarray:
        """Reconstruction error (Euclidean norm of the residual) of every row.

        A residual at the level of rounding (below ``1e-10 (1 + |row|)``) is 0: a row in the
        kept subspace is reconstructed exactly, and its rounding noise is no error to compare.
        """
        xc = self.encoder.transform(data) - self.mean
        resid = xc - (xc @ self.basis) @ self.basis.T
        err = np.sqrt(np.einsum("ij,ij->i", resid, resid))
        size = np.sqrt(np.einsum("ij,ij->i", xc, xc))
        return np.asarray(np.where(err <= ROUNDING * (1.0 + size), 0.0, err), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "encoder": self.encoder.to_dict(),
            "mean": _encode_array(self.mean),
            "basis": _encode_array(self.basis),
            "explained": self.explained,
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> PCAReconstructor:
        try:
            if state["version"] != 1:
                raise ValueError(f"unsupported PCAReconstructor state version {state['version']!r}")
            return cls(
                FeatureEncoder.from_dict(state["encoder"]),
                _decode_array(state["mean"]),
                _decode_array(state["basis"]),
                float(state["explained"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a PCAReconstructor state: {exc!r}") from None


@dataclass(frozen=True)
class ReconstructionResult:
    """Result of :func:`pca_reconstruction`.

    ``reference_error`` and ``current_error`` are mean reconstruction errors (held-out
    reference rows; current rows); ``ratio`` is current / reference with a 95% interval
    (``ratio_ci_low``, ``ratio_ci_high``); ``difference`` is current - reference with a 95%
    Welch interval and two-sided ``p_value``.  ``components`` were kept, explaining
    ``explained`` of the reference variance.  ``drift`` is ``p_value < alpha`` and the ratio
    at least ``1 + min_change`` or at most ``1 / (1 + min_change)``.
    """

    reference_error: float
    current_error: float
    ratio: float
    ratio_ci_low: float
    ratio_ci_high: float
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    p_value: float
    components: int
    explained: float
    drift: bool
    n_reference_fit: int
    n_reference_holdout: int
    n_current: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pca_reconstruction(
    reference: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    kinds: Mapping[str, str],
    seed: int,
    variance: float = 0.9,
    max_rows: int = DEFAULT_MAX_ROWS,
    alpha: float = 0.05,
    min_change: float = 0.05,
    top_k: int = 20,
) -> ReconstructionResult:
    """Data reconstruction drift: are current rows further from the reference's PCA subspace?

    A seeded sample of at most ``max_rows`` reference rows is split in half at random.
    The first half fits a :class:`PCAReconstructor` (encoder plus PCA keeping the fewest
    components explaining ``variance`` of the encoded reference); every row's
    reconstruction error is the Euclidean distance between its encoded vector and its
    projection onto those components.  The second half gives an *unbiased* reference
    baseline: errors of the rows PCA was fitted on are optimistically small, so comparing
    current rows with them would show drift where there is none.

    The mean error of at most ``max_rows`` current rows is compared with the held-out
    reference mean:

    * ``difference = current - reference`` with Welch's t interval and two-sided p-value
      (errors are skewed but means of hundreds or thousands of rows are close to normal);
    * ``ratio = current / reference`` with a 95% delta-method interval on the log scale,
      ``exp(log ratio ± 1.96 sqrt(s_c^2 / (n_c mean_c^2) + s_r^2 / (n_r mean_r^2)))``.

    The error rises when current rows leave the reference's subspace, e.g. when features
    that were correlated stop being so (their marginals unchanged); it can also fall when
    the data collapse onto the subspace, hence the two-sided test.  ``drift`` needs both
    significance (``p_value < alpha``) and a relevant size (the ratio moved by at least
    ``min_change``, 5% by default).  This is NannyML's "data reconstruction drift"
    (NannyML fits on the reference and sets thresholds from reference chunks; here a
    held-out half plays that role and a test replaces the thresholds).

    Parameters
    ----------
    reference, current : mapping of str to array_like
        One 1-D array per feature.
    kinds : mapping of str to {'numeric', 'categorical'}
        The features to use.
    seed : int
        Seeds the sampling and the split.
    variance : float, default 0.9
        Explained-variance share the kept components must reach, in (0, 1).
    max_rows : int, default 20000
        Most rows used from each side.
    alpha : float, default 0.05
        Significance level of the verdict.
    min_change : float, default 0.05
        Smallest relative change of the mean error that counts as drift.
    top_k : int, default 20
        One-hot categories kept per categorical feature.

    Returns
    -------
    ReconstructionResult

    Raises
    ------
    InsufficientDataError
        If reference has fewer than 100 rows (50 per half) or current fewer than 50, or the
        held-out reference errors are all zero.
    ValueError
        On invalid kinds, data or parameters.

    References
    ----------
    .. [1] NannyML documentation, "Data Reconstruction with PCA" (multivariate drift
       detection), https://nannyml.readthedocs.io/en/stable/how_it_works/multivariate_drift.html
    .. [2] Jolliffe, I. T. (2002). *Principal Component Analysis*, 2nd ed. Springer.
    .. [3] Welch, B. L. (1947). The generalization of "Student's" problem when several
       different population variances are involved. *Biometrika* 34(1-2), 28-35.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=2000)
    >>> ref = {"a": z, "b": 0.95 * z + 0.31 * rng.normal(size=2000)}
    >>> cur = {"a": rng.normal(size=1000), "b": rng.normal(size=1000)}  # correlation lost
    >>> res = pca_reconstruction(ref, cur, kinds={"a": "numeric", "b": "numeric"}, seed=0)
    >>> res.components, res.drift, res.ratio > 2
    (1, True, True)
    """
    kinds = _check_kinds(kinds)
    features = list(kinds)
    max_rows = _positive_int(max_rows, "max_rows", 2 * MIN_ROWS)
    if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    if not (isinstance(min_change, (int, float)) and min_change >= 0.0):
        raise ValueError(f"min_change must be >= 0, got {min_change!r}")
    n_ref = _n_rows(reference, features, "reference")
    n_cur = _n_rows(current, features, "current")
    if n_ref < 2 * MIN_ROWS:
        raise InsufficientDataError(
            f"PCA reconstruction needs at least {2 * MIN_ROWS} reference rows (half to fit, half held out), got {n_ref}"
        )
    if n_cur < MIN_ROWS:
        raise InsufficientDataError(f"PCA reconstruction needs at least {MIN_ROWS} current rows, got {n_cur}")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(n_ref)[: min(n_ref, max_rows)]
    half = idx.size // 2
    fit_rows, hold_rows = _take(reference, features, idx[:half]), _take(reference, features, idx[half:])
    cur = _sample(current, features, n_cur, max_rows, rng)
    model = PCAReconstructor.fit(fit_rows, kinds=kinds, variance=variance, top_k=top_k)
    e_ref, e_cur = model.errors(hold_rows), model.errors(cur)
    n_r, n_c = e_ref.size, e_cur.size
    m_r, m_c = float(e_ref.mean()), float(e_cur.mean())
    v_r, v_c = float(e_ref.var(ddof=1)) / n_r, float(e_cur.var(ddof=1)) / n_c
    if m_r <= 0:
        raise InsufficientDataError("the held-out reference rows are reconstructed exactly: no error to compare with")
    diff = m_c - m_r
    se = math.sqrt(v_r + v_c)
    if se > 0:
        dof = (v_r + v_c) ** 2 / (v_r**2 / (n_r - 1) + v_c**2 / (n_c - 1))
        t_crit = float(stats.t.ppf(0.975, dof))
        p_value = float(2 * stats.t.sf(abs(diff) / se, dof))
    else:
        t_crit, p_value = 0.0, (1.0 if diff == 0 else 0.0)
    ratio = m_c / m_r
    if m_c > 0:
        se_log = math.sqrt(v_c / m_c**2 + v_r / m_r**2)
        r_lo, r_hi = ratio * math.exp(-1.959963984540054 * se_log), ratio * math.exp(1.959963984540054 * se_log)
    else:
        r_lo, r_hi = 0.0, 0.0
    big = ratio >= 1 + min_change or ratio <= 1 / (1 + min_change)
    return ReconstructionResult(
        reference_error=m_r,
        current_error=m_c,
        ratio=ratio,
        ratio_ci_low=r_lo,
        ratio_ci_high=r_hi,
        difference=diff,
        difference_ci_low=diff - t_crit * se,
        difference_ci_high=diff + t_crit * se,
        p_value=p_value,
        components=model.components,
        explained=model.explained,
        drift=bool(p_value < alpha and big),
        n_reference_fit=half,
        n_reference_holdout=n_r,
        n_current=n_c,
        seed=int(seed),
    )
