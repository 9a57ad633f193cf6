"""Multivariate data drift: a domain classifier and PCA reconstruction error.

Per-feature tests (KS, PSI, chi-square) compare marginal distributions one feature at a
time, so they cannot see a change in how features move *together*: two features whose
correlation flips while each keeps its own distribution.  The two checks here look at all
features at once:

* :func:`domain_classifier` asks whether a classifier can tell reference rows from current
  rows (cross-validated ROC AUC; 0.5 means it cannot) and ranks the features by how much
  the classifier relies on them.
* :func:`pca_reconstruction` fits PCA to the reference and asks whether current rows are
  reconstructed from the reference's principal components worse (or better) than held-out
  reference rows are.

Both work on encoded feature matrices built by :class:`FeatureEncoder` (numeric features
standardised, categorical features one-hot on the reference's most frequent categories).

Memory does not grow with the number of logged rows: each function works on bounded, seeded
samples, at most ``max_rows`` rows (default 20 000) of the reference and of the current
window.  The store is expected to supply samples of about that size (DuckDB
``USING SAMPLE reservoir(20000 ROWS) REPEATABLE (seed)``, or reservoir sampling while
streaming); larger inputs are subsampled here without replacement, with the given ``seed``.
"""

from __future__ import annotations

import base64
import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from modelsteward.errors import InsufficientDataError

__all__ = [
    "DEFAULT_MAX_ROWS",
    "DomainClassifierResult",
    "FeatureEncoder",
    "FeatureSeparation",
    "PCAReconstructor",
    "ReconstructionResult",
    "domain_classifier",
    "pca_reconstruction",
]

#: Rows sampled from each of reference and current (the store supplies samples this large).
DEFAULT_MAX_ROWS = 20_000
#: Fewest rows per side :func:`domain_classifier` and :func:`pca_reconstruction` accept.
MIN_ROWS = 50
KINDS = ("numeric", "categorical")


# --------------------------------------------------------------------------------------
# Input handling shared by the multivariate checks and the novelty scorer
# --------------------------------------------------------------------------------------


def _check_kinds(kinds: Mapping[str, str]) -> dict[str, str]:
    if not isinstance(kinds, Mapping) or not kinds:
        raise ValueError("kinds must map at least one feature name to 'numeric' or 'categorical'")
    out: dict[str, str] = {}
    for name, kind in kinds.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"feature names must be non-empty strings, got {name!r}")
        if kind not in KINDS:
            raise ValueError(f"feature {name!r}: kind must be 'numeric' or 'categorical', got {kind!r}")
        out[name] = kind
    return out


