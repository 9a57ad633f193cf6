"""Argument checks shared by the drift modules (multivariate, novelty, text)."""

from __future__ import annotations

import numpy as np

__all__ = ["whole_number"]


def whole_number(value: object, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` if it is an integer (not a bool) of at least ``minimum``.

    Raises
    ------
    ValueError
        Naming ``name``, the bound and the value given.

    Examples
    --------
    >>> whole_number(3, "folds", 2)
    3
    >>> whole_number(True, "folds")
    Traceback (most recent call last):
    ...
    ValueError: folds must be an integer >= 1, got True
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
