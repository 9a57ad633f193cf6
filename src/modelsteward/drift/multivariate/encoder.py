"""The :class:`FeatureEncoder`: mixed numeric/categorical columns to one numeric matrix."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.drift.multivariate.inputs import _categorical, _check_kinds, _is_missing_scalar, _n_rows, _numeric
from modelsteward.errors import InsufficientDataError

__all__ = ["FeatureEncoder"]

#: Encoded values are clipped to +-FAR standard deviations: far enough to be the most novel of
#: anything, near enough that sums of their squares stay finite (a value 1e308 from a spread of 1e-300).
FAR = 1e150


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
                mean, std = _mean_std(x[ok])
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
                with np.errstate(over="ignore"):
                    z = (np.where(ok, x, spec.mean) - spec.mean) / spec.std
                out[:, start] = np.where(ok, np.clip(z, -FAR, FAR), 0.0)
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
                    out[start] = min(max((x - spec.mean) / spec.std, -FAR), FAR)
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


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation (``ddof=0``) of finite values, 0 and 0 when too few.

    Taken in units of a power of two near ``max |x|`` (an exact rescaling), so that values
    near 1e300 do not overflow the squares and values near 1e-300 do not underflow them to a
    zero spread.
    """
    if x.size == 0:
        return 0.0, 0.0
    exponent = math.frexp(float(np.max(np.abs(x))))[1]
    z = np.ldexp(x, -exponent)
    std = math.ldexp(float(z.std()), exponent) if x.size > 1 else 0.0
    return math.ldexp(float(z.mean()), exponent), std
