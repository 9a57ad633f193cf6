"""Shared pieces of the property tests: odd data, the seeded settings and the outcome check.

``outcome(fn, ...)`` runs a statistical function with every warning turned into an error and
sorts what happens into a *defined result* (returned) or a *clear error* (returned, so the
test can check that the input deserved one). Anything else - ZeroDivisionError, IndexError,
a numpy RuntimeWarning, a scipy ValueError leaking through, ``math domain error`` - is
re-raised and fails the test.
"""

from __future__ import annotations

import math
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

from modelsteward.errors import StewardError

#: Seeded and sized so that the whole directory runs in seconds; deadline off for busy machines.
SEEDED = settings(derandomize=True, deadline=None, max_examples=60, database=None)
FEW = settings(derandomize=True, deadline=None, max_examples=20, database=None)

#: The values the issue names: huge, tiny, signed zero, subnormal, and plain small numbers.
SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e300, -1e300, 1e-300, -1e-300, 5e-324, 1e308, 0.5, 3.0]
NON_FINITE = [math.nan, math.inf, -math.inf]

#: Messages of exceptions Python, numpy or scipy raise on their own: never a clear error.
_FOREIGN = ("math domain error", "division by zero", "array must not contain infs or NaNs")


class Refused:
    """A clear error the package raised on purpose (StewardError, or its own ValueError)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __repr__(self) -> str:
        return f"Refused({type(self.exc).__name__}: {self.exc})"


def _raised_by_package(exc: BaseException) -> bool:
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "/modelsteward/" in frames[-1].filename.replace("\\", "/")


def is_clear(exc: BaseException) -> bool:
    """Whether ``exc`` is the package's own, clear error."""
    if isinstance(exc, StewardError):
        return True
    if type(exc) is not ValueError or any(s in str(exc) for s in _FOREIGN):
        return False
    # A ValueError counts only if a modelsteward `raise` made it (not scipy/numpy underneath).
    return _raised_by_package(exc)


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` under warnings-as-errors: its value, or :class:`Refused`."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - sorted just below
            if is_clear(exc):
                return Refused(exc)
            raise


# --------------------------------------------------------------------------- strategies

special = st.sampled_from(SPECIAL)
any_float = st.one_of(st.sampled_from(SPECIAL + NON_FINITE), st.floats(allow_nan=True, allow_infinity=True),
                      st.integers(-5, 5).map(float))


@st.composite
def odd_samples(draw: st.DrawFn, *, min_size: int = 0, max_size: int = 12, finite: bool = False) -> Any:
    """An odd 1-D sample: empty, one value, all equal, mixed specials, or integers (int dtype)."""
    values = st.sampled_from(SPECIAL) | st.integers(-3, 3).map(float) if finite else any_float
    shape = draw(st.sampled_from(["empty", "single", "equal", "mixed", "ints"]))
    if shape == "empty" and min_size == 0:
        return []
    if shape == "single" and min_size <= 1:
        return [draw(values)]
    n = draw(st.integers(max(min_size, 2), max(max_size, min_size, 2)))
    if shape == "equal":
        return [draw(values)] * n
    if shape == "ints":
        return np.asarray(draw(st.lists(st.integers(-4, 4), min_size=n, max_size=n)), dtype=np.int64)
    return draw(st.lists(values, min_size=n, max_size=n))


@st.composite
def scaled_pair(draw: st.DrawFn, *, min_size: int = 1, max_size: int = 15) -> tuple[np.ndarray, np.ndarray, float]:
    """Two small-integer samples and a scale (1, huge or tiny) to multiply them by.

    Values ``k * scale`` with ``|k| <= 6`` keep every sum and square finite except where the
    tested function must itself rescale; scale 1 makes scipy's results directly comparable.
    """
    k = st.integers(-6, 6)
    x = draw(st.lists(k, min_size=min_size, max_size=max_size))
    y = draw(st.lists(k, min_size=min_size, max_size=max_size))
    scale = draw(st.sampled_from([1.0, 1e300, 1e-300, 2.0**-1070, 0.001]))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), scale


def close(a: float, b: float, *, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)