def _n_rows(data: Mapping[str, Any], features: Sequence[str], what: str) -> int:
    """Number of rows of a column mapping; every feature present, 1-D, of one length."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} must map feature names to 1-D arrays, got {type(data).__name__}")
    missing = [f for f in features if f not in data]
    if missing:
        raise ValueError(f"{what} lacks feature(s) {', '.join(map(repr, missing))}")
    sizes: dict[str, int] = {}
    for f in features:
        shape = np.shape(data[f])
        if len(shape) != 1:
            raise ValueError(f"{what}[{f!r}] must be 1-D, got shape {shape}")
        sizes[f] = shape[0]
    if len(set(sizes.values())) > 1:
        detail = ", ".join(f"{f}={n}" for f, n in sizes.items())
        raise ValueError(f"{what}: all features must have the same number of rows, got {detail}")
    return next(iter(sizes.values()))


def _take(data: Mapping[str, Any], features: Sequence[str], idx: np.ndarray) -> dict[str, np.ndarray]:
    return {f: np.asarray(data[f])[idx] for f in features}


def _sample(
    data: Mapping[str, Any], features: Sequence[str], n: int, size: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """``size`` rows drawn without replacement (all rows, shuffled, when ``size >= n``)."""
    idx = rng.permutation(n)[: min(size, n)]
    return _take(data, features, idx)


def _concat(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], features: Sequence[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for f in features:
        x, y = np.asarray(a[f]), np.asarray(b[f])
        if x.dtype.kind in "fiub" and y.dtype.kind in "fiub":
            out[f] = np.concatenate([x.astype(np.float64), y.astype(np.float64)])
        else:
            out[f] = np.concatenate([x.astype(object), y.astype(object)])
    return out


def _is_missing_scalar(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, (float, np.floating)) and math.isnan(v)


def _numeric(values: Any, name: str) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        try:  # pd.NA and friends
            x = pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="raise").to_numpy(np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(f"feature {name!r} is numeric but has values that are not numbers") from None
    return x


def _categorical(values: Any) -> tuple[np.ndarray, list[str]]:
    """Missing mask and the values as strings ('' where missing)."""
    arr = np.asarray(values, dtype=object)
    missing = np.asarray(pd.isna(arr), dtype=bool)
    strs = ["" if m else str(v) for v, m in zip(arr.tolist(), missing.tolist(), strict=True)]
    return missing, strs


# --------------------------------------------------------------------------------------
# Feature encoder
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NumericSpec:
    name: str
    mean: float
    std: float
    missing_column: bool


@dataclass(frozen=True)
class _CategoricalSpec:
    name: str
    categories: tuple[str, ...]
    missing_column: bool


class FeatureEncoder:
    """Turn mixed numeric/categorical columns into one numeric matrix, fitted on a reference.

    * A **numeric** feature becomes ``(x - mean) / std`` with the mean and standard
      deviation of the fitting sample (a constant feature keeps ``std = 1``).  Missing
      values (``None``, NaN, and also ±inf) become 0, the reference mean, after
      standardising; if the fitting sample had missing values a 0/1 column
      ``"<name>:missing"`` follows.
    * A **categorical** feature becomes one-hot columns ``"<name>=<category>"`` for the
      ``top_k`` most frequent categories of the fitting sample (ties broken by name), then
      ``"<name>:other"`` for every other value, including categories never seen when
      fitting, then ``"<name>:missing"`` if the fitting sample had missing values (without
      that column a missing value counts as "other").  Categories are compared as strings.

    The state is a plain JSON-able dict (:meth:`to_dict`, :meth:`from_dict`).

    Parameters
    ----------
    specs : sequence
        Built by :meth:`fit` or :meth:`from_dict`; not meant to be written by hand.

    Attributes
    ----------
    features : tuple of str
        The encoded features, in order.
    columns : tuple of str
        The name of every output column.
    column_features : tuple of str
        For every output column, the feature it comes from.

    References
    ----------
    .. [1] Hastie, T., Tibshirani, R. and Friedman, J. (2009). *The Elements of Statistical
       Learning*, 2nd ed. Springer, sections 3.4 (standardising inputs) and 9.6 (missing
       values: indicator variables).

    Examples
    --------
    >>> import numpy as np
    >>> enc = FeatureEncoder.fit(
    ...     {"size": np.array([1.0, 2.0, np.nan, 3.0]), "colour": np.array(["red", "red", "blue", None], dtype=object)},
    ...     kinds={"size": "numeric", "colour": "categorical"},
    ...     top_k=1,
    ... )
    >>> enc.columns
    ('size', 'size:missing', 'colour=red', 'colour:other', 'colour:missing')
    >>> enc.transform({"size": [2.0, None], "colour": ["green", "red"]})
    array([[0., 0., 0., 1., 0.],
           [0., 1., 1., 0., 0.]])
    >>> FeatureEncoder.from_dict(enc.to_dict()).columns == enc.columns
    True
    """

    def __init__(self, specs: Sequence[_NumericSpec | _CategoricalSpec]) -> None:
        if not specs:
            raise ValueError("a FeatureEncoder needs at least one feature")
        self._specs = tuple(specs)
        columns: list[str] = []
        owners: list[str] = []
        # Per feature: (kind, first column, lookup or None, other column, missing column or -1)
        self._plan: list[tuple[str, int, dict[str, int] | None, int, int]] = []
        for s in self._specs:
            start = len(columns)
            if isinstance(s, _NumericSpec):
                columns.append(s.name)
                miss = -1
                if s.missing_column:
                    miss = len(columns)
                    columns.append(f"{s.name}:missing")
                self._plan.append(("numeric", start, None, -1, miss))
            else:
                lookup = {c: start + i for i, c in enumerate(s.categories)}
                columns.extend(f"{s.name}={c}" for c in s.categories)
                other = len(columns)
                columns.append(f"{s.name}:other")
                miss = -1
                if s.missing_column:
                    miss = len(columns)
                    columns.append(f"{s.name}:missing")
                self._plan.append(("categorical", start, lookup, other, miss))
            owners.extend([s.name] * (len(columns) - start))
        self.features: tuple[str, ...] = tuple(s.name for s in self._specs)
        self.columns: tuple[str, ...] = tuple(columns)
        self.column_features: tuple[str, ...] = tuple(owners)

    @classmethod
    def fit(cls, data: Mapping[str, Any], kinds: Mapping[str, str], *, top_k: int = 20) -> FeatureEncoder:
        """Learn means, standard deviations and top categories from ``data``.

        Parameters
        ----------
        data : mapping of str to array_like
            One 1-D array per feature (extra keys are ignored), all of one length >= 1.
        kinds : mapping of str to {'numeric', 'categorical'}
            The features to encode, in output order.
        top_k : int, default 20
            One-hot columns kept per categorical feature (before "other").

        Returns
        -------
        FeatureEncoder

        Raises
        ------
        InsufficientDataError
            If ``data`` has no rows.
        ValueError
            On an unknown kind, a missing feature, ragged columns, non-numeric values in a
            numeric feature, or ``top_k < 1``.
        """
        kinds = _check_kinds(kinds)
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        n = _n_rows(data, list(kinds), "data")
        if n < 1:
            raise InsufficientDataError("cannot fit a FeatureEncoder on zero rows")
        specs: list[_NumericSpec | _CategoricalSpec] = []
        for name, kind in kinds.items():
            if kind == "numeric":
                x = _numeric(data[name], name)
                ok = np.isfinite(x)
                mean = float(x[ok].mean()) if ok.any() else 0.0
                std = float(x[ok].std()) if ok.sum() > 1 else 0.0
                specs.append(_NumericSpec(name, mean, std if std > 0 and math.isfinite(std) else 1.0, bool((~ok).any())))
            else:
                missing, strs = _categorical(data[name])
                counts = pd.Series([s for s, m in zip(strs, missing.tolist(), strict=True) if not m], dtype=object).value_counts()
                ranked = sorted(counts.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
                specs.append(_CategoricalSpec(name, tuple(str(c) for c, _ in ranked[: int(top_k)]), bool(missing.any())))
        return cls(specs)

    def transform(self, data: Mapping[str, Any]) -> np.ndarray:
        """Encode columns into a ``(rows, len(columns))`` float64 matrix.

        Parameters
        ----------
        data : mapping of str to array_like
            One 1-D array per encoded feature, all of one length (extra keys are ignored).

        Returns
        -------
        numpy.ndarray
        """
        n = _n_rows(data, self.features, "data")
        out = np.zeros((n, len(self.columns)), dtype=np.float64)
        rows = np.arange(n)
        for spec, (_, start, lookup, other, miss) in zip(self._specs, self._plan, strict=True):
            if isinstance(spec, _NumericSpec):
                x = _numeric(data[spec.name], spec.name)
                ok = np.isfinite(x)
                out[:, start] = np.where(ok, (np.where(ok, x, spec.mean) - spec.mean) / spec.std, 0.0)
                if miss >= 0:
                    out[:, miss] = ~ok
            else:
                assert lookup is not None
                missing, strs = _categorical(data[spec.name])
                col = np.fromiter((lookup.get(s, other) for s in strs), dtype=np.int64, count=n)
                if miss >= 0:
                    col[missing] = miss
                out[rows, col] = 1.0
        return out

    def transform_one(self, row: Mapping[str, Any]) -> np.ndarray:
        """Encode one record (feature name -> scalar value) into a 1-D vector.

        The fast path for a request: plain Python per feature, no pandas.  Gives the same
        vector as :meth:`transform` on a one-row input.
        """
        if not isinstance(row, Mapping):
            raise ValueError(f"row must map feature names to values, got {type(row).__name__}")
        out = np.zeros(len(self.columns), dtype=np.float64)
        for spec, (_, start, lookup, other, miss) in zip(self._specs, self._plan, strict=True):
            try:
                v = row[spec.name]
            except KeyError:
                raise ValueError(f"row lacks feature {spec.name!r}") from None
            if isinstance(spec, _NumericSpec):
                if _is_missing_scalar(v):
                    x = math.nan
                else:
                    try:
                        x = float(v)
                    except (TypeError, ValueError):
                        raise ValueError(f"feature {spec.name!r} is numeric but got {v!r}") from None
                if math.isfinite(x):
                    out[start] = (x - spec.mean) / spec.std
                elif miss >= 0:
                    out[miss] = 1.0
            else:
                assert lookup is not None
                if _is_missing_scalar(v) and miss >= 0:
                    out[miss] = 1.0
                else:
                    out[other if _is_missing_scalar(v) else lookup.get(str(v), other)] = 1.0
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state; :meth:`from_dict` rebuilds an identical encoder."""
        feats: list[dict[str, Any]] = []
        for s in self._specs:
            if isinstance(s, _NumericSpec):
                feats.append({"name": s.name, "kind": "numeric", "mean": s.mean, "std": s.std, "missing_column": s.missing_column})
            else:
                feats.append({"name": s.name, "kind": "categorical", "categories": list(s.categories), "missing_column": s.missing_column})
        return {"version": 1, "features": feats}

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> FeatureEncoder:
        """Rebuild an encoder from :meth:`to_dict` output."""
        try:
            if state["version"] != 1:
                raise ValueError(f"unsupported FeatureEncoder state version {state['version']!r}")
            specs: list[_NumericSpec | _CategoricalSpec] = []
            for f in state["features"]:
                if f["kind"] == "numeric":
                    specs.append(_NumericSpec(str(f["name"]), float(f["mean"]), float(f["std"]), bool(f["missing_column"])))
                elif f["kind"] == "categorical":
                    specs.append(_CategoricalSpec(str(f["name"]), tuple(str(c) for c in f["categories"]), bool(f["missing_column"])))
                else:
                    raise ValueError(f"feature {f['name']!r}: unknown kind {f['kind']!r}")
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a FeatureEncoder state: {exc!r}") from None
        return cls(specs)

    def __repr__(self) -> str:
        return f"FeatureEncoder(features={list(self.features)!r}, columns={len(self.columns)})"


