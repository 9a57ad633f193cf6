"""Input handling shared by the multivariate checks and the novelty scorer.

Feature kinds, column mappings (validated, sampled, concatenated), numeric and categorical
value parsing, and the base64 form arrays take in stored state.  Also the sample-size
constants of the multivariate checks.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_MAX_ROWS", "KINDS", "MIN_ROWS"]

#: Rows sampled from each of reference and current (the store supplies samples this large).
DEFAULT_MAX_ROWS = 20_000
#: Fewest rows per side :func:`domain_classifier` and :func:`pca_reconstruction` accept.
MIN_ROWS = 50
KINDS = ("numeric", "categorical")


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



def _encode_array(a: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(a, dtype="<f8")
    return {"dtype": "<f8", "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}


def _decode_array(d: Mapping[str, Any]) -> np.ndarray:
    if d.get("dtype") != "<f8":
        raise ValueError(f"unsupported array dtype {d.get('dtype')!r}")
    raw = base64.b64decode(d["data"])
    return np.frombuffer(raw, dtype="<f8").reshape([int(s) for s in d["shape"]]).astype(np.float64)