# --------------------------------------------------------------------------------------
# Domain classifier
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureSeparation:
    """How much the domain classifier relies on one feature.

    ``auc_drop`` is the mean fall in held-out AUC when the feature's columns are permuted
    (over folds and repeats); ``auc_drop_std`` its standard deviation over those.
    """

    feature: str
    auc_drop: float
    auc_drop_std: float


@dataclass(frozen=True)
class DomainClassifierResult:
    """Result of :func:`domain_classifier`.

    ``auc`` is the mean of the per-fold held-out ROC AUCs ``fold_aucs``; ``ci_low`` and
    ``ci_high`` bound its 95% interval, ``std_error`` is the (Nadeau-Bengio corrected)
    standard error behind it and ``p_value`` the one-sided p-value for AUC > 0.5.
    ``features`` ranks every feature, most separating first.  ``drift`` is
    ``auc >= min_auc and ci_low > 0.5``.  ``n_reference`` and ``n_current`` are the rows
    used from each side (equal: the samples are balanced).
    """

    auc: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    fold_aucs: tuple[float, ...]
    drift: bool
    min_auc: float
    features: tuple[FeatureSeparation, ...]
    n_reference: int
    n_current: int
    seed: int

    @property
    def top_features(self) -> tuple[str, ...]:
        """Feature names, most separating first."""
        return tuple(f.feature for f in self.features)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["fold_aucs"] = list(self.fold_aucs)
        out["features"] = [asdict(f) for f in self.features]
        return out


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Mann-Whitney ROC AUC of ``scores`` for ``labels == 1`` over ``labels == 0`` (ties 1/2)."""
    ranks = np.asarray(stats.rankdata(scores, method="average"), dtype=np.float64)
    pos = labels == 1
    m, n = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - m * (m + 1) / 2) / (m * n))


def _positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    groups: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    *,
    folds: int,
    max_iter: int,
    repeats: int,
) -> tuple[list[float], dict[str, list[float]]]:
    """Per-fold held-out AUCs and, per feature, the AUC drops when its columns are permuted."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    fold_aucs: list[float] = []
    drops: dict[str, list[float]] = {f: [] for f in groups}
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(rng.integers(2**31 - 1)))
    for train, test in split.split(x, y):
        model = HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=0.1,
            max_leaf_nodes=15,
            early_stopping=False,
            random_state=int(rng.integers(2**31 - 1)),
        )
        model.fit(x[train], y[train])
        xt, yt = x[test], y[test]
        scores = model.predict_proba(xt)[:, 1]
        base = _auc(scores, yt)
        fold_aucs.append(base)
        for f in groups:
            cols = groups[f]
            for _ in range(repeats):
                xp = xt.copy()
                xp[:, cols] = xt[rng.permutation(len(test))][:, cols]
                drops[f].append(base - _auc(model.predict_proba(xp)[:, 1], yt))
    return fold_aucs, drops


def domain_classifier(
    reference: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    kinds: Mapping[str, str],
    seed: int,
    folds: int = 5,
    max_rows: int = DEFAULT_MAX_ROWS,
    min_auc: float = 0.55,
    max_iter: int = 50,
    repeats: int = 2,
    top_k: int = 20,
    n_threads: int | None = 1,
) -> DomainClassifierResult:
    """Can a classifier tell current rows from reference rows? Cross-validated AUC.

    Rows are labelled 0 (reference) and 1 (current) on *balanced* seeded samples of
    ``m = min(n_reference, n_current, max_rows)`` rows each, encoded with a
    :class:`FeatureEncoder` fitted on the pooled sample (so a category or missingness that
    appears only in the current window gets its own column).  A gradient-boosted tree
    classifier (scikit-learn ``HistGradientBoostingClassifier``: ``max_iter`` trees of at
    most 15 leaves, learning rate 0.1, no early stopping) is trained on ``folds - 1`` folds
    of a stratified K-fold split and scores the held-out fold.  Trees capture interactions,
    so a change in how features move together (a correlation change with every marginal
    unchanged) separates the samples even though no per-feature test can see it.

    **AUC and its interval.** A fold's AUC is the probability that a random held-out
    current row scores above a random held-out reference row; 0.5 means the classifier
    cannot tell the samples apart (no drift it can detect), 1 means it separates them
    completely.  ``auc`` is the mean of the ``folds`` fold AUCs.  Its 95% interval is
    ``auc ± t(0.975, K-1) SE`` (clipped to [0, 1]) with the fold spread ``s`` corrected
    for overlapping training sets (Nadeau & Bengio 2003):
    ``SE^2 = (1/K + 1/(K-1)) s^2``; ``p_value`` is the one-sided t p-value of
    ``(auc - 0.5) / SE``.  The naive ``s^2 / K``, and also DeLong's standard error of the
    pooled out-of-fold AUC, treat the folds as independent, but every model is trained
    on the other folds' rows, so the fold AUCs are positively correlated: in simulations
    without drift (500 rows a side, 5 folds, 150 seeds) both covered 0.5 only 84-86% of
    the time and the corrected interval 96% (93% with 200 rows a side).  Without drift
    the cross-validated AUC also sits slightly *below* 0.5 (a known small negative bias of
    cross-validation under the null, Parker et al. 2007), which errs towards "no drift".

    **Verdict.** ``drift`` is ``auc >= min_auc and ci_low > 0.5``.  The interval bound alone
    would flag negligible differences once samples are large; ``min_auc = 0.55`` is an
    effect-size floor: it corresponds to a mean shift of about 0.18 standard deviations of
    a single normal feature (``AUC = Phi(d / sqrt 2)``), a "small" effect.

    **Ranking.** A feature's separation is the drop in held-out AUC when all its encoded
    columns are permuted together across the held-out rows (permutation importance,
    Breiman 2001; grouped so a one-hot feature counts once), averaged over folds and
    ``repeats`` permutations.  Permuting one of two features whose joint distribution
    changed destroys the joint signal, so both rank high.

    Parameters
    ----------
    reference, current : mapping of str to array_like
        One 1-D array per feature (extra keys ignored); missing values as ``None``/NaN.
    kinds : mapping of str to {'numeric', 'categorical'}
        The features to use.
    seed : int
        Seeds the sampling, the fold split, the classifier and the permutations.
    folds : int, default 5
        Stratified cross-validation folds (>= 2).
    max_rows : int, default 20000
        Most rows used from each side.
    min_auc : float, default 0.55
        Effect-size floor of the verdict, in (0.5, 1].
    max_iter : int, default 50
        Boosting iterations (kept small for speed).
    repeats : int, default 2
        Permutations per feature and fold.
    top_k : int, default 20
        One-hot categories kept per categorical feature.
    n_threads : int or None, default 1
        OpenMP threads the classifier may use (``None``: scikit-learn's default, every
        core).  One thread is the default because the samples are small and OpenMP's
        busy-waiting makes multi-threaded fits erratic when the machine is already busy
        (measured on a loaded two-core machine, 500 rows a side: 0.25-0.6 s with one
        thread, 0.3-27 s with two; 20 000 rows a side: about 1.6 s with one thread).

    Returns
    -------
    DomainClassifierResult

    Raises
    ------
    InsufficientDataError
        If either side has fewer than 50 rows.
    ValueError
        On invalid kinds, data or parameters.

    References
    ----------
    .. [1] Lipton, Z. C., Wang, Y.-X. and Smola, A. J. (2018). Detecting and correcting
       for label shift with black box predictors. *ICML*.  Rabanser, S., Günnemann, S. and
       Lipton, Z. C. (2019). Failing loudly: an empirical study of methods for detecting
       dataset shift. *NeurIPS* (domain classifiers as two-sample tests).
    .. [2] Lopez-Paz, D. and Oquab, M. (2017). Revisiting classifier two-sample tests.
       *ICLR*.
    .. [3] Nadeau, C. and Bengio, Y. (2003). Inference for the generalization error.
       *Machine Learning* 52(3), 239-281 (corrected resampled t).
    .. [4] Parker, B. J., Günter, S. and Bedo, J. (2007). Stratification bias in low
       signal microarray studies. *BMC Bioinformatics* 8, 326.
    .. [5] Breiman, L. (2001). Random forests. *Machine Learning* 45(1), 5-32 (permutation
       importance).
    .. [6] Ke, G. et al. (2017). LightGBM: a highly efficient gradient boosting decision
       tree. *NeurIPS* (the histogram algorithm of ``HistGradientBoostingClassifier``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = {"a": rng.normal(size=600), "b": rng.normal(size=600)}
    >>> cur = {"a": rng.normal(0.8, size=600), "b": rng.normal(size=600)}
    >>> res = domain_classifier(ref, cur, kinds={"a": "numeric", "b": "numeric"}, seed=1)
    >>> res.drift, res.top_features[0], res.auc > 0.6
    (True, 'a', True)
    """
    # scikit-learn (and with it its OpenMP runtime) is imported before the thread limit is
    # set: threadpoolctl can only limit libraries already loaded.
    import sklearn.ensemble  # noqa: F401
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    kinds = _check_kinds(kinds)
    features = list(kinds)
    folds = _positive_int(folds, "folds", 2)
    max_rows = _positive_int(max_rows, "max_rows", MIN_ROWS)
    max_iter = _positive_int(max_iter, "max_iter")
    repeats = _positive_int(repeats, "repeats")
    if not (isinstance(min_auc, (int, float)) and 0.5 < min_auc <= 1.0):
        raise ValueError(f"min_auc must be in (0.5, 1], got {min_auc!r}")
    if n_threads is not None:
        n_threads = _positive_int(n_threads, "n_threads")
    n_ref = _n_rows(reference, features, "reference")
    n_cur = _n_rows(current, features, "current")
    for what, n in (("reference", n_ref), ("current", n_cur)):
        if n < MIN_ROWS:
            raise InsufficientDataError(f"the domain classifier needs at least {MIN_ROWS} {what} rows, got {n}")
    rng = np.random.default_rng(seed)
    m = min(n_ref, n_cur, max_rows)
    pooled = _concat(_sample(reference, features, n_ref, m, rng), _sample(current, features, n_cur, m, rng), features)
    encoder = FeatureEncoder.fit(pooled, kinds, top_k=top_k)
    x = encoder.transform(pooled)
    y = np.repeat(np.array([0, 1]), m)
    groups = {f: np.flatnonzero(np.asarray(encoder.column_features) == f) for f in features}
    limit = threadpool_limits(limits=n_threads, user_api="openmp") if n_threads is not None else contextlib.nullcontext()
    with limit:
        fold_aucs, drops = _cross_validate(x, y, groups, rng, folds=folds, max_iter=max_iter, repeats=repeats)

    aucs = np.asarray(fold_aucs)
    auc = float(aucs.mean())
    # Nadeau & Bengio's correction: the folds share training rows, so the fold AUCs are
    # positively correlated and s^2 / K understates the variance of their mean.
    se = float(math.sqrt((1.0 / folds + 1.0 / (folds - 1)) * aucs.var(ddof=1)))
    if se > 0:
        t_crit = float(stats.t.ppf(0.975, folds - 1))
        p_value = float(stats.t.sf((auc - 0.5) / se, folds - 1))
    else:
        t_crit, p_value = 0.0, (0.0 if auc > 0.5 else 1.0)
    lo, hi = max(0.0, auc - t_crit * se), min(1.0, auc + t_crit * se)
    ranked = sorted(
        (FeatureSeparation(f, float(np.mean(d)), float(np.std(d))) for f, d in drops.items()),
        key=lambda s: (-s.auc_drop, s.feature),
    )
    return DomainClassifierResult(
        auc=auc,
        ci_low=lo,
        ci_high=hi,
        std_error=se,
        p_value=p_value,
        fold_aucs=tuple(fold_aucs),
        drift=bool(auc >= min_auc and lo > 0.5),
        min_auc=float(min_auc),
        features=tuple(ranked),
        n_reference=m,
        n_current=m,
        seed=int(seed),
    )


# --------------------------------------------------------------------------------------
# PCA reconstruction error
# --------------------------------------------------------------------------------------


def _encode_array(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a, dtype="<f8")
    return {"dtype": "<f8", "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _decode_array(d: Mapping[str, Any]) -> np.ndarray:
    if d.get("dtype") != "<f8":
        raise ValueError(f"unsupported array dtype {d.get('dtype')!r}")
    raw = base64.b64decode(d["data"])
    return np.frombuffer(raw, dtype="<f8").reshape([int(s) for s in d["shape"]]).astype(np.float64)


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
        """Reconstruction error (Euclidean norm of the residual) of every row."""
        xc = self.encoder.transform(data) - self.mean
        resid = xc - (xc @ self.basis) @ self.basis.T
        return np.asarray(np.sqrt(np.einsum("ij,ij->i", resid, resid)), dtype=np.float64)

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
